//go:build race

package subprocess_test

func init() { raceEnabled = true }
