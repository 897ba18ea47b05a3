// Package lb holds the load-balancing algorithms, one file each, behind one
// interface. Algorithms see servers only as indexes with weights, a
// usability test and a load probe, so they stay independent of the runtime
// server type.
package lb

import (
	"strconv"
	"strings"
)

// Algorithm picks a server for a new request or connection.
type Algorithm interface {
	// Pick returns the index of a usable server, preferring any server other
	// than avoid (-1: no preference); it returns -1 when none is usable.
	Pick(avoid int) int
}

// Usable tells whether server i may take traffic now (up, not in maintenance).
type Usable func(i int) bool

// Load reports server i's current connections and its maxconn (0: no limit).
// It is called on the request path, so it must be cheap and lock-free.
type Load func(i int) (cur, maxconn int)

// New returns the algorithm named by "balance" for servers with these weights.
// Algorithms not built yet fall back to roundrobin (the config layer warns).
func New(algo string, weights []int, usable Usable, load Load) Algorithm {
	base, arg, _ := strings.Cut(algo, "(")
	switch base {
	case "static-rr":
		return newStaticRR(weights, usable)
	case "leastconn":
		return newLeastConn(weights, usable, load)
	case "first":
		return newFirst(weights, usable, load)
	case "random":
		draws := 2
		if arg != "" {
			if n, err := strconv.Atoi(strings.TrimSuffix(arg, ")")); err == nil && n > 0 {
				draws = n
			}
		}
		return newRandom(weights, usable, load, draws)
	}
	return newRoundRobin(weights, usable)
}

// NewHashed returns the table of a hash-based algorithm: consistent or
// map-based as sp says. ids are the servers' numeric ids (0: position+1),
// which place a server's points on the consistent-hashing ring.
func NewHashed(sp HashSpec, weights, ids []int, usable Usable) Hashed {
	if sp.Consistent {
		return newConsistentHash(weights, ids, usable)
	}
	return newMapHash(weights, usable)
}
