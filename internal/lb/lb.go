// Package lb holds the load-balancing algorithms, one file each, behind one
// interface. Algorithms see servers only as indexes with weights, a
// usability test and a load probe, so they stay independent of the runtime
// server type.
package lb

import (
	"strconv"
	"strings"
)

// WeightScale is HAProxy's BE_WEIGHT_SCALE: a server at full throttle has an
// effective weight of its user weight times WeightScale, so that slow start
// and agent percentages can lower it in steps finer than one user unit.
const WeightScale = 16

// Algorithm picks a server for a new request or connection.
type Algorithm interface {
	// Pick returns the index of a usable server that is not full,
	// preferring any server other than avoid (-1: no preference); it
	// returns -1 when none is usable or every usable one is full (the
	// caller then queues the request on the backend, as HAProxy does).
	Pick(avoid int) int
}

// Dynamic is implemented by the algorithms whose weights may change at run
// time: roundrobin, leastconn, first, random and consistent hashing.
// static-rr and map-based hashing do not implement it, so that a weight
// change is refused for them, as HAProxy refuses it.
type Dynamic interface {
	Algorithm
	// SetWeight sets server i's effective weight (user weight ×
	// WeightScale at full throttle, 0: no traffic). Calls must not run
	// concurrently with each other; Pick may run at the same time and
	// sees either the old or the new weights, never a mix that breaks it.
	SetWeight(i, eweight int)
}

// Usable tells whether server i may take traffic now (up, not in maintenance).
type Usable func(i int) bool

// Load reports server i's current connections and whether it is full: at
// its (dynamic) maxconn, or with requests already waiting in its queue.
// It is called on the request path, so it must be cheap and lock-free.
type Load func(i int) (cur int, full bool)

// noLoad is the Load of callers that do not limit connections.
func noLoad(int) (int, bool) { return 0, false }

// New returns the algorithm named by "balance" for servers with these user
// weights; any name it does not know (the config layer refuses unknown
// ones, hash-based ones go to NewHashed) is roundrobin.
func New(algo string, weights []int, usable Usable, load Load) Algorithm {
	if load == nil {
		load = noLoad
	}
	base, arg, _ := strings.Cut(algo, "(")
	switch base {
	case "static-rr":
		return newStaticRR(weights, usable, load)
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
	return newRoundRobin(weights, usable, load)
}

// NewHashed returns the table of a hash-based algorithm: consistent or
// map-based as sp says. ids are the servers' numeric ids (0: position+1),
// which place a server's points on the consistent-hashing ring. load may be
// nil; consistent hashing with a balance factor needs it.
func NewHashed(sp HashSpec, weights, ids []int, usable Usable, load Load) Hashed {
	if load == nil {
		load = noLoad
	}
	if sp.Consistent {
		return newConsistentHash(weights, ids, usable, load, sp.BalanceFactor)
	}
	return newMapHash(weights, usable, load)
}

// scaled returns the effective weights of user weights at full throttle.
func scaled(weights []int) []int {
	ew := make([]int, len(weights))
	for i, w := range weights {
		ew[i] = max(w, 0) * WeightScale
	}
	return ew
}
