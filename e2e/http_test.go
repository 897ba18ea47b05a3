package e2e

// Black-box tests of HTTP/1.1 proxying (mode http). Every test writes its
// own small configuration, runs the binary under test with -db and talks to
// it over loopback, with real curl, Go's HTTP client or raw sockets.
//
// Helpers defined here carry an "h1" prefix to stay clear of the shared
// harness (harness_test.go).

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// HAProxy's built-in error page texts.
const (
	h1Text400 = "Your browser sent an invalid request."
	h1Text408 = "Your browser didn't send a complete request in time."
	h1Text422 = "The server cannot process the contained instructions."
	h1Text502 = "The server returned an invalid or incomplete response."
	h1Text503 = "No server is available to handle this request."
	h1Text504 = "The server didn't respond in time."
)

// h1IsHAProxy reports whether the binary under test is the real haproxy.
func h1IsHAProxy() bool { return strings.Contains(filepath.Base(bin), "haproxy") }

func h1Addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

func h1URL(port int, path string) string { return "http://" + h1Addr(port) + path }

// h1Dial opens a raw TCP connection to the proxy, with an overall deadline
// so that a stuck proxy fails the test instead of hanging it.
func h1Dial(t testing.TB, port int) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", h1Addr(port), 5*time.Second)
	if err != nil {
		t.Fatalf("dial proxy: %v", err)
	}
	c.SetDeadline(time.Now().Add(20 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func h1Write(t testing.TB, c net.Conn, s string) {
	t.Helper()
	if _, err := io.WriteString(c, s); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// h1ReadResp reads one response (for a request of the given method) and its
// whole body from br.
func h1ReadResp(t testing.TB, br *bufio.Reader, method string) (*http.Response, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, &http.Request{Method: method})
	if err != nil {
		t.Fatalf("reading response: %v", err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading response body (status %d): %v; got %q", resp.StatusCode, err, body)
	}
	return resp, string(body)
}

// h1ConnToken reports whether the Connection header of h lists token.
func h1ConnToken(h http.Header, token string) bool {
	for _, v := range h.Values("Connection") {
		for _, tok := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(tok), token) {
				return true
			}
		}
	}
	return false
}

// h1SaysClose reports whether resp carries a "close" connection option.
// For HTTP/1.1 responses Go's parser moves that option into resp.Close and
// drops the header, so look at both.
func h1SaysClose(resp *http.Response) bool {
	if resp.ProtoAtLeast(1, 1) && resp.Close {
		return true
	}
	return h1ConnToken(resp.Header, "close")
}

// h1ExpectClosed checks that the peer closes the connection (EOF or reset)
// within 5 s and sends nothing more.
func h1ExpectClosed(t testing.TB, c net.Conn, br *bufio.Reader) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, err := io.ReadAll(br)
	if len(rest) > 0 {
		t.Errorf("unexpected bytes after the response: %q", rest)
	}
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Errorf("proxy did not close the connection: %v", err)
	}
}

// h1Curl runs curl and returns stdout and stderr separately (the shared
// curl helper only exposes stderr on failure).
func h1Curl(t testing.TB, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := exec.Command("/usr/bin/curl", append([]string{"-sS", "--max-time", "10"}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// h1CurlResp runs `curl -i args...` and parses what it printed.
func h1CurlResp(t testing.TB, args ...string) (*http.Response, string, error) {
	t.Helper()
	out, err := curl(t, append([]string{"-i"}, args...)...)
	if err != nil {
		return nil, "", err
	}
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(out)), nil)
	if err != nil {
		return nil, "", fmt.Errorf("parsing curl output %q: %v", out, err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, "", fmt.Errorf("parsing curl output %q: %v", out, err)
	}
	return resp, string(body), nil
}

// h1StartBackend serves handler on a fresh loopback port until cleanup.
func h1StartBackend(t testing.TB, handler http.Handler) (port int, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	var once sync.Once
	stop = func() { once.Do(func() { srv.Close() }) }
	t.Cleanup(stop)
	return l.Addr().(*net.TCPAddr).Port, stop
}

// h1StartRawBackend accepts TCP connections on a loopback port and runs
// handle on each; the listener and connections are closed at cleanup.
func h1StartRawBackend(t testing.TB, handle func(net.Conn)) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				handle(c)
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// h1ReadHead reads a message head (up to the empty line) from br.
func h1ReadHead(br *bufio.Reader) (string, error) {
	var sb strings.Builder
	for {
		line, err := br.ReadString('\n')
		sb.WriteString(line)
		if err != nil {
			return sb.String(), err
		}
		if line == "\r\n" || line == "\n" {
			return sb.String(), nil
		}
	}
}

// h1Simple is a minimal mode http configuration: one frontend on port, one
// backend with the given server lines; extra goes into defaults.
func h1Simple(port int, extra string, servers ...string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, defaultsSection("http", "5s", "30s", "30s")+`
%s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
`, extra, port)
	for _, s := range servers {
		fmt.Fprintf(&sb, "    %s\n", s)
	}
	return sb.String()
}

func h1Server(name string, port int, opts ...string) string {
	return strings.TrimSpace(fmt.Sprintf("server %s 127.0.0.1:%d %s", name, port, strings.Join(opts, " ")))
}

func h1Sum(b []byte) string { return fmt.Sprintf("%x", sha256.Sum256(b)) }

// ---------------------------------------------------------------------------
// 1. The classic tutorial configuration.

const h1TutorialCfg = `global
    log 127.0.0.1 local2
    pidfile /tmp/dhproxy.pid
    maxconn 4000
    daemon
defaults
    mode http
    log global
    option dontlognull
    option httpclose
    option httplog
    option forwardfor
    option redispatch
    timeout connect 10000
    timeout client 300000
    timeout server 300000
    maxconn 60000
    retries 3
listen stats
    bind 127.0.0.1:1080
    stats refresh 30s
    stats uri /stats
    stats realm Haproxy\ Manager
    stats auth admin:admin
listen web_backend 127.0.0.1:8080
    cookie SERVERID rewrite
    balance roundrobin
    server web1 127.0.0.1:9001 cookie a1i1 check inter 2000 rise 2 fall 5
    server web2 127.0.0.1:9002 cookie a1i2 check inter 2000 rise 2 fall 5
`

// h1Tutorial runs the tutorial config with free ports; with bindLine the
// `listen NAME ADDR` line is turned into `listen NAME` + `bind ADDR`, which
// HAProxy 2.6 requires.
func h1Tutorial(t *testing.T, bindLine bool) {
	web1, stop1 := startHTTPBackend(t, "web1")
	web2, _ := startHTTPBackend(t, "web2")
	stats, web := freePort(t), freePort(t)
	cfg := h1TutorialCfg
	if bindLine {
		cfg = strings.Replace(cfg, "listen web_backend 127.0.0.1:8080\n",
			"listen web_backend\n    bind 127.0.0.1:8080\n", 1)
	}
	cfg = strings.NewReplacer(
		"127.0.0.1:1080", h1Addr(stats),
		"127.0.0.1:8080", h1Addr(web),
		"127.0.0.1:9001", h1Addr(web1),
		"127.0.0.1:9002", h1Addr(web2),
		"/tmp/dhproxy.pid", filepath.Join(t.TempDir(), "proxy.pid"),
	).Replace(cfg)
	startProxy(t, cfg, web, stats)

	var seen []string
	for i := 0; i < 4; i++ {
		resp, body, err := h1CurlResp(t, h1URL(web, fmt.Sprintf("/r%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		be := resp.Header.Get("X-Backend")
		if resp.StatusCode != 200 || body != be {
			t.Fatalf("request %d: status %d, X-Backend %q, body %q", i, resp.StatusCode, be, body)
		}
		seen = append(seen, be)
		if xff := resp.Header.Get("X-Seen-XFF"); xff != "127.0.0.1" {
			t.Errorf("request %d: backend saw X-Forwarded-For %q, want 127.0.0.1", i, xff)
		}
		if !h1SaysClose(resp) {
			t.Errorf("request %d: response lacks Connection: close (option httpclose): %v", i, resp.Header)
		}
		if sc := resp.Header.Get("X-Seen-Connection"); !strings.Contains(strings.ToLower(sc), "close") {
			t.Errorf("request %d: backend saw Connection %q, want close (option httpclose)", i, sc)
		}
	}
	for i := range seen {
		if seen[i] != "web1" && seen[i] != "web2" {
			t.Fatalf("unexpected backends %v", seen)
		}
		if i > 0 && seen[i] == seen[i-1] {
			t.Fatalf("roundrobin did not alternate: %v", seen)
		}
	}

	// web1 goes away: retries + redispatch must hide it from clients, both
	// before and after the health checks mark it down.
	stop1()
	for i := 0; i < 20; i++ {
		resp, body, err := h1CurlResp(t, h1URL(web, fmt.Sprintf("/after%d", i)))
		if err != nil {
			t.Fatalf("request %d after stopping web1: %v", i, err)
		}
		if resp.StatusCode != 200 || body != "web2" {
			t.Fatalf("request %d after stopping web1: status %d, body %q", i, resp.StatusCode, body)
		}
	}
}

// TestHTTPTutorialConfig runs the tutorial config verbatim (ports aside),
// including the legacy `listen NAME ADDR` form that HAProxy 2.6 rejects.
func TestHTTPTutorialConfig(t *testing.T) {
	if h1IsHAProxy() {
		t.Skip("HAProxy >= 2.x rejects `listen NAME ADDR`; TestHTTPTutorialConfigBind covers it")
	}
	h1Tutorial(t, false)
}

// TestHTTPTutorialConfigBind is the tutorial config with a bind line.
func TestHTTPTutorialConfigBind(t *testing.T) {
	h1Tutorial(t, true)
}

// ---------------------------------------------------------------------------
// 2. Keep-alive.

func TestHTTPKeepAliveRawConnection(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	for _, p := range []string{"/one", "/two", "/three"} {
		h1Write(t, c, "GET "+p+" HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := h1ReadResp(t, br, "GET")
		if resp.StatusCode != 200 || body != "web1" || resp.Header.Get("X-Seen-URI") != p {
			t.Fatalf("%s: status %d, body %q, X-Seen-URI %q", p, resp.StatusCode, body, resp.Header.Get("X-Seen-URI"))
		}
		if h1SaysClose(resp) {
			t.Fatalf("%s: keep-alive response announces close: %v", p, resp.Header)
		}
	}
}

func TestHTTPKeepAliveCurlReuse(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	out, errOut, err := h1Curl(t, "-v", h1URL(port, "/a"), h1URL(port, "/b"))
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, errOut)
	}
	if out != "web1web1" {
		t.Errorf("bodies %q", out)
	}
	if !strings.Contains(errOut, "Re-using existing connection") {
		t.Errorf("curl did not reuse the connection:\n%s", errOut)
	}
	if !strings.Contains(errOut, "Connection #0 to host 127.0.0.1 left intact") {
		t.Errorf("proxy closed the connection:\n%s", errOut)
	}
	if strings.Contains(errOut, "Connection #1") {
		t.Errorf("curl opened a second connection:\n%s", errOut)
	}
}

// ---------------------------------------------------------------------------
// 3. Pipelining.

func TestHTTPPipelining(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "GET /p1 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"POST /echo?p2 HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"+
		"GET /p3?q=1 HTTP/1.1\r\nHost: x\r\n\r\n")
	want := []struct{ uri, body string }{{"/p1", "web1"}, {"/echo?p2", "hello"}, {"/p3?q=1", "web1"}}
	for i, w := range want {
		resp, body := h1ReadResp(t, br, "GET")
		if got := resp.Header.Get("X-Seen-URI"); resp.StatusCode != 200 || got != w.uri || body != w.body {
			t.Fatalf("response %d: status %d, X-Seen-URI %q, body %q; want %q / %q", i, resp.StatusCode, got, body, w.uri, w.body)
		}
	}
	// And the connection still works afterwards.
	h1Write(t, c, "GET /p4 HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, _ := h1ReadResp(t, br, "GET"); resp.Header.Get("X-Seen-URI") != "/p4" {
		t.Fatalf("after pipeline: X-Seen-URI %q", resp.Header.Get("X-Seen-URI"))
	}
}

// ---------------------------------------------------------------------------
// 4. Connection management.

func TestHTTPConnectionCloseRequest(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	resp, body := h1ReadResp(t, br, "GET")
	if resp.StatusCode != 200 || body != "web1" {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
	if !h1SaysClose(resp) {
		t.Errorf("response lacks Connection: close: %v", resp.Header)
	}
	h1ExpectClosed(t, c, br)
}

func TestHTTP10WithoutKeepAlive(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "GET /old HTTP/1.0\r\nHost: x\r\n\r\n")
	resp, body := h1ReadResp(t, br, "GET")
	if resp.StatusCode != 200 || body != "web1" || resp.Header.Get("X-Seen-URI") != "/old" {
		t.Fatalf("status %d, body %q, headers %v", resp.StatusCode, body, resp.Header)
	}
	if h1ConnToken(resp.Header, "keep-alive") {
		t.Errorf("response offers keep-alive to an HTTP/1.0 client that did not ask: %v", resp.Header)
	}
	h1ExpectClosed(t, c, br)
}

func TestHTTP10KeepAlive(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	for _, p := range []string{"/ka1", "/ka2"} {
		h1Write(t, c, "GET "+p+" HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
		resp, body := h1ReadResp(t, br, "GET")
		if resp.StatusCode != 200 || body != "web1" || resp.Header.Get("X-Seen-URI") != p {
			t.Fatalf("%s: status %d, body %q, headers %v", p, resp.StatusCode, body, resp.Header)
		}
		if !h1ConnToken(resp.Header, "keep-alive") {
			t.Fatalf("%s: response Connection %q, want keep-alive", p, resp.Header.Values("Connection"))
		}
		if resp.ContentLength < 0 {
			t.Fatalf("%s: keep-alive HTTP/1.0 response without Content-Length: %v", p, resp.Header)
		}
	}
}

// ---------------------------------------------------------------------------
// 5. Bodies.

func TestHTTPPostContentLength5MB(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	data := make([]byte, 5<<20)
	rand.New(rand.NewSource(1)).Read(data)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("POST", h1URL(port, "/echo"), bytes.NewReader(data))
	req.ContentLength = int64(len(data))
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatalf("reading echo: %v (%d bytes)", err, len(got))
	}
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	if cl := resp.Header.Get("X-Seen-Content-Length"); cl != strconv.Itoa(len(data)) {
		t.Errorf("backend saw Content-Length %q, want %d", cl, len(data))
	}
	if len(got) != len(data) || h1Sum(got) != h1Sum(data) {
		t.Fatalf("echo differs: %d bytes, sha256 %s, want %d bytes, %s", len(got), h1Sum(got), len(data), h1Sum(data))
	}
}

// TestHTTPChunkedRequestStreaming writes a chunked request by hand, each
// chunk in several pieces, and waits for each chunk's echo before sending
// the next: this needs the proxy to stream both directions.
func TestHTTPChunkedRequestStreaming(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n")
	var resp *http.Response
	for i, chunk := range []string{"first chunk|", strings.Repeat("B", 3000), "3rd|", strings.Repeat("x", 70000)} {
		h1Write(t, c, fmt.Sprintf("%x\r\n", len(chunk)))
		time.Sleep(20 * time.Millisecond) // pacing only: split chunk across packets
		h1Write(t, c, chunk[:len(chunk)/2])
		time.Sleep(20 * time.Millisecond)
		h1Write(t, c, chunk[len(chunk)/2:]+"\r\n")
		if resp == nil {
			var err error
			resp, err = http.ReadResponse(br, &http.Request{Method: "POST"})
			if err != nil {
				t.Fatalf("reading response head: %v", err)
			}
			if resp.StatusCode != 200 || resp.Header.Get("X-Seen-Transfer-Encoding") != "chunked" {
				t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
			}
		}
		got := make([]byte, len(chunk))
		if _, err := io.ReadFull(resp.Body, got); err != nil {
			t.Fatalf("chunk %d not echoed before the request ended: %v (got %q)", i, err, got)
		}
		if string(got) != chunk {
			t.Fatalf("chunk %d echoed as %.40q, want %.40q", i, got, chunk)
		}
	}
	h1Write(t, c, "0\r\n\r\n")
	rest, err := io.ReadAll(resp.Body)
	if err != nil || len(rest) != 0 {
		t.Fatalf("end of echo: %q, %v", rest, err)
	}
	// The connection is still usable.
	h1Write(t, c, "GET /next HTTP/1.1\r\nHost: x\r\n\r\n")
	if r, body := h1ReadResp(t, br, "GET"); r.StatusCode != 200 || body != "web1" {
		t.Fatalf("next request: %d %q", r.StatusCode, body)
	}
}

// h1BigBody is the deterministic content of /big responses.
func h1BigBody(n int) []byte {
	b := make([]byte, n)
	rand.New(rand.NewSource(int64(n))).Read(b)
	return b
}

// TestHTTPLargeResponseStreaming sends 32 MB responses (with and without
// Content-Length). The backend holds the rest of the body until the client
// has received the first MB, so a proxy that buffers whole responses fails.
func TestHTTPLargeResponseStreaming(t *testing.T) {
	const size = 32 << 20
	data := h1BigBody(size)
	var mu sync.Mutex
	release := map[string]chan struct{}{}
	gate := func(id string) chan struct{} {
		mu.Lock()
		defer mu.Unlock()
		if release[id] == nil {
			release[id] = make(chan struct{})
		}
		return release[id]
	}
	be, _ := h1StartBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("cl") == "1" {
			w.Header().Set("Content-Length", strconv.Itoa(size))
		}
		w.Write(data[:1<<20])
		w.(http.Flusher).Flush()
		select {
		case <-gate(r.URL.Query().Get("id")):
		case <-r.Context().Done():
			return
		case <-time.After(10 * time.Second):
			return
		}
		w.Write(data[1<<20:])
	}))
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	for _, cl := range []string{"0", "1"} {
		t.Run("cl="+cl, func(t *testing.T) {
			id := "id" + cl
			c, br := h1Dial(t, port)
			h1Write(t, c, "GET /big?cl="+cl+"&id="+id+" HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if cl == "1" && resp.ContentLength != size {
				t.Errorf("Content-Length %d, want %d", resp.ContentLength, size)
			}
			got := make([]byte, size)
			if _, err := io.ReadFull(resp.Body, got[:1<<20]); err != nil {
				t.Fatalf("first MB did not arrive while the backend was still sending: %v", err)
			}
			close(gate(id))
			if _, err := io.ReadFull(resp.Body, got[1<<20:]); err != nil {
				t.Fatalf("rest of body: %v", err)
			}
			if extra, err := io.ReadAll(resp.Body); err != nil || len(extra) != 0 {
				t.Fatalf("after body: %d extra bytes, %v", len(extra), err)
			}
			if h1Sum(got) != h1Sum(data) {
				t.Fatal("response body corrupted")
			}
		})
	}
}

func TestHTTPExpect100ContinueCurl(t *testing.T) {
	// Go's server sends the interim 100 on the handler's first body read,
	// but not once a handler has written its header (as the shared /echo
	// does), so this backend reads everything first.
	be, _ := h1StartBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		w.Write(body)
	}))
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	dir := t.TempDir()
	in, out := filepath.Join(dir, "in"), filepath.Join(dir, "out")
	data := h1BigBody(2 << 20)
	if err := os.WriteFile(in, data, 0o644); err != nil {
		t.Fatal(err)
	}
	code, errOut, err := h1Curl(t, "-v", "-H", "Expect: 100-continue", "--data-binary", "@"+in,
		"-o", out, "-w", "%{http_code}", h1URL(port, "/echo"))
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, errOut)
	}
	if code != "200" {
		t.Fatalf("status %s\n%s", code, errOut)
	}
	if !strings.Contains(errOut, "> Expect: 100-continue") {
		t.Fatalf("curl did not send Expect:\n%s", errOut)
	}
	if !strings.Contains(errOut, "< HTTP/1.1 100 Continue") {
		t.Errorf("no interim 100 Continue reached the client (curl only sent the body after its own timeout):\n%s", errOut)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if h1Sum(got) != h1Sum(data) {
		t.Fatalf("echoed body differs: %d bytes, want %d", len(got), len(data))
	}
}

// ---------------------------------------------------------------------------
// 6. Upgrade / tunnel.

func TestHTTPUpgradeWebSocketTunnel(t *testing.T) {
	heads := make(chan string, 1)
	be := h1StartRawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		head, err := h1ReadHead(br)
		heads <- head
		if err != nil {
			return
		}
		// The accept value for the key below is RFC 6455's own example;
		// HAProxy refuses a websocket 101 without it.
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+
			"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\nserver-hello\n")
		io.Copy(c, br) // echo until the client half-closes
		io.WriteString(c, "server-bye\n")
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, br)
	})
	port := freePort(t)
	startProxy(t, h1Simple(port, "    timeout tunnel 5s", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
	resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("reading 101: %v", err)
	}
	if resp.StatusCode != 101 || !h1ConnToken(resp.Header, "upgrade") || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") {
		t.Fatalf("status %d, headers %v", resp.StatusCode, resp.Header)
	}
	select {
	case head := <-heads:
		lh := strings.ToLower(head)
		if !strings.Contains(lh, "upgrade: websocket\r\n") || !strings.Contains(lh, "connection: upgrade\r\n") {
			t.Errorf("backend did not get the upgrade headers:\n%s", head)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("backend got no request")
	}
	line, err := br.ReadString('\n')
	if err != nil || line != "server-hello\n" {
		t.Fatalf("server-first message: %q, %v", line, err)
	}
	for i := 0; i < 5; i++ {
		msg := fmt.Sprintf("message %d %s\n", i, strings.Repeat("z", i*1000))
		h1Write(t, c, msg)
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != msg {
			t.Fatalf("echo %d: %.40q, %v", i, got, err)
		}
	}
	// Half-close: the server must see our FIN and still be able to answer.
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "server-bye\n" {
		t.Fatalf("after half-close: %q, %v (want server-bye then EOF)", rest, err)
	}
}

// ---------------------------------------------------------------------------
// 7. Error responses.

// h1CheckError checks an error response generated by the proxy itself.
func h1CheckError(t testing.TB, resp *http.Response, body string, status int, text string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status %q, want %d; body %q", resp.Status, status, body)
	}
	if !strings.Contains(body, text) {
		t.Errorf("body %q lacks %q", body, text)
	}
	if resp.Header.Get("X-Backend") != "" {
		t.Errorf("error response came from the backend: %v", resp.Header)
	}
}

func TestHTTPError503NoServer(t *testing.T) {
	dead, port := freePort(t), freePort(t)
	startProxy(t, h1Simple(port, "    retries 1\n    timeout connect 1s", h1Server("s1", dead)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := h1ReadResp(t, br, "GET")
	h1CheckError(t, resp, body, 503, h1Text503)
	if resp.Status != "503 Service Unavailable" {
		t.Errorf("status line %q", resp.Status)
	}
}

func TestHTTPError504ServerTimeout(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	cfg := strings.Replace(h1Simple(port, "", h1Server("s1", be)), "timeout server 30s", "timeout server 300ms", 1)
	startProxy(t, cfg, port)

	c, br := h1Dial(t, port)
	start := time.Now()
	h1Write(t, c, "GET /slow?ms=2000 HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := h1ReadResp(t, br, "GET")
	h1CheckError(t, resp, body, 504, h1Text504)
	if resp.Status != "504 Gateway Time-out" {
		t.Errorf("status line %q", resp.Status)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("504 took %v with timeout server 300ms", d)
	}
}

func TestHTTPError502Garbage(t *testing.T) {
	be := h1StartRawBackend(t, func(c net.Conn) {
		if _, err := h1ReadHead(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HELLO\r\n\r\n")
	})
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := h1ReadResp(t, br, "GET")
	h1CheckError(t, resp, body, 502, h1Text502)
	if resp.Status != "502 Bad Gateway" {
		t.Errorf("status line %q", resp.Status)
	}
}

func TestHTTPError408IncompleteHead(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, h1Simple(port, "    timeout http-request 300ms", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	start := time.Now()
	h1Write(t, c, "GET /half HTTP/1.1\r\nHost: x\r\nX-Partial: ")
	resp, body := h1ReadResp(t, br, "GET")
	h1CheckError(t, resp, body, 408, h1Text408)
	if resp.Status != "408 Request Time-out" {
		t.Errorf("status line %q", resp.Status)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("408 took %v with timeout http-request 300ms", d)
	}
	h1ExpectClosed(t, c, br)
}

func TestHTTPError400Malformed(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "GET / HTTP/1.1\r\nHost: x\r\nthis is not a header\r\n\r\n")
	resp, body := h1ReadResp(t, br, "GET")
	h1CheckError(t, resp, body, 400, h1Text400)
	if resp.Status != "400 Bad request" {
		t.Errorf("status line %q", resp.Status)
	}
	h1ExpectClosed(t, c, br)
}

// ---------------------------------------------------------------------------
// 8. Server maxconn and the queue.

func TestHTTPServerMaxconnQueue(t *testing.T) {
	var inFlight, maxInFlight, total atomic.Int32
	inner := backendHandler("web1")
	be, _ := h1StartBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		total.Add(1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		inner(w, r)
	}))
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be, "maxconn 1")), port)

	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tr := &http.Transport{DisableKeepAlives: true}
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(h1URL(port, "/slow?ms=300"))
			if err != nil {
				errs <- err
				return
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || string(body) != "web1" {
				errs <- fmt.Errorf("status %d, body %q, %v", resp.StatusCode, body, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if m := maxInFlight.Load(); m != 1 {
		t.Errorf("backend saw %d concurrent requests with server maxconn 1", m)
	}
	if n := total.Load(); n != 2 {
		t.Errorf("backend saw %d requests, want 2", n)
	}
	if d := time.Since(start); d < 600*time.Millisecond {
		t.Errorf("two queued 300ms requests took only %v", d)
	}
}

// ---------------------------------------------------------------------------
// Further framing and connection cases.

// TestHTTPCloseDelimitedResponse: the server answers without a length and
// closes; the keep-alive client must get the whole body, and then either a
// close or a connection that still works.
func TestHTTPCloseDelimitedResponse(t *testing.T) {
	be := h1StartRawBackend(t, func(c net.Conn) {
		if _, err := h1ReadHead(bufio.NewReader(c)); err != nil {
			return
		}
		io.WriteString(c, "HTTP/1.1 200 OK\r\nX-Backend: raw\r\n\r\nno length here, ")
		io.WriteString(c, "the close ends it")
	})
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "GET /a HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := h1ReadResp(t, br, "GET")
	if resp.StatusCode != 200 || body != "no length here, the close ends it" {
		t.Fatalf("status %d, body %q", resp.StatusCode, body)
	}
	if resp.Close {
		h1ExpectClosed(t, c, br)
		return
	}
	if resp.ContentLength < 0 && len(resp.TransferEncoding) == 0 {
		t.Fatalf("response to a keep-alive client has no length and no close: %v", resp.Header)
	}
	h1Write(t, c, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := h1ReadResp(t, br, "GET"); resp.StatusCode != 200 || body != "no length here, the close ends it" {
		t.Fatalf("second request: %d %q", resp.StatusCode, body)
	}
}

// TestHTTPServerCloseKeepsClient: a server that says Connection: close and
// closes must not cost the client its keep-alive connection.
func TestHTTPServerCloseKeepsClient(t *testing.T) {
	var n atomic.Int32
	be := h1StartRawBackend(t, func(c net.Conn) {
		if _, err := h1ReadHead(bufio.NewReader(c)); err != nil {
			return
		}
		body := fmt.Sprintf("answer %d", n.Add(1))
		fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	})
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	for i := 1; i <= 3; i++ {
		h1Write(t, c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, body := h1ReadResp(t, br, "GET")
		if want := fmt.Sprintf("answer %d", i); resp.StatusCode != 200 || body != want {
			t.Fatalf("request %d: status %d, body %q, want %q", i, resp.StatusCode, body, want)
		}
		if h1SaysClose(resp) {
			t.Fatalf("request %d: server-side close leaked to the client: %v", i, resp.Header)
		}
	}
}

// TestHTTPBodilessResponses: HEAD, 204 and 304 answers have no body even
// when they carry a Content-Length; the next request on the connection
// must still be parsed right.
func TestHTTPBodilessResponses(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /n?status=204 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /m?status=304 HTTP/1.1\r\nHost: x\r\n\r\n"+
		"GET /last HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, w := range []struct {
		method, uri string
		status      int
	}{{"HEAD", "/h", 200}, {"GET", "/n?status=204", 204}, {"GET", "/m?status=304", 304}, {"GET", "/last", 200}} {
		resp, body := h1ReadResp(t, br, w.method)
		if resp.StatusCode != w.status || resp.Header.Get("X-Seen-URI") != w.uri {
			t.Fatalf("%s %s: status %d, X-Seen-URI %q", w.method, w.uri, resp.StatusCode, resp.Header.Get("X-Seen-URI"))
		}
		if w.uri == "/last" && body != "web1" {
			t.Fatalf("last body %q", body)
		}
	}
}

// TestHTTPForwardedForAppends: with option forwardfor an existing
// X-Forwarded-For is kept and the client address added after it.
func TestHTTPForwardedForAppends(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, h1Simple(port, "    option forwardfor", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 10.1.2.3\r\n\r\n")
	resp, _ := h1ReadResp(t, br, "GET")
	if got := resp.Header.Get("X-Seen-XFF"); got != "10.1.2.3, 127.0.0.1" {
		t.Fatalf("backend saw X-Forwarded-For %q, want %q", got, "10.1.2.3, 127.0.0.1")
	}
}

// TestHTTPError502ServerCloses: the server accepts the request and closes
// without a byte of response.
func TestHTTPError502ServerCloses(t *testing.T) {
	be := h1StartRawBackend(t, func(c net.Conn) {
		h1ReadHead(bufio.NewReader(c))
	})
	port := freePort(t)
	startProxy(t, h1Simple(port, "    retries 1", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := h1ReadResp(t, br, "GET")
	h1CheckError(t, resp, body, 502, h1Text502)
}

// TestHTTPError400HugeHead: a request head larger than the proxy's buffer
// (HAProxy: tune.bufsize 16384) is refused with 400.
func TestHTTPError400HugeHead(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: "+strings.Repeat("a", 40000)+"\r\n\r\n")
	resp, body := h1ReadResp(t, br, "GET")
	h1CheckError(t, resp, body, 400, h1Text400)
}

// TestHTTPError502HugeResponseHead: a response head larger than
// tune.bufsize (16384) is refused with 502 even when it would fit the
// proxy's larger server-side buffer; a 16 KiB body after a small head
// still goes through whole.
func TestHTTPError502HugeResponseHead(t *testing.T) {
	be := h1StartRawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			head, err := h1ReadHead(br)
			if err != nil {
				return
			}
			if strings.HasPrefix(head, "GET /big") {
				c.Write([]byte("HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("a", 17000) + "\r\nContent-Length: 2\r\n\r\nok"))
				continue
			}
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 16384\r\n\r\n" + strings.Repeat("b", 16384)))
		}
	})
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	c, br := h1Dial(t, port)
	h1Write(t, c, "GET /body HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := h1ReadResp(t, br, "GET"); resp.StatusCode != 200 || len(body) != 16384 {
		t.Fatalf("16 KiB body: status %d, %d bytes", resp.StatusCode, len(body))
	}
	h1Write(t, c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
	resp, body := h1ReadResp(t, br, "GET")
	h1CheckError(t, resp, body, 502, h1Text502)
}

// TestHTTPConcurrentClients: many keep-alive clients at once; every answer
// must be the one for its own request (no mix-up across pooled server
// connections).
func TestHTTPConcurrentClients(t *testing.T) {
	be1, _ := startHTTPBackend(t, "web1")
	be2, _ := startHTTPBackend(t, "web2")
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be1), h1Server("s2", be2)), port)

	tr := &http.Transport{MaxIdleConnsPerHost: 20}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				uri := fmt.Sprintf("/g%d/r%d", g, i)
				var resp *http.Response
				var err error
				if i%3 == 0 {
					payload := strings.Repeat(uri, 100)
					resp, err = client.Post(h1URL(port, "/echo?"+uri), "text/plain", strings.NewReader(payload))
					uri = "/echo?" + uri
					if err == nil {
						body, rerr := io.ReadAll(resp.Body)
						resp.Body.Close()
						if rerr != nil || string(body) != payload {
							errs <- fmt.Errorf("%s: echo of %d bytes came back as %d bytes, %v", uri, len(payload), len(body), rerr)
							return
						}
					}
				} else {
					resp, err = client.Get(h1URL(port, uri))
					if err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %v", uri, err)
					return
				}
				if got := resp.Header.Get("X-Seen-URI"); resp.StatusCode != 200 || got != uri {
					errs <- fmt.Errorf("%s: status %d, answer for %q", uri, resp.StatusCode, got)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestHTTPClientAbortMidBody: a client that disappears halfway through its
// body must not disturb the proxy, must not leave the server waiting for
// the rest forever, and must not look like a complete request to it.
func TestHTTPClientAbortMidBody(t *testing.T) {
	var started, finished, complete atomic.Int32
	be, _ := h1StartBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Add(1)
		defer finished.Add(1)
		if _, err := io.ReadAll(r.Body); err == nil && r.URL.Path == "/upload" {
			complete.Add(1)
		}
		io.WriteString(w, "ok")
	}))
	port := freePort(t)
	startProxy(t, h1Simple(port, "", h1Server("s1", be)), port)

	for i := 0; i < 5; i++ {
		c, _ := h1Dial(t, port)
		h1Write(t, c, "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n"+strings.Repeat("x", 5000))
		c.Close()
		c, _ = h1Dial(t, port)
		h1Write(t, c, "POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n"+strings.Repeat("y", 100))
		c.Close()
	}
	c, br := h1Dial(t, port)
	h1Write(t, c, "GET /after HTTP/1.1\r\nHost: x\r\n\r\n")
	if resp, body := h1ReadResp(t, br, "GET"); resp.StatusCode != 200 || body != "ok" {
		t.Fatalf("after aborts: %d %q", resp.StatusCode, body)
	}
	// Every upload the server started must end (the proxy aborts the
	// server side), and none of them complete.
	deadline := time.Now().Add(5 * time.Second)
	for finished.Load() != started.Load() {
		if time.Now().After(deadline) {
			t.Fatalf("server still waiting on %d aborted uploads after 5s", started.Load()-finished.Load())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := complete.Load(); n != 0 {
		t.Errorf("server read %d truncated uploads as complete", n)
	}
}
