package e2e

import (
	"fmt"
	"io"
	"sync/atomic"
	"testing"
)

// The sess variables tcp-request connection and session rules set belong
// to the connection: every HTTP/2 stream on it reads them, as over
// HTTP/1.
func TestH2SessionVariables(t *testing.T) {
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d proto h2
    tcp-request connection set-var(sess.c) str(conn)
    tcp-request session set-var(sess.s) src
    http-request return status 200 content-type text/plain lf-string "%%[path] c=%%[var(sess.c)] s=%%[var(sess.s)]"
`, port), port)
	var dials atomic.Int32
	client := h2cClientCounting(&dials)
	for _, p := range []string{"/a", "/b", "/c"} {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, p))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := p + " c=conn s=127.0.0.1"; string(body) != want {
			t.Errorf("stream %s read %q, want %q", p, body, want)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections, want the three streams on one", n)
	}
}

// A sess variable one stream's http-request rules set is the connection's:
// the later streams of the same HTTP/2 connection read it, as in haproxy
// where the session belongs to the connection.
func TestH2SessionVariablesShared(t *testing.T) {
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d proto h2
    tcp-request connection set-var(sess.c) str(conn)
    http-request set-var(sess.x) path if { path_beg /set }
    http-request return status 200 content-type text/plain lf-string "%%[path] c=%%[var(sess.c)] x=%%[var(sess.x)]"
`, port), port)
	var dials atomic.Int32
	client := h2cClientCounting(&dials)
	for _, step := range []struct{ path, want string }{
		{"/get", "/get c=conn x="},
		{"/set1", "/set1 c=conn x=/set1"},
		{"/get", "/get c=conn x=/set1"},
		{"/set2", "/set2 c=conn x=/set2"},
		{"/get", "/get c=conn x=/set2"},
	} {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, step.path))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(body) != step.want {
			t.Errorf("stream %s read %q, want %q", step.path, body, step.want)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("%d connections, want the streams on one", n)
	}
}
