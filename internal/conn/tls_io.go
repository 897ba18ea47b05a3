package conn

import (
	"crypto/tls"
	"errors"
	"net"
	"syscall"
	"time"
)

// TLSTransport carries a client's TLS records: the accepted connection
// (addresses, deadlines, Close) with its reads and writes done by raw
// system calls on the descriptor (FD), as plain connections do. Through
// the net.Conn every record read and write entered the scheduler's syscall
// path, handing the P over under load: on the TLS keep-alive bench that
// showed as thread wake-ups costing more than the crypto.
type TLSTransport struct {
	net.Conn // the accepted connection
	fd       FD
}

// NewTLSTransport wraps c for tls.Server; c itself when it has no
// descriptor to use.
func NewTLSTransport(c net.Conn) net.Conn {
	t := &TLSTransport{Conn: c}
	if !t.fd.Attach(c, nil) { // Read always gives a buffer: no pool needed
		return c
	}
	return t
}

// TLSFD returns the raw I/O under a client's TLS connection (tls.Server
// over a TLSTransport), nil for any other connection.
func TLSFD(c net.Conn) *FD {
	if tc, ok := c.(*tls.Conn); ok {
		if tt, ok := tc.NetConn().(*TLSTransport); ok {
			return &tt.fd
		}
	}
	return nil
}

func (t *TLSTransport) Read(p []byte) (int, error)  { return t.fd.Read(p) }
func (t *TLSTransport) Write(p []byte) (int, error) { return t.fd.Write(p) }

// SyscallConn lets ResetClose reach the socket.
func (t *TLSTransport) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := t.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// CloseWrite sends FIN (mode tcp half-close).
func (t *TLSTransport) CloseWrite() error {
	if hc, ok := t.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return errors.ErrUnsupported
}

// Handshake runs c's TLS handshake, failing at deadline, and tells whether
// it resumed an earlier session. The deadline is cleared after a success.
func Handshake(c *tls.Conn, deadline time.Time) (resumed bool, err error) {
	c.SetDeadline(deadline)
	if err := c.Handshake(); err != nil {
		return false, err
	}
	c.SetDeadline(time.Time{})
	return c.ConnectionState().DidResume, nil
}
