package stream

import (
	"crypto/tls"
	"errors"
	"log"
	"net"
	"strconv"
	"time"

	"dhproxy/internal/conn"
	"dhproxy/internal/logging"
	"dhproxy/internal/model"
	"dhproxy/internal/sample"
	"dhproxy/internal/tlsconf"
)

// defaultHandshakeTimeout bounds a TLS handshake when "timeout client" is
// not set, so that a silent client cannot hold a worker forever.
const defaultHandshakeTimeout = 10 * time.Second

// bindLogName is how a connection error line names the bind: its "name",
// else its rank in the frontend (HAProxy prints the listener's name).
func bindLogName(p *model.Proxy, b *model.Bind) string {
	if b.Name != "" {
		return b.Name
	}
	for i, pb := range p.Binds {
		if pb == b {
			return strconv.Itoa(i + 1)
		}
	}
	return "?"
}

// tlsHandshake completes the handshake of a TLS client before its session
// starts, within "timeout client". A failure is logged as HAProxy logs it
// ("fe/bind: SSL handshake failure") and closes the connection.
func (fe *Frontend) tlsHandshake(c net.Conn, bind string) bool {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return true
	}
	start := time.Now()
	to := fe.P.Timeouts.Client
	if to <= 0 {
		to = defaultHandshakeTimeout
	}
	resumed, err := conn.Handshake(tc, start.Add(to))
	if err == nil {
		if resumed {
			fe.Stats.SSLReused.Add(1)
		} else {
			fe.Stats.SSLSess.Add(1)
		}
		return true
	}
	fe.Stats.SSLFailed.Add(1)
	msg := "SSL handshake failure"
	var ce *tlsconf.ClientCertError
	if errors.As(err, &ce) {
		msg = ce.LogMessage()
	}
	fe.logConnError(c, bind, start, msg)
	tc.NetConn().Close()
	return false
}

// logConnError logs HAProxy's line for a connection that ended before its
// session started, naming the peer, the frontend and the bind.
func (fe *Frontend) logConnError(c net.Conn, bind string, start time.Time, msg string) {
	if fe.logFmt == logNone {
		return
	}
	e := logging.Entry{Accept: start, Frontend: fe.P.Name}
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		e.ClientIP, e.ClientPort = ta.AddrPort().Addr().Unmap(), ta.Port
	}
	bp := fe.rt.logBufs.Get().(*[]byte)
	b := logging.FormatConnError((*bp)[:0], &e, bind, msg)
	fe.logger.Send(logging.LevelInfo, b)
	*bp = b
	fe.rt.logBufs.Put(bp)
}

// clientTLSInfo describes an established TLS connection for the ssl_fc*,
// ssl_c_* and ssl_f_* fetches; nil for a plain connection. v is the bind's
// (it checks the client's certificate, by the SNI's crt-list line, and
// knows which certificate the SNI was served).
func clientTLSInfo(c net.Conn, v *tlsconf.ClientVerifier) *sample.TLSInfo {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return nil
	}
	st := tc.ConnectionState()
	ti := &sample.TLSInfo{
		SNI:      []byte(st.ServerName),
		Protocol: []byte(tlsconf.ProtocolName(st.Version)),
		Cipher:   []byte(tlsconf.CipherName(st.CipherSuite)),
		ALPN:     []byte(st.NegotiatedProtocol),
		Resumed:  st.DidResume,
	}
	if v != nil {
		ti.Served = v.Served(st.ServerName)
	}
	if len(st.PeerCertificates) > 0 {
		ti.Client = &sample.ClientCert{Chain: st.PeerCertificates, OnConn: !st.DidResume}
		if v = v.For(st.ServerName); v != nil {
			ti.Client.Check = v.Check
		}
	}
	return ti
}

// BackendTLS implements sample.BackendTLSTxn: the state of the request's
// TLS connection to its server.
func (s *httpSession) BackendTLS() (tls.ConnectionState, bool) {
	if s.tx.bconn == nil {
		return tls.ConnectionState{}, false
	}
	return s.tx.bconn.ConnectionState(), true
}

// ClientTLS implements sample.TLSTxn for mode tcp.
func (t *tcpTxn) ClientTLS() *sample.TLSInfo {
	if !t.tlsDone {
		t.tlsInfo, t.tlsDone = clientTLSInfo(t.c, t.cv), true
	}
	return t.tlsInfo
}

// ClientTLS implements sample.TLSTxn.
func (s *httpSession) ClientTLS() *sample.TLSInfo { return s.tlsInfo }

// dialTLS completes the handshake with an "ssl" server on tc, within the
// connect timeout. Its I/O goes through the tls.Conn (conn.NewFDOver).
func (s *Server) dialTLS(tc net.Conn, cfg *tls.Config, timeout time.Duration) (*serverConn, error) {
	c := tls.Client(tc, cfg)
	resumed, err := conn.Handshake(c, time.Now().Add(timeout))
	if err != nil {
		s.Stats.SSLFailed.Add(1)
		s.backend.Stats.SSLFailed.Add(1)
		tc.Close()
		log.Printf("[WARNING] server %s/%s: SSL handshake failure: %v", s.backend.P.Name, s.Name, err)
		return nil, err
	}
	if resumed {
		s.Stats.SSLReused.Add(1)
		s.backend.Stats.SSLReused.Add(1)
	} else {
		s.Stats.SSLSess.Add(1)
		s.backend.Stats.SSLSess.Add(1)
	}
	return &serverConn{c: c, srv: s, fd: conn.NewFDOver(c)}, nil
}
