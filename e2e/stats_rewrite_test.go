package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A header rewrite that does not fit the buffer counts as a failed
// rewrite (wrew) on the frontend and on the backend whose rule it is; in
// strict mode, haproxy 2.6's default, it is also an internal error (eint)
// answered with a 500, while "strict-mode off" lets the request go on.
// The counters are haproxy 2.6.12's for the same requests.
func TestStatsFailedRewritesMatchHAProxy(t *testing.T) {
	srvPort, stop := startHTTPBackend(t, "s1")
	defer stop()
	port := freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	cfg := fmt.Sprintf(`
global
    stats socket %s level admin
`, sock) + defaultsSection("http", "1s", "10s", "10s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request set-header x-copy %%[req.hdr(x-in)] if { path /fe }
    http-request strict-mode off if { path /soft }
    http-request set-header x-copy %%[req.hdr(x-in)] if { path /soft }
    default_backend be
backend be
    http-request set-header x-copy2 %%[req.hdr(x-in)] if { path /be }
    server s1 127.0.0.1:%d
`, port, srvPort)
	startProxy(t, cfg, port)

	big := strings.Repeat("a", 9000) // fits a request, not twice
	client := &http.Client{Timeout: 5 * time.Second}
	for _, tc := range []struct {
		path string
		want int
	}{{"/fe", 500}, {"/soft", 200}, {"/be", 500}, {"/small", 200}} {
		req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", port, tc.path), nil)
		req.Header.Set("X-In", big)
		if tc.path == "/small" {
			req.Header.Set("X-In", "a")
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, haproxy %d", tc.path, resp.StatusCode, tc.want)
		}
	}
	time.Sleep(100 * time.Millisecond) // haproxy counts as the stream ends
	rows, names := statRows(t, cliCmd(t, sock, "show stat"))
	for _, c := range []struct{ row, col, want string }{
		{"fe/FRONTEND", "wrew", "3"}, {"fe/FRONTEND", "eint", "2"}, {"fe/FRONTEND", "hrsp_5xx", "2"},
		{"be/BACKEND", "wrew", "1"}, {"be/BACKEND", "eint", "1"}, {"be/BACKEND", "hrsp_5xx", "1"},
		{"be/s1", "wrew", "0"}, {"be/s1", "eint", "0"},
	} {
		if got := field(t, rows, names, c.row, c.col); got != c.want {
			t.Errorf("%s %s = %s, haproxy %s", c.row, c.col, got, c.want)
		}
	}
}
