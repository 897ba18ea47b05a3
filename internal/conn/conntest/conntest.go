// Package conntest holds the socket helpers that tests of several packages
// share: loopback TCP pairs and socket option readers. Only _test files
// import it.
package conntest

import (
	"bytes"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Pair returns both ends of a loopback TCP connection, closed at the
// test's end. wrap, when not nil, wraps the listener the server end is
// accepted from (a lazy listener, for instance).
func Pair(t testing.TB, wrap func(net.Listener) net.Listener) (client, server net.Conn) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		l = wrap(l)
	}
	defer l.Close()
	client, err = net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err = l.Accept()
	if err != nil {
		client.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// QuickAck reads a socket's TCP_QUICKACK option.
func QuickAck(t testing.TB, c syscall.Conn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	v := -1
	if cerr := rc.Control(func(fd uintptr) { v, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK) }); cerr != nil {
		t.Fatal(cerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Serve listens on a free port of 127.0.0.1 and runs handle on each
// connection in a goroutine of its own, closing the connection when
// handle returns. The listener is closed when the test ends (or earlier
// by the caller, to take the server away).
func Serve(t testing.TB, handle func(net.Conn)) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return l
}

// Port is a listener's TCP port.
func Port(l net.Listener) int { return l.Addr().(*net.TCPAddr).Port }

// Answer is a Serve handler for a keep-alive HTTP/1.1 server at little CPU
// per request: every request head it reads (bodies are not expected) gets
// resp, as written. A head longer than 4 KiB ends the connection.
func Answer(resp []byte) func(net.Conn) {
	return func(c net.Conn) {
		buf := make([]byte, 4096)
		n := 0
		for {
			m, err := c.Read(buf[n:])
			if err != nil {
				return
			}
			n += m
			for {
				i := bytes.Index(buf[:n], []byte("\r\n\r\n"))
				if i < 0 {
					break
				}
				if _, err := c.Write(resp); err != nil {
					return
				}
				n = copy(buf, buf[i+4:n])
			}
			if n == len(buf) {
				return
			}
		}
	}
}

// FullBacklog returns the address of a loopback listener whose accept
// queue is full (backlog 0, connections never accepted): the kernel drops
// the SYNs of further connections, whose connects then time out. Closed
// at the test's end.
func FullBacklog(t testing.TB) netip.AddrPort {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), uint16(sa.(*syscall.SockaddrInet4).Port))
	for range 64 {
		c, err := net.DialTimeout("tcp", addr.String(), 200*time.Millisecond)
		if err != nil {
			return addr // this connect was not answered: the queue is full
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("the kernel kept accepting into a backlog of 0")
	return addr
}
