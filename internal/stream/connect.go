package stream

import (
	"time"

	"dhproxy/internal/lb"
	"dhproxy/internal/model"
)

// connect picks a server and returns a connection to it, with HAProxy's
// retry rules: up to "retries" more attempts after a failed connect; with
// "option redispatch" a retry goes at once to another server when the
// balancing is not deterministic and several servers are active (or on the
// last retry); otherwise it waits min(timeout connect, 1s) and tries the same
// server again. reuse may hand back an existing connection to the server.
// The returned server holds a serving slot that the caller releases.
// st, when not nil, receives the retries and whether a redispatch happened.
// prefer, when usable, is tried before the balancer is asked (persistence).
// hk, when set, is the request's balancing hash, used for the first pick.
func (b *Backend) connect(dstPort int, prefer *Server, hk hashKey, reuse func(*Server) *serverConn, st *connStats) (*Server, *serverConn, bool, int) {
	p := b.P
	srv := prefer
	if srv == nil || !srv.up.Load() {
		srv = b.pick(nil, hk)
	}
	for attempt := 0; ; attempt++ {
		if st != nil {
			st.retries = attempt
		}
		if srv == nil {
			return nil, nil, false, 503
		}
		if !srv.acquire(firstSet(p.Timeouts.Queue, p.Timeouts.Connect)) {
			return nil, nil, false, 503
		}
		if reuse != nil {
			if sc := reuse(srv); sc != nil {
				return srv, sc, true, 0
			}
		}
		sc, err := srv.dial(p.Timeouts.Connect, dstPort)
		srv.observeL4(err)
		if err == nil {
			return srv, sc, false, 0
		}
		srv.release()
		if attempt >= p.Retries {
			return nil, nil, false, 503
		}
		// Hash-based balancing is deterministic: retry the same server,
		// redispatching only on the last retry or when it went down.
		if p.Redispatch && (attempt+1 == p.Retries || (len(b.active) > 1 && b.hash.Kind == lb.HashNone) || !srv.up.Load()) {
			srv = b.pick(srv, hashKey{})
			if st != nil {
				st.redispatched = true
			}
			continue
		}
		if !isTimeout(err) {
			time.Sleep(min(firstSet(p.Timeouts.Connect, time.Second), time.Second))
		}
	}
}

// connect finds a server connection for the current request: the session's
// own kept connection when the balancer picks the same server, else an idle
// pooled one when http-reuse allows it, else a new one.
func (s *httpSession) connect(be *Backend, hk hashKey) (*Server, *serverConn, bool, int) {
	srv, sc, reused, status := be.connect(s.dstPort, s.ck.srv, hk, s.reuseFor, &s.lg.connStats)
	if sc != nil {
		s.live.attach(srv, s.c, sc)
	}
	return srv, sc, reused, status
}

// reuseFor finds an existing connection to srv that this request may use.
func (s *httpSession) reuseFor(srv *Server) *serverConn {
	if s.priv != nil {
		sc := s.priv
		s.priv = nil
		if sc.srv == srv {
			return sc
		}
		s.releaseServer(sc, true)
	}
	switch srv.backend.P.Reuse {
	case model.ReuseNever:
		return nil
	case model.ReuseSafe:
		// "safe": a session's first request never rides a connection
		// another session used, in case the server closes it meanwhile.
		if s.nreq == 0 {
			return nil
		}
	}
	return srv.takeIdle()
}

// connStats is what a connection attempt sequence reports for the logs.
type connStats struct {
	retries      int
	redispatched bool
}

// redial replaces a reused connection the server closed: a fresh connection
// to the same server, keeping the slot already held.
func (s *httpSession) redial(srv *Server, be *Backend) (*serverConn, int) {
	sc, err := srv.dial(be.P.Timeouts.Connect, s.dstPort)
	if err != nil {
		return nil, 503
	}
	return sc, 0
}
