package e2e

// "compression" as haproxy 2.6 applies it: the same requests through real
// haproxy and the binary under test give the same status and fields
// (Content-Encoding, Content-Length, Transfer-Encoding, Vary, ETag) and,
// once decoded, the same body, over HTTP/1.1 and HTTP/2; the stats count
// the same bytes given to the compressor and the same responses. The
// compressed bytes themselves differ (zlib there, Go's compress/flate
// here). DHPROXY_BIN=/usr/sbin/haproxy passes too.

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// compBody is a page of n bytes that compresses well but not trivially.
func compBody(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "<tr><td>row %d</td><td>%x</td></tr>\n", i, i*7919)
	}
	return b.Bytes()[:n]
}

// startCompBackend serves the responses the compression conditions tell
// apart; X-Seen-AE reports the Accept-Encoding the server received.
func startCompBackend(t *testing.T) int {
	t.Helper()
	page, big := compBody(40000), compBody(1<<20)
	mux := http.NewServeMux()
	fixed := func(path, ctype string, status int, body []byte, extra ...string) {
		mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h["Date"] = nil
			h.Set("X-Seen-AE", r.Header.Get("Accept-Encoding"))
			if ctype != "" {
				h.Set("Content-Type", ctype)
			} else {
				h["Content-Type"] = nil
			}
			for i := 0; i < len(extra); i += 2 {
				h.Add(extra[i], extra[i+1])
			}
			h.Set("Content-Length", strconv.Itoa(len(body)))
			w.WriteHeader(status)
			w.Write(body)
		})
	}
	fixed("/html", "text/html; charset=utf-8", 200, page, "ETag", `"v1"`)
	fixed("/plain", "TEXT/PLAIN", 203, page, "ETag", `W/"v1"`, "Vary", "Cookie")
	fixed("/png", "image/png", 200, page)
	fixed("/notype", "", 200, page)
	fixed("/encoded", "text/html", 200, page, "Content-Encoding", "br")
	fixed("/notransform", "text/html", 200, page, "Cache-Control", "public, no-transform")
	fixed("/badetag", "text/html", 200, page, "ETag", "v1")
	fixed("/twoetags", "text/html", 200, page, "ETag", `"a"`, "ETag", `"b"`)
	fixed("/multipart", "multipart/mixed; boundary=x", 200, page)
	fixed("/missing", "text/html", 404, page)
	fixed("/empty", "text/html", 200, nil)
	fixed("/small", "text/html", 200, []byte("hello"))
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		// chunked, in pieces the server flushes as it goes
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "text/html")
		for i := 0; i < len(big); i += 16384 {
			w.Write(big[i:min(i+16384, len(big))])
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("/trailers", func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Trailer", "X-Sum")
		w.Write(page)
		w.Header().Set("X-Sum", "42")
	})
	mux.HandleFunc("/held", func(w http.ResponseWriter, r *http.Request) {
		// a large first part, then nothing until the client decoded most
		// of it
		w.Header().Set("Content-Type", "text/html")
		w.Write(big)
		w.(http.Flusher).Flush()
		select {
		case <-compRelease:
		case <-time.After(5 * time.Second):
		}
		w.Write([]byte("the end"))
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

func compConfig(sock string, h1, h2c, dfl, srv int) string {
	return fmt.Sprintf(`global
    stats socket %s level admin
`+defaultsSection("http", "2s", "10s", "10s")+`
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    compression algo gzip
    compression type text/html text/plain
    capture response header Content-Length len 10
    http-response set-header X-Comp %%[res.comp]/%%[res.comp_algo]/%%[capture.res.hdr(0)]
    default_backend be
backend be
    server s 127.0.0.1:%d
listen dfl
    bind 127.0.0.1:%d
    compression algo identity deflate
    compression offload
    http-response set-header X-Comp %%[res.comp]/%%[res.comp_algo]
    server s 127.0.0.1:%d
`, sock, h1, h2c, srv, dfl, srv)
}

// compResult is what a response shows of compression: its status, the
// fields compression edits, what the server saw, and whether the decoded
// body is the page.
func compResult(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "read error: " + err.Error()
	}
	body, err := decodeBody(resp.Header.Get("Content-Encoding"), raw)
	if err != nil {
		return "decode error: " + err.Error()
	}
	return fmt.Sprintf("%d %s ce=%q cl=%d te=%q vary=%q etag=%q ae=%q trailer=%q body=%d/%x",
		resp.StatusCode, resp.Header.Get("X-Comp"), resp.Header.Get("Content-Encoding"), resp.ContentLength, resp.TransferEncoding,
		resp.Header.Values("Vary"), resp.Header.Values("Etag"), resp.Header.Get("X-Seen-AE"), resp.Trailer.Get("X-Sum"), len(body), crcOf(body))
}

func crcOf(b []byte) uint32 {
	var h uint32 = 2166136261
	for _, c := range b {
		h = (h ^ uint32(c)) * 16777619
	}
	return h
}

func decodeBody(coding string, raw []byte) ([]byte, error) {
	var r io.Reader
	var err error
	switch coding {
	case "":
		return raw, nil
	case "gzip":
		r, err = gzip.NewReader(bytes.NewReader(raw))
	case "deflate":
		r, err = zlib.NewReader(bytes.NewReader(raw))
		if err != nil { // raw deflate
			r, err = flate.NewReader(bytes.NewReader(raw)), nil
		}
	default:
		return nil, fmt.Errorf("unexpected coding %q", coding)
	}
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// compRelease lets /held finish its body.
var compRelease = make(chan struct{})

type compRequest struct {
	port    string // "h1", "h2" or "dfl"
	path    string
	ae, ua  string
	method  string
	http10  bool
	comment string
}

var compRequests = []compRequest{
	{port: "h1", path: "/html", ae: "gzip, deflate, br"},
	{port: "h1", path: "/html", ae: "br;q=1, gzip;q=0.5"},
	{port: "h1", path: "/html", ae: "gzip;q=0"},
	{port: "h1", path: "/html", ae: "*"},
	{port: "h1", path: "/html"},
	{port: "h1", path: "/html", ae: "gzip", ua: "Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)"},
	{port: "h1", path: "/html", ae: "gzip", method: "HEAD"},
	{port: "h1", path: "/plain", ae: "gzip"},
	{port: "h1", path: "/png", ae: "gzip"},
	{port: "h1", path: "/notype", ae: "gzip"},
	{port: "h1", path: "/encoded", ae: "gzip"},
	{port: "h1", path: "/notransform", ae: "gzip"},
	{port: "h1", path: "/badetag", ae: "gzip"},
	{port: "h1", path: "/twoetags", ae: "gzip"},
	{port: "h1", path: "/multipart", ae: "gzip"},
	{port: "h1", path: "/missing", ae: "gzip"},
	{port: "h1", path: "/empty", ae: "gzip"},
	{port: "h1", path: "/small", ae: "gzip"},
	{port: "h1", path: "/stream", ae: "gzip"},
	{port: "h1", path: "/trailers", ae: "gzip"},
	{port: "h2", path: "/trailers", ae: "gzip"},
	{port: "h2", path: "/html", ae: "gzip"},
	{port: "h2", path: "/stream", ae: "gzip"},
	{port: "h2", path: "/png", ae: "gzip"},
	{port: "dfl", path: "/png", ae: "deflate"},
	{port: "dfl", path: "/stream", ae: "gzip, deflate"},
	{port: "dfl", path: "/html", ae: "br"},
	{port: "dfl", path: "/html"},
	{port: "dfl", path: "/trailers"},
}

// compRun sends compRequests through the proxy at path and returns the
// results and the comp_* columns of its stats.
func compRun(t *testing.T, path string, srv int) (results []string, stats string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	h1, h2c, dfl := freePort(t), freePort(t), freePort(t)
	p := startBinary(t, path, compConfig(sock, h1, h2c, dfl, srv), h1)
	waitPort(t, h2c, 5*time.Second)
	waitPort(t, dfl, 5*time.Second)
	h1c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}
	h2 := &http.Client{Timeout: 10 * time.Second, Transport: &http2.Transport{
		AllowHTTP: true, DisableCompression: true,
		DialTLSContext: func(ctx context.Context, network, addr string, _ *tls.Config) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		},
	}}
	ports := map[string]int{"h1": h1, "h2": h2c, "dfl": dfl}
	for _, r := range compRequests {
		method := r.method
		if method == "" {
			method = "GET"
		}
		req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", ports[r.port], r.path), nil)
		if r.ae != "" {
			req.Header.Set("Accept-Encoding", r.ae)
		}
		if r.ua != "" {
			req.Header.Set("User-Agent", r.ua)
		}
		c := h1c
		if r.port == "h2" {
			c = h2
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatalf("%s %+v: %v\n%s", path, r, err, p.Stderr())
		}
		results = append(results, compResult(t, resp))
	}
	// a large body goes on compressed as it comes, not once it ended
	// (neither compressor is flushed before the end: a small first part
	// would wait in it, in haproxy as here)
	for _, c := range []*http.Client{h1c, h2} {
		port := h1
		if c == h2 {
			port = h2c
		}
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d/held", port), nil)
		req.Header.Set("Accept-Encoding", "gzip")
		start := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		first := make([]byte, len(compBody(1<<20))*3/4)
		_, err = io.ReadFull(zr, first)
		held := time.Since(start)
		select {
		case compRelease <- struct{}{}:
		case <-time.After(5 * time.Second):
		}
		rest, _ := io.ReadAll(zr)
		resp.Body.Close()
		whole := len(first)+len(rest) == 1<<20+len("the end") && strings.HasSuffix(string(rest), "the end")
		results = append(results, fmt.Sprintf("held: most of the body before its end: %v (%v), whole: %v", err == nil && held < 4*time.Second, err, whole))
	}
	// an HTTP/1.0 request is answered as it is
	out, err := curl(t, "--http1.0", "-si", "-H", "Accept-Encoding: gzip", fmt.Sprintf("http://127.0.0.1:%d/html", h1))
	if err != nil {
		t.Fatal(err)
	}
	results = append(results, "HTTP/1.0 request compressed: "+strconv.FormatBool(strings.Contains(strings.ToLower(out), "content-encoding")))
	// curl --compressed decodes what it gets, over HTTP/1.1 and HTTP/2
	for _, args := range [][]string{{"--compressed"}, {"--compressed", "--http2-prior-knowledge"}} {
		port := h1
		if len(args) > 1 {
			port = h2c
		}
		out, err := curl(t, append(args, fmt.Sprintf("http://127.0.0.1:%d/stream", port))...)
		if err != nil {
			t.Fatal(err)
		}
		results = append(results, fmt.Sprintf("curl %v: %d/%x", args, len(out), crcOf([]byte(out))))
	}
	var b strings.Builder
	for _, l := range strings.Split(cliCmd(t, sock, "show stat"), "\n") {
		f := strings.Split(l, ",")
		if len(f) < 56 || (f[1] != "FRONTEND" && f[1] != "BACKEND") {
			continue
		}
		in, _ := strconv.ParseInt(f[51], 10, 64)
		out, _ := strconv.ParseInt(f[52], 10, 64)
		// comp_out depends on the compressor: only its ratio is checked
		fmt.Fprintf(&b, "%s/%s comp_in=%s out<in:%v byp=%s rsp=%s\n", f[0], f[1], f[51], out > 0 && out < in || in == 0 && out == 0, f[53], f[54])
	}
	return results, b.String()
}

func TestCompressionAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	srv := startCompBackend(t)
	want, wantStats := compRun(t, haproxyBin, srv)
	got, gotStats := compRun(t, bin, srv)
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			t.Errorf("request %d (%+v):\n got %s\nwant %s", i, compRequests[min(i, len(compRequests)-1)], got[i], want[i])
		}
	}
	if gotStats != wantStats {
		t.Errorf("stats:\n got\n%s want\n%s", gotStats, wantStats)
	}
	t.Logf("haproxy's results:\n%s\n%s", strings.Join(want, "\n"), wantStats)
}
