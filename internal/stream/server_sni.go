package stream

import (
	"crypto/tls"

	"dhproxy/internal/sample"
	"dhproxy/internal/tlsconf"
)

// A server's "sni <expr>" other than a constant is evaluated for each new
// connection on the request (or TCP stream) that makes it; pooled
// connections are reused only by requests computing the same name, as
// haproxy 2.6 keys its idle connections by SNI.

// serverSNI computes the name srv's sni expression gives for the stream
// from; ok is false when the server has no such expression. The name may
// point into the stream's scratch buffer: use it at once.
func serverSNI(srv *Server, from ppStream) (name []byte, ok bool) {
	e := srv.Conf.SNIExpr
	if e == nil {
		return nil, false
	}
	tx, isTxn := from.(sample.Txn)
	if !isTxn {
		return nil, true
	}
	var v sample.Value
	if !e.Eval(tx, &v) || !sample.Cast(&v, sample.TypeStr, tx.Scratch()) {
		return nil, true // no name: none is sent, as in haproxy
	}
	return v.Bytes, true
}

// clientConfig is the TLS configuration of a new connection to srv for
// the stream from.
func clientConfig(srv *Server, cfg *tls.Config, from ppStream) *tls.Config {
	if name, ok := serverSNI(srv, from); ok && len(name) > 0 {
		return tlsconf.WithServerName(cfg, string(name))
	}
	return cfg
}

// sentSNI is the name a pooled TLS connection sent.
func (sc *serverConn) sentSNI() string {
	if tc, ok := sc.c.(*tls.Conn); ok {
		return tc.ConnectionState().ServerName
	}
	return ""
}

// reusableFor tells whether sc, a connection to its server, may carry a
// request of the stream from: always, unless the server computes its SNI
// and sc sent another name.
func (sc *serverConn) reusableFor(from ppStream) bool {
	if sc.srv.transparent.Load() && !sc.reaches(from.Dst()) {
		return false // set-dst sent this request elsewhere
	}
	name, ok := serverSNI(sc.srv, from)
	return !ok || string(name) == sc.sentSNI()
}

// takeIdleFor takes an idle connection to s that the stream from may
// use: the newest one, or with an sni expression the newest that sent the
// same name.
func (s *Server) takeIdleFor(from ppStream) *serverConn {
	var sc *serverConn
	if name, ok := serverSNI(s, from); ok {
		sc, _ = s.idle.TakeMatching(func(sc *serverConn) bool { return sc.sentSNI() == string(name) })
	} else {
		sc, _ = s.idle.Take()
	}
	return sc
}
