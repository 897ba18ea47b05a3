package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"
)

// silent-drop: the proxy drops the connection and the client is told
// nothing. As root (TCP_REPAIR) no FIN nor RST reaches it: its read
// only times out; without the privilege haproxy (and dhproxy) reset the
// connection with a TTL of 1, which still reaches a local client.
func TestSilentDrop(t *testing.T) {
	be := rulesBackend(t, "app")
	ports := [5]int{freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)}
	startProxy(t, fmt.Sprintf(`
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen conn
    mode tcp
    bind 127.0.0.1:%d
    tcp-request connection silent-drop if { src 127.0.0.1 } { dst_port %d }
    server s 127.0.0.1:%d
listen sess
    mode tcp
    bind 127.0.0.1:%d
    tcp-request session silent-drop
    server s 127.0.0.1:%d
listen content
    mode tcp
    bind 127.0.0.1:%d
    tcp-request inspect-delay 2s
    tcp-request content silent-drop if { req.payload(0,4) -m str DROP }
    server s 127.0.0.1:%d
listen web
    mode http
    bind 127.0.0.1:%d
    tcp-request content silent-drop if { path /drop }
    http-request silent-drop if { path /hdrop }
    server s 127.0.0.1:%d
listen response
    mode tcp
    bind 127.0.0.1:%d
    tcp-response inspect-delay 2s
    tcp-response content silent-drop if { res.payload(0,4) -m str HTTP }
    server s 127.0.0.1:%d
`, ports[0], ports[0], be, ports[1], be, ports[2], be, ports[3], be, ports[4], be), ports[3])
	// the readiness probe of the other ports would be dropped too
	for _, p := range []int{ports[0], ports[1], ports[2], ports[4]} {
		waitPort(t, p, 5*time.Second)
	}
	for _, c := range []struct {
		name string
		port int
		send string
	}{
		// The client sends nothing before a connection or session rule
		// dropped it: a segment reaching the dropped socket's address
		// later is answered by a reset from the kernel (there as in haproxy).
		{"tcp-request connection", ports[0], ""},
		{"tcp-request session", ports[1], ""},
		{"tcp-request content", ports[2], "DROP me\n"},
		{"tcp-request content (mode http)", ports[3], "GET /drop HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"http-request", ports[3], "GET /hdrop HTTP/1.1\r\nHost: x\r\n\r\n"},
		{"tcp-response content", ports[4], "GET / HTTP/1.1\r\nHost: x\r\n\r\n"},
	} {
		expectSilentDrop(t, c.name, c.port, c.send)
	}
	// an HTTP request the rule lets through is served
	out, err := curl(t, "-s", "-o", "/dev/null", "-w", "%{http_code}", fmt.Sprintf("http://127.0.0.1:%d/ok", ports[3]))
	if err != nil || out != "200" {
		t.Errorf("a request not dropped: %q %v", out, err)
	}
}

// expectSilentDrop sends send to port and checks that the connection was
// dropped without a word: as root (TCP_REPAIR) the client's read times
// out, else it sees the reset.
func expectSilentDrop(t *testing.T, name string, port int, send string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 5*time.Second)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if send != "" {
		conn.Write([]byte(send))
	}
	conn.SetReadDeadline(time.Now().Add(1500 * time.Millisecond))
	n, err := conn.Read(make([]byte, 512))
	conn.Close()
	var ne net.Error
	timedOut := errors.As(err, &ne) && ne.Timeout()
	root := os.Geteuid() == 0
	switch {
	case n > 0:
		t.Errorf("%s: the client got %d bytes", name, n)
	case root && !timedOut:
		t.Errorf("%s: the client was told (%v); want silence", name, err)
	case !root && timedOut:
		t.Errorf("%s: no reset without TCP_REPAIR", name)
	}
}
