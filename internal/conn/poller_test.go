package conn

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// With WaitFirst, a registered lazy socket's read waits before trying
// only after a short read: a read that filled its buffer may have left
// bytes behind; bytes that came while the reader was busy are found; a
// deadline and a close still end a wait. Without it, a read that took the
// last bytes with the client's FIN queued behind them finds the end at
// once, which no poller event would announce.
func TestLazyReadWaitsFirstOnlyWhenDrained(t *testing.T) {
	l := lazyLoopback(t)
	// registered returns a client and its accepted socket, read through
	// an FD, once the socket is in Go's poller (its third wait).
	registered := func() (client net.Conn, nc net.Conn, lc *lazyConn, f *FD, read func(n int) string) {
		client, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		nc, err = l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		lc = nc.(*lazyConn)
		f = NewFD(nc, nil)
		if f == nil || f.lazy != lc {
			t.Fatal("the FD must know its lazy socket")
		}
		f.WaitFirst(true)
		read = func(n int) string {
			t.Helper()
			buf := make([]byte, n)
			nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			got, err := f.Read(buf)
			if err != nil {
				t.Fatalf("read: %v (drained %v)", err, f.drained)
			}
			return string(buf[:got])
		}
		for i, msg := range []string{"one", "two", "three"} {
			go func() { time.Sleep(20 * time.Millisecond); client.Write([]byte(msg)) }()
			if got := read(16); got != msg {
				t.Fatalf("wait %d: %q", i, got)
			}
		}
		return client, nc, lc, f, read
	}
	client, nc, lc, f, read := registered()
	if lc.pd == 0 || !f.drained {
		t.Fatalf("registered %v, drained %v after a short read", lc.pd != 0, f.drained)
	}
	// A full buffer is not drained: the rest is read without waiting for
	// an event that will not come.
	client.Write([]byte("0123456789abcdef-rest"))
	time.Sleep(20 * time.Millisecond)
	if got := read(16); got != "0123456789abcdef" || f.drained {
		t.Fatalf("full read %q, drained %v", got, f.drained)
	}
	if got := read(16); got != "-rest" || !f.drained {
		t.Fatalf("rest %q, drained %v", got, f.drained)
	}
	// Bytes sent before the next read began wake its wait at once.
	client.Write([]byte("early"))
	time.Sleep(20 * time.Millisecond)
	if got := read(16); got != "early" {
		t.Fatalf("early bytes: %q", got)
	}
	// Segments that came together: one read takes them all, and the next
	// read waits for new bytes (they come later).
	for _, s := range []string{"a", "b", "c"} {
		client.Write([]byte(s))
	}
	time.Sleep(20 * time.Millisecond)
	if got := read(16); got != "abc" {
		t.Fatalf("segments: %q", got)
	}
	go func() { time.Sleep(30 * time.Millisecond); client.Write([]byte("later")) }()
	if got := read(16); got != "later" {
		t.Fatalf("later bytes: %q", got)
	}
	// A waiting read honours its deadline, and an expired one fails at once.
	nc.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	if _, err := f.Read(make([]byte, 16)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("deadline: %v", err)
	}
	client.Write([]byte("there"))
	time.Sleep(20 * time.Millisecond)
	nc.SetReadDeadline(LongAgo)
	if _, err := f.Read(make([]byte, 16)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("expired deadline with bytes there: %v", err)
	}
	nc.SetReadDeadline(time.Time{})
	if got := read(16); got != "there" {
		t.Fatalf("after the deadline: %q", got)
	}
	// Close ends a waiting read.
	done := make(chan error, 1)
	go func() {
		_, err := f.Read(make([]byte, 16))
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	nc.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("closed: %v", err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not end the wait")
	}
	client2, nc2, _, f2, read2 := registered()
	f2.WaitFirst(false)
	client2.Write([]byte("bye"))
	client2.(*net.TCPConn).CloseWrite()
	time.Sleep(20 * time.Millisecond)
	if got := read2(16); got != "bye" {
		t.Fatalf("last bytes %q", got)
	}
	nc2.SetReadDeadline(time.Now().Add(2 * time.Second))
	if n, err := f2.Read(make([]byte, 16)); n != 0 || err != io.EOF {
		t.Fatalf("after the FIN: %d %v", n, err)
	}
}
