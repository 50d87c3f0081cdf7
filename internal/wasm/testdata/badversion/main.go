// Command badversion is a test plugin that speaks contract version 2, written
// without the SDK: the host must refuse it before calling anything else.
package main

func main() {}

//go:wasmexport idplug_contract_version
func contractVersion() uint32 { return 2 }
