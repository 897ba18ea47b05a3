package e2e

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// TestCacheHitResponseRulesAsHAProxy: a cache hit goes through the
// http-response rules of the backend and the frontend as haproxy 2.6 runs
// them on its cache's answer (header edits, set-status, deny), then the
// http-after-response rules; the stored object has the server's headers,
// not those the rules add after cache-store.
func TestCacheHitResponseRulesAsHAProxy(t *testing.T) {
	hdr := regexp.MustCompile(`(?i)^(age|x-[a-z]+):`)
	run := func(binary string) []string {
		srv, fe := freePort(t), freePort(t)
		cfg := fmt.Sprintf(`
global
    log stdout format raw local0
defaults
    mode http
    log global
    log-format "%%ST %%tsc %%s %%{+Q}r"
    timeout connect 2s
    timeout client 5s
    timeout server 5s
cache c1
    total-max-size 1
listen srv
    bind 127.0.0.1:%d
    http-request return status 200 hdr cache-control max-age=30 content-type text/plain string hello
frontend fe
    bind 127.0.0.1:%d
    http-response set-header X-FE %%[res.hdr_cnt(age)]
    http-after-response set-header X-After 1
    default_backend be
backend be
    http-request cache-use c1
    http-response cache-store c1
    http-response add-header X-BE %%[res.hdr_cnt(age)]
    http-request set-var(txn.path) path
    http-response set-status 203 if { var(txn.path) -m str /status } { res.hdr_cnt(age) gt 0 }
    http-response deny if { var(txn.path) -m str /deny } { res.hdr_cnt(age) gt 0 }
    server s 127.0.0.1:%d
`, srv, fe, srv)
		p := startBinary(t, binary, cfg, fe)
		waitPort(t, srv, 5*time.Second)
		var out []string
		for _, path := range []string{"/a", "/a", "/status", "/status", "/deny", "/deny"} {
			resp, err := curl(t, "-s", "-i", fmt.Sprintf("http://127.0.0.1:%d%s", fe, path))
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(resp, "\r\n")
			keep := []string{strings.Join(strings.Fields(lines[0])[:2], " ")}
			for _, l := range lines[1:] {
				if hdr.MatchString(l) {
					if strings.HasPrefix(strings.ToLower(l), "age:") {
						l = "age: N"
					}
					keep = append(keep, strings.ToLower(strings.TrimSpace(l)))
				}
			}
			sort.Strings(keep[1:])
			out = append(out, path+" "+strings.Join(keep, " | "))
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			var lines []string
			for _, l := range strings.Split(p.Stdout(), "\n") {
				if strings.Contains(l, "HTTP/1.1\"") {
					lines = append(lines, l)
				}
			}
			if len(lines) >= 9 || time.Now().After(deadline) {
				sort.Strings(lines) // the server's and the frontend's lines come in either order
				return append(out, lines...)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	want, got := run(haproxyBin), run(bin)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("dhproxy:\n%s\nhaproxy:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(strings.Join(got, "\n"), "/status HTTP/1.1 203 | age: n") {
		t.Errorf("set-status did not apply to the hit:\n%s", strings.Join(got, "\n"))
	}
}
