package sdk

import "fmt"

// Level is the severity of a log message, as in the contract's log import.
type Level uint32

// The log levels, numbered as the ABI carries them.
const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
	LevelError
)

// String returns the level's name.
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "warn"
	case LevelError:
		return "error"
	}
	return fmt.Sprintf("level(%d)", uint32(l))
}

// Logf writes a message to the host's log through the contract's only
// import. Never log tokens or other secrets. A WebAssembly host cuts a
// message at 4 KiB and drops what one call logs past 64 KiB.
func Logf(level Level, format string, args ...any) {
	logf(level, fmt.Sprintf(format, args...))
}
