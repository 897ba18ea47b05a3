// Package cache is haproxy 2.6's small object cache: a "cache" section
// holds whole 200 responses to GET requests, keyed by the Host field and
// the request target, for at most max-age seconds; "http-request
// cache-use" answers from it without contacting a server, "http-response
// cache-store" fills it. The decisions (what is stored, what is served,
// for how long, the secondary keys of Vary) are haproxy's; the storage is
// a map and an LRU list under one mutex (haproxy's is a shared memory
// area of 1 kB blocks, oldest first reused).
package cache

import (
	"container/list"
	"crypto/sha1"
	"sync"
	"time"
)

// Config is a cache section as configured.
type Config struct {
	Name         string
	TotalMax     int64 // total-max-size, in bytes
	MaxObject    int64 // max-object-size, in bytes
	MaxAge       int64 // max-age, in seconds
	ProcessVary  bool  // process-vary on
	MaxSecondary int   // max-secondary-entries
}

// blockSize is haproxy's cache block: an object takes whole blocks.
const blockSize = 1024

// Cache is a running cache; safe for concurrent use.
type Cache struct {
	Config
	mu      sync.Mutex
	entries map[Key][]*Entry // by primary key; more than one only with Vary
	lru     list.List        // *Entry, most recently stored or used first
	used    int64            // bytes taken, in whole blocks
	now     func() time.Time
}

// Key is the primary key: the SHA-1 of the request's Host and target.
type Key [sha1.Size]byte

// Entry is a stored response.
type Entry struct {
	key  Key
	sec  SecondaryKey
	vary uint8 // the Vary fields the entry depends on (varyAcceptEncoding...)
	// Head is the status line and fields, each line CRLF-ended, without
	// the empty line; Content-Length is the body's, no Age, no framing or
	// connection fields.
	Head         []byte
	Body         []byte
	ETag         []byte
	LastModified int64 // Last-Modified, else Date, else storage time (Unix seconds)
	stored       int64 // when stored (haproxy's latest_validation)
	age          int64 // the server's Age
	expire       int64
	size         int64
	elem         *list.Element
}

// SetAge sets the Age the server gave the response (0: none).
func (e *Entry) SetAge(age int64) { e.age = age }

// New makes an empty cache for c.
func New(c Config) *Cache {
	return &Cache{Config: c, entries: map[Key][]*Entry{}, now: time.Now}
}

// Age is the Age field a hit carries.
func (e *Entry) Age(now int64) int64 { return max(0, now-e.stored) + e.age }

func blocks(n int64) int64 { return (n + blockSize - 1) / blockSize * blockSize }

// Lookup returns the fresh entry for key whose secondary key matches the
// request's (sec is built from its fields by NewSecondary); nil: none.
// primary reports a fresh entry for key, matching or not: haproxy 2.6
// then builds no secondary key for the request, so that a response
// varying on its fields is not stored (a new variant waits until the
// stored ones expire).
func (c *Cache) Lookup(key Key, sec *SecondaryKey) (e *Entry, primary bool) {
	now := c.now().Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries[key] {
		if e.expire <= now {
			continue
		}
		primary = true
		if e.vary != 0 && !sec.matches(&e.sec, e.vary) {
			continue
		}
		c.lru.MoveToFront(e.elem)
		return e, true
	}
	return nil, primary
}

// Invalidate drops the entries of key, as haproxy does after a successful
// unsafe request on the resource.
func (c *Cache) Invalidate(key Key) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries[key] {
		c.unlink(e)
	}
	delete(c.entries, key)
}

// Store keeps e for ttl seconds under key, replacing an entry with the
// same secondary key; the oldest entries go when the cache is full. false:
// not stored (too big, or max-secondary-entries reached).
func (c *Cache) Store(key Key, e *Entry, ttl int64) bool {
	e.size = blocks(int64(len(e.Head) + len(e.Body) + 64))
	if ttl <= 0 {
		return false // already stale (haproxy keeps it expired)
	}
	if c.MaxObject > 0 && int64(len(e.Head)+len(e.Body)) > c.MaxObject || e.size > c.TotalMax {
		return false
	}
	now := c.now().Unix()
	e.key, e.stored, e.expire = key, now, now+ttl
	if e.LastModified == 0 {
		e.LastModified = now
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	list := c.entries[key][:0:0]
	for _, o := range c.entries[key] {
		if o.expire <= now || o.vary == e.vary && o.sec == e.sec {
			c.unlink(o)
			continue
		}
		list = append(list, o)
	}
	if e.vary != 0 && len(list) >= c.MaxSecondary {
		c.entries[key] = list
		return false
	}
	for c.used+e.size > c.TotalMax {
		old := c.lru.Back().Value.(*Entry)
		c.drop(old)
		if old.key == key {
			list = removeEntry(list, old)
		}
	}
	c.entries[key] = append(list, e)
	e.elem = c.lru.PushFront(e)
	c.used += e.size
	return true
}

func removeEntry(l []*Entry, e *Entry) []*Entry {
	for i, o := range l {
		if o == e {
			return append(l[:i], l[i+1:]...)
		}
	}
	return l
}

// drop removes e from the cache.
func (c *Cache) drop(e *Entry) {
	c.unlink(e)
	if l := removeEntry(c.entries[e.key], e); len(l) > 0 {
		c.entries[e.key] = l
	} else {
		delete(c.entries, e.key)
	}
}

// unlink takes e out of the LRU list and the accounting.
func (c *Cache) unlink(e *Entry) {
	c.lru.Remove(e.elem)
	c.used -= e.size
}

// Available is the number of 1 kB blocks not used, as "show cache" says.
func (c *Cache) Available() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return (c.TotalMax - c.used) / blockSize
}

// EntryInfo describes a stored entry for "show cache".
type EntryInfo struct {
	Key    Key
	Vary   SecondaryKey
	Size   int64
	Blocks int64
	Expire int64 // seconds left, negative once expired
}

// Entries lists the stored entries.
func (c *Cache) Entries() []EntryInfo {
	now := c.now().Unix()
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []EntryInfo
	for el := c.lru.Front(); el != nil; el = el.Next() {
		e := el.Value.(*Entry)
		if e.expire <= now {
			continue
		}
		out = append(out, EntryInfo{e.key, e.sec, int64(len(e.Head) + len(e.Body)), e.size / blockSize, e.expire - now})
	}
	return out
}
