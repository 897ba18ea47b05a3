package conn

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/conn/conntest"
)

// dialDirect dials l's address with DialTCP and returns both ends.
func dialDirect(t *testing.T, l net.Listener) (c, peer net.Conn) {
	t.Helper()
	c, err := DialTCP(l.Addr().(*net.TCPAddr).AddrPort(), time.Now().Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	peer, err = l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	return c, peer
}

// A DialTCP socket is a TCP connection as net.Dialer's: its addresses,
// TCP_NODELAY without keep-alive probes, reads and writes through an FD
// and as a net.Conn, the peer's FIN seen as EOF (a pooled connection the
// server closed), and DialedRaw knows it (not an accepted lazy socket).
func TestDialTCP(t *testing.T) {
	for _, network := range []string{"tcp4", "tcp6"} {
		l, err := net.Listen(network, "localhost:0")
		if err != nil {
			if network == "tcp6" {
				continue // no IPv6 loopback here
			}
			t.Fatal(err)
		}
		defer l.Close()
		c, peer := dialDirect(t, l)
		if got, want := c.RemoteAddr().String(), l.Addr().String(); got != want {
			t.Errorf("%s: remote %s, want %s", network, got, want)
		}
		if got, want := c.LocalAddr().String(), peer.RemoteAddr().String(); got != want {
			t.Errorf("%s: local %s, want %s", network, got, want)
		}
		rc, ok := DialedRaw(c)
		if !ok {
			t.Fatalf("%s: DialedRaw does not know a dialed socket", network)
		}
		rc.Control(func(fd uintptr) {
			nd, _ := unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_NODELAY)
			ka, _ := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_KEEPALIVE)
			if nd == 0 || ka != 0 {
				t.Errorf("%s: TCP_NODELAY %d, SO_KEEPALIVE %d", network, nd, ka)
			}
		})
		f := NewFD(c, nil)
		if _, err := f.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 16)
		if n, err := io.ReadAtLeast(peer, buf, 4); err != nil || string(buf[:n]) != "ping" {
			t.Fatalf("%s: peer read %q, %v", network, buf[:n], err)
		}
		go func() {
			io.ReadFull(peer, make([]byte, 3)) // "req"
			peer.Write([]byte("pong"))
		}()
		if sent, err := f.SendAwait([]byte("req")); !sent || err != nil {
			t.Fatalf("%s: SendAwait %v, %v", network, sent, err)
		}
		if n, err := f.Read(buf); err != nil || string(buf[:n]) != "pong" {
			t.Fatalf("%s: read %q, %v", network, buf[:n], err)
		}
		peer.Write([]byte("x"))
		if n, err := c.Read(buf); err != nil || string(buf[:n]) != "x" {
			t.Fatalf("%s: net.Conn read %q, %v", network, buf[:n], err)
		}
		peer.Close()
		if n, err := f.Read(buf); n != 0 || err != io.EOF {
			t.Fatalf("%s: after the peer's close %d, %v; want EOF", network, n, err)
		}
	}
	l := lazyLoopback(t)
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	accepted, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer accepted.Close()
	if _, ok := DialedRaw(accepted); ok {
		t.Fatal("DialedRaw took an accepted lazy socket")
	}
}

// Deadlines and Close end a DialTCP socket's waits with the errors
// net.Conn gives: a timeout (os.ErrDeadlineExceeded, a net.Error whose
// Timeout() is true) and net.ErrClosed.
func TestDialTCPDeadlineAndClose(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, _ := dialDirect(t, l)
	c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	_, err = c.Read(make([]byte, 8))
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read past its deadline: %v", err)
	}
	c.SetReadDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := NewFD(c, nil).Read(make([]byte, 8))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	c.Close()
	if err := <-done; !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read ended by Close: %v", err)
	}
	if _, err := c.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after Close: %v", err)
	}
}

// A refused connection and one that no answer completes before the
// deadline fail as net.Dialer's do: net.OpErrors of op "dial", the
// first with ECONNREFUSED, the second a timeout (backend.Connect's 'sC').
func TestDialTCPErrors(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).AddrPort()
	l.Close()
	_, err = DialTCP(closed, time.Now().Add(2*time.Second))
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != "dial" || !errors.Is(err, syscall.ECONNREFUSED) || oe.Timeout() {
		t.Fatalf("refused: %v", err)
	}

	full := conntest.FullBacklog(t)
	start := time.Now()
	_, err = DialTCP(full, start.Add(100*time.Millisecond))
	if !errors.As(err, &oe) || oe.Op != "dial" || !oe.Timeout() {
		t.Fatalf("no answer: %v", err)
	}
	if time.Since(start) < 100*time.Millisecond {
		t.Fatalf("the dial failed before its deadline: %v", err)
	}
}
