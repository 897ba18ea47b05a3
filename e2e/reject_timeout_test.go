package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// http-request set-timeout changes this request's server and tunnel
// timeouts (a constant or an expression's milliseconds), which
// cur_server_timeout and cur_tunnel_timeout then report;
// be_server_timeout keeps the configured one.
func TestHTTPRequestSetTimeout(t *testing.T) {
	be, _ := startHTTPBackend(t, "app")
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout tunnel 7s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    http-request set-var(txn.before) cur_server_timeout
    http-request set-timeout server 300ms if { req.hdr(x-short) 1 }
    http-request set-timeout tunnel 2s if { req.hdr(x-short) 1 }
    http-request set-timeout server req.hdr(x-to-ms) if { req.hdr(x-to-ms) -m found }
    http-request set-var(txn.set) cur_server_timeout
    http-response set-header X-Before %%[var(txn.before)]
    http-response set-header X-Set %%[var(txn.set)]
    http-response set-header X-Cur %%[cur_server_timeout]
    http-response set-header X-Tunnel %%[cur_tunnel_timeout]
    http-response set-header X-BE %%[be_server_timeout]
    server s 127.0.0.1:%d
`, port, be), port)
	get := func(path string, hdrs ...string) (*http.Response, time.Duration) {
		t.Helper()
		start := time.Now()
		r := persistGet(t, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), hdrs...)
		return r, time.Since(start)
	}
	for _, c := range []struct {
		hdrs                           []string
		before, set, cur, tunnel, beTO string
	}{
		{nil, "0", "0", "5000", "7000", "5000"},
		{[]string{"X-Short: 1"}, "0", "300", "300", "2000", "5000"},
		{[]string{"X-To-Ms: 1234"}, "0", "1234", "1234", "7000", "5000"},
	} {
		r, _ := get("/", c.hdrs...)
		h := r.Header
		if r.StatusCode != 200 || h.Get("X-Before") != c.before || h.Get("X-Set") != c.set || h.Get("X-Cur") != c.cur ||
			h.Get("X-Tunnel") != c.tunnel || h.Get("X-BE") != c.beTO {
			t.Errorf("%v: status %d, before %q set %q cur %q tunnel %q be %q; want %s %s %s %s %s", c.hdrs, r.StatusCode,
				h.Get("X-Before"), h.Get("X-Set"), h.Get("X-Cur"), h.Get("X-Tunnel"), h.Get("X-BE"),
				c.before, c.set, c.cur, c.tunnel, c.beTO)
		}
	}
	// The shorter server timeout cuts a slow answer (504), the default does not.
	for _, c := range []struct {
		hdrs   []string
		status int
	}{{nil, 200}, {[]string{"X-Short: 1"}, 504}, {[]string{"X-To-Ms: 200"}, 504}} {
		r, took := get("/slow?ms=1200", c.hdrs...)
		if r.StatusCode != c.status {
			t.Errorf("slow answer with %v: status %d after %v, want %d", c.hdrs, r.StatusCode, took, c.status)
		}
		if c.status == 504 && took > time.Second {
			t.Errorf("slow answer with %v: the 504 took %v", c.hdrs, took)
		}
	}
}

// rejectExchange sends req on a new connection and returns what comes back
// until the proxy closes it.
func rejectExchange(t *testing.T, port int, req string) (string, error) {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(c)
	return string(got), err
}

// http-request reject closes the connection without a response, in a
// frontend or a backend, counted as a denied request and logged "PR".
func TestHTTPRequestReject(t *testing.T) {
	be, _ := startHTTPBackend(t, "app")
	port := freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	p := startProxy(t, fmt.Sprintf(`global
    stats socket %s level admin
    log stdout format raw local0
defaults
    mode http
    log global
    log-format "%%ft %%b %%ts %%ST %%r"
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    http-request reject if { path /fe }
    default_backend be
backend be
    http-request reject if { path /be }
    server s 127.0.0.1:%d
`, sock, port, be), port)
	for _, path := range []string{"/fe", "/be"} {
		got, err := rejectExchange(t, port, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
		if got != "" {
			t.Errorf("%s: the client got %q, want no answer", path, got)
		}
		if err != nil && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("%s: %v, want a close or a reset", path, err)
		}
	}
	if got, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/ok", port)); err != nil || got != "app" {
		t.Fatalf("a request not rejected: %q %v", got, err)
	}
	waitLog(t, p, `fe be -- 200 GET /ok HTTP/1.1`)
	for _, want := range []string{`fe fe PR -1 GET /fe HTTP/1.1`, `fe be PR -1 GET /be HTTP/1.1`} {
		if !strings.Contains(p.Stdout(), want) {
			t.Errorf("no log line %q in:\n%s", want, p.Stdout())
		}
	}
	want := map[string]string{"fe,FRONTEND": "2", "be,BACKEND": "1"}
	for _, line := range strings.Split(cliCmd(t, sock, "show stat"), "\n") {
		f := strings.Split(line, ",")
		if w, ok := want[strings.Join(f[:min(2, len(f))], ",")]; ok && len(f) > 10 {
			if f[10] != w { // dreq
				t.Errorf("%s,%s dreq = %s, want %s", f[0], f[1], f[10], w)
			}
			delete(want, f[0]+","+f[1])
		}
	}
	if len(want) != 0 {
		t.Errorf("no stats line for %v", want)
	}
}
