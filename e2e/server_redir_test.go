package e2e

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestServerRedirAsHAProxy: a server with "redir <prefix>" answers GET and
// HEAD requests with haproxy's 302 to the prefix and the request's URI
// (no persistence cookie inserted, the connection closed), while other
// methods reach it.
func TestServerRedirAsHAProxy(t *testing.T) {
	web, _ := startHTTPBackend(t, "web")
	answers := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		fe := freePort(t)
		p := startBinary(t, path, fmt.Sprintf(`global
    log stdout format raw local0
defaults
    mode http
    log global
    log-format "%%ST %%B %%b/%%s %%tsc %%{+Q}r"
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d
    default_backend b
backend b
    cookie SRV insert
    server s1 127.0.0.1:%d redir http://img.example.com cookie s1
`, fe, web), fe)
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		for _, r := range []struct{ method, uri string }{{"GET", "/a/b?x=1"}, {"HEAD", "/h"}, {"POST", "/p"}, {"GET", "/"}} {
			req, _ := http.NewRequest(r.method, fmt.Sprintf("http://127.0.0.1:%d%s", fe, r.uri), strings.NewReader(""))
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("%s %s %s: %v", path, r.method, r.uri, err)
			}
			resp.Body.Close()
			answers[path] = append(answers[path], fmt.Sprintf("%s %s -> %d location=%q cache-control=%q close=%v set-cookie=%q",
				r.method, r.uri, resp.StatusCode, resp.Header.Get("Location"), resp.Header.Get("Cache-Control"), resp.Close, resp.Header.Get("Set-Cookie")))
		}
		// The log lines (bytes as haproxy counts them), the probe's aside.
		deadline := time.Now().Add(5 * time.Second)
		for {
			var lines []string
			for _, l := range strings.Split(p.Stdout(), "\n") {
				if strings.Contains(l, " b/s1 ") {
					lines = append(lines, l)
				}
			}
			if len(lines) >= 4 || time.Now().After(deadline) {
				sort.Strings(lines) // each request closes its connection: lines come in any order
				answers[path] = append(answers[path], lines...)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		p.stop()
	}
	want := []string{
		`GET /a/b?x=1 -> 302 location="http://img.example.com/a/b?x=1" cache-control="no-cache" close=true set-cookie=""`,
		`HEAD /h -> 302 location="http://img.example.com/h" cache-control="no-cache" close=true set-cookie=""`,
	}
	for i, w := range want {
		if got := answers[bin][i]; got != w {
			t.Errorf("got  %s\nwant %s", got, w)
		}
	}
	for i := range answers[haproxyBin] {
		if answers[bin][i] != answers[haproxyBin][i] {
			t.Errorf("dhproxy %s\nhaproxy %s", answers[bin][i], answers[haproxyBin][i])
		}
	}
	if !strings.HasPrefix(answers[bin][2], "POST /p -> 200") {
		t.Errorf("POST did not reach the server: %s", answers[bin][2])
	}
}
