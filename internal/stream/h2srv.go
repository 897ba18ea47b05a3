package stream

import (
	"crypto/tls"
	"errors"
	"sync"
	"time"

	"dhproxy/internal/conn"
	"dhproxy/internal/h2"
	"dhproxy/internal/model"
)

// h2Pool holds a server's HTTP/2 connections ("proto h2", or "alpn h2"
// negotiated). Each request is one stream on one of them, seen by the
// pipeline as a server connection carrying one HTTP/1.1 exchange; the
// connections are shared by the requests of all clients, as haproxy's
// multiplexed connections are, within http-reuse:
//   - never: each request has a connection of its own, closed after it;
//   - safe: a session's first request only joins a connection that
//     carries other streams at that moment (an idle one may be closed by
//     the server while the request is on its way), later ones any;
//   - aggressive, always: any connection with a free stream.
//
// max-reuse bounds the streams of a connection after its first,
// pool-max-conn the idle connections kept, pool-purge-delay how long an
// idle connection is kept.
type h2Pool struct {
	mu    sync.Mutex
	conns []*h2.ClientConn
}

// multiplexes tells whether connections to s may speak HTTP/2.
func (s *Server) multiplexes() bool {
	return s.Conf.MayUseH2() && s.backend.P.Mode == model.ModeHTTP
}

// dial opens a new connection to s. Towards an HTTP/2 server it is a
// stream of a new HTTP/2 connection, which joins the pool unless the
// connection may not be shared (http-reuse never, send-proxy): then it
// carries this one request. Streams of pooled connections are taken by
// reuseFor (connect.go).
func (s *Server) dial(timeout time.Duration, dstPort int, from ppStream) (*serverConn, error) {
	if !s.multiplexes() {
		return s.dialConn(timeout, dstPort, from)
	}
	sc, err := s.dialConn(timeout, dstPort, from)
	if err != nil {
		return nil, err
	}
	scheme := "http"
	if tc, ok := sc.c.(*tls.Conn); ok {
		scheme = "https"
		if s.Conf.Proto != "h2" && tc.ConnectionState().NegotiatedProtocol != "h2" {
			return sc, nil // ALPN chose HTTP/1.1
		}
	}
	var g *model.Global
	if hs, ok := from.(*httpSession); ok {
		g = &hs.fe.rt.cfg.Global
	}
	cfg := s.h2Config(scheme, g)
	shared := s.shareable()
	if !shared {
		cfg.MaxStreams = 1
	}
	cc, err := h2.NewClientConn(sc.c, cfg)
	if err != nil {
		return nil, err
	}
	cc.Reserve(false)
	if shared {
		s.h2.add(cc)
	}
	return streamConn(s, cc), nil
}

// retryable tells whether a request that got err from sc, a reused
// connection, before any byte of response may be sent again on a fresh
// connection (its body was read whole): an HTTP/1 connection whatever the
// error (the server closed it while idle); an HTTP/2 stream the server
// refused (GOAWAY below it, REFUSED_STREAM: RFC 9113 8.7 says it was not
// processed) or whose connection closed. A stream the server reset is a
// 502, as in haproxy.
func (sc *serverConn) retryable(err error) bool {
	if !sc.multiplexed() {
		return true
	}
	return errors.Is(err, h2.ErrRefused) || errors.Is(err, h2.ErrConnClosed)
}

// h2Config is the configuration of a new connection to s; g (the
// tune.h2.* settings) may be nil for the defaults.
func (s *Server) h2Config(scheme string, g *model.Global) h2.ClientConfig {
	purge := s.Conf.PoolPurgeDelay
	if purge <= 0 {
		purge = poolPurgeDelay
	}
	cfg := h2.ClientConfig{
		Scheme:       scheme,
		WriteTimeout: s.backend.P.Timeouts.Server,
		IdleTimeout:  purge,
		OnIdle:       s.h2Idle,
		Stats:        &s.backend.Stats.H2,
	}
	if g != nil {
		cfg.HeaderTableSize = g.H2.HeaderTableSize
		cfg.InitialWindowSize = g.H2.InitialWindowSize
		cfg.MaxFrameSize = g.H2.MaxFrameSize
		cfg.MaxHeaderListSize = uint32(g.BufSize)
	}
	if n := s.Conf.MaxReuse; n >= 0 {
		cfg.MaxStreams = n + 1
	}
	return cfg
}

// streamConn wraps a reserved stream of cc as a server connection.
func streamConn(s *Server, cc *h2.ClientConn) *serverConn {
	cs := cc.NewStream()
	return &serverConn{c: cs, srv: s, fd: conn.NewFDOver(cs)}
}

// take returns a stream on a pooled connection, nil when none has one
// free; busyOnly skips idle connections. Connections that can carry
// nothing more (ended, going away, max-reuse reached) leave the pool;
// their streams in flight go on, and the connection closes after the
// last one (ClientConn.release).
func (p *h2Pool) take(s *Server, busyOnly bool) *serverConn {
	p.mu.Lock()
	var got *h2.ClientConn
	keep := p.conns[:0]
	for _, cc := range p.conns {
		if !cc.Usable() {
			continue
		}
		keep = append(keep, cc)
		if got == nil && cc.Reserve(busyOnly) {
			got = cc
		}
	}
	clear(p.conns[len(keep):])
	p.conns = keep
	p.mu.Unlock()
	if got == nil {
		return nil
	}
	return streamConn(s, got)
}

func (p *h2Pool) add(cc *h2.ClientConn) {
	p.mu.Lock()
	p.conns = append(p.conns, cc)
	p.mu.Unlock()
}

// h2Idle runs when a connection's last stream ends: beyond pool-max-conn
// idle connections, it is closed.
func (s *Server) h2Idle(cc *h2.ClientConn) {
	limit := s.Conf.PoolMaxConn
	if limit < 0 {
		return
	}
	p := &s.h2
	p.mu.Lock()
	idle := 0
	for _, o := range p.conns {
		if _, ok := o.IdleSince(); ok {
			idle++
		}
	}
	p.mu.Unlock()
	if idle > limit {
		cc.Close()
	}
}

// multiplexed tells whether sc is a stream of an HTTP/2 connection: it
// carries one exchange and is closed after it (its connection stays
// pooled), never kept in the HTTP/1 idle pool.
func (sc *serverConn) multiplexed() bool {
	_, ok := sc.c.(*h2.ClientStream)
	return ok
}
