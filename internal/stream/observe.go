package stream

import (
	"net"
	"sync"

	"dhproxy/internal/check"
)

// What the health checks keep on a server besides up/down, drain, weight
// and maxconn (internal/backend): the passive observation ("observe") that traffic
// reports to, and the sessions that "on-marked-down shutdown-sessions" and
// "on-marked-up shutdown-backup-sessions" end.

// serverHealth is a server's check-driven state; the request path reads it
// with atomic loads only.
type serverHealth struct {
	passive  *check.Passive
	sessions sessRegistry
}

// observeL4 reports a connection attempt's outcome to "observe".
func (s *Server) observeL4(err error) {
	if s.health.passive == nil {
		return
	}
	if err != nil {
		s.health.passive.Report(check.OutcomeL4Error)
		return
	}
	s.health.passive.Report(check.OutcomeL4OK)
}

// observeHTTP notes a response (status>0) or the error status the proxy
// answered in its place (502: nothing or garbage came back, 504: timeout)
// for "observe layer7"; it is reported once the request released its
// server, so that a server taken down by it does not count the request
// among its sessions, as in HAProxy.
func (s *httpSession) observeHTTP(srv *Server, status int, gotBytes bool) {
	if srv.health.passive == nil {
		return
	}
	var o check.Outcome
	switch {
	case status == 504:
		o = check.OutcomeHTTPReadTimeout
	case status == 502 && !gotBytes:
		o = check.OutcomeHTTPBrokenPipe
	case status == 502:
		o = check.OutcomeHTTPInvalid
	default:
		o = check.HTTPOutcome(status)
	}
	s.live.outcome = o
}

// sessLink is a session's entry in its server's registry while it uses the
// server; an httpSession embeds one, so registering allocates nothing.
type sessLink struct {
	client     net.Conn
	server     *serverConn
	reg        *sessRegistry // set and read by the session only
	prev, next *sessLink     // guarded by reg.mu
	linked     bool          // guarded by reg.mu

	outcome check.Outcome // the response's, for observe layer7 (0: none)
}

// sessRegistry lists a server's sessions, for "on-marked-down
// shutdown-sessions" and the runtime API's "shutdown session(s)": every
// server tracks them.
type sessRegistry struct {
	mu   sync.Mutex
	head *sessLink
	// closing counts the shutdowns still closing the connections they
	// took out of the list; a session taken out waits for them before it
	// ends (detach): its client connection, an HTTP/2 stream, serves
	// another request once the session is over and must not be closed
	// then.
	closing int
	closed  sync.Cond // on mu: closing fell to 0
}

// attach registers the session on srv.
func (l *sessLink) attach(srv *Server, client net.Conn, sc *serverConn) {
	r := &srv.health.sessions
	l.client, l.server, l.reg = client, sc, r
	r.mu.Lock()
	l.prev, l.next, l.linked = nil, r.head, true
	if r.head != nil {
		r.head.prev = l
	}
	r.head = l
	r.mu.Unlock()
}

// detach removes the session from its registry, if it is in one.
func (l *sessLink) detach() {
	r := l.reg
	if r == nil {
		return
	}
	r.mu.Lock()
	if l.linked { // not already taken out by shutdown
		if l.prev != nil {
			l.prev.next = l.next
		} else {
			r.head = l.next
		}
		if l.next != nil {
			l.next.prev = l.prev
		}
		l.prev, l.next, l.linked = nil, nil, false
	} else {
		for r.closing > 0 {
			r.wait()
		}
	}
	r.mu.Unlock()
	l.client, l.server, l.reg = nil, nil, nil
}

// wait waits for closing to change; the caller holds mu.
func (r *sessRegistry) wait() {
	r.closed.L = &r.mu
	r.closed.Wait()
}

// outgoing is the local address of the server connection of the session
// of client; nil when it has none.
func (r *sessRegistry) outgoing(client net.Conn) net.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	for l := r.head; l != nil; l = l.next {
		if l.client == client && l.server != nil {
			return l.server.c.LocalAddr()
		}
	}
	return nil
}

// shutdownServerSide closes the server connection of the session of
// client c, or of every session when c is nil, as haproxy's "shutdown
// session(s)" kill the streams: the client then gets haproxy's 502 and
// keeps its connection. It tells whether there was one.
func (r *sessRegistry) shutdownServerSide(c net.Conn) bool {
	r.mu.Lock()
	var conns []net.Conn
	for l := r.head; l != nil; l = l.next {
		if (c == nil || l.client == c) && l.server != nil {
			conns = append(conns, l.server.c)
		}
	}
	r.mu.Unlock()
	for _, sc := range conns {
		sc.Close()
	}
	return len(conns) > 0
}

// shutdown closes both sides of every registered session; each session
// then ends on its I/O error and detaches.
func (r *sessRegistry) shutdown() int {
	r.mu.Lock()
	var conns []net.Conn
	for l := r.head; l != nil; {
		next := l.next
		conns = append(conns, l.client)
		if l.server != nil {
			conns = append(conns, l.server.c)
		}
		l.prev, l.next, l.linked = nil, nil, false
		l = next
	}
	r.head = nil
	r.closing++
	r.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
	r.mu.Lock()
	if r.closing--; r.closing == 0 {
		r.closed.Broadcast()
	}
	r.mu.Unlock()
	return len(conns)
}

// releaseSlot ends the request's use of srv and reports its outcome.
func (s *httpSession) releaseSlot(srv *Server) {
	s.live.detach()
	srv.Release()
	if o := s.live.outcome; o != 0 {
		s.live.outcome = 0
		srv.health.passive.Report(o)
	}
}
