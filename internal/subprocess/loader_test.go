package subprocess_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/plugin"
	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// The host's view of subprocess plugins: loaded through a plugin.Loader from
// a pinned executable, as the configuration's [plugins] name them. The
// Loader names the plugin and the function in every error, keeps the first
// line of a failure the plugin reports, applies the call deadline and
// refuses calls on a closed plugin. The tests of subprocess_test.go check
// the transport underneath.

// source returns the configuration's entry of the executable at path,
// pinned to its sha256.
func source(t *testing.T, path string) plugin.Source {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return plugin.Source{Command: path, SHA256: hex.EncodeToString(sum[:]), Where: "config.toml:1:1: plugins.acme"}
}

// newLoader returns a Loader whose plugin acme is the executable at path,
// with call deadline timeout.
func newLoader(t *testing.T, path string, timeout time.Duration) *plugin.Loader {
	t.Helper()
	l := plugin.NewLoader(plugin.Options{
		Sources:     map[string]plugin.Source{"acme": source(t, path)},
		CallTimeout: timeout,
		Logger:      slog.New(slog.DiscardHandler),
	})
	t.Cleanup(func() { l.Close(context.Background()) })
	return l
}

// wantPluginError fails t unless err is a *plugin.Error naming plugin acme
// and function fn whose message starts with want and has one line.
func wantPluginError(t *testing.T, err error, fn wire.Function, want string) {
	t.Helper()
	var pe *plugin.Error
	if !errors.As(err, &pe) || pe.Plugin != "acme" || pe.Func != fn {
		t.Fatalf("error %v (%T): want a *plugin.Error naming plugin acme and function %q", err, err, fn)
	}
	if !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") {
		t.Errorf("error %q: want one line starting %q", err, want)
	}
}

func TestCallsThroughLoader(t *testing.T) {
	// The deadline covers starting a process again after a failed call,
	// which takes well over 300 ms on a loaded machine under -race.
	l := newLoader(t, misbehave["misbehave"], 2*time.Second)
	p, err := l.Load(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if info := p.Info(); info.Name != "misbehave" || info.ContractVersion != sdk.ContractVersion {
		t.Errorf("describe = %+v", info)
	}
	configure := func(ctx context.Context, mode string) error {
		_, _, err := p.Configure(ctx, map[string]string{"mode": mode}, sdk.Client{ClientID: "cli"})
		return err
	}
	for _, tc := range []struct {
		mode, want string
		is         error
	}{
		{mode: "crash", want: `plugin "acme": configure: the plugin process exited with code 2 during the call: "panic: misbehave: crashing as asked"`},
		{mode: "panic", want: `plugin "acme": configure: panic in configure: misbehave: panicking as asked`}, // the stack trace goes to the debug log
		{mode: "bigout", want: `plugin "acme": configure: returned a result larger than the 4194304 bytes a result may have; the plugin was stopped`},
		{mode: "hang", want: `plugin "acme": configure: exceeded the 2s call deadline; the plugin was stopped`, is: context.DeadlineExceeded},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			err := configure(t.Context(), tc.mode)
			wantPluginError(t, err, wire.FuncConfigure, tc.want)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("%v does not wrap %v", err, tc.is)
			}
			if err := configure(t.Context(), ""); err != nil {
				t.Errorf("the next call: %v", err)
			}
		})
	}
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(100*time.Millisecond, cancel)
		err := configure(ctx, "hang")
		wantPluginError(t, err, wire.FuncConfigure, `plugin "acme": configure: the call was abandoned (context canceled); the plugin was stopped`)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%v does not wrap context.Canceled", err)
		}
	})
	t.Run("closed", func(t *testing.T) {
		if err := l.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		err := configure(t.Context(), "")
		wantPluginError(t, err, wire.FuncConfigure, `plugin "acme": configure: the plugin was closed`)
		if !errors.Is(err, plugin.ErrClosed) {
			t.Errorf("a call after Close: %v is not plugin.ErrClosed", err)
		}
	})
}

func TestStartFailuresThroughLoader(t *testing.T) {
	text := filepath.Join(t.TempDir(), "text")
	if err := os.WriteFile(text, []byte("just text\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, want string
	}{
		{"garbage", misbehave["garbage"], `plugin "acme": printed "Welcome to Misbehave 1.0!" where the go-plugin handshake belongs`},
		{"badversion", misbehave["badversion"], `plugin "acme": speaks contract version 2: this idplug speaks contract version 1; install a build of the plugin for contract 1`},
		{"not an executable", text, `plugin "acme": cannot run ` + text},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newLoader(t, tc.path, 0).Load(t.Context(), "acme")
			var pe *plugin.Error
			if !errors.As(err, &pe) || pe.Plugin != "acme" || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v: want a *plugin.Error starting %s", err, tc.want)
			}
			var ce *wire.ContractError
			if errors.As(err, &ce) != (tc.name == "badversion") {
				t.Errorf("error %v: *wire.ContractError only for badversion", err)
			}
		})
	}
}
