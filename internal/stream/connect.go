package stream

import (
	"errors"
	"net"
	"time"

	"dhproxy/internal/backend"
	"dhproxy/internal/fcgi"
	"dhproxy/internal/model"
)

// connect picks a server and returns a connection to it, with HAProxy's
// retries and redispatch (backend.Connect). reuse, when not nil, may hand
// back an existing connection to the server. The returned server holds a
// serving slot that the caller releases. st, when not nil, receives the
// retries, the redispatch and the time queued. prefer, when up, is tried
// before the balancer is asked (persistence: use-server, a cookie or a
// stick table), or as persist allows. hk, when set, is the request's
// balancing hash, used for the first pick. from is the client side, for
// the PROXY header of send-proxy servers; prio orders the request in the
// queues when every slot is taken.
func (b *Backend) connect(dstPort int, prefer *Server, persist backend.Persist, hk hashKey, reuse func(*Server) (*serverConn, bool), st *connStats, from ppStream, prio backend.Priority) (*Server, *serverConn, bool, int) {
	timeout := b.P.Timeouts.Connect
	dial := func(srv *Server) (*serverConn, error) {
		if st != nil {
			st.tried = srv
		}
		sc, err := srv.dial(timeout, dstPort, from)
		if st != nil {
			st.timedOut = isTimeout(err)
		}
		srv.observeL4(err)
		return sc, err
	}
	a := backend.Attempts{Priority: prio}
	if st != nil {
		// an L7 retry goes on with the attempts already made
		a.Retries, a.Redispatched, a.Queued = st.retries, st.redispatched, st.queued
	}
	srv, sc, reused, status := backend.Connect(b.Farm, core(prefer), persist, hk.h, hk.ok, reuse, dial, &a)
	if st != nil {
		st.retries, st.redispatched, st.queued, st.queueTerm = a.Retries, a.Redispatched, a.Queued, a.Term
	}
	return srv, sc, reused, status
}

// core is s's balancing state, nil for none.
func core(s *Server) *backend.Server[*Server] {
	if s == nil {
		return nil
	}
	return &s.Server
}

// connect finds a server connection for the current request: the session's
// own kept connection when the balancer picks the same server, else an idle
// pooled one when http-reuse allows it, else a new one.
func (s *httpSession) connect(be *Backend, prefer *Server, persist backend.Persist, hk hashKey) (*Server, *serverConn, bool, int) {
	s.lg.connStats = connStats{}
	prio := backend.Priority{Class: s.tx.PrioClass, Offset: s.tx.PrioOffset}
	srv, sc, reused, status := be.connect(s.localPort(be), prefer, persist, hk, s.reuseFor, &s.lg.connStats, s, prio)
	if sc != nil && sc != redirectConn {
		s.live.attach(srv, s.c, sc)
		s.listed.using(be, srv)
		if fc, ok := sc.c.(*fcgi.Conn); ok {
			s.fcgiRequest(fc, be)
		}
	}
	return srv, sc, reused, status
}

// reuseFor finds an existing connection to srv that this request may use;
// redirectConn when srv redirects the request instead ("redir").
func (s *httpSession) reuseFor(srv *Server) (*serverConn, bool) {
	if srv.Conf.Redir != "" {
		if m := string(s.req.Method); m == "GET" || m == "HEAD" {
			return redirectConn, true
		}
	}
	if s.priv != nil {
		sc := s.priv
		s.priv = nil
		if sc.srv == srv && sc.reusableFor(s) {
			return sc, true
		}
		s.releaseServer(sc, true)
	}
	if !srv.shareable() {
		return nil, false
	}
	// "safe": a session's first request never rides a connection
	// another session used, in case the server closes it meanwhile.
	first := srv.backend.P.Reuse == model.ReuseSafe && s.nreq == 0
	if srv.multiplexes() {
		if sc := srv.h2.take(srv, first); sc != nil {
			return sc, true
		}
	}
	if first {
		return nil, false
	}
	sc := srv.takeIdleFor(s)
	return sc, sc != nil
}

// shareable tells whether connections to s may serve other sessions: not
// with http-reuse never, nor when they started with a PROXY header naming
// one client, nor to a transparent server (each goes where its request
// was headed).
func (s *Server) shareable() bool {
	return s.backend.P.Reuse != model.ReuseNever && s.Conf.SendProxy.Version == 0 && !s.transparent.Load()
}

// connStats is what a connection attempt sequence reports for the logs.
type connStats struct {
	retries      int
	redispatched bool
	queued       time.Duration // waiting in queues (%Tw)
	queueTerm    byte          // 's' queue timeout, 'S' queue full; 0 when not failed in a queue
	tried        *Server       // the last server a connection was attempted to (logged on failure)
	timedOut     bool          // the last attempt hit "timeout connect"
}

// failState is the log's termination stage for a failed connect: 'Q' when
// the request failed in a queue, else 'C'; cause is 's' (a timeout) or
// 'S' then.
func (st *connStats) failState() (cause, stage byte) {
	if st.queueTerm != 0 {
		return st.queueTerm, 'Q'
	}
	if st.timedOut {
		return 's', 'C'
	}
	return 'S', 'C'
}

// localPort is the port the client connected to, for a backend with a
// server that uses it; asked of the kernel once per connection, and only
// then.
func (s *httpSession) localPort(be *Backend) int {
	if !be.useDst {
		return 0
	}
	if s.dstPort == 0 {
		if la, ok := s.c.LocalAddr().(*net.TCPAddr); ok {
			s.dstPort = la.Port
		}
	}
	return s.dstPort
}

// redial replaces a reused connection the server closed: a fresh connection
// to the same server, keeping the slot already held.
func (s *httpSession) redial(srv *Server, be *Backend) (*serverConn, int) {
	sc, err := srv.dial(be.P.Timeouts.Connect, s.localPort(be), s)
	if err != nil {
		return nil, 503
	}
	if fc, ok := sc.c.(*fcgi.Conn); ok {
		s.fcgiRequest(fc, be)
	}
	return sc, 0
}

// isTimeout tells whether err is a timeout (a dial's "timeout connect").
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
