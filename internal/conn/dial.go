package conn

import (
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DialTCP connects to ap before deadline through a non-blocking socket
// registered with Go's poller directly (poller.go), as a lazy client socket
// is once it waits: its reads, writes and deadlines skip net.Conn's and
// internal/poll's layers (the descriptor lock, the reference counts), and
// the dial skips net.Dialer's (a context, its timer and the goroutine that
// watches it, the address's getsockname and getpeername). As net.Dialer's
// connection, the socket has TCP_NODELAY and no keep-alive probes; its
// errors are net.OpErrors of op "dial", a timeout one whose Timeout() is
// true. The connection is a *lazyConn with dialed set (DialedRaw).
func DialTCP(ap netip.AddrPort, deadline time.Time) (net.Conn, error) {
	addr := ap.Addr().Unmap()
	family, sa := syscall.AF_INET, syscall.Sockaddr(nil)
	if addr.Is4() {
		sa = &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: addr.As4()}
	} else {
		family = syscall.AF_INET6
		sa = &syscall.SockaddrInet6{Port: int(ap.Port()), Addr: addr.As16()}
	}
	c := &lazyConn{fd: -1, reads: setReads, dialed: true}
	c.remote.IP = c.ip[:copy(c.ip[:], addr.AsSlice())]
	c.remote.Port = int(ap.Port())
	fail := func(err error) (net.Conn, error) {
		if c.pd != 0 {
			c.release()
		}
		if c.fd >= 0 {
			syscall.Close(c.fd)
		}
		return nil, &net.OpError{Op: "dial", Net: "tcp", Addr: &c.remote, Err: err}
	}
	fd, err := syscall.Socket(family, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return fail(os.NewSyscallError("socket", err))
	}
	c.fd = fd
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1); err != nil {
		return fail(os.NewSyscallError("setsockopt", err))
	}
	var cerr error
	for {
		cerr = syscall.Connect(fd, sa)
		if cerr != syscall.EINTR {
			break
		}
	}
	switch cerr {
	case nil, syscall.EISCONN, syscall.EINPROGRESS, syscall.EALREADY:
	default:
		return fail(os.NewSyscallError("connect", cerr))
	}
	pd, err := pollOpen(fd)
	if err != nil {
		return fail(err)
	}
	c.pd = pd
	if cerr == syscall.EINPROGRESS || cerr == syscall.EALREADY {
		// Writable once the handshake ended, either way: SO_ERROR tells
		// which (it reads 0 while the connect is still in progress, so
		// the first look comes after a wait).
		pollDeadline(pd, unixNanos(deadline), 'w')
		var serr error
		err := pollRun(pd, uintptr(fd), func(fd uintptr) bool {
			n, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_ERROR)
			if err != nil {
				serr = os.NewSyscallError("getsockopt", err)
				return true
			}
			switch e := syscall.Errno(n); e {
			case syscall.EINPROGRESS, syscall.EALREADY, syscall.EINTR:
				return false
			case 0, syscall.EISCONN:
			default:
				serr = os.NewSyscallError("connect", e)
			}
			return true
		}, 'w', true)
		if err == nil {
			err = serr
		}
		if err != nil {
			return fail(err)
		}
		pollDeadline(pd, 0, 'w')
	}
	return c, nil
}

// DialedRaw returns the RawConn of a connection DialTCP opened, for
// splice(2) and TCP_INFO; false for any other connection.
func DialedRaw(c net.Conn) (syscall.RawConn, bool) {
	lc, ok := c.(*lazyConn)
	if !ok || !lc.dialed {
		return nil, false
	}
	return lazyRaw{lc}, true
}
