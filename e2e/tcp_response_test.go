package e2e

import (
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// bannerServer accepts connections and writes parts to each, pausing
// between them, then echoes what the client sends.
func bannerServer(t *testing.T, parts ...string) int {
	t.Helper()
	return h1StartRawBackend(t, func(c net.Conn) {
		for i, p := range parts {
			if i > 0 {
				time.Sleep(200 * time.Millisecond)
			}
			c.Write([]byte(p))
		}
		io.Copy(c, c)
	})
}

// tcp-response content rules wait for the server's first bytes (res.len,
// res.payload) and accept, reject or close, as in haproxy.
func TestTCPResponseContent(t *testing.T) {
	good, split, bad := bannerServer(t, "HELLO\n"), bannerServer(t, "HEL", "LO\n"), bannerServer(t, "BAD!xx\n")
	ports := [3]int{freePort(t), freePort(t), freePort(t)}
	cfg := defaultsSection("tcp", "2s", "5s", "5s") + fmt.Sprintf(`

listen good
    bind 127.0.0.1:%d
    tcp-response inspect-delay 3s
    tcp-response content reject if { res.payload(0,4) -m bin 42414421 }
    tcp-response content accept if { res.len ge 6 }
    server s 127.0.0.1:%d

listen split
    bind 127.0.0.1:%d
    tcp-response inspect-delay 3s
    tcp-response content accept if { res.len ge 6 }
    tcp-response content reject
    server s 127.0.0.1:%d

listen bad
    bind 127.0.0.1:%d
    tcp-response inspect-delay 3s
    tcp-response content reject if { res.payload(0,4) -m bin 42414421 }
    tcp-response content accept if { res.len ge 6 }
    server s 127.0.0.1:%d
`, ports[0], good, ports[1], split, ports[2], bad)
	p := startProxy(t, cfg, ports[:]...)
	defer p.stop()
	read := func(port int) string {
		c, err := net.DialTimeout("tcp", h1Addr(port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 64)
		n, _ := io.ReadAtLeast(c, buf, 6)
		if n < 6 {
			return string(buf[:n])
		}
		c.Write([]byte("ping"))
		m, _ := io.ReadAtLeast(c, buf[n:], 4)
		return string(buf[:n+m])
	}
	for i, want := range []string{"HELLO\nping", "HELLO\nping", ""} {
		if got := read(ports[i]); got != want {
			t.Errorf("%s: %q, want %q", []string{"good", "split", "bad"}[i], got, want)
		}
	}
}

// tcp-response is refused outside backends with haproxy's words.
func TestTCPResponseInFrontendRefused(t *testing.T) {
	_, stderr, code := runCheck(t, "defaults\n    mode tcp\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend f\n    bind 127.0.0.1:1\n    tcp-response content accept\n    default_backend b\nbackend b\n    server s 127.0.0.1:9\n")
	want := "tcp-response content is only allowed in 'backend' sections or 'defaults' section with a name"
	if code == 0 || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, stderr %q; want %q", code, stderr, want)
	}
}
