package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// "option http-buffer-request" reads the body before the http-request
// rules: req.body, req.body_len, req.body_size and req.body_param see it
// even when it comes after the head; a body larger than the buffer still
// reaches the server whole.
func TestHTTPBufferRequestBodyFetches(t *testing.T) {
	bePort, stop := startHTTPBackend(t, "b1")
	defer stop()
	port := freePort(t)
	cfg := defaultsSection("http", "2s", "5s", "5s") + fmt.Sprintf(`

frontend fe
    bind 127.0.0.1:%d
    option http-buffer-request
    http-request deny if { req.body -m sub evil }
    http-request return status 200 content-type text/plain lf-string "len=%%[req.body_len] size=%%[req.body_size] a=%%[req.body_param(a)]" if { path /form }
    default_backend be

backend be
    server b1 127.0.0.1:%d
`, port, bePort)
	p := startProxy(t, cfg, port)
	defer p.stop()
	post := func(path string, parts ...string) (int, string) {
		c, err := net.DialTimeout("tcp", h1Addr(port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		n := 0
		for _, part := range parts {
			n += len(part)
		}
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", path, n)
		for _, part := range parts {
			time.Sleep(50 * time.Millisecond)
			io.WriteString(c, part)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0, err.Error()
		}
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if st, body := post("/form", "x=1&a=", "hello&b=2"); st != 200 || body != "len=15 size=15 a=hello" {
		t.Errorf("form: %d %q", st, body)
	}
	if st, _ := post("/echo", "not ", "so evil"); st != http.StatusForbidden {
		t.Errorf("evil body: status %d, want 403", st)
	}
	big := strings.Repeat("0123456789", 4000)
	if st, body := post("/echo", big[:100], big[100:]); st != 200 || body != big {
		t.Errorf("big body: status %d, %d bytes back, want 200 and %d", st, len(body), len(big))
	}
}

// "http-request wait-for-body time T at-least N" waits for N bytes of the
// body, at most T; past T the rules go on with what came.
func TestHTTPWaitForBody(t *testing.T) {
	bePort, stop := startHTTPBackend(t, "b1")
	defer stop()
	port := freePort(t)
	cfg := defaultsSection("http", "2s", "5s", "5s") + fmt.Sprintf(`

frontend fe
    bind 127.0.0.1:%d
    http-request wait-for-body time 1s at-least 6 if { path /form }
    http-request wait-for-body time 300ms if { path /short }
    http-request return status 200 content-type text/plain lf-string "len=%%[req.body_len] size=%%[req.body_size]" if { path /form } || { path /short }
    default_backend be

backend be
    server b1 127.0.0.1:%d
`, port, bePort)
	p := startProxy(t, cfg, port)
	defer p.stop()
	post := func(path string, n int, parts ...string) string {
		c, err := net.DialTimeout("tcp", h1Addr(port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", path, n)
		for _, part := range parts {
			time.Sleep(50 * time.Millisecond)
			io.WriteString(c, part)
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return err.Error()
		}
		b, _ := io.ReadAll(resp.Body)
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	// 6 bytes suffice: the rest is not waited for
	if got := post("/form", 20, "abc", "def"); got != "200 len=6 size=20" {
		t.Errorf("at-least: got %q", got)
	}
	// the delay ends with 4 of 20 bytes: haproxy's 408
	if got := post("/short", 20, "ab", "cd"); !strings.HasPrefix(got, "408 <html><body><h1>408 Request Time-out</h1>") {
		t.Errorf("time: got %q", got)
	}
	if got := post("/short", 4, "ab", "cd"); got != "200 len=4 size=4" {
		t.Errorf("whole body: got %q", got)
	}
}
