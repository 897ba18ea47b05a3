//go:build race

package stream

// The race detector instruments memory accesses and allocates on its own.
const raceEnabled = true
