package stream

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"time"

	"dhproxy/internal/conn"
	"dhproxy/internal/h2"
	"dhproxy/internal/sample"
)

// negotiatedH2 tells whether a TLS client chose "h2" by ALPN.
func negotiatedH2(c net.Conn) bool {
	tc, ok := c.(*tls.Conn)
	return ok && tc.ConnectionState().NegotiatedProtocol == "h2"
}

// h2Config is the HTTP/2 layer's configuration for fe's connections.
func (fe *Frontend) h2Config() h2.Config {
	g := &fe.rt.cfg.Global
	t := &fe.P.Timeouts
	return h2.Config{
		HeaderTableSize:      g.H2.HeaderTableSize,
		InitialWindowSize:    g.H2.InitialWindowSize,
		MaxConcurrentStreams: g.H2.MaxConcurrentStreams,
		MaxFrameSize:         g.H2.MaxFrameSize,
		MaxHeaderListSize:    uint32(fe.rt.headMax),
		WriteTimeout:         t.Client,
		IdleTimeout:          firstSet(t.HTTPKeepAlive, t.HTTPRequest, t.Client),
		RequestTimeout:       firstSet(t.HTTPRequest, t.Client),
		Stop:                 fe.rt.stopH2,
		Stats:                &fe.Stats.H2,
		NoExtendedConnect:    g.H2NoWebsocket,
	}
}

// serveH2 serves an HTTP/2 client connection: each stream is one
// transaction of the HTTP/1 pipeline (serveStream), so rules, logs,
// counters and balancing are the same as over HTTP/1. sc are the
// connection's stick counters, shared by its streams; bind is the socket
// that accepted it (its clientCheck checks client certificates of an mTLS
// bind).
func serveH2(fe *Frontend, c net.Conn, sc *trackers, bind *bindRef) {
	defer sc.stop()
	if fe.logFmt != logNone {
		fe.logConnect(c)
	}
	tlsInfo := clientTLSInfo(c, bind.clientCheck)
	// The connection is the session: its streams share one store of sess
	// variables, starting with those its tcp-request rules set.
	sess := sample.NewSharedVars(startedSessVars(c))
	var client netip.AddrPort // the streams' source, found once
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		client = netip.AddrPortFrom(ta.AddrPort().Addr().Unmap(), uint16(ta.Port))
	}
	h2.Serve(c, fe.h2Config(), func(st *h2.Stream) {
		serveStream(fe, bind, st, sc, sess, tlsInfo, client)
	})
}

// SharedSessVars is the store of an HTTP/2 stream's sess variables, shared
// by the streams of its connection (nil over HTTP/1).
func (s *httpSession) SharedSessVars() *sample.SharedVars { return s.h2Sess }

// OverH2 tells the sample fetches (req.ver) that the request came over
// HTTP/2.
func (s *httpSession) OverH2() bool { return s.h2 }

// streamSessions recycles the session objects of HTTP/2 streams, so that
// a stream does not pay for growing its tables again.
var streamSessions sync.Pool

// serveStream runs one HTTP/2 stream through the session's request loop;
// the stream reads as a connection carrying one HTTP/1.1 request.
// sess holds the connection's sess variables, which all its streams read
// and write.
func serveStream(fe *Frontend, bind *bindRef, st *h2.Stream, sc *trackers, sess *sample.SharedVars, tlsInfo *sample.TLSInfo, client netip.AddrPort) {
	s, _ := streamSessions.Get().(*httpSession)
	if s == nil {
		s = &httpSession{}
		s.idle = conn.NewIdle(&s.c)
	}
	defer func() {
		s.h2Sess = nil // a pooled session keeps no connection's variables alive
		streamSessions.Put(s)
	}()
	s.reset(fe, st)
	s.h2 = true
	s.bind = bind
	// The connection is the session: only its first stream is its first
	// request (http-reuse safe, http_first_req), as in haproxy.
	s.nreq = st.Seq()
	s.connSC = *sc
	s.h2Sess = sess
	if client.IsValid() {
		s.clientIP, s.clientPort = client.Addr(), int(client.Port())
	}
	s.accept = time.Now()
	s.lg.on = fe.logFmt != logNone
	s.cio = st
	s.tlsInfo = tlsInfo
	s.serve()
}
