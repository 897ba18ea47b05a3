package e2e

// haproxy's "cache" section, "http-request cache-use" and "http-response
// cache-store": the same request sequences through real haproxy 2.6 and
// the binary under test give the same statuses, bodies, Age presence and
// 304s, and the test server sees the same requests (a hit never reaches
// it). DHPROXY_BIN=/usr/sbin/haproxy passes too.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// cacheBackend serves the responses the cache tells apart and counts the
// requests of each path.
type cacheBackend struct {
	mu   sync.Mutex
	hits map[string]int
}

func (cb *cacheBackend) count(path string) int {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	return cb.hits[path]
}

func startCacheBackend(t *testing.T) (*cacheBackend, int) {
	t.Helper()
	cb := &cacheBackend{hits: map[string]int{}}
	lm := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).Format(http.TimeFormat)
	type page struct {
		status int
		fields []string
		body   string
	}
	pages := map[string]page{
		"/static":      {200, []string{"Cache-Control", "max-age=60", "ETag", `"v1"`, "Last-Modified", lm}, "static page"},
		"/nocache":     {200, []string{"Cache-Control", "no-cache"}, "no-cache"},
		"/private":     {200, []string{"Cache-Control", "private, max-age=60"}, "private"},
		"/nostore":     {200, []string{"Cache-Control", "no-store"}, "no-store"},
		"/pragma":      {200, []string{"Pragma", "no-cache", "Cache-Control", "max-age=60"}, "pragma"},
		"/cookie":      {200, []string{"Cache-Control", "max-age=60", "Set-Cookie", "a=b"}, "cookie"},
		"/cookiepub":   {200, []string{"Cache-Control", "public", "Cache-Control", "max-age=60", "Set-Cookie", "a=b"}, "public cookie"},
		"/novalidator": {200, nil, "nothing to validate"},
		"/lastmod":     {200, []string{"Last-Modified", lm}, "last-modified only"},
		"/etag":        {200, []string{"ETag", `W/"e1"`}, "etag only"},
		"/expires":     {200, []string{"Expires", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, "expires"},
		"/expired":     {200, []string{"Expires", "Thu, 01 Jan 1970 00:00:00 GMT", "ETag", `"x"`}, "expired"},
		"/maxage0":     {200, []string{"Cache-Control", "max-age=0"}, "max-age=0"},
		"/notfound":    {404, []string{"Cache-Control", "max-age=60"}, "not found"},
		"/created":     {201, []string{"Cache-Control", "max-age=60"}, "created"},
		"/age":         {200, []string{"Cache-Control", "max-age=60", "Age", "10"}, "aged"},
		"/stale":       {200, []string{"Cache-Control", "max-age=5", "Age", "10"}, "stale"},
		"/varyae":      {200, []string{"Cache-Control", "max-age=60", "Vary", "Accept-Encoding"}, "vary accept-encoding"},
		"/varyref":     {200, []string{"Cache-Control", "max-age=60", "Vary", "Referer"}, "vary referer"},
		"/varycookie":  {200, []string{"Cache-Control", "max-age=60", "Vary", "Cookie"}, "vary cookie"},
		"/varyorigin":  {200, []string{"Cache-Control", "max-age=60", "Vary", "Origin"}, "vary origin"},
		"/big":         {200, []string{"Cache-Control", "max-age=60"}, strings.Repeat("b", 3000)},
		"/h2":          {200, []string{"Cache-Control", "max-age=60"}, "over h2"},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		cb.mu.Lock()
		cb.hits[r.URL.Path]++
		n := cb.hits[r.URL.Path]
		cb.mu.Unlock()
		if r.URL.Path == "/chunked" {
			w.Header().Set("Cache-Control", "max-age=60")
			w.(http.Flusher).Flush()
			io.WriteString(w, "chunked ")
			w.(http.Flusher).Flush()
			io.WriteString(w, "body")
			return
		}
		p, ok := pages[r.URL.Path]
		if !ok {
			p = pages["/static"]
		}
		h := w.Header()
		h["Date"] = nil
		for i := 0; i < len(p.fields); i += 2 {
			h.Add(p.fields[i], p.fields[i+1])
		}
		body := p.body
		if strings.HasPrefix(r.URL.Path, "/vary") {
			body += " ae=" + r.Header.Get("Accept-Encoding") + " ref=" + r.Header.Get("Referer")
		}
		h.Set("X-Served", strconv.Itoa(n))
		h.Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(p.status)
		io.WriteString(w, body)
	})
	port := freePort(t)
	srv := &http.Server{Addr: fmt.Sprintf("127.0.0.1:%d", port), Handler: mux}
	go srv.ListenAndServe()
	t.Cleanup(func() { srv.Close() })
	waitPort(t, port, 5*time.Second)
	return cb, port
}

// cacheStep is one request of the sequence.
type cacheStep struct {
	method, path string
	fields       []string
	proxy        int // 0: the listen with process-vary on, 1: the one without, 2: the HTTP/1.0 client, 3: HTTP/2
}

var cacheSteps = []cacheStep{
	{"GET", "/static", nil, 0},
	{"GET", "/static", nil, 0},
	{"HEAD", "/static", nil, 0},
	{"GET", "/static", []string{"If-None-Match", `"v1"`}, 0},
	{"GET", "/static", []string{"If-None-Match", `"other"`}, 0},
	{"GET", "/static", []string{"If-None-Match", `W/"v1"`}, 0},
	{"GET", "/static", []string{"If-Modified-Since", time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)}, 0},
	{"GET", "/static", []string{"If-Modified-Since", time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)}, 0},
	{"GET", "/static", []string{"Authorization", "Basic YTpi"}, 0},
	{"GET", "/static", []string{"Cache-Control", "no-cache"}, 0},
	{"GET", "/static", []string{"Pragma", "no-cache"}, 0},
	{"GET", "/static", []string{"Cache-Control", "max-age=0"}, 0},
	{"GET", "/static", nil, 2},
	{"POST", "/static", nil, 0},
	{"GET", "/static", nil, 0},
	{"GET", "/static", nil, 0},
	{"HEAD", "/headfirst", nil, 0},
	{"HEAD", "/headfirst", nil, 0},
	{"GET", "/headfirst", nil, 0},
	{"GET", "/headfirst", nil, 0},
	{"GET", "/headfirst", nil, 0},
	{"GET", "/nostorereq", []string{"Cache-Control", "no-store"}, 0},
	{"GET", "/nostorereq", nil, 0},
	{"GET", "/nostorereq", nil, 0},
}

// pathsTwice are requested twice each, after the steps above.
var pathsTwice = []string{"/nocache", "/private", "/nostore", "/pragma", "/cookie", "/cookiepub", "/novalidator",
	"/lastmod", "/etag", "/expires", "/expired", "/maxage0", "/notfound", "/created", "/age", "/stale",
	"/varycookie", "/varyorigin", "/big", "/chunked"}

func cacheRun(t *testing.T, binary string, cb *cacheBackend, srv int) []string {
	t.Helper()
	vary, novary, h2c := freePort(t), freePort(t), freePort(t)
	sock := filepath.Join(t.TempDir(), "admin.sock")
	cfg := fmt.Sprintf(`
global
    tune.bufsize 16384
    stats socket %s level admin
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
cache withvary
    total-max-size 1
    max-object-size 2048
    max-age 30
    process-vary on
    max-secondary-entries 2
cache novary
    total-max-size 1
listen withvary
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    filter cache withvary
    http-request cache-use withvary
    http-response cache-store withvary
    server s 127.0.0.1:%d
listen novary
    bind 127.0.0.1:%d
    http-request cache-use novary
    http-response cache-store novary
    server s 127.0.0.1:%d
`, sock, vary, h2c, srv, novary, srv)
	p := startBinary(t, binary, cfg, vary)
	waitPort(t, novary, 5*time.Second)
	waitPort(t, h2c, 5*time.Second)
	defer p.stop()
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	var results []string
	do := func(st cacheStep) {
		port := vary
		if st.proxy == 1 {
			port = novary
		}
		path := st.path
		before := cb.count(path)
		var line string
		switch st.proxy {
		case 2, 3:
			args := []string{"-si", "-X", st.method}
			if st.proxy == 2 {
				args = append(args, "--http1.0")
			} else {
				args = append(args, "--http2-prior-knowledge")
				port = h2c
			}
			out, err := curl(t, append(args, fmt.Sprintf("http://127.0.0.1:%d%s", port, path))...)
			if err != nil {
				t.Fatal(err)
			}
			head, body, _ := strings.Cut(strings.ReplaceAll(out, "\r\n", "\n"), "\n\n")
			status := strings.Fields(head)[1]
			line = fmt.Sprintf("status=%s age=%v body=%q", status, strings.Contains(strings.ToLower(head), "\nage:"), body)
		default:
			req, _ := http.NewRequest(st.method, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
			for i := 0; i < len(st.fields); i += 2 {
				req.Header.Set(st.fields[i], st.fields[i+1])
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			age := resp.Header.Get("Age")
			if n, err := strconv.Atoi(age); err == nil && n >= 10 {
				age = ">=10"
			} else if age != "" {
				age = "<10"
			}
			line = fmt.Sprintf("status=%d age=%q body=%q etag=%q served=%s", resp.StatusCode, age, body, resp.Header.Get("ETag"), resp.Header.Get("X-Served"))
		}
		results = append(results, fmt.Sprintf("%s %s %v proxy%d: %s reached=%d", st.method, path, st.fields, st.proxy, line, cb.count(path)-before))
	}
	for _, st := range cacheSteps {
		do(st)
	}
	for _, path := range pathsTwice {
		do(cacheStep{"GET", path, nil, 0})
		do(cacheStep{"GET", path, nil, 0})
	}
	// Vary: with process-vary on, Accept-Encoding and Referer make
	// secondary entries (at most 2 per key); without it, nothing varying
	// is stored
	for _, fields := range [][]string{
		{"Accept-Encoding", "gzip"}, {"Accept-Encoding", "gzip"}, {"Accept-Encoding", "br"}, {"Accept-Encoding", "br"},
		{"Accept-Encoding", "deflate"}, {"Accept-Encoding", "deflate"}, {"Accept-Encoding", "gzip"},
	} {
		do(cacheStep{"GET", "/varyae", fields, 0})
	}
	for _, fields := range [][]string{{"Referer", "http://a/"}, {"Referer", "http://a/"}, {"Referer", "http://b/"}, {"Referer", "http://a/"}} {
		do(cacheStep{"GET", "/varyref", fields, 0})
		do(cacheStep{"GET", "/varyref", fields, 1})
	}
	do(cacheStep{"GET", "/static", nil, 1})
	do(cacheStep{"GET", "/static", nil, 1})
	// HTTP/2 clients are served from the cache too
	do(cacheStep{"GET", "/h2", nil, 3})
	do(cacheStep{"GET", "/h2", nil, 3})
	// the stats count the lookups and hits of each listen; "show cache"
	// lists each cache and its entries (their addresses and sizes are
	// haproxy's own: only the names, free blocks and entry counts compare)
	for _, l := range strings.Split(cliCmd(t, sock, "show stat"), "\n") {
		if f := strings.Split(l, ","); len(f) > 87 && (f[1] == "FRONTEND" || f[1] == "BACKEND") {
			results = append(results, fmt.Sprintf("stat %s/%s cache_lookups=%s cache_hits=%s", f[0], f[1], f[86], f[87]))
		}
	}
	entries := -1
	for _, l := range strings.Split(cliCmd(t, sock, "show cache"), "\n") {
		if _, rest, ok := strings.Cut(l, ": "); ok && strings.Contains(rest, "(shctx:") {
			if entries >= 0 {
				results = append(results, fmt.Sprintf("  entries: %d", entries))
			}
			name, _, _ := strings.Cut(rest, " ")
			_, avail, _ := strings.Cut(rest, "available blocks:")
			results, entries = append(results, "show cache: "+name+" available blocks:"+avail), 0
		} else if strings.Contains(l, " hash:") && strings.Contains(l, "expire:") {
			entries++
		}
	}
	results = append(results, fmt.Sprintf("  entries: %d", entries))
	return results
}

func TestCacheAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	cbRef, srvRef := startCacheBackend(t)
	want := cacheRun(t, haproxyBin, cbRef, srvRef)
	cb, srv := startCacheBackend(t)
	got := cacheRun(t, bin, cb, srv)
	for i := range want {
		if i >= len(got) || got[i] != want[i] {
			g := ""
			if i < len(got) {
				g = got[i]
			}
			t.Errorf("step %d:\n got %s\nwant %s", i, g, want[i])
		}
	}
	t.Logf("haproxy's results:\n%s", strings.Join(want, "\n"))
}

// TestCacheLogAsHAProxy: a hit is logged as haproxy logs it: server
// <CACHE>, no wait, connect or response time, "LR--", the same bytes.
func TestCacheLogAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	run := func(binary string) []string {
		srv, fe := freePort(t), freePort(t)
		cfg := fmt.Sprintf(`
global
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 2s
    timeout client 5s
    timeout server 5s
cache c1
    total-max-size 1
listen srv
    bind 127.0.0.1:%d
    http-request return status 200 hdr cache-control max-age=30 content-type text/plain string hello
listen fe
    bind 127.0.0.1:%d
    http-request cache-use c1
    http-response cache-store c1
    server s 127.0.0.1:%d
`, srv, fe, srv)
		p := startBinary(t, binary, cfg, fe)
		waitPort(t, srv, 5*time.Second)
		for _, m := range []string{"-G", "-G", "-I"} {
			if _, err := curl(t, "-s", "-o", "/dev/null", m, fmt.Sprintf("http://127.0.0.1:%d/a", fe)); err != nil {
				t.Fatal(err)
			}
		}
		var lines []string
		deadline := time.Now().Add(5 * time.Second)
		for len(lines) < 3 && time.Now().Before(deadline) {
			lines = lines[:0]
			for _, l := range strings.Split(p.Stdout(), "\n") {
				// client [date] fe fe/server timers status bytes - - term conns queues "request"
				if f := strings.Fields(l); len(f) > 12 && f[2] == "fe" && !strings.Contains(l, "<BADREQ>") { // the readiness probe
					timers := strings.Split(f[4], "/")
					lines = append(lines, fmt.Sprintf("%s Tw/Tc/Tr=%s %s %s %s %s", f[3], strings.Join(timers[:3], "/"), f[5], f[6], f[9], strings.Join(f[12:], " ")))
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		p.stop()
		return lines
	}
	want := run(haproxyBin)
	got := run(bin)
	if len(want) != 3 || len(got) < 2 || strings.Join(got[1:], "\n") != strings.Join(want[1:], "\n") {
		t.Errorf("log lines of the hits:\n got %q\nwant %q", got, want)
	}
}
