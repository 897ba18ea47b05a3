package conn

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestLazyConn: a lazily registered client socket behaves as a net.Conn:
// inherited TCP_NODELAY, addresses, a read that has to wait (registering
// the socket) and its deadline, an expired deadline before any wait,
// half-close, and close of a socket that never waited.
func TestLazyConn(t *testing.T) {
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewLazyListener(tl)
	if _, ok := l.(*lazyListener); !ok {
		t.Fatalf("a TCP listener must be wrapped, got %T", l)
	}
	defer l.Close()

	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	lc := c.(*lazyConn)
	if nd, err := unix.GetsockoptInt(lc.fd, unix.IPPROTO_TCP, unix.TCP_NODELAY); err != nil || nd == 0 {
		t.Errorf("TCP_NODELAY not inherited from the listener: %d %v", nd, err)
	}
	if ap := c.RemoteAddr().(*net.TCPAddr).AddrPort(); !ap.Addr().Is4() {
		t.Errorf("an IPv4 client must read as IPv4 (as net's own accept gives it), got %v", ap)
	}
	if c.RemoteAddr().String() != client.LocalAddr().String() || c.LocalAddr().String() != l.Addr().String() {
		t.Errorf("addresses: remote %v (want %v), local %v (want %v)", c.RemoteAddr(), client.LocalAddr(), c.LocalAddr(), l.Addr())
	}

	// Data already there: answered without the poller.
	client.Write([]byte("ping"))
	time.Sleep(20 * time.Millisecond)
	buf := make([]byte, 16)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "ping" || lc.pd != 0 {
		t.Fatalf("first read: %q %v registered=%v", buf[:n], err, lc.pd != 0)
	}
	// Nothing there: the read waits (in the wait set, as the second
	// read) and honours its deadline.
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) < 40*time.Millisecond {
		t.Fatalf("waiting read: %v after %v", err, time.Since(start))
	}
	if lc.pd != 0 {
		t.Fatal("the second read's wait registered the socket")
	}
	c.SetReadDeadline(time.Time{})
	go func() { time.Sleep(30 * time.Millisecond); client.Write([]byte("pong")) }()
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "pong" {
		t.Fatalf("read after waiting: %q %v", buf[:n], err)
	}
	if lc.pd == 0 {
		t.Fatal("the third read's wait must have registered the socket")
	}
	if _, err := c.Write([]byte("answer")); err != nil {
		t.Fatal(err)
	}
	c.(interface{ CloseWrite() error }).CloseWrite()
	if got, err := io.ReadAll(client); err != nil || string(got) != "answer" {
		t.Fatalf("client got %q %v", got, err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(buf); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("read after close: %v", err)
	}

	// A socket that never waited: an expired deadline fails the read, the
	// client sees EOF when it is closed.
	client2, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client2.Close()
	c2, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c2.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c2.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("expired deadline: %v", err)
	}
	c2.Close()
	client2.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := client2.Read(buf); err != io.EOF {
		t.Fatalf("client of a closed lazy conn: %v", err)
	}

	// Closing the listener ends Accept with net.ErrClosed.
	done := make(chan error, 1)
	go func() { _, err := l.Accept(); done <- err }()
	time.Sleep(20 * time.Millisecond)
	l.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("accept after close: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("accept did not end when the listener closed")
	}
}

// TestLazyAcceptAddrsAndAllocs: the raw accept decodes IPv4 and IPv6
// client addresses as net's accept does, and allocates only the
// connection itself (no closure, no decoded sockaddr).
func TestLazyAcceptAddrsAndAllocs(t *testing.T) {
	for _, network := range []string{"127.0.0.1:0", "[::1]:0"} {
		tl, err := net.Listen("tcp", network)
		if err != nil {
			if network[0] == '[' {
				t.Logf("no IPv6 loopback: %v", err)
				continue
			}
			t.Fatal(err)
		}
		l := NewLazyListener(tl)
		var clients []net.Conn
		dial := func() {
			cl, err := net.Dial("tcp", l.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			clients = append(clients, cl)
		}
		dial()
		c, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.RemoteAddr().String(), clients[0].LocalAddr().String(); got != want {
			t.Errorf("%s: remote address %s, want %s", network, got, want)
		}
		c.Close()
		// AllocsPerRun runs the function once more than it counts.
		const runs = 20
		for range runs + 1 {
			dial()
		}
		allocs := testing.AllocsPerRun(runs, func() {
			c, err := l.Accept()
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
		})
		if allocs > 1 {
			t.Errorf("%s: %.1f allocations per accept, want 1 (the connection)", network, allocs)
		}
		for _, cl := range clients {
			cl.Close()
		}
		l.Close()
	}
}

// TestLazyConnWaitSet: a read that waits before the socket's first data is
// in the wait set, not in Go's poller, and ends with data, a deadline set while it waits (the
// idle sweeper cuts waits so), the deadline passing, the client hanging up
// or a close; so is the second read's wait, and a third one registers the
// socket in Go's poller.
func TestLazyConnWaitSet(t *testing.T) {
	l := lazyLoopback(t)
	pair := func() (client net.Conn, c *lazyConn) {
		client, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		sc, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sc.Close() })
		return client, sc.(*lazyConn)
	}
	type result struct {
		n   int
		err error
	}
	// wait starts a read, lets it wait, runs during, and returns what the
	// read returned.
	wait := func(c *lazyConn, during func()) (result, []byte) {
		t.Helper()
		buf := make([]byte, 16)
		ch := make(chan result, 1)
		go func() {
			n, err := c.Read(buf)
			ch <- result{n, err}
		}()
		time.Sleep(20 * time.Millisecond)
		if during != nil {
			during()
		}
		select {
		case r := <-ch:
			if c.pd != 0 && c.sw == nil {
				t.Error("the first wait entered Go's poller")
			}
			return r, buf[:r.n]
		case <-time.After(5 * time.Second):
			t.Fatal("the wait did not end")
		}
		return result{}, nil
	}

	client, c := pair()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if r, got := wait(c, func() { client.Write([]byte("req")) }); r.err != nil || string(got) != "req" {
		t.Fatalf("data: %q %v", got, r.err)
	}
	if c.pd != 0 {
		t.Fatal("the first wait registered the socket")
	}
	// The first wait for a next request too: most idle clients park
	// during it, and a socket that entered Go's poller leaves a poller
	// record behind for good.
	if r, got := wait(c, func() { client.Write([]byte("next")) }); r.err != nil || string(got) != "next" || c.pd != 0 {
		t.Fatalf("second wait: %q %v, registered %v", got, r.err, c.pd != 0)
	}
	if r, got := wait(c, func() { client.Write([]byte("third")) }); r.err != nil || string(got) != "third" || c.pd == 0 {
		t.Fatalf("third wait: %q %v, registered %v", got, r.err, c.pd != 0)
	}

	_, c = pair()
	if r, _ := wait(c, func() { c.SetReadDeadline(time.Unix(1, 0)) }); !errors.Is(r.err, os.ErrDeadlineExceeded) {
		t.Fatalf("deadline moved into the past: %v", r.err)
	}

	_, c = pair()
	c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	start := time.Now()
	if r, _ := wait(c, nil); !errors.Is(r.err, os.ErrDeadlineExceeded) || time.Since(start) < 45*time.Millisecond {
		t.Fatalf("deadline: %v after %v", r.err, time.Since(start))
	}

	client, c = pair()
	if r, _ := wait(c, func() { client.Close() }); r.err != io.EOF {
		t.Fatalf("client hung up: %v", r.err)
	}

	_, c = pair()
	if r, _ := wait(c, func() { c.Close() }); !errors.Is(r.err, net.ErrClosed) {
		t.Fatalf("closed: %v", r.err)
	}
}

// TestLazyConnSize: a parked connection keeps its lazyConn; the wait
// set's state is a separate object it drops when it parks, so that the
// socket object stays in the 128-byte size class.
func TestLazyConnSize(t *testing.T) {
	if n := unsafe.Sizeof(lazyConn{}); n > 128 {
		t.Errorf("lazyConn is %d bytes, want at most 128", n)
	}
}

// lazyLoopback returns a lazy listener on a loopback port, closed at the
// test's end.
func lazyLoopback(t *testing.T) net.Listener {
	t.Helper()
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewLazyListener(tl)
	t.Cleanup(func() { l.Close() })
	return l
}
