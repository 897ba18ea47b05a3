package e2e

import (
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"
)

// option prefer-last-server with http-reuse never: a keep-alive client's
// next request goes to the server of its kept connection, queueing there
// when it is full, unless max-keep-alive-queue says the queue is too
// long (0: never queue), and it is balanced then.
func TestPreferLastServerMaxKeepAliveQueue(t *testing.T) {
	a, _ := startHTTPBackend(t, "A")
	b, _ := startHTTPBackend(t, "B")
	for _, c := range []struct {
		extra, want string
	}{{"", "A"}, {"max-keep-alive-queue 0", "B"}} {
		port := freePort(t)
		p := startProxy(t, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout queue 5s
listen web
    bind 127.0.0.1:%d
    balance roundrobin
    http-reuse never
    option prefer-last-server
    %s
    use-server A if { path /slow }
    server A 127.0.0.1:%d maxconn 1
    server B 127.0.0.1:%d
`, port, c.extra, a, b), port)
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1}}
		get := func(cl *http.Client, path string) string {
			resp, err := cl.Get(url + path)
			if err != nil {
				t.Error(err)
				return ""
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return string(body)
		}
		if got := get(client, "/first"); got != "A" {
			t.Fatalf("[%s] first request went to %q, want A", c.extra, got)
		}
		// Another client holds A's only slot for a while.
		done := make(chan string)
		go func() { done <- get(&http.Client{Transport: &http.Transport{}}, "/slow?ms=1500") }()
		time.Sleep(300 * time.Millisecond)
		if got := get(client, "/second"); got != c.want {
			t.Errorf("[%s] the keep-alive request with A full went to %q, want %s", c.extra, got, c.want)
		}
		if got := <-done; got != "A" {
			t.Errorf("[%s] /slow went to %q", c.extra, got)
		}
		p.stop()
	}
}
