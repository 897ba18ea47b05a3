package e2e

import (
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShowEventsWaitAsHAProxy: "show events <ring> -w" prints the lines the
// ring holds (none with -n), then keeps the session open and streams new
// lines as they come, in one-shot and interactive ("prompt") sessions.
func TestShowEventsWaitAsHAProxy(t *testing.T) {
	comparesWithHAProxy(t)
	got := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		fe := freePort(t)
		sock := filepath.Join(t.TempDir(), "api.sock")
		startBinary(t, path, fmt.Sprintf(`global
    nbthread 1
    stats socket %s level admin
ring r
    size 16384
defaults
    mode http
    timeout connect 1s
    timeout client 2s
    timeout server 2s
    option dontlognull
frontend f
    bind 127.0.0.1:%d
    log ring@r local0
    log-format "%%ST %%r"
    http-request return status 200
`, sock, fe), fe)
		get := func(p string) {
			resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", fe, p))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		get("/before")
		time.Sleep(100 * time.Millisecond)
		for i, cmd := range []string{"show events r -w\n", "show events r -w -n\n", "prompt\nshow events r -n -w\n"} {
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte(cmd))
			read := func() string {
				var all []byte
				buf := make([]byte, 4096)
				for {
					c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
					n, err := c.Read(buf)
					all = append(all, buf[:n]...)
					if err != nil {
						if n == 0 && !isTimeoutErr(err) {
							all = append(all, "<EOF>"...)
						}
						return string(all)
					}
				}
			}
			first := read()
			get(fmt.Sprintf("/during%d", i))
			second := read()
			get(fmt.Sprintf("/later%d", i))
			got[path] = append(got[path], fmt.Sprintf("%q: %q then %q then %q", cmd, first, second, read()))
			c.Close()
		}
	}
	h, d := got[haproxyBin], got[bin]
	t.Logf("haproxy: %q", h)
	if len(h) != 3 || !strings.Contains(h[0], `"200 GET /before HTTP/1.1\n"`) || !strings.Contains(h[1], `"200 GET /during1 HTTP/1.1\n" then "200 GET /later1`) {
		t.Fatalf("haproxy streamed something else: %q", h)
	}
	for i := range h {
		if i >= len(d) || h[i] != d[i] {
			t.Errorf("haproxy: %s\ndhproxy: %v", h[i], d[i:min(i+1, len(d))])
		}
	}
}
