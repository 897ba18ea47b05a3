package lb

import "slices"

// consistentHash is "hash-type consistent": HAProxy's ring (src/lb_chash.c)
// where server i owns weight*16 points keyed FullHash(id*4096 + n), id being
// the server's numeric id ("id" keyword, else its position from 1). A key
// goes to the nearest point of a usable server, the one before it on a tie.
// Down servers' points are skipped at lookup instead of being removed, which
// yields the same choice without any write on the request path.
type consistentHash struct {
	keys   []uint32 // sorted point keys
	owner  []int32  // server of each point
	usable Usable
	rr     *roundRobin
}

const (
	chashWeightScale = 16       // BE_WEIGHT_SCALE
	chashIDRange     = 256 * 16 // SRV_EWGHT_RANGE
)

func newConsistentHash(weights, ids []int, usable Usable) *consistentHash {
	type point struct {
		key uint32
		srv int32
	}
	var pts []point
	for i, w := range weights {
		id := i + 1
		if i < len(ids) && ids[i] > 0 {
			id = ids[i]
		}
		for n := 0; n < w*chashWeightScale; n++ {
			pts = append(pts, point{FullHash(uint32(id*chashIDRange + n)), int32(i)})
		}
	}
	// Equal keys keep insertion order (servers in declaration order), as
	// duplicates do in HAProxy's ebtree.
	slices.SortStableFunc(pts, func(a, b point) int {
		switch {
		case a.key < b.key:
			return -1
		case a.key > b.key:
			return 1
		}
		return 0
	})
	c := &consistentHash{keys: make([]uint32, len(pts)), owner: make([]int32, len(pts)), usable: usable,
		rr: newRoundRobin(weights, usable)}
	for i, p := range pts {
		c.keys[i], c.owner[i] = p.key, p.srv
	}
	return c
}

func (c *consistentHash) PickHash(avoid int, h uint32) int {
	n := len(c.keys)
	if n == 0 {
		return -1
	}
	// first point >= h, wrapping to the first point
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if c.keys[m] < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	next := -1
	for k := range n {
		j := (lo + k) % n
		if c.usable(int(c.owner[j])) {
			next = j
			break
		}
	}
	if next < 0 {
		return -1
	}
	prev := next
	for k := 1; k <= n; k++ {
		j := ((lo-k)%n + n) % n
		if c.usable(int(c.owner[j])) {
			prev = j
			break
		}
	}
	at := next
	if h-c.keys[prev] <= c.keys[next]-h {
		at = prev
	}
	if int(c.owner[at]) != avoid {
		return int(c.owner[at])
	}
	for k := 1; k < n; k++ {
		j := (at + k) % n
		if s := int(c.owner[j]); s != avoid && c.usable(s) {
			return s
		}
	}
	return avoid
}

// Pick is weighted round robin, for requests without a key and redispatches.
func (c *consistentHash) Pick(avoid int) int { return c.rr.Pick(avoid) }
