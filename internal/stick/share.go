package stick

import (
	"time"
)

// Sharing a table with peers (HAProxy's "peers" sections): an entry
// touched by this process is queued for the peers once (the queue holds
// each entry at most once however often it changes before the peers'
// writer takes it), and entries learned from a peer are written without
// being queued again, so that two peers never echo each other's updates.

// Share makes t queue its locally changed entries and signal notify (a
// channel with room for one value, shared by the tables of a peers
// section) when entries are queued. Requests may already be using the
// table.
func (t *Table) Share(notify chan struct{}) {
	t.notify.Store(&notify)
}

// queue files e for the peers; the caller holds e's shard lock.
func (t *Table) queue(sh *shard, e *Entry) {
	n := t.notify.Load()
	if n == nil || e.queued {
		return
	}
	e.queued = true
	sh.pending = append(sh.pending, e)
	select {
	case *n <- struct{}{}:
	default:
	}
}

// TakeUpdates appends the entries changed since the last call to dst and
// empties the queue. Entries that left the table since are skipped.
func (t *Table) TakeUpdates(dst []*Entry) []*Entry {
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		for j, e := range sh.pending {
			e.queued = false
			if sh.holds(t.cfg.Type, e) {
				dst = append(dst, e)
			}
			sh.pending[j] = nil
		}
		sh.pending = sh.pending[:0]
		sh.mu.Unlock()
	}
	return dst
}

// holds tells whether e is still the shard's entry of its key.
func (sh *shard) holds(typ Type, e *Entry) bool {
	if typ == String {
		return sh.str[e.str] == e
	}
	return sh.fixed[e.fixed] == e
}

// Rate is a frequency counter as peers exchange it: how long ago its
// current period began, and the counts of that period and of the one
// before.
type Rate struct {
	Elapsed    time.Duration
	Curr, Prev uint32
}

// Snapshot is what a peer is told about an entry.
type Snapshot struct {
	Key      []byte        // in the table's format
	ServerID int32         // server a stick rule stored; 0: none
	Expire   time.Duration // time left; 0: the entry never expires
	Vals     [NumData]uint64
	Rates    [NumData]Rate
	// The arrays' elements (gpt, gpc, gpc_rate), as many as the table
	// keeps (Snapshot) or the peer sent (Learned).
	GPT, GPC []uint64
	GPCRate  []Rate
}

// Snapshot fills s with e's key and data at now, reusing s.Key's array.
// It reports false when e left the table.
func (t *Table) Snapshot(e *Entry, now time.Time, s *Snapshot) bool {
	sh := t.lockEntry(e)
	if sh == nil {
		return false
	}
	s.Key = t.appendRawKey(s.Key[:0], e)
	s.ServerID = e.srv
	s.Expire = 0
	if e.exp != 0 {
		s.Expire = max(time.Millisecond, time.Duration(e.exp-now.UnixNano()))
	}
	sh.mu.Unlock()
	s.Vals, s.Rates = [NumData]uint64{}, [NumData]Rate{}
	s.GPT, s.GPC, s.GPCRate = s.GPT[:0], s.GPC[:0], s.GPCRate[:0]
	if c := e.data; c != nil {
		ms := Ticks(now)
		c.mu.Lock()
		s.GPT = append(s.GPT, c.gpt...)
		s.GPC = append(s.GPC, c.gpc...)
		for _, f := range c.gpcRate {
			s.GPCRate = append(s.GPCRate, Rate{Elapsed: time.Duration(ms-f.tick) * time.Millisecond, Curr: f.curr, Prev: f.prev})
		}
		for d := range NumData {
			if !t.cfg.Store[d] || d.IsArray() {
				continue
			}
			if d.IsRate() {
				f := c.rate[d]
				s.Rates[d] = Rate{Elapsed: time.Duration(ms-f.tick) * time.Millisecond, Curr: f.curr, Prev: f.prev}
			} else {
				s.Vals[d] = c.n[d]
			}
		}
		c.mu.Unlock()
	}
	return true
}

// Learned is an entry's content as a peer sent it; Has tells which data
// types the peer sent (its table may store other ones than this one).
type Learned struct {
	Snapshot
	HasServer bool
	Has       [NumData]bool
	Timed     bool // Expire is the peer's; else the table's own applies
}

// Learn writes what a peer sent about an entry, creating it if needed
// (with this table's size limit). conn_cur is never learned: it counts
// this process's connections, as in HAProxy. The entry is not queued for
// the peers. It reports whether the key is in the table.
func (t *Table) Learn(l *Learned, now time.Time) bool {
	key := l.Key
	switch t.cfg.Type {
	case IP, Integer:
		if len(key) != 4 {
			return false
		}
	case IPv6:
		if len(key) != 16 {
			return false
		}
	default:
		if n := t.cfg.Len; n > 0 && len(key) > n {
			key = key[:n]
		}
	}
	sh := t.shardOf(key)
	n := now.UnixNano()
	sh.mu.Lock()
	e := sh.find(t.cfg.Type, key)
	if e == nil {
		t.expireTail(sh, n)
		for t.count.Add(1) > int64(t.cfg.Size) {
			t.count.Add(-1)
			if t.cfg.NoPurge || !t.purgeOldest(sh) {
				sh.mu.Unlock()
				return false
			}
		}
		e = t.newEntry(key)
	}
	if l.HasServer {
		e.srv = l.ServerID
	}
	t.place(sh, e)
	switch {
	case l.Timed && l.Expire > 0:
		e.exp = n + int64(l.Expire)
	case t.cfg.Expire > 0:
		e.exp = n + int64(t.cfg.Expire)
	default:
		e.exp = 0
	}
	sh.mu.Unlock()
	if c := e.data; c != nil {
		ms := Ticks(now)
		c.mu.Lock()
		for d := range NumData {
			if !l.Has[d] || !t.cfg.Store[d] || d == ConnCur || d.IsArray() {
				continue
			}
			if d.IsRate() {
				c.rate[d] = learnRate(l.Rates[d], ms)
			} else {
				c.n[d] = l.Vals[d]
			}
		}
		// Elements past this table's arrays are left out, as haproxy does.
		copy(c.gpt, l.GPT)
		copy(c.gpc, l.GPC)
		for i := range min(len(c.gpcRate), len(l.GPCRate)) {
			c.gpcRate[i] = learnRate(l.GPCRate[i], ms)
		}
		c.mu.Unlock()
	}
	return true
}

func learnRate(r Rate, ms uint32) freqCtr {
	return freqCtr{tick: (ms - uint32(r.Elapsed.Milliseconds())) &^ 1, curr: r.Curr, prev: r.Prev}
}

// Entries returns the table's live entries, for teaching a peer.
func (t *Table) Entries(now time.Time, dst []*Entry) []*Entry {
	n := now.UnixNano()
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		t.expireTail(sh, n)
		for e := sh.tail; e != nil; e = e.prev {
			dst = append(dst, e)
		}
		sh.mu.Unlock()
	}
	return dst
}
