package lb

import "sync/atomic"

// Hashed is implemented by the hash-based algorithms: PickHash returns the
// server a key hash maps to (-1: none usable), avoiding avoid when the
// algorithm can (consistent hashing walks on; a map-based table cannot).
type Hashed interface {
	Algorithm
	PickHash(avoid int, h uint32) int
}

// mapHash is "hash-type map-based": HAProxy's server map (src/lb_map.c),
// each usable server appearing weight/gcd(weights) times, spread in
// declaration order, and hash % len(map) picks. The map is rebuilt when the
// set of usable servers changes, as HAProxy does; the request path only
// loads an atomic pointer and checks each server's state.
type mapHash struct {
	eweight []int // weight / gcd of all weights
	usable  Usable
	load    Load
	cur     atomic.Pointer[serverMap]
	rr      atomic.Uint32
}

type serverMap struct {
	up  []bool // usability the map was built for
	srv []int32
}

func newMapHash(weights []int, usable Usable, load Load) *mapHash {
	g := 0
	for _, w := range weights {
		if w > 0 {
			g = gcd(g, w)
		}
	}
	m := &mapHash{eweight: make([]int, len(weights)), usable: usable, load: load}
	for i, w := range weights {
		if g > 0 && w > 0 {
			m.eweight[i] = (w + g - 1) / g
		}
	}
	return m
}

// buildServerMap lays servers out as HAProxy's recalc_server_map does: at
// each slot every usable server gains its weight, the one whose score rounds
// highest (first declared on ties) takes the slot and pays the total back.
func buildServerMap(eweight []int, up []bool) []int32 {
	tot := 0
	for i, w := range eweight {
		if up[i] {
			tot += w
		}
	}
	if tot == 0 {
		return nil
	}
	score := make([]int, len(eweight))
	srv := make([]int32, tot)
	for o := range srv {
		best, max := -1, 0
		for i, w := range eweight {
			if !up[i] || w == 0 {
				continue
			}
			if tot == 1 {
				best = i
				break
			}
			score[i] += w
			v := (score[i] + tot) / tot
			if best < 0 || v > max {
				max, best = v, i
			}
		}
		srv[o] = int32(best)
		if best >= 0 && tot != 1 {
			score[best] -= tot
		}
	}
	return srv
}

// table returns the map for the servers usable now, rebuilding it when a
// server changed state since it was built.
func (m *mapHash) table() []int32 {
	t := m.cur.Load()
	if t != nil {
		same := true
		for i, u := range t.up {
			if m.usable(i) != u {
				same = false
				break
			}
		}
		if same {
			return t.srv
		}
	}
	up := make([]bool, len(m.eweight))
	for i := range up {
		up[i] = m.usable(i)
	}
	nt := &serverMap{up: up, srv: buildServerMap(m.eweight, up)}
	m.cur.Store(nt)
	return nt.srv
}

func (m *mapHash) PickHash(avoid int, h uint32) int {
	t := m.table()
	if len(t) == 0 {
		return -1
	}
	return int(t[h%uint32(len(t))])
}

// Pick walks the map in turn, skipping full servers, for requests without
// a key (HAProxy falls back to round robin then) and for redispatches.
func (m *mapHash) Pick(avoid int) int {
	t := m.table()
	n := len(t)
	if n == 0 {
		return -1
	}
	avoided := -1
	for range n {
		i := int(t[int(m.rr.Add(1)-1)%n])
		if _, full := m.load(i); full {
			continue
		}
		if i != avoid {
			return i
		}
		avoided = i
	}
	return avoided
}
