package h2

import (
	"bytes"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"dhproxy/internal/conn"
)

// TestGoAwayWithCloseEndsConnection: while a stream is under way the
// reader waits for the client before reading again once a read took all
// there was (conn.FD.WaitFirst), which would never learn of a FIN that
// came in the same segment as the client's last frames. A client's GOAWAY
// turns that off, so a GOAWAY sent together with the close ends the
// connection at once (and the stream waiting for its body), not never.
// The socket is a lazy one in Go's poller, as an accepted h2c client's is.
func TestGoAwayWithCloseEndsConnection(t *testing.T) {
	tc := servedOneByOne(t)
	c := tc.c
	tc.headers(9, false, getReq...) // its body never comes
	time.Sleep(20 * time.Millisecond)
	// GOAWAY and FIN in one segment: corked, the FIN rides on the data.
	cork(t, c)
	tc.fr.WriteGoAway(9, http2.ErrCodeNo, nil)
	c.(*net.TCPConn).CloseWrite()
	start := time.Now()
	select {
	case <-tc.served:
	case <-time.After(3 * time.Second):
		t.Fatal("the connection still served 3 s after the client's GOAWAY and close")
	}
	// The server's side closes too: the client reads to its end.
	if _, err := io.Copy(io.Discard, c); err != nil {
		t.Fatalf("after the close: %v (%v)", err, time.Since(start))
	}
}

// TestCloseWithoutGoAwayEndsConnection: a client may end with a bare close
// once its last response came (curl does), the FIN riding on a last frame
// (here a PING) that the reader takes in one read. With no stream under
// way the reader tries its next read first and sees the end at once; a
// wait-first read would wait for a readiness the FIN never announces, until
// the idle timeout (under load such connections piled up in CLOSE-WAIT).
func TestCloseWithoutGoAwayEndsConnection(t *testing.T) {
	tc := servedOneByOne(t)
	c := tc.c
	cork(t, c)
	tc.fr.WritePing(false, [8]byte{1})
	c.(*net.TCPConn).CloseWrite()
	select {
	case <-tc.served:
	case <-time.After(3 * time.Second):
		t.Fatal("the connection still served 3 s after the client's close")
	}
}

// servedOneByOne serves four requests one at a time on a lazy socket: the
// reader waits between them, and its socket enters Go's poller.
func servedOneByOne(t *testing.T) *testClient {
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tc := startConnVia(t, conn.NewLazyListener(tl), Config{IdleTimeout: 30 * time.Second}, echoHandler, nil)
	for id := uint32(1); id <= 7; id += 2 {
		time.Sleep(10 * time.Millisecond)
		tc.headers(id, true, getReq...)
		if _, body, rst := tc.response(id); rst != 0 || !bytes.HasPrefix([]byte(body), []byte("GET http://example.test/x HTTP/1.1")) {
			t.Fatalf("stream %d: %q, reset %v", id, body, rst)
		}
	}
	time.Sleep(20 * time.Millisecond) // the reader waits again
	return tc
}

// cork holds what the client writes next for one segment, with the FIN
// of a CloseWrite riding on it.
func cork(t *testing.T, c net.Conn) {
	rc, err := c.(*net.TCPConn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_CORK, 1) })
}
