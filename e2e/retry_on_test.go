package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// retryServer counts the requests it receives and answers each as
// behave says: "503", "ok" (200 with the X-Server field it got as body),
// "empty" (closes without answering), "junk" (not HTTP), "slow" (answers
// after 1 s).
func retryServer(t *testing.T, behave string) (int, *atomic.Int32) {
	t.Helper()
	hits := new(atomic.Int32)
	port, _ := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			body, err := io.ReadAll(req.Body)
			if err != nil || int64(len(body)) != max(req.ContentLength, 0) {
				return // a resent request lost its body: no answer, no count
			}
			hits.Add(1)
			switch behave {
			case "503":
				io.WriteString(c, "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy")
			case "ok":
				body := req.Header.Get("X-Server")
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
			case "empty":
				return
			case "junk":
				io.WriteString(c, "this is not HTTP\r\n\r\n")
				return
			case "slow":
				time.Sleep(time.Second)
				io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
				return
			}
		}
	})
	return port, hits
}

// retry-on: which failures are retried, on the same server without
// "option redispatch" and elsewhere with it; the whole request must be in
// the buffer; http-request disable-l7-retry turns retries off.
func TestRetryOn(t *testing.T) {
	busy, busyHits := retryServer(t, "503")
	busy2, busy2Hits := retryServer(t, "503")
	ok, okHits := retryServer(t, "ok")
	empty, emptyHits := retryServer(t, "empty")
	junk, junkHits := retryServer(t, "junk")
	slow, slowHits := retryServer(t, "slow")
	port, h2port := freePort(t), freePort(t)
	startProxy(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 2
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    use_backend same if { path_beg /same }
    use_backend redisp if { path_beg /redisp }
    use_backend junk if { path_beg /junk }
    use_backend slow if { path_beg /slow }
    default_backend plain
backend plain
    server busy 127.0.0.1:%d
backend same
    retry-on 503 empty-response
    http-request disable-l7-retry if { path /same/once }
    server busy 127.0.0.1:%d
backend redisp
    option redispatch
    retry-on empty-response 503
    http-send-name-header X-Server
    balance roundrobin
    server empty 127.0.0.1:%d
    server ok 127.0.0.1:%d
backend junk
    retries 1
    retry-on junk-response
    server junk 127.0.0.1:%d
backend slow
    retries 1
    timeout server 200ms
    retry-on response-timeout
    server slow 127.0.0.1:%d
`, port, h2port, busy2, busy, empty, ok, junk, slow), port, h2port)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	status := func(args ...string) string {
		t.Helper()
		out, err := curl(t, append([]string{"-o", "/dev/null", "-w", "%{http_code}"}, args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	check := func(what string, hits *atomic.Int32, want int32) {
		t.Helper()
		if n := hits.Swap(0); n != want {
			t.Errorf("%s: the server got %d requests, want %d", what, n, want)
		}
	}
	if got := status(url + "/"); got != "503" {
		t.Errorf("without retry-on: %s", got)
	}
	check("without retry-on", busy2Hits, 1)
	if got := status(url + "/same"); got != "503" {
		t.Errorf("retry-on 503: %s, want the server's 503 after the retries", got)
	}
	check("retry-on 503", busyHits, 3)
	// A body that fits is sent again with the request; an HTTP/2 client's
	// request is retried the same way.
	if got := status("--data-binary", strings.Repeat("y", 1000), url+"/same/post"); got != "503" {
		t.Errorf("retry-on 503, POST: %s", got)
	}
	check("retry-on 503, POST", busyHits, 3)
	if got := status("--http2-prior-knowledge", fmt.Sprintf("http://127.0.0.1:%d/same/h2", h2port)); got != "503" {
		t.Errorf("retry-on 503, HTTP/2 client: %s", got)
	}
	check("retry-on 503, HTTP/2 client", busyHits, 3)
	if got := status(url + "/same/once"); got != "503" {
		t.Errorf("disable-l7-retry: %s", got)
	}
	check("disable-l7-retry", busyHits, 1)
	// A request larger than the buffer is not kept for a retry.
	big := filepath.Join(t.TempDir(), "big")
	os.WriteFile(big, []byte(strings.Repeat("x", 20000)), 0o644)
	if got := status("--data-binary", "@"+big, url+"/same/big"); got != "503" {
		t.Errorf("large body: %s", got)
	}
	check("a request larger than the buffer", busyHits, 1)
	// option redispatch: the empty server's requests go to ok, which sees
	// its own name in http-send-name-header's field.
	for i := range 4 {
		out, err := curl(t, url+"/redisp")
		if err != nil || out != "ok" {
			t.Errorf("redispatch %d: %q %v, want ok", i, out, err)
		}
	}
	check("redispatch, ok", okHits, 4)
	check("redispatch, empty", emptyHits, 4)
	if got := status(url + "/junk"); got != "502" {
		t.Errorf("junk-response: %s", got)
	}
	check("junk-response", junkHits, 2)
	if got := status(url + "/slow"); got != "504" {
		t.Errorf("response-timeout: %s", got)
	}
	check("response-timeout", slowHits, 2)
}

// retry-on none: a failed connect is not retried either. L7 retries are
// counted in wretr (server and backend) as haproxy counts them.
func TestRetryOnNoneAndCounters(t *testing.T) {
	dead := freePort(t) // nothing listens there
	busy, _ := retryServer(t, "503")
	empty, _ := retryServer(t, "empty")
	ok, _ := retryServer(t, "ok")
	port := freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	proxy := startProxy(t, fmt.Sprintf(`global
    stats socket %s level admin
    log stdout format raw local0
defaults
    mode http
    log global
    log-format "%%b %%s %%rc %%ST %%tsc"
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    retries 2
frontend fe
    bind 127.0.0.1:%d
    use_backend none if { path /none }
    use_backend redisp if { path /redisp }
    default_backend l7
backend none
    retry-on none
    server dead 127.0.0.1:%d
backend l7
    retry-on 503
    server busy 127.0.0.1:%d
backend redisp
    option redispatch
    retry-on empty-response
    server empty 127.0.0.1:%d
    server ok 127.0.0.1:%d
`, sock, port, dead, busy, empty, ok), port)
	for _, path := range []string{"/none", "/l7"} {
		start := time.Now()
		out, err := curl(t, "-o", "/dev/null", "-w", "%{http_code}", fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
		if err != nil || out != "503" {
			t.Errorf("%s: %q %v, want 503", path, out, err)
		}
		if took := time.Since(start); path == "/none" && took > 500*time.Millisecond {
			t.Errorf("retry-on none: the 503 took %v (retried after a pause?)", took)
		}
	}
	want := map[string][3]string{ // econ, wretr, wredis
		"none,dead": {"1", "0", "0"}, "none,BACKEND": {"1", "0", "0"},
		"l7,busy": {"0", "4", "0"}, "l7,BACKEND": {"0", "4", "0"}, // haproxy counts an L7 retry twice
		"redisp,empty": {"0", "1", "1"}, "redisp,ok": {"0", "0", "0"}, "redisp,BACKEND": {"0", "1", "1"},
	}
	if out, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/redisp", port)); err != nil || out != "" {
		t.Errorf("/redisp: %q %v, want ok's empty answer", out, err)
	}
	// %rc counts the retries, "+" marks a redispatch, as in haproxy
	waitLog(t, proxy, `redisp ok \+1 200 ----`)
	if want := "l7 busy 2 503 ----"; !strings.Contains(proxy.Stdout(), want) {
		t.Errorf("no log line %q in:\n%s", want, proxy.Stdout())
	}
	for _, line := range strings.Split(cliCmd(t, sock, "show stat"), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 17 {
			continue
		}
		key := f[0] + "," + f[1]
		if w, ok := want[key]; ok {
			if got := [3]string{f[13], f[15], f[16]}; got != w {
				t.Errorf("%s: econ, wretr, wredis = %v, want %v", key, got, w)
			}
			delete(want, key)
		}
	}
	if len(want) != 0 {
		t.Errorf("no stats line for %v", want)
	}
}
