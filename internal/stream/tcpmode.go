package stream

import (
	"net"

	"dhproxy/internal/tcp"
)

// serveTCP forwards one client connection in mode tcp to a server.
func serveTCP(fe *Frontend, c net.Conn) {
	defer c.Close()
	be := fe.backend
	if be == nil {
		return
	}
	dstPort := 0
	if la, ok := c.LocalAddr().(*net.TCPAddr); ok {
		dstPort = la.Port
	}
	srv, sc, _, _ := be.connect(dstPort, nil)
	if sc == nil {
		return
	}
	defer srv.release()
	defer sc.c.Close()
	client, ok := c.(tcp.HalfCloser)
	if !ok {
		return
	}
	tcp.Forward(client, sc.c, tunnelTimeouts(fe.P, be.P))
}
