package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// tuneHeadServer answers every request with a response carrying fields
// header fields (Content-Length included), whatever it receives.
func tuneHeadServer(t *testing.T, fields int) int {
	t.Helper()
	var resp strings.Builder
	resp.WriteString("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n")
	for i := 1; i < fields; i++ {
		fmt.Fprintf(&resp, "X-R%d: v\r\n", i)
	}
	resp.WriteString("\r\nok")
	port, _ := serveTCP(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			req.Body.Close()
			if _, err := c.Write([]byte(resp.String())); err != nil {
				return
			}
		}
	})
	return port
}

// tuneRequest sends one request with fields header fields (Host included)
// and a value of pad bytes in the last one, and returns the status.
func tuneRequest(t *testing.T, port, fields, pad int) int {
	t.Helper()
	var b strings.Builder
	b.WriteString("GET / HTTP/1.1\r\nHost: x\r\n")
	for i := 2; i < fields; i++ {
		fmt.Fprintf(&b, "X-Q%d: v\r\n", i)
	}
	if fields > 1 {
		fmt.Fprintf(&b, "X-Pad: %s\r\n", strings.Repeat("a", pad))
	}
	b.WriteString("\r\n")
	c, br := h1Dial(t, port)
	defer c.Close()
	h1Write(t, c, b.String())
	resp, _ := h1ReadResp(t, br, "GET")
	return resp.StatusCode
}

// TestTuneHTTPMaxHdr: tune.http.maxhdr 10 lets a head carry 9 fields (the
// start line counts as one); a request with 10 gets 400, a response with
// 10 gets 502 (haproxy 2.6.12 does the same).
func TestTuneHTTPMaxHdr(t *testing.T) {
	ok9, bad10 := tuneHeadServer(t, 9), tuneHeadServer(t, 10)
	port, badPort := freePort(t), freePort(t)
	cfg := `
global
    tune.http.maxhdr 10` + defaultsSection("http", "5s", "30s", "30s") + `
frontend fe
    bind 127.0.0.1:` + fmt.Sprint(port) + `
    default_backend ok
frontend fe_bad
    bind 127.0.0.1:` + fmt.Sprint(badPort) + `
    default_backend bad
backend ok
    server s1 127.0.0.1:` + fmt.Sprint(ok9) + `
backend bad
    server s1 127.0.0.1:` + fmt.Sprint(bad10) + `
`
	startProxy(t, cfg, port, badPort)
	if got := tuneRequest(t, port, 9, 1); got != 200 {
		t.Errorf("request with 9 fields: status %d, want 200", got)
	}
	if got := tuneRequest(t, port, 10, 1); got != 400 {
		t.Errorf("request with 10 fields: status %d, want 400", got)
	}
	c, br := h1Dial(t, badPort)
	h1Write(t, c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := h1ReadResp(t, br, "GET"); resp.StatusCode != 502 {
		t.Errorf("response with 10 fields: status %d, want 502", resp.StatusCode)
	}
}

// TestTuneMaxRewrite: a request head must fit in tune.bufsize minus
// tune.maxrewrite. A 2500-byte head passes with bufsize 4096 and maxrewrite
// 1024 and is refused with maxrewrite 2048 (haproxy 2.6.12 does the same;
// its exact limit is some 90 bytes lower, its internal representation's
// overhead, so the sizes stay clear of both edges).
func TestTuneMaxRewrite(t *testing.T) {
	be := tuneHeadServer(t, 1)
	for _, c := range []struct {
		maxrewrite, want int
	}{{1024, 200}, {2048, 400}} {
		port := freePort(t)
		cfg := fmt.Sprintf(`
global
    tune.bufsize 4096
    tune.maxrewrite %d`, c.maxrewrite) + defaultsSection("http", "5s", "30s", "30s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, port, be)
		p := startProxy(t, cfg, port)
		if got := tuneRequest(t, port, 2, 2450); got != c.want {
			t.Errorf("maxrewrite %d, 2500-byte head: status %d, want %d", c.maxrewrite, got, c.want)
		}
		p.stop()
	}
}
