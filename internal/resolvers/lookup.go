package resolvers

import (
	"container/list"
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// MaxCachedNames bounds the answers "do-resolve" keeps per resolvers
// section, so that requests naming random hosts cannot grow the cache
// without limit: past it, the oldest answer is forgotten first.
const MaxCachedNames = 10000

// lookupKey is what HAProxy keys a resolution by: the name (DNS compares
// names case-insensitively, a final dot changes nothing) and the family
// asked first.
type lookupKey struct {
	name string
	ipv4 bool
}

// lookup is one name's resolution for do-resolve: in flight until done is
// closed, then its outcome; only valid ones stay in the cache.
type lookup struct {
	key  lookupKey
	done chan struct{}
	addr netip.Addr
	ok   bool
	at   time.Time
	age  *list.Element // place in lookupCache.byAge once kept
}

// lookupCache holds the running and the kept resolutions of a section.
type lookupCache struct {
	mu    sync.Mutex
	byKey map[lookupKey]*lookup
	byAge list.List // kept lookups, oldest first (they all live "hold valid")
	max   int
}

// Resolve gives the address "http-request do-resolve" puts in its
// variable, as HAProxy 2.6: the preferred family's records (IPv6 unless
// ipv4), the other family's when that brings none but did answer (never
// after a timeout); the first address. A valid answer is reused for
// "hold valid" and a request arriving while the same name and preference
// is being resolved waits for that resolution instead of asking again.
// Failures are not kept ("hold nx", "hold other"... only tell servers how
// long to keep their address). The wait is bounded by the section's
// timeouts: "resolve_retries" times "timeout retry" per family asked.
func (c *Client) Resolve(name string, ipv4 bool) (netip.Addr, bool) {
	key := keyOf(name, ipv4)
	lc := &c.lookups
	lc.mu.Lock()
	if l := lc.byKey[key]; l != nil {
		select {
		case <-l.done:
			if time.Since(l.at) < c.Conf.HoldValid {
				lc.mu.Unlock()
				return l.addr, true
			}
			lc.forget(l)
		default:
			lc.mu.Unlock()
			<-l.done
			return l.addr, l.ok
		}
	}
	if lc.byKey == nil {
		lc.byKey = map[lookupKey]*lookup{}
	}
	l := &lookup{key: key, done: make(chan struct{})}
	lc.byKey[key] = l // requests for the same name wait for this one
	lc.mu.Unlock()

	// Deferred so that the waiters are released whatever happens.
	defer func() {
		lc.mu.Lock()
		if l.ok && c.Conf.HoldValid > 0 {
			lc.keep(l, c.Conf.HoldValid)
		} else if lc.byKey[key] == l {
			delete(lc.byKey, key)
		}
		close(l.done)
		lc.mu.Unlock()
	}()
	l.addr, l.ok = c.resolve(name, ipv4)
	l.at = time.Now()
	return l.addr, l.ok
}

// Remember keeps a server's valid answer for do-resolve too, as HAProxy's
// servers and do-resolve share the resolution of a name and preferred
// family: while a server follows the name, requests get the address it
// last received without asking; after its failed resolution they ask.
func (c *Client) Remember(name string, ipv4 bool, a Answer) {
	key := keyOf(name, ipv4)
	lc := &c.lookups
	lc.mu.Lock()
	defer lc.mu.Unlock()
	if l := lc.byKey[key]; l != nil {
		select {
		case <-l.done:
			lc.forget(l)
		default:
			return // a request is asking: its answer comes soon
		}
	}
	if a.Status != StatusValid || len(a.Addrs) == 0 || c.Conf.HoldValid <= 0 {
		return
	}
	if lc.byKey == nil {
		lc.byKey = map[lookupKey]*lookup{}
	}
	l := &lookup{key: key, done: closed, addr: a.Addrs[0], ok: true, at: time.Now()}
	lc.byKey[key] = l
	lc.keep(l, c.Conf.HoldValid)
}

var closed = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func keyOf(name string, ipv4 bool) lookupKey {
	return lookupKey{strings.ToLower(strings.TrimSuffix(name, ".")), ipv4}
}

func (c *Client) resolve(name string, ipv4 bool) (netip.Addr, bool) {
	order := [2]dnsmessage.Type{dnsmessage.TypeAAAA, dnsmessage.TypeA}
	if ipv4 {
		order[0], order[1] = order[1], order[0]
	}
	for _, qtype := range order {
		a := c.Query(context.Background(), name, qtype)
		if a.Status == StatusValid && len(a.Addrs) > 0 {
			return a.Addrs[0], true
		}
		if a.Status == StatusTimeout {
			break // HAProxy tries the other family only after an answer
		}
	}
	return netip.Addr{}, false
}

// keep adds a finished valid lookup (already in byKey), first dropping the expired ones and,
// past the bound, the oldest. Called with mu held.
func (lc *lookupCache) keep(l *lookup, hold time.Duration) {
	limit := lc.max
	if limit == 0 {
		limit = MaxCachedNames
	}
	for e := lc.byAge.Front(); e != nil; e = lc.byAge.Front() {
		old := e.Value.(*lookup)
		if lc.byAge.Len() < limit && l.at.Sub(old.at) < hold {
			break
		}
		lc.forget(old)
	}
	l.age = lc.byAge.PushBack(l)
}

// forget drops a finished lookup. Called with mu held.
func (lc *lookupCache) forget(l *lookup) {
	if l.age != nil {
		lc.byAge.Remove(l.age)
		l.age = nil
	}
	if lc.byKey[l.key] == l {
		delete(lc.byKey, l.key)
	}
}
