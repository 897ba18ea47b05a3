package stream

import (
	"errors"
	"net"
	"syscall"
)

// tlsTransport carries a client's TLS records: the accepted connection
// (addresses, deadlines, Close) with its reads and writes done by raw
// system calls on the descriptor (fdConn), as plain connections do. Through
// the net.Conn every record read and write entered the scheduler's syscall
// path, handing the P over under load: on the TLS keep-alive bench that
// showed as thread wake-ups costing more than the crypto.
type tlsTransport struct {
	net.Conn
	fd fdConn
}

// newTLSTransport wraps c for tls.Server; c itself when it has no
// descriptor to use.
func newTLSTransport(c net.Conn) net.Conn {
	t := &tlsTransport{Conn: c}
	t.fd.rfn, t.fd.wfn = t.fd.readAttempt, t.fd.writeAttempt
	if !t.fd.attach(c, nil) { // Read always gives a buffer: no pool needed
		return c
	}
	return t
}

func (t *tlsTransport) Read(p []byte) (int, error)  { return t.fd.Read(p) }
func (t *tlsTransport) Write(p []byte) (int, error) { return t.fd.Write(p) }

// SyscallConn lets resetClose reach the socket.
func (t *tlsTransport) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := t.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// CloseWrite sends FIN (mode tcp half-close).
func (t *tlsTransport) CloseWrite() error {
	if hc, ok := t.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return errors.ErrUnsupported
}
