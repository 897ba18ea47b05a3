package stream

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"dhproxy/internal/conn/conntest"
)

// Observation and session tracking for shutdown-sessions add no allocation
// to the keep-alive request path.
func TestObservedTrackedRequestAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	rt, port := startObserved(t)
	for _, s := range rt.backends["be"].Servers {
		if s.health.passive == nil {
			t.Fatalf("server %s: no passive observation", s.Name)
		}
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /small HTTP/1.1\r\nHost: bench\r\nUser-Agent: test\r\nAccept: */*\r\n\r\n")
	buf := make([]byte, 4096)
	for range 50 {
		roundTrip(t, c, req, buf)
	}
	allocs := testing.AllocsPerRun(1000, func() { roundTrip(t, c, req, buf) })
	if allocs >= 0.5 {
		t.Fatalf("%.2f allocations per observed, tracked keep-alive request, want 0", allocs)
	}
	// Between requests the session is not registered on any server.
	for _, s := range rt.backends["be"].Servers {
		s.health.sessions.mu.Lock()
		head := s.health.sessions.head
		s.health.sessions.mu.Unlock()
		if head != nil {
			t.Errorf("server %s still lists a session between requests", s.Name)
		}
	}
}

// startObserved runs two servers with observe layer7 and shutdown-sessions.
func startObserved(t testing.TB) (*Runtime, int) {
	b1, b2 := rawBackend(t), rawBackend(t)
	port := freeLocalPort(t)
	opts := " check inter 60s observe layer7 error-limit 10 on-error mark-down on-marked-down shutdown-sessions"
	rt := startRuntime(t, "defaults\n mode http\n timeout connect 5s\n timeout client 30s\n timeout server 30s\n http-reuse always\n"+
		"frontend fe\n bind 127.0.0.1:"+strconv.Itoa(port)+"\n default_backend be\n"+
		"backend be\n server s1 127.0.0.1:"+strconv.Itoa(b1)+opts+"\n server s2 127.0.0.1:"+strconv.Itoa(b2)+opts+"\n")
	return rt, port
}

func BenchmarkObservedTrackedRequest(b *testing.B) {
	_, port := startObserved(b)
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /small HTTP/1.1\r\nHost: bench\r\n\r\n")
	buf := make([]byte, 4096)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		roundTrip(b, c, req, buf)
	}
}

// shutdown closes a registered session's two connections; detach after
// that, and a second shutdown, are harmless.
func TestSessionRegistry(t *testing.T) {
	srv := &Server{}
	a1, a2 := net.Pipe()
	b1, b2 := net.Pipe()
	defer a2.Close()
	defer b2.Close()
	c, _ := conntest.Pair(t, nil)
	tc := c.(*net.TCPConn)
	var l1, l2 sessLink
	l1.attach(srv, a1, &serverConn{c: tc})
	l2.attach(srv, b1, nil)
	l2.detach()
	if n := srv.health.sessions.shutdown(); n != 2 {
		t.Errorf("shutdown closed %d connections, want 2 (l1's client and server)", n)
	}
	a2.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := a2.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("client side after shutdown: %v, want EOF", err)
	}
	b2.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := b2.Read(make([]byte, 1)); err == io.EOF {
		t.Error("a detached session was closed")
	}
	l1.detach()
	if n := srv.health.sessions.shutdown(); n != 0 {
		t.Errorf("second shutdown closed %d", n)
	}
}

// closeGate is a client connection whose Close waits for a release.
type closeGate struct {
	net.Conn
	entered, release chan struct{}
}

func (c closeGate) Close() error {
	close(c.entered)
	<-c.release
	return nil
}

// A session that a shutdown took out of its server's registry does not
// end (detach) before the shutdown has closed its client connection: an
// HTTP/2 stream is recycled for another request once its session ends,
// and that request must not be the one closed.
func TestDetachWaitsForShutdownClose(t *testing.T) {
	srv := &Server{}
	client := closeGate{entered: make(chan struct{}), release: make(chan struct{})}
	var l sessLink
	l.attach(srv, client, nil)
	go srv.health.sessions.shutdown()
	<-client.entered
	detached := make(chan struct{})
	go func() {
		l.detach()
		close(detached)
	}()
	select {
	case <-detached:
		t.Fatal("the session ended while the shutdown was still closing its connection")
	case <-time.After(50 * time.Millisecond):
	}
	close(client.release)
	select {
	case <-detached:
	case <-time.After(5 * time.Second):
		t.Fatal("detach still waiting after the shutdown closed the connection")
	}
}
