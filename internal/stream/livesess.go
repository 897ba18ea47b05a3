package stream

import (
	"cmp"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"dhproxy/internal/model"
)

// liveSession is a client connection as "show sess" lists it and "shutdown
// session" ends it. An httpSession embeds one (reused with it); mode tcp
// and runtime API sessions take one from a pool, so registering allocates
// nothing on the way of a request.
type liveSession struct {
	id    uint64
	fe    *Frontend // nil: a runtime API session
	c     net.Conn
	start time.Time
	idle  atomic.Bool             // mode http: between requests, which haproxy does not list
	be    atomic.Pointer[Backend] // the last backend and server it went to
	srv   atomic.Pointer[Server]
	link  sessLink // mode tcp: its registration on the server
}

// liveTable lists the client connections of a runtime, by id.
type liveTable struct {
	mu   sync.Mutex
	byID map[uint64]*liveSession
	next uint64
}

var livePool = sync.Pool{New: func() any { return new(liveSession) }}

// add registers l for c of fe (nil: runtime API).
func (t *liveTable) add(l *liveSession, fe *Frontend, c net.Conn) {
	l.fe, l.c, l.start = fe, c, time.Now()
	l.idle.Store(fe != nil && fe.P.Mode == model.ModeHTTP)
	l.be.Store(nil)
	l.srv.Store(nil)
	t.mu.Lock()
	if t.byID == nil {
		t.byID = map[uint64]*liveSession{}
	}
	t.next++
	l.id = t.next
	t.byID[l.id] = l
	t.mu.Unlock()
}

func (t *liveTable) remove(l *liveSession) {
	t.mu.Lock()
	if t.byID[l.id] == l {
		delete(t.byID, l.id)
	}
	t.mu.Unlock()
	l.c = nil
}

// using records the backend and server a request of l went to.
func (l *liveSession) using(be *Backend, srv *Server) {
	l.be.Store(be)
	l.srv.Store(srv)
}

// SessionInfo describes a client connection for "show sess".
type SessionInfo struct {
	ID       uint64
	Frontend *Frontend // nil: a runtime API session
	Backend  *Backend  // nil: none yet
	Server   *Server
	Outgoing net.Addr // the local address of its server connection; nil: none
	Client   net.Addr
	Local    net.Addr
	Start    time.Time
}

// Sessions lists the sessions being served, oldest first: in mode http
// the connections with a request in progress (haproxy's streams), in mode
// tcp every connection.
func (rt *Runtime) Sessions() []SessionInfo {
	t := &rt.live
	t.mu.Lock()
	out := make([]SessionInfo, 0, len(t.byID))
	conns := make([]net.Conn, 0, len(t.byID))
	for _, l := range t.byID {
		if l.idle.Load() {
			continue
		}
		out = append(out, SessionInfo{ID: l.id, Frontend: l.fe, Backend: l.be.Load(), Server: l.srv.Load(),
			Client: l.c.RemoteAddr(), Local: l.c.LocalAddr(), Start: l.start})
		conns = append(conns, l.c)
	}
	t.mu.Unlock()
	for i := range out {
		if si := &out[i]; si.Server != nil {
			si.Outgoing = si.Server.health.sessions.outgoing(conns[i])
		}
	}
	slices.SortFunc(out, func(a, b SessionInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// KillSession ends the session id ("shutdown session"); false if there is
// no such session.
func (rt *Runtime) KillSession(id uint64) bool {
	t := &rt.live
	t.mu.Lock()
	l := t.byID[id]
	if l != nil && l.idle.Load() {
		l = nil // not listed either
	}
	var c net.Conn
	var srv *Server
	if l != nil {
		c, srv = l.c, l.srv.Load()
	}
	t.mu.Unlock()
	if l == nil {
		return false
	}
	// A request waiting on its server loses the server connection (the
	// client gets a 502, as from haproxy); a session between requests
	// loses its client connection.
	if srv == nil || !srv.health.sessions.shutdownServerSide(c) {
		c.Close()
	}
	return true
}

// KillServerSessions ends every request in progress on s ("shutdown
// sessions server"), as KillSession does.
func (rt *Runtime) KillServerSessions(s *Server) { s.health.sessions.shutdownServerSide(nil) }

// TrackCLI registers a runtime API connection, which "show sess" lists
// as haproxy does; the returned function unregisters it.
func (rt *Runtime) TrackCLI(c net.Conn) (done func()) {
	l := livePool.Get().(*liveSession)
	rt.live.add(l, nil, c)
	return func() {
		rt.live.remove(l)
		livePool.Put(l)
	}
}
