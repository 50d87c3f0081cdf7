//go:build !wasip1

package sdk

import (
	"log"
	"sync"
)

var (
	logMu   sync.Mutex
	logSink = func(level Level, msg string) { log.Printf("%s: %s", level, msg) }
)

// SetLogSink routes Logf to f outside WebAssembly (in-process tests and the
// subprocess transport). It returns the previous sink.
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
