// Package stick is the stick-table store: keys (addresses, integers or
// strings) mapped to the id of the server a client sticks to, with
// HAProxy's expiry and size limit. It is sharded so that concurrent
// requests rarely meet on a lock, and a lookup allocates nothing.
package stick

import (
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// Type is a table's key type ("stick-table type ...").
type Type uint8

const (
	IP      Type = iota // IPv4 address, 4 bytes
	IPv6                // IPv6 address, 16 bytes
	Integer             // 32-bit integer
	String              // up to Len bytes
)

// Config is a parsed "stick-table" line.
type Config struct {
	Type    Type
	Len     int           // string keys: bytes kept (HAProxy's default is 32)
	Size    int           // most entries held
	Expire  time.Duration // 0: entries never expire
	NoPurge bool          // when full, refuse new entries instead of dropping the oldest
	// Store lists the data types kept with each entry ("store ..."),
	// Period the window of each rate type among them, and Elems the
	// element count of each array among them.
	Store  [NumData]bool
	Period [NumData]time.Duration
	Elems  [NumData]int
}

// maxShards bounds the lock striping; small tables get fewer shards so
// that purging the oldest entry of a shard stays close to true LRU order.
const (
	maxShards      = 64
	entriesPerShrd = 256
)

// Table is one stick table.
type Table struct {
	cfg    Config
	seed   maphash.Seed
	count  atomic.Int64
	shards []shard
	mask   uint64                        // len(shards)-1, a power of two minus one
	stores bool                          // entries carry counters
	notify atomic.Pointer[chan struct{}] // shared with peers: signalled when entries are queued (see Share)
	// serverIDs: a stick rule stores server ids here (haproxy's
	// server_id data type, which table_server_id needs); set before the
	// table serves.
	serverIDs bool
}

type shard struct {
	mu    sync.Mutex
	fixed map[[16]byte]*Entry // ip, ipv6 and integer keys
	str   map[string]*Entry   // string keys
	// LRU list, most recently touched first: the tail is the next to
	// expire and the first purged when the table is full.
	head, tail *Entry
	pending    []*Entry // changed entries not yet sent to the peers
	_          [24]byte // keep neighbouring shards' locks off one cache line
}

// Entry is one key of a table; stick counters point at it while requests
// track it.
type Entry struct {
	data       *counters    // the stored data types; nil when the table stores none
	use        atomic.Int32 // trackers holding the entry
	fixed      [16]byte
	str        string
	srv        int32 // server id
	exp        int64 // unix nanoseconds; 0: never
	seen       int64 // unix nanoseconds of the last update (table_idle)
	prev, next *Entry
	queued     bool // in its shard's pending list
}

// New returns an empty table.
func New(cfg Config) *Table {
	n := 1
	for n < maxShards && n*entriesPerShrd < cfg.Size {
		n *= 2
	}
	return newSharded(cfg, n)
}

// newSharded returns an empty table with n shards (a power of two).
func newSharded(cfg Config, n int) *Table {
	t := &Table{cfg: cfg, seed: maphash.MakeSeed(), shards: make([]shard, n), mask: uint64(n - 1)}
	for _, s := range cfg.Store {
		t.stores = t.stores || s
	}
	for i := range t.shards {
		if cfg.Type == String {
			t.shards[i].str = map[string]*Entry{}
		} else {
			t.shards[i].fixed = map[[16]byte]*Entry{}
		}
	}
	return t
}

// Config returns the table's settings.
func (t *Table) Config() Config { return t.cfg }

// Len returns the number of entries (expired ones not purged yet included).
func (t *Table) Len() int { return int(t.count.Load()) }

func (t *Table) shardOf(key []byte) *shard {
	return &t.shards[maphash.Bytes(t.seed, key)&t.mask]
}

// fixedKey copies a key of a fixed-size type into a map key.
func fixedKey(key []byte) (k [16]byte) {
	copy(k[:], key)
	return k
}

// Lookup returns the server id stored for key and refreshes the entry's
// expiry, as a matching "stick match" rule touches it; ok is false when the
// key is absent or expired. key must already be in the table's format
// (see Key).
func (t *Table) Lookup(key []byte, now time.Time) (srv int, ok bool) {
	sh := t.shardOf(key)
	n := now.UnixNano()
	sh.mu.Lock()
	defer sh.mu.Unlock()
	e := sh.find(t.cfg.Type, key)
	if e == nil {
		return 0, false
	}
	if e.exp != 0 && n >= e.exp {
		t.unlink(sh, e)
		return 0, false
	}
	t.touch(sh, e, n)
	return int(e.srv), true
}

// Store records that key sticks to server id srv, creating the entry or
// updating it, and refreshes its expiry. When the table is full the oldest
// entries are dropped to make room, unless "nopurge" is set, in which case
// a new key is not stored. It reports whether the key is in the table.
func (t *Table) Store(key []byte, srv int, now time.Time) bool {
	sh := t.shardOf(key)
	n := now.UnixNano()
	sh.mu.Lock()
	e := sh.find(t.cfg.Type, key)
	if e != nil {
		e.srv = int32(srv)
		t.touch(sh, e, n)
		sh.mu.Unlock()
		return true
	}
	t.expireTail(sh, n)
	// Reserve the entry's place first, so that stores racing on other
	// shards never take the table past its size.
	for t.count.Add(1) > int64(t.cfg.Size) {
		t.count.Add(-1)
		if t.cfg.NoPurge || !t.purgeOldest(sh) {
			sh.mu.Unlock()
			return false
		}
	}
	e = t.newEntry(key)
	e.srv = int32(srv)
	t.touch(sh, e, n)
	sh.mu.Unlock()
	return true
}

// newEntry builds an entry for key and files it in its shard, whose lock
// the caller holds; the place in the table is already reserved.
func (t *Table) newEntry(key []byte) *Entry {
	sh := t.shardOf(key)
	e := &Entry{}
	if t.stores {
		e.data = t.newCounters()
	}
	if t.cfg.Type == String {
		e.str = string(key)
		sh.str[e.str] = e
	} else {
		e.fixed = fixedKey(key)
		sh.fixed[e.fixed] = e
	}
	return e
}

// Delete removes key; it reports whether it was there.
func (t *Table) Delete(key []byte) bool {
	sh := t.shardOf(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e := sh.find(t.cfg.Type, key); e != nil {
		t.unlink(sh, e)
		return true
	}
	return false
}

// Expire drops every expired entry; a background sweep calls it so that
// memory is given back even when no new key arrives.
func (t *Table) Expire(now time.Time) {
	n := now.UnixNano()
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		t.expireTail(sh, n)
		sh.mu.Unlock()
	}
}

func (sh *shard) find(typ Type, key []byte) *Entry {
	if typ == String {
		return sh.str[string(key)]
	}
	return sh.fixed[fixedKey(key)]
}

// touch moves e to the head of its shard's list with a fresh expiry, and
// queues it for the peers.
func (t *Table) touch(sh *shard, e *Entry, now int64) {
	e.seen = now
	if t.cfg.Expire > 0 {
		e.exp = now + int64(t.cfg.Expire)
	}
	t.place(sh, e)
	t.queue(sh, e)
}

// place moves e to the head of its shard's list.
func (t *Table) place(sh *shard, e *Entry) {
	if sh.head == e {
		return
	}
	if e.prev != nil || e.next != nil || sh.tail == e {
		sh.detach(e)
	}
	e.next = sh.head
	if sh.head != nil {
		sh.head.prev = e
	}
	sh.head = e
	if sh.tail == nil {
		sh.tail = e
	}
}

func (sh *shard) detach(e *Entry) {
	if e.prev != nil {
		e.prev.next = e.next
	} else {
		sh.head = e.next
	}
	if e.next != nil {
		e.next.prev = e.prev
	} else {
		sh.tail = e.prev
	}
	e.prev, e.next = nil, nil
}

func (t *Table) unlink(sh *shard, e *Entry) {
	sh.detach(e)
	if t.cfg.Type == String {
		delete(sh.str, e.str)
	} else {
		delete(sh.fixed, e.fixed)
	}
	t.count.Add(-1)
}

// expireTail drops the shard's expired entries, oldest first. An entry a
// stick counter still tracks is given a new expiry instead, as HAProxy
// never expires an entry in use.
func (t *Table) expireTail(sh *shard, now int64) {
	for e := sh.tail; e != nil && e.exp != 0 && now >= e.exp; e = sh.tail {
		if e.use.Load() > 0 {
			t.touch(sh, e, now)
			continue
		}
		t.unlink(sh, e)
	}
}

// purgeOldest drops the least recently used entry, preferring this shard
// (whose lock is held) and else any other one, as HAProxy trashes its
// oldest entries when a table is full. It reports whether one was dropped.
func (t *Table) purgeOldest(sh *shard) bool {
	if sh.tail != nil {
		t.unlink(sh, sh.tail)
		return true
	}
	for i := range t.shards {
		o := &t.shards[i]
		if o == sh || !o.mu.TryLock() {
			continue
		}
		dropped := o.tail != nil
		if dropped {
			t.unlink(o, o.tail)
		}
		o.mu.Unlock()
		if dropped {
			return true
		}
	}
	return false
}
