package stream

import (
	"context"
	"fmt"
	"net"
	"syscall"
	"testing"

	"dhproxy/internal/conn"
	"dhproxy/internal/conn/conntest"
)

// HTTP frontends delay the ACK of a new connection's request, as HAProxy's
// default "option tcp-smart-accept" does in mode http: the response
// acknowledges it, one packet fewer per connection. TCP frontends do not,
// and the option turns it on or off either way.
func TestSmartAcceptOnHTTPListeners(t *testing.T) {
	ports := make([]int, 4)
	for i := range ports {
		ports[i] = freeLocalPort(t)
	}
	rt := startRuntime(t, fmt.Sprintf(`defaults
 timeout connect 1s
 timeout client 5s
 timeout server 5s
frontend http_default
 mode http
 bind 127.0.0.1:%d
frontend http_off
 mode http
 no option tcp-smart-accept
 bind 127.0.0.1:%d
frontend tcp_default
 mode tcp
 bind 127.0.0.1:%d
frontend tcp_on
 mode tcp
 option tcp-smart-accept
 bind 127.0.0.1:%d
`, ports[0], ports[1], ports[2], ports[3]))
	want := map[string]int{"http_default": 0, "http_off": 1, "tcp_default": 1, "tcp_on": 0}
	if len(rt.frontends) != len(want) || len(rt.listeners) != len(want) {
		t.Fatalf("%d frontends, %d listeners", len(rt.frontends), len(rt.listeners))
	}
	for i, fe := range rt.frontends { // one bind each, listed in order
		if got := conntest.QuickAck(t, rt.listeners[i].(syscall.Conn)); got != want[fe.P.Name] {
			t.Errorf("%s: TCP_QUICKACK %d on the listening socket, want %d", fe.P.Name, got, want[fe.P.Name])
		}
	}
}

// A session awaiting more of a request turns quick ACKs back on for its
// client, as HAProxy does on a smart-accept socket; elsewhere it leaves the
// socket alone.
func TestExpectMoreTurnsQuickAckOn(t *testing.T) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false)
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	conn.DelayAcks(l)
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	a, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	s := &httpSession{c: a, bind: &bindRef{}}
	s.expectMore()
	if v := conntest.QuickAck(t, a.(syscall.Conn)); v != 0 {
		t.Fatalf("without smart accept: TCP_QUICKACK %d, want 0 (left alone)", v)
	}
	s.bind.smartAccept = true
	s.expectMore()
	if v := conntest.QuickAck(t, a.(syscall.Conn)); v != 1 {
		t.Fatalf("TCP_QUICKACK %d, want 1", v)
	}
}
