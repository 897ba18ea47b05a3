package lb

import (
	"slices"
	"sync/atomic"
)

// consistentHash is "hash-type consistent": HAProxy's ring (src/lb_chash.c)
// where server i owns one point per unit of effective weight (user weight ×
// 16 at full throttle), keyed FullHash(id*4096 + n) for n below its
// effective weight, id being the server's numeric id ("id" keyword, else its
// position from 1). A key goes to the nearest point of a usable server, the
// one before it on a tie. Down servers' points are skipped at lookup instead
// of being removed, which yields the same choice without any write on the
// request path. A weight change adds or drops the server's last points, as
// HAProxy does, in a new ring swapped in atomically.
//
// With "hash-balance-factor" (bounded loads), a server already serving more
// than its share of factor% of the backend's load is passed over for the
// next one on the ring.
type consistentHash struct {
	weights []int // effective weights; written only by SetWeight
	ids     []int
	ring    atomic.Pointer[chashRing]
	usable  Usable
	load    Load
	factor  int // hash-balance-factor, 0: none
	rr      *roundRobin
}

// chashRing is one immutable ring.
type chashRing struct {
	keys    []uint32 // sorted point keys
	owner   []int32  // server of each point
	weights []int    // effective weights the ring was built with
}

// chashIDRange is HAProxy's SRV_EWGHT_RANGE: the points of server id start
// at id*chashIDRange.
const chashIDRange = 256 * WeightScale

func newConsistentHash(weights, ids []int, usable Usable, load Load, factor int) *consistentHash {
	c := &consistentHash{weights: scaled(weights), ids: make([]int, len(weights)), usable: usable,
		load: load, factor: factor, rr: newRoundRobin(weights, usable, load)}
	for i := range c.ids {
		c.ids[i] = i + 1
		if i < len(ids) && ids[i] > 0 {
			c.ids[i] = ids[i]
		}
	}
	c.ring.Store(buildRing(c.weights, c.ids))
	return c
}

func buildRing(weights, ids []int) *chashRing {
	type point struct {
		key uint32
		srv int32
	}
	var pts []point
	for i, w := range weights {
		for n := range max(w, 0) {
			pts = append(pts, point{FullHash(uint32(ids[i]*chashIDRange + n)), int32(i)})
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
	r := &chashRing{keys: make([]uint32, len(pts)), owner: make([]int32, len(pts)), weights: append([]int(nil), weights...)}
	for i, p := range pts {
		r.keys[i], r.owner[i] = p.key, p.srv
	}
	return r
}

func (c *consistentHash) SetWeight(i, eweight int) {
	if c.weights[i] == eweight {
		return
	}
	c.weights[i] = eweight
	c.ring.Store(buildRing(c.weights, c.ids))
	c.rr.SetWeight(i, eweight)
}

func (c *consistentHash) PickHash(avoid int, h uint32) int {
	r := c.ring.Load()
	n := len(r.keys)
	if n == 0 {
		return -1
	}
	// first point >= h, wrapping to the first point
	lo, hi := 0, n
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if r.keys[m] < h {
			lo = m + 1
		} else {
			hi = m
		}
	}
	next := -1
	for k := range n {
		j := (lo + k) % n
		if c.usable(int(r.owner[j])) {
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
		if c.usable(int(r.owner[j])) {
			prev = j
			break
		}
	}
	at := next
	if h-r.keys[prev] <= r.keys[next]-h {
		at = prev
	}
	s := int(r.owner[at])
	if s != avoid && (c.factor == 0 || c.eligible(r, s)) {
		return s
	}
	// Walk on along the ring, as HAProxy does, to the first usable
	// server that is not avoided and, with a balance factor, has room.
	for k := 1; k < n; k++ {
		j := (at + k) % n
		if o := int(r.owner[j]); o != avoid && c.usable(o) && (c.factor == 0 || c.eligible(r, o)) {
			return o
		}
	}
	return s
}

// eligible is HAProxy's chash_server_is_eligible: the backend's outstanding
// requests plus this one, times the balance factor, are shared among the
// usable servers in proportion to their weights (whole slots per weight
// unit, the remainder spread by cumulative weight, never less than 1), and
// s may take this request only while it serves fewer than its share.
func (c *consistentHash) eligible(r *chashRing, s int) bool {
	served, tot, cum := 0, 0, 0
	for i, w := range r.weights {
		if w <= 0 || !c.usable(i) {
			continue
		}
		cur, _ := c.load(i)
		served += cur
		if i < s {
			cum += w
		}
		tot += w
	}
	if tot == 0 {
		return true
	}
	w := r.weights[s]
	totSlots := ((served+1)*c.factor + 99) / 100
	slots := w * (totSlots / tot)
	rem := totSlots % tot
	slots += (cum+w)*rem/tot - cum*rem/tot
	if slots == 0 {
		slots = 1
	}
	cur, _ := c.load(s)
	return cur < slots
}

// Pick is weighted round robin, for requests without a key and redispatches.
func (c *consistentHash) Pick(avoid int) int { return c.rr.Pick(avoid) }
