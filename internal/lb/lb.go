// Package lb holds the load-balancing algorithms, one file each, behind one
// interface. Algorithms see servers only as indexes with weights and a
// usability test, so they stay independent of the runtime server type.
package lb

// Algorithm picks a server for a new request or connection.
type Algorithm interface {
	// Pick returns the index of a usable server, preferring any server other
	// than avoid (-1: no preference); it returns -1 when none is usable.
	Pick(avoid int) int
}

// Usable tells whether server i may take traffic now (up, not in maintenance).
type Usable func(i int) bool

// New returns the algorithm named by "balance" for servers with these weights.
// Algorithms not built yet fall back to roundrobin (the config layer warns).
func New(algo string, weights []int, usable Usable) Algorithm {
	return newRoundRobin(weights, usable)
}
