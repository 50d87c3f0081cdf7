package plugin

import (
	"context"

	"github.com/idplug/idplug/internal/wire"
	"github.com/idplug/idplug/sdk"
)

// inProcess carries calls to a provider linked into the program, through the
// same JSON documents as any transport. wire.Handle turns a panic into an
// error envelope; a call that misses its deadline is abandoned (a goroutine
// cannot be stopped, so a provider that never returns keeps one; providers
// are sans-IO, so such a goroutine only computes).
type inProcess struct{ p sdk.Provider }

// Call implements Transport.
func (t inProcess) Call(ctx context.Context, fn wire.Function, input []byte, keep func([]byte) error) error {
	done := make(chan []byte, 1)
	go func() { done <- wire.Handle(t.p, fn, input) }()
	select {
	case out := <-done:
		return keep(out)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// Close implements Transport.
func (inProcess) Close(context.Context) error { return nil }
