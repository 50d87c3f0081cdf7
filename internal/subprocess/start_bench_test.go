package subprocess_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/idplug/idplug/internal/subprocess"
)

// BenchmarkStart times the two steps of loading a subprocess plugin built
// with the SDK, the misbehave fixture: the sealed copy of its executable,
// and starting it up to the end of the go-plugin handshake.
func BenchmarkStart(b *testing.B) {
	path := misbehave["misbehave"]
	var copyT, startT time.Duration
	for range b.N {
		t0 := time.Now()
		exe, err := subprocess.Copy(path)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		p, err := subprocess.Start(context.Background(), "oidc", exe, subprocess.Options{Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		copyT += t1.Sub(t0)
		startT += t2.Sub(t1)
		p.Close(context.Background())
	}
	b.ReportMetric(float64(copyT.Microseconds())/float64(b.N), "copy-µs/op")
	b.ReportMetric(float64(startT.Microseconds())/float64(b.N), "start-µs/op")
}
