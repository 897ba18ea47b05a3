package backend

import (
	"sync"
	"time"
)

// Closer is a connection an IdlePool keeps.
type Closer interface{ Close() error }

// IdlePool keeps a server's idle connections between requests: the newest
// is reused first, at most Max are kept (a burst cannot pin file
// descriptors forever), and Purge closes those idle for too long.
type IdlePool[C Closer] struct {
	mu    sync.Mutex
	conns []idleConn[C]
	max   int
}

type idleConn[C any] struct {
	c     C
	since time.Time
}

// SetMax sets how many connections the pool keeps ("pool-max-conn").
func (p *IdlePool[C]) SetMax(n int) {
	p.mu.Lock()
	p.max = n
	p.mu.Unlock()
}

// Put keeps c, idle since now, or closes it when the pool is full.
func (p *IdlePool[C]) Put(c C, now time.Time) {
	p.mu.Lock()
	if len(p.conns) < p.max {
		p.conns = append(p.conns, idleConn[C]{c, now})
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	c.Close()
}

// Take pops the newest idle connection; false: none.
func (p *IdlePool[C]) Take() (c C, ok bool) {
	p.mu.Lock()
	if n := len(p.conns); n > 0 {
		c, ok = p.conns[n-1].c, true
		p.conns[n-1] = idleConn[C]{}
		p.conns = p.conns[:n-1]
	}
	p.mu.Unlock()
	return c, ok
}

// TakeMatching pops the newest idle connection that match accepts; match
// runs under the pool's lock.
func (p *IdlePool[C]) TakeMatching(match func(C) bool) (c C, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.conns) - 1; i >= 0; i-- {
		if match(p.conns[i].c) {
			c = p.conns[i].c
			copy(p.conns[i:], p.conns[i+1:])
			p.conns[len(p.conns)-1] = idleConn[C]{}
			p.conns = p.conns[:len(p.conns)-1]
			return c, true
		}
	}
	return c, false
}

// Len is how many connections the pool holds.
func (p *IdlePool[C]) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.conns)
}

// Purge closes the connections idle for longer than maxAge, like
// HAProxy's pool-purge-delay.
func (p *IdlePool[C]) Purge(now time.Time, maxAge time.Duration) {
	p.mu.Lock()
	keep := p.conns[:0]
	var old []C
	for _, ic := range p.conns {
		if now.Sub(ic.since) > maxAge {
			old = append(old, ic.c)
		} else {
			keep = append(keep, ic)
		}
	}
	clear(p.conns[len(keep):])
	p.conns = keep
	p.mu.Unlock()
	for _, c := range old {
		c.Close()
	}
}

// CloseAll closes every pooled connection (they lead to an old address,
// or the server is gone).
func (p *IdlePool[C]) CloseAll() {
	p.mu.Lock()
	conns := p.conns
	p.conns = nil
	p.mu.Unlock()
	for _, ic := range conns {
		ic.c.Close()
	}
}
