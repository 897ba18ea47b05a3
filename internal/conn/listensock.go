package conn

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// ListenSocket is a listening socket "disable frontend" and SIGTTOU can
// stop and "enable frontend" and SIGTTIN restart.
type ListenSocket struct {
	rc      syscall.RawConn
	backlog int
	addr    net.Addr
}

// NewListenSocket returns the socket under l, served as wrapped (a lazy
// listener has moved it to a descriptor of its own); false when there is
// no descriptor.
func NewListenSocket(plain, wrapped net.Listener, backlog int) (ListenSocket, bool) {
	var rc syscall.RawConn
	if sc, ok := wrapped.(syscall.Conn); ok {
		rc, _ = sc.SyscallConn()
	} else if sc, ok := plain.(syscall.Conn); ok {
		rc, _ = sc.SyscallConn()
	}
	return ListenSocket{rc, backlog, plain.Addr()}, rc != nil
}

// Addr is the socket's address.
func (s ListenSocket) Addr() net.Addr { return s.addr }

// Stop shuts the socket down for reading: on Linux a listening socket then
// stops listening (connections are refused) and keeps its address; the
// accept waiting on it fails.
func (s ListenSocket) Stop() {
	s.rc.Control(func(fd uintptr) { unix.Shutdown(int(fd), unix.SHUT_RD) })
}

// Listen makes the socket listen again after Stop.
func (s ListenSocket) Listen() (err error) {
	s.rc.Control(func(fd uintptr) { err = unix.Listen(int(fd), s.backlog) })
	return err
}
