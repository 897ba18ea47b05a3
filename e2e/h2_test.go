package e2e

// HTTP/2 on the client side: prior-knowledge cleartext binds ("proto h2")
// and TLS binds negotiating "h2" by ALPN, in front of HTTP/1.1 servers,
// with real clients (curl, nghttp, h2load, h2spec).

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// h2Proxy starts a proxy with an h2c bind and an h2 TLS bind in front of
// one HTTP/1.1 backend (startHTTPBackend, answering its name); extra goes
// into the frontend section. It returns the two ports and the proxy.
func h2Proxy(t *testing.T, name, extra string) (h2c, tlsPort int, p *proc) {
	t.Helper()
	ca := newTLSCA(t)
	crt := ca.writePEM(t, t.TempDir(), "site.pem", "site.test")
	be, _ := startHTTPBackend(t, name)
	h2c, tlsPort = freePort(t), freePort(t)
	cfg := `
global
    log stdout format raw local0` + defaultsSection("http", "5s", "10s", "10s", "log global", "option httplog") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    bind 127.0.0.1:%d ssl crt %s alpn h2,http/1.1
%s
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, h2c, tlsPort, crt, extra, be)
	p = startProxy(t, cfg, h2c, tlsPort)
	return h2c, tlsPort, p
}

func TestH2CurlPriorKnowledgeAndALPN(t *testing.T) {
	h2c, tlsPort, p := h2Proxy(t, "web1", "    http-request set-header X-Via-Rule yes")
	out, err := curl(t, "--http2-prior-knowledge", "-i", fmt.Sprintf("http://127.0.0.1:%d/a?b=c", h2c))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"HTTP/2 200", "x-backend: web1", "x-seen-host: 127.0.0.1:", "x-seen-uri: /a?b=c", "x-seen-proto: HTTP/1.1", "\r\n\r\nweb1"} {
		if !strings.Contains(strings.ToLower(out), strings.ToLower(want)) {
			t.Errorf("h2c response lacks %q:\n%s", want, out)
		}
	}
	out, err = curl(t, append(tlsURL("site.test", tlsPort, "/echo"), "-k", "--http2", "-i", "--data-binary", "hello h2")...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "HTTP/2 200") || !strings.HasSuffix(out, "\r\n\r\nhello h2") {
		t.Errorf("TLS h2 echo:\n%s", out)
	}
	// The log line is HAProxy's, with HTTP/2.0 as the request's version
	// and the absolute URI rebuilt from :scheme, :authority and :path
	// (the server got the origin form: x-seen-uri above).
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(p.Stdout(), `/echo HTTP/2.0"`) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for _, re := range []string{` fe be/s1 [0-9/]+ 200 [0-9]+ - - ---- [0-9/]+ 0/0 "GET http://127.0.0.1:[0-9]+/a\?b=c HTTP/2.0"`,
		` fe~ be/s1 [0-9/]+ 200 [0-9]+ - - ---- [0-9/]+ 0/0 "POST https://site.test:[0-9]+/echo HTTP/2.0"`} {
		if !regexp.MustCompile(re).MatchString(p.Stdout()) {
			t.Errorf("no log line matching %s:\n%s", re, p.Stdout())
		}
	}
}

func TestH2Nghttp(t *testing.T) {
	h2c, _, _ := h2Proxy(t, "web1", "")
	u := fmt.Sprintf("http://127.0.0.1:%d", h2c)
	// Several streams at once on one connection, one of them a POST.
	cmd := exec.Command("nghttp", "-n", "--stat", u+"/one", u+"/two", u+"/slow?ms=100", "-d", "/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("nghttp: %v\n%s", err, out)
	}
	if strings.Count(string(out), " 200 ") != 3 {
		t.Errorf("nghttp:\n%s", out)
	}
}

// h2specBin finds h2spec (scripts/test.sh installs it with go install).
func h2specBin(t *testing.T) string {
	if p, err := exec.LookPath("h2spec"); err == nil {
		return p
	}
	out, err := exec.Command("go", "env", "GOPATH").Output()
	if err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", "h2spec")
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Fatal("h2spec not installed (scripts/test.sh installs it)")
	return ""
}

// TestH2Spec runs the h2spec conformance suite on the h2c bind and on the
// TLS bind: haproxy 2.6.12 passes its 145 tests, so must dhproxy.
func TestH2Spec(t *testing.T) {
	// A body of 5 bytes at least: h2spec skips its negative window test
	// otherwise.
	h2c, tlsPort, _ := h2Proxy(t, "h2spec-backend", "")
	for _, c := range []struct {
		name string
		args []string
	}{
		{"h2c", []string{"-p", strconv.Itoa(h2c)}},
		{"tls", []string{"-p", strconv.Itoa(tlsPort), "-t", "-k"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, h2specBin(t), append([]string{"-h", "127.0.0.1", "-o", "3"}, c.args...)...)
			out, _ := cmd.CombinedOutput()
			m := regexp.MustCompile(`(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed`).FindStringSubmatch(string(out))
			if m == nil {
				t.Fatalf("h2spec printed no summary:\n%s", out)
			}
			t.Logf("h2spec %s: %s", c.name, m[0])
			if m[1] != "145" || m[2] != "145" {
				i := strings.Index(string(out), "Failures:")
				t.Errorf("h2spec: %s\n%s", m[0], string(out)[max(i, 0):])
			}
		})
	}
}

// TestH2Rules: http-request rules, use_backend and deny act on HTTP/2
// streams as on HTTP/1 requests, and log the same way.
func TestH2Rules(t *testing.T) {
	api, _ := startHTTPBackend(t, "api")
	web, _ := startHTTPBackend(t, "web")
	port := freePort(t)
	p := startProxy(t, `
global
    log stdout format raw local0`+defaultsSection("http", "5s", "10s", "10s", "log global", "option httplog")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    http-request deny if { path_beg /admin }
    http-request set-header X-Forwarded-For 192.0.2.7
    use_backend api if { path_beg /api }
    default_backend web
backend api
    server a 127.0.0.1:%d
backend web
    server w 127.0.0.1:%d
`, port, api, web), port)
	u := fmt.Sprintf("http://127.0.0.1:%d", port)
	out, err := curl(t, "--http2-prior-knowledge", "-i", u+"/api/v1")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "HTTP/2 200") || !strings.HasSuffix(out, "\r\n\r\napi") {
		t.Errorf("/api/v1 went elsewhere:\n%s", out)
	}
	out, err = curl(t, "--http2-prior-knowledge", "-i", u+"/index.html")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(out, "\r\n\r\nweb") {
		t.Errorf("/index.html:\n%s", out)
	}
	out, err = curl(t, "--http2-prior-knowledge", "-i", u+"/admin/x")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "HTTP/2 403") || !strings.Contains(out, "Request forbidden by administrative rules.") {
		t.Errorf("/admin/x not denied:\n%s", out)
	}
	// set-header replaced the client's value; the other headers came along.
	out, err = curl(t, "--http2-prior-knowledge", "-i", "-H", "X-Forwarded-For: 203.0.113.1", u+"/api/headers")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "x-seen-xff: 192.0.2.7\r\n") {
		t.Errorf("set-header did not replace the client's field:\n%s", out)
	}
	want := []string{
		` fe api/a [0-9/]+ 200 [0-9]+ - - ---- [0-9/]+ 0/0 "GET http://127.0.0.1:[0-9]+/api/v1 HTTP/2.0"`,
		` fe web/w [0-9/]+ 200 [0-9]+ - - ---- [0-9/]+ 0/0 "GET http://127.0.0.1:[0-9]+/index.html HTTP/2.0"`,
		` fe fe/<NOSRV> [0-9/-]+ 403 [0-9]+ - - PR-- [0-9/]+ 0/0 "GET http://127.0.0.1:[0-9]+/admin/x HTTP/2.0"`,
	}
	deadline := time.Now().Add(3 * time.Second)
	for _, re := range want {
		rx := regexp.MustCompile(re)
		for !rx.MatchString(p.Stdout()) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !rx.MatchString(p.Stdout()) {
			t.Errorf("no log line matching %s:\n%s", re, p.Stdout())
		}
	}
}

// TestH2Load: h2load's 100 streams over 10 connections (bounded: 2000
// requests) all succeed through the proxy.
func TestH2Load(t *testing.T) {
	h2c, _, _ := h2Proxy(t, "web1", "")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "h2load", "-n", "2000", "-c", "10", "-m", "10", fmt.Sprintf("http://127.0.0.1:%d/", h2c)).CombinedOutput()
	if err != nil {
		t.Fatalf("h2load: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "2000 succeeded, 0 failed, 0 errored") || !strings.Contains(string(out), "status codes: 2000 2xx") {
		t.Errorf("h2load:\n%s", out)
	}
	if m := regexp.MustCompile(`finished in [^\n]*`).FindString(string(out)); m != "" {
		t.Log(m)
	}
}

// TestH2StreamsReuseServerConnection: the HTTP/2 connection is the
// session, so its later streams ride the server connection its first one
// opened (http-reuse safe), as through haproxy.
func TestH2StreamsReuseServerConnection(t *testing.T) {
	h2c, _, _ := h2Proxy(t, "web1", "")
	client := h2cClient()
	defer client.CloseIdleConnections()
	var remotes []string
	for i := 0; i < 3; i++ {
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/%d", h2c, i))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		remotes = append(remotes, resp.Header.Get("X-Seen-Remote"))
	}
	if remotes[1] != remotes[0] || remotes[2] != remotes[0] {
		t.Errorf("server connections %v: want one", remotes)
	}
}

// TestH2LargeBodies: a request body far larger than the stream window
// streams through (WINDOW_UPDATEs as the pipeline reads it), and so does
// the echoed response (within the client's windows), with and without a
// declared length.
func TestH2LargeBodies(t *testing.T) {
	h2c, _, _ := h2Proxy(t, "web1", "")
	body := strings.Repeat("0123456789abcdef", 3<<16) // 3 MiB
	file := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	u := fmt.Sprintf("http://127.0.0.1:%d/echo", h2c)
	out, err := curl(t, "--http2-prior-knowledge", "--data-binary", "@"+file, u)
	if err != nil {
		t.Fatal(err)
	}
	if out != body {
		t.Errorf("with a length: echoed %d bytes of %d", len(out), len(body))
	}
	// From a pipe, curl sends no content-length: the body goes chunked to
	// the server.
	cmd := exec.Command("/usr/bin/curl", "-sS", "--max-time", "10", "--http2-prior-knowledge", "-T", "-", u)
	cmd.Stdin = strings.NewReader(body)
	raw, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != body {
		t.Errorf("without a length: echoed %d bytes of %d", len(raw), len(body))
	}
}

// TestH2StreamsNumberedInOrder: the streams of a connection take
// consecutive request numbers (%rt), one each, as haproxy's streams do
// (dhproxy used to wait for a second request on each stream, which took a
// number too).
func TestH2StreamsNumberedInOrder(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	p := startProxy(t, `
global
    log stdout format raw local0`+defaultsSection("http", "5s", "10s", "10s", "log global")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    log-format "rt=%%rt %%HU"
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, port, be), port)
	_, fr := dialH2(t, port)
	if _, err := fr.peerSettings(); err != nil {
		t.Fatal(err)
	}
	// One stream after the other on one connection.
	for i, path := range []string{"/a", "/b", "/c"} {
		id := uint32(2*i + 1)
		if err := fr.writeHead(id, true, ":method", "GET", ":scheme", "http", ":path", path, ":authority", "a.test"); err != nil {
			t.Fatal(err)
		}
		for ended := false; !ended; {
			f, err := fr.ReadFrame()
			if err != nil {
				t.Fatal(err)
			}
			switch f := f.(type) {
			case *http2.HeadersFrame:
				if _, _, err := fr.decode(f); err != nil {
					t.Fatal(err)
				}
				ended = f.StreamID == id && f.StreamEnded()
			case *http2.DataFrame:
				ended = f.StreamID == id && f.StreamEnded()
			case *http2.RSTStreamFrame, *http2.GoAwayFrame:
				t.Fatalf("stream %d: %v", id, f)
			}
		}
	}
	line := regexp.MustCompile(`rt=(\d+) \S*(/[abc])\n`)
	deadline := time.Now().Add(5 * time.Second)
	for {
		rt := map[string]int{} // haproxy may write a line twice
		for _, m := range line.FindAllStringSubmatch(p.Stdout(), -1) {
			rt[m[2]], _ = strconv.Atoi(m[1])
		}
		if len(rt) == 3 {
			if rt["/b"] != rt["/a"]+1 || rt["/c"] != rt["/a"]+2 {
				t.Errorf("request numbers %v, want consecutive ones:\n%s", rt, p.Stdout())
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d log lines of 3:\n%s", len(rt), p.Stdout())
		}
		time.Sleep(50 * time.Millisecond)
	}
}
