package check

import (
	"net"
	"time"

	"dhproxy/internal/h2"
)

// HTTP checks over HTTP/2 ("check-proto h2", a "proto h2" server, or "h2"
// chosen by ALPN), as haproxy 2.6 runs them with its h2 mux: the request
// the rules build in HTTP/1.1 form goes through the same converter as the
// proxy's own requests to HTTP/2 servers (internal/h2's client side), and
// the response comes back in HTTP/1.1 form for the same expect rules.

// startH2 opens HTTP/2 on a check connection (TLS tells the :scheme).
func startH2(c net.Conn, tls bool) (*h2.ClientConn, error) {
	scheme := "http"
	if tls {
		scheme = "https"
	}
	// The stream carries the run's read deadline: the connection's own
	// would end it under the stream, and a timeout would read as a closed
	// connection. Writes keep the connection's.
	c.SetReadDeadline(time.Time{})
	return h2.NewClientConn(c, h2.ClientConfig{Scheme: scheme, MaxStreams: 1})
}

// h2Stream opens the stream a check request goes on.
func h2Stream(cc *h2.ClientConn, deadline time.Time) (net.Conn, error) {
	if !cc.Reserve(false) {
		return nil, h2.ErrConnClosed
	}
	st := cc.NewStream()
	st.SetDeadline(deadline)
	return st, nil
}
