package stream

import (
	"errors"
	"net"
	"syscall"
	"testing"
	"time"

	"dhproxy/internal/conn"
)

// A server with a literal address is dialed through conn.DialTCP (its
// socket registered with the poller directly) and carries raw descriptor
// I/O; one with a "source" address still goes through net.Dialer, which
// binds it. A refused connection reports the error backend.Connect
// retries on, not a timeout.
func TestDialConnDirect(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	addr := ln.Addr().String()
	b := testBackend(t, "backend be\n server direct "+addr+"\n server bound "+addr+" source 127.0.0.2\n")
	for i, wantDirect := range []bool{true, false} {
		sc, err := b.Servers[i].dialConn(time.Second, 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		peer, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		if _, direct := conn.DialedRaw(sc.c); direct != wantDirect {
			t.Errorf("%s: dialed directly %v, want %v", b.Servers[i].Name, direct, wantDirect)
		}
		if srv, local := sc.ends(); srv.String() != addr || (!wantDirect && local.Addr().String() != "127.0.0.2") {
			t.Errorf("%s: ends %v %v", b.Servers[i].Name, srv, local)
		}
		if sc.fd == nil {
			t.Fatalf("%s: no raw I/O", b.Servers[i].Name)
		}
		if _, err := sc.fd.Write([]byte("GET")); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 3)
		if _, err := peer.Read(buf); err != nil || string(buf) != "GET" {
			t.Fatalf("%s: server read %q, %v", b.Servers[i].Name, buf, err)
		}
		peer.Close()
		sc.Close()
	}
	ln.Close()
	_, err = b.Servers[0].dialConn(time.Second, 0, nil)
	var ne net.Error
	if !errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("refused: %v", err)
	}
}
