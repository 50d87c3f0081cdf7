//go:build !wasip1

package sdktest

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/idplug/idplug/internal/wasm"
	"github.com/idplug/idplug/internal/wire"
)

// Wasm loads the WebAssembly plugin at path, in any language, as the host
// loads one: sandboxed, checked against the ABI and the contract version.
// Tests written against a provider with New run unchanged against its
// builds:
//
//	for _, p := range []*sdktest.Plugin{sdktest.New(Provider{}), sdktest.Wasm(t, "northwind.wasm")} { … }
//
// The module is closed when tb ends; a module that fails to load fails tb.
func Wasm(tb testing.TB, path string) *Plugin {
	tb.Helper()
	module, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	ctx := context.Background()
	r, err := wasm.NewRuntime(ctx, wasm.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close(ctx) })
	m, err := r.Load(ctx, filepath.Base(path), module)
	if err != nil {
		tb.Fatalf("loading %s: %v", path, err)
	}
	return &Plugin{handle: func(fn wire.Function, input []byte) []byte {
		var out []byte
		err := m.Call(ctx, fn, input, func(envelope []byte) error {
			out = append([]byte(nil), envelope...)
			return nil
		})
		if err != nil {
			out, _ = json.Marshal(wire.Result{Error: err.Error()})
		}
		return out
	}}
}
