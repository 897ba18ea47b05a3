package e2e

import (
	"net"
	"testing"

	"dhproxy/internal/conn/conntest"
)

// serveTCP listens on a free port of 127.0.0.1 and runs handle on each
// connection (conntest.Serve). It returns the port and the listener,
// closed when the test ends (or earlier by the caller, to take the server
// away).
func serveTCP(t *testing.T, handle func(net.Conn)) (int, net.Listener) {
	t.Helper()
	l := conntest.Serve(t, handle)
	return conntest.Port(l), l
}
