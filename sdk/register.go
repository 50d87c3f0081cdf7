package sdk

import (
	"slices"
	"sync"
)

var (
	registryMu sync.Mutex
	registry   []Provider
	registered = map[string]bool{} // the names of registry
)

// Register links p into the program, under the name its Describe gives. Call
// it from an init function of the provider's package:
//
//	func init() { sdk.Register(Provider{}) }
//
// A program that embeds the idplug host offers every registered provider as
// a built-in, called in-process. A plugin program, built with package
// sdk/serve, serves the one provider it registered. Register panics when a
// provider of the same name is already registered, like database/sql's
// Register: two providers answering to one name is a build mistake.
func Register(p Provider) {
	registryMu.Lock()
	defer registryMu.Unlock()
	name := p.Describe().Name
	if registered[name] {
		panic("sdk: Register called twice for provider " + quote(name))
	}
	registered[name] = true
	registry = append(registry, p)
}

// Registered returns the providers registered so far, in the order they
// registered. The host and sdk/serve call it.
func Registered() []Provider {
	registryMu.Lock()
	defer registryMu.Unlock()
	return slices.Clone(registry)
}
