package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

// TestEarlyHintAsHAProxy: http-request early-hint sends a 103 Early Hints
// before the response, to HTTP/1.1 and HTTP/2 clients (not to HTTP/1.0
// ones), with rules in a row grouped into one 103 unless one has a
// condition, byte for byte as haproxy 2.6 writes them; the final response
// (a server's or the proxy's own) follows.
func TestEarlyHintAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	answers := map[string][]string{}
	var order []string
	for _, path := range []string{haproxyBin, bin} {
		bePort, _ := startHTTPBackend(t, "srv")
		fePort, h2Port := freePort(t), freePort(t)
		startBinary(t, path, defaultsSection("http", "1s", "5s", "5s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    http-request early-hint Link "</style.css>; rel=preload" if { path_beg /a }
    http-request early-hint Link "</app.js>; rel=preload"
    http-request early-hint X-Path %%[path]
    http-request set-var(txn.x) str(1)
    http-request early-hint Link "<%%[req.hdr(host)]/img.png>; rel=preload" if { path_beg /b }
    http-request early-hint X-Second 2
    http-request deny if { path /deny }
    http-request return status 200 content-type text/plain string ok if { path_end /own }
    default_backend be

backend be
    server s1 127.0.0.1:%d
`, fePort, h2Port, bePort), fePort)
		waitPort(t, h2Port, 5*time.Second)
		var got []string
		order = order[:0]
		raw := func(req string) {
			order = append(order, req)
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fePort))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, req)
			out, _ := io.ReadAll(c)
			// the server's response carries a date (and haproxy lower-cases
			// its header names): only its status line is compared
			s := string(out)
			if i := strings.Index(strings.ToLower(s), "http/1.1 200 ok\r\nx-backend"); i >= 0 {
				s = s[:i] + "HTTP/1.1 200 OK (server)"
			} else if i := strings.Index(s, "HTTP/1.1 403"); i >= 0 {
				s = s[:i] + "HTTP/1.1 403"
			}
			got = append(got, s)
		}
		raw("GET /a/own HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		raw("GET /b/own HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		raw("GET /a/own HTTP/1.0\r\nHost: h\r\n\r\n")
		raw("GET /deny HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		raw("GET /b/srv HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		for _, p := range []string{"/a/own", "/b/srv"} {
			order = append(order, "h2 "+p)
			out, err := curl(t, "-v", "--stderr", "-", "-o", "/dev/null", "--http2-prior-knowledge", "-H", "Host: h2", fmt.Sprintf("http://127.0.0.1:%d%s", h2Port, p))
			if err != nil {
				t.Fatalf("h2 %s: %v", p, err)
			}
			var heads []string
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "< HTTP/2") || strings.HasPrefix(l, "< link") || strings.HasPrefix(l, "< x-path") || strings.HasPrefix(l, "< x-second") {
					heads = append(heads, strings.TrimSpace(l))
				}
			}
			got = append(got, strings.Join(heads, "\n"))
		}
		answers[path] = got
	}
	if h2 := answers[bin][len(order)-1]; !strings.Contains(h2, "< HTTP/2 103") {
		t.Errorf("no 103 over HTTP/2: %q", h2)
	}
	for i, req := range order {
		if got, want := answers[bin][i], answers[haproxyBin][i]; got != want {
			t.Errorf("%q: got\n%q\nhaproxy answers\n%q", req, got, want)
		}
	}
}
