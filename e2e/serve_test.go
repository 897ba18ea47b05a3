package e2e

import (
	"net"
	"testing"
)

// serveTCP listens on a free port of 127.0.0.1 and runs handle on each
// connection, in a goroutine of its own. It returns the port and the
// listener, closed when the test ends (or earlier by the caller, to take
// the server away).
func serveTCP(t *testing.T, handle func(net.Conn)) (int, net.Listener) {
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
			go handle(c)
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, l
}
