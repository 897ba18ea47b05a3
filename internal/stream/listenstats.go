package stream

import (
	"strconv"
	"sync/atomic"

	"dhproxy/internal/model"
)

// Listener is the statistics of one listening socket of a frontend with
// "option socket-stats": the rows "show stat" prints after the frontend's.
type Listener struct {
	Name    string // the bind's "name", else "sock-<id>"
	ID      int    // the bind's "id", else its rank in the frontend, from 1
	Addr    string
	Maxconn int // the bind's maxconn; 0: none
	Stats   Counters
	cur     atomic.Int32
}

// newListener prepares the statistics of socket b of p, or returns nil
// when p does not keep them.
func newListener(p *model.Proxy, b *model.Bind, addr string) *Listener {
	if !p.Options["socket-stats"] {
		return nil
	}
	l := &Listener{Name: b.Name, ID: b.ID, Addr: addr, Maxconn: b.Maxconn}
	if l.Name == "" {
		l.Name = "sock-" + strconv.Itoa(b.ID)
	}
	return l
}

// Cur is the number of connections the socket's clients hold.
func (l *Listener) Cur() int { return int(l.cur.Load()) }

// opened counts a new session on l (nil: no statistics).
func (l *Listener) opened() {
	if l != nil {
		l.Stats.session(l.cur.Add(1))
	}
}

// closed counts the end of a session on l and its bytes.
func (l *Listener) closed(in, out int64) {
	if l != nil {
		l.cur.Add(-1)
		l.Stats.Bin.Add(in)
		l.Stats.Bout.Add(out)
	}
}

// Listeners lists fe's sockets with statistics, in bind order.
func (fe *Frontend) Listeners() []*Listener { return fe.listeners }
