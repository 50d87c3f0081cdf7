package wasm

// Hooks for the tests of package wasm_test, which reach this package through
// internal/plugin, which imports it.

// BuiltModule returns the module TestMain built as name.
func BuiltModule(name string) []byte { return modules[name] }

// SharedCacheDir returns the compilation cache TestMain filled.
func SharedCacheDir() string { return cacheDir }

// LoadError is a module Load refuses, and the start of its error.
type LoadError struct {
	Name string
	Wasm []byte
	Want string
}

// LoadErrors returns the cases of TestLoadErrors.
func LoadErrors() []LoadError {
	var out []LoadError
	for _, tc := range loadErrors {
		out = append(out, LoadError{tc.name, tc.wasm(), tc.want})
	}
	return out
}
