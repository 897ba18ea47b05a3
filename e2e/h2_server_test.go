package e2e

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// h2Backend is an HTTP/2 server (x/net/http2) on 127.0.0.1: cleartext
// with prior knowledge, or TLS offering only "h2" by ALPN. It counts the
// connections it accepted and the streams it served.
type h2Backend struct {
	port    int
	conns   atomic.Int32
	closed  atomic.Int32 // connections the proxy closed
	streams atomic.Int32
}

// startH2Backend serves backendHandler(name), plus /trailers (a body then
// trailers, as gRPC answers) and /reset (the stream is reset).
func startH2Backend(t *testing.T, name string, tlsCfg *tls.Config) *h2Backend {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b := &h2Backend{port: l.Addr().(*net.TCPAddr).Port}
	base := backendHandler(name)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.streams.Add(1)
		switch r.URL.Path {
		case "/trailers":
			body, _ := io.ReadAll(r.Body)
			w.Header().Set("Trailer", "X-Checksum, X-Request-Trailer")
			w.Header().Set("X-Seen-Proto", r.Proto)
			io.WriteString(w, "body:"+string(body))
			w.Header().Set("X-Checksum", "c0ffee")
			w.Header().Set("X-Request-Trailer", r.Trailer.Get("X-Sum"))
		case "/reset":
			panic(http.ErrAbortHandler) // RST_STREAM INTERNAL_ERROR
		default:
			base(w, r)
		}
	})
	srv := &http2.Server{}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var open []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b.conns.Add(1)
			mu.Lock()
			open = append(open, c)
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				if tlsCfg != nil {
					tc := tls.Server(c, tlsCfg)
					if tc.HandshakeContext(context.Background()) != nil {
						c.Close()
						return
					}
					c = tc
				}
				srv.ServeConn(c, &http2.ServeConnOpts{Handler: h})
				b.closed.Add(1)
			}()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return b
}

// h2cClient is an HTTP/2 client with prior knowledge (as curl
// --http2-prior-knowledge), which shows response trailers.
func h2cClient() *http.Client { return h2cClientCounting(nil) }

// h2cClientCounting is h2cClient counting the connections it opens in
// dials (unless nil): streams meant to share a connection must not add one.
func h2cClientCounting(dials *atomic.Int32) *http.Client {
	return &http.Client{Timeout: 5 * time.Second, Transport: &http2.Transport{
		AllowHTTP: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			if dials != nil {
				dials.Add(1)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
}

// TestH2ServerFromH1Client: an HTTP/1.1 client's requests reach a "proto
// h2" server as HTTP/2 streams; the requests of one client connection
// share one server connection.
func TestH2ServerFromH1Client(t *testing.T) {
	be := startH2Backend(t, "h2srv", nil)
	port := freePort(t)
	startProxy(t, defaultsSection("http", "5s", "10s", "10s")+fmt.Sprintf(`
listen li
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d proto h2
`, port, be.port), port)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	out, err := curl(t, "-i", url+"/a?b=c", "-i", url+"/echo", "--data-binary", "hello h2 server")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"HTTP/1.1 200", "x-backend: h2srv", "x-seen-proto: HTTP/2.0", "x-seen-uri: /a?b=c", "x-seen-host: 127.0.0.1:", "\r\n\r\nhello h2 server"} {
		if !strings.Contains(strings.ToLower(out), strings.ToLower(want)) {
			t.Errorf("response lacks %q:\n%s", want, out)
		}
	}
	if n, s := be.conns.Load(), be.streams.Load(); n != 1 || s != 2 {
		t.Errorf("server saw %d connections for %d streams, want 1 for 2", n, s)
	}
	// A chunked request body crosses. (The server's trailers: haproxy
	// keeps the response's length and drops them for an HTTP/1 client,
	// dhproxy sends the body chunked with them.)
	out, err = curl(t, "-i", "-H", "Transfer-Encoding: chunked", "--data-binary", "abc", url+"/trailers")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "HTTP/1.1 200") || !strings.Contains(out, "\r\n\r\nbody:abc") {
		t.Errorf("chunked request through an h2 server:\n%s", out)
	}
	// 4 MiB each way through the flow control windows of both sides.
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<18)
	resp, err := http.Post(url+"/echo", "application/octet-stream", bytes.NewReader(big))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, big) {
		t.Errorf("4 MiB echo: %v, %d bytes back, equal %v", err, len(got), bytes.Equal(got, big))
	}
	// A stream the server resets before answering is a 502.
	out, _ = curl(t, "-i", url+"/reset")
	if !strings.HasPrefix(out, "HTTP/1.1 502") {
		t.Errorf("reset stream: want a 502, got:\n%s", out)
	}
}

// TestH2ServerFromH2Client: h2 client ↔ h2 server, trailers both ways, and
// with http-reuse always the streams of several clients share one server
// connection.
func TestH2ServerFromH2Client(t *testing.T) {
	be := startH2Backend(t, "h2h2", nil)
	port := freePort(t)
	startProxy(t, defaultsSection("http", "5s", "10s", "10s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    default_backend be
backend be
    http-reuse always
    server s1 127.0.0.1:%d proto h2
`, port, be.port), port)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	// Request trailers need a body of unknown length.
	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, "data")
		pw.Close()
	}()
	req, _ := http.NewRequest("POST", base+"/trailers", pr)
	req.Trailer = http.Header{"X-Sum": {"42"}}
	resp, err := h2cClient().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "body:data" || resp.Header.Get("X-Seen-Proto") != "HTTP/2.0" {
		t.Errorf("body %q, proto seen %q", body, resp.Header.Get("X-Seen-Proto"))
	}
	if resp.Trailer.Get("X-Checksum") != "c0ffee" || resp.Trailer.Get("X-Request-Trailer") != "42" {
		t.Errorf("trailers: %v", resp.Trailer)
	}
	for i := range 3 {
		out, err := curl(t, "--http2-prior-knowledge", fmt.Sprintf("%s/n%d", base, i))
		if err != nil || out != "h2h2" {
			t.Errorf("request %d: %v %q", i, err, out)
		}
	}
	if n := be.conns.Load(); n != 1 {
		t.Errorf("server saw %d connections for 4 clients with http-reuse always, want 1", n)
	}
}

// TestH2ServerALPN: "ssl alpn h2" speaks HTTP/2 when the server chooses
// it; h2load's concurrent streams from several clients all succeed.
func TestH2ServerALPN(t *testing.T) {
	ca := newTLSCA(t)
	certPEM, keyPEM := ca.issue(t, "backend.test")
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	be := startH2Backend(t, "alpn", &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2"}})
	port := freePort(t)
	startProxy(t, defaultsSection("http", "5s", "10s", "10s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    default_backend be
backend be
    server s1 127.0.0.1:%d ssl verify none alpn h2,http/1.1
`, port, be.port), port)
	out, err := curl(t, "-i", "--http2-prior-knowledge", fmt.Sprintf("http://127.0.0.1:%d/x", port))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "x-seen-proto: HTTP/2.0") {
		t.Errorf("server did not see HTTP/2:\n%s", out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, _ := exec.CommandContext(ctx, "h2load", "-n", "200", "-c", "4", "-m", "10", fmt.Sprintf("http://127.0.0.1:%d/y", port)).CombinedOutput()
	if !strings.Contains(string(res), "200 succeeded") || !strings.Contains(string(res), "status codes: 200 2xx") {
		t.Errorf("h2load through an h2 server:\n%s", res)
	}
}

// TestH2ServerGoAwayRetry: a server that refuses a stream with GOAWAY
// (last stream below it: not processed) and closes. On a reused
// connection the request goes again on a new one, the client sees only
// the answer; on the request's own new connection it is a 502 (haproxy
// 2.6 retries only on a connection failure by default).
func TestH2ServerGoAwayRetry(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var conns atomic.Int32
	srv := &http2.Server{}
	// Connection 1 answers its first request and refuses the next, 3
	// refuses its first; 2 and 4 serve normally.
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			n := conns.Add(1)
			if n%2 == 0 {
				go srv.ServeConn(c, &http2.ServeConnOpts{Handler: backendHandler(fmt.Sprint("conn", n))})
				continue
			}
			go goAwayServer(c, n == 1)
		}
	}()
	port := freePort(t)
	startProxy(t, defaultsSection("http", "5s", "10s", "10s")+fmt.Sprintf(`
listen li
    bind 127.0.0.1:%d
    server s1 %s proto h2
`, port, l.Addr()), port)
	url := fmt.Sprintf("http://127.0.0.1:%d/r", port)
	// Two requests of one client: the second rides the pooled connection,
	// is refused, and goes again on connection 2.
	out, err := curl(t, "-i", url, "-i", url)
	if err != nil || strings.Count(out, "HTTP/1.1 200") != 2 || !strings.HasSuffix(out, "conn2") {
		t.Errorf("%v:\n%s", err, out)
	}
	if n := conns.Load(); n != 2 {
		t.Errorf("%d server connections, want 2", n)
	}
	// A new client's first request (http-reuse safe: not on the idle
	// connection 2) is refused on its own connection 3: a 502.
	out, _ = curl(t, "-i", url)
	if !strings.HasPrefix(out, "HTTP/1.1 502") {
		t.Errorf("refused on a new connection: want a 502, got:\n%s", out)
	}
	if n := conns.Load(); n != 3 {
		t.Errorf("%d server connections, want 3", n)
	}
}

// goAwayServer speaks HTTP/2 on c: when answerFirst, its first request
// gets a 200 "first"; the next HEADERS gets GOAWAY naming the last stream
// answered, then the connection closes.
func goAwayServer(c net.Conn, answerFirst bool) {
	fr, ok := acceptH2(c)
	if !ok {
		return
	}
	var last uint32
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			if answerFirst && last == 0 {
				fr.writeHead(f.StreamID, false, ":status", "200", "content-length", "5")
				fr.WriteData(f.StreamID, true, []byte("first"))
				last = f.StreamID
				continue
			}
			fr.WriteGoAway(last, http2.ErrCodeNo, nil)
			time.Sleep(100 * time.Millisecond)
			c.Close()
			return
		}
	}
}

// TestH2ReqVer: req.ver is "2.0" for a request that came over HTTP/2
// (and the HTTP_2.0 predefined ACL matches it), "1.1" over HTTP/1.1.
func TestH2ReqVer(t *testing.T) {
	port, h1 := freePort(t), freePort(t)
	startProxy(t, defaultsSection("http", "5s", "10s", "10s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    bind 127.0.0.1:%d
    http-request return status 200 content-type text/plain lf-string "ver=%%[req.ver] h2acl=yes" if HTTP_2.0
    http-request return status 200 content-type text/plain lf-string "ver=%%[req.ver]"
`, port, h1), port, h1)
	out, err := curl(t, "--http2-prior-knowledge", fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil || out != "ver=2.0 h2acl=yes" {
		t.Errorf("over HTTP/2: %v %q", err, out)
	}
	out, err = curl(t, fmt.Sprintf("http://127.0.0.1:%d/", h1))
	if err != nil || out != "ver=1.1" {
		t.Errorf("over HTTP/1.1: %v %q", err, out)
	}
}

// TestH2ServerMaxReuse: with max-reuse 4 a server connection carries at
// most 5 streams; the streams in flight on a connection that reached it
// finish (h2load sees every request succeed).
func TestH2ServerMaxReuse(t *testing.T) {
	be := startH2Backend(t, "maxreuse", nil)
	port := freePort(t)
	startProxy(t, defaultsSection("http", "5s", "10s", "10s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    default_backend be
backend be
    http-reuse always
    server s1 127.0.0.1:%d proto h2 max-reuse 4
`, port, be.port), port)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, _ := exec.CommandContext(ctx, "h2load", "-n", "400", "-c", "4", "-m", "8", fmt.Sprintf("http://127.0.0.1:%d/", port)).CombinedOutput()
	if !strings.Contains(string(res), "400 succeeded, 0 failed") {
		t.Errorf("h2load:\n%s", res)
	}
	if n, s := be.conns.Load(), be.streams.Load(); s != 400 || n < 80 {
		t.Errorf("%d streams over %d server connections, want 400 over 80 at least", s, n)
	}
}

// TestH2ServerPoolPurge: an idle HTTP/2 server connection is closed after
// pool-purge-delay; a busy one is not.
func TestH2ServerPoolPurge(t *testing.T) {
	be := startH2Backend(t, "purge", nil)
	port := freePort(t)
	startProxy(t, defaultsSection("http", "5s", "10s", "10s")+fmt.Sprintf(`
listen li
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d proto h2 pool-purge-delay 300ms
`, port, be.port), port)
	// A request that lasts longer than the delay keeps its connection.
	if out, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/slow?ms=600", port)); err != nil || out != "purge" {
		t.Fatalf("%v %q", err, out)
	}
	if n := be.closed.Load(); n != 0 {
		t.Errorf("%d connections closed while busy", n)
	}
	deadline := time.Now().Add(3 * time.Second)
	for be.closed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n, c := be.conns.Load(), be.closed.Load(); n != 1 || c != 1 {
		t.Errorf("%d connections, %d closed; want the idle one closed", n, c)
	}
}
