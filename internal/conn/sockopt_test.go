package conn

import (
	"context"
	"net"
	"testing"

	"dhproxy/internal/conn/conntest"
)

// A connection accepted on a socket DelayAcks set up inherits delayed ACKs:
// that is what saves the pure ACK of its first request.
func TestDelayAcksInheritedByAcceptedConnections(t *testing.T) {
	var lc net.ListenConfig
	lc.SetMultipathTCP(false) // an MPTCP socket has no TCP_QUICKACK; dhproxy's listeners are plain TCP
	l, err := lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	DelayAcks(l)
	if v := conntest.QuickAck(t, l.(*net.TCPListener)); v != 0 {
		t.Fatalf("listener: TCP_QUICKACK %d, want 0", v)
	}
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
	if v := conntest.QuickAck(t, a.(*net.TCPConn)); v != 0 {
		t.Fatalf("accepted connection: TCP_QUICKACK %d, want 0", v)
	}
}
