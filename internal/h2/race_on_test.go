//go:build race

package h2

// The race detector instruments memory accesses and allocates on its own.
const raceEnabled = true
