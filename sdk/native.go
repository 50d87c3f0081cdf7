//go:build !wasip1

package sdk

import "sync"

var (
	logMu   sync.Mutex
	logSink = func(Level, string) {}
)

// SetLogSink routes Logf to f outside WebAssembly, and returns the previous
// sink. The host points it at its logger for the providers it runs
// in-process, and a subprocess plugin at its stderr; a provider's unit test
// may capture its logs with it. By default Logf discards messages.
func SetLogSink(f func(Level, string)) (previous func(Level, string)) {
	logMu.Lock()
	defer logMu.Unlock()
	previous, logSink = logSink, f
	return previous
}

func logf(level Level, msg string) {
	logMu.Lock()
	f := logSink
	logMu.Unlock()
	f(level, msg)
}
