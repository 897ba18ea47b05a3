package e2e

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// infoValue is the value of key in a "show info" answer.
func infoValue(t *testing.T, info, key string) string {
	t.Helper()
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(l, key+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("show info has no %s:\n%s", key, info)
	return ""
}

// Without any maxconn haproxy 2.6 derives the global one from the FD
// limit (half of what the listeners, stats socket and threads leave), the
// frontend takes it as its session limit and the backend a tenth of it as
// fullconn. The wanted values are haproxy 2.6.12's under the same prlimit.
func TestStatsImplicitMaxconnMatchesHAProxy(t *testing.T) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatal("prlimit (util-linux) is needed:", err)
	}
	for _, tc := range []struct {
		nofile                  string
		maxconn, beLimit, ulimN string
	}{
		{"256", "114", "12", "256"},
		{"1024", "498", "50", "1024"},
		{"1024:4096", "2034", "204", "4096"},
	} {
		t.Run(strings.ReplaceAll(tc.nofile, ":", "-"), func(t *testing.T) {
			port, srvPort := freePort(t), freePort(t)
			sock := filepath.Join(t.TempDir(), "stats.sock")
			cfg := fmt.Sprintf(`
global
    nbthread 2
    stats socket %s level admin
defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, sock, port, srvPort)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cmd := exec.CommandContext(ctx, prlimit, "--nofile="+tc.nofile, bin, "-db", "-f", writeConfig(t, cfg))
			startProxyCmd(t, cmd, port)

			info := cliCmd(t, sock, "show info")
			for key, want := range map[string]string{"Maxconn": tc.maxconn, "Hard_maxconn": tc.maxconn, "Ulimit-n": tc.ulimN} {
				if got := infoValue(t, info, key); got != want {
					t.Errorf("show info %s: %s, haproxy %s", key, got, want)
				}
			}
			rows, names := statRows(t, cliCmd(t, sock, "show stat"))
			if got := field(t, rows, names, "fe/FRONTEND", "slim"); got != tc.maxconn {
				t.Errorf("frontend slim %q, haproxy %s", got, tc.maxconn)
			}
			if got := field(t, rows, names, "be/BACKEND", "slim"); got != tc.beLimit {
				t.Errorf("backend slim %q, haproxy %s", got, tc.beLimit)
			}
			if tc.nofile == "256" {
				holdsAtLimit(t, sock, port, tc.maxconn)
			}
		})
	}
}

// holdsAtLimit opens one connection more than limit to port and checks
// that the proxy takes no more than limit of them at once.
func holdsAtLimit(t *testing.T, sock string, port int, limit string) {
	t.Helper()
	var n int
	fmt.Sscan(limit, &n)
	for i := 0; i <= n; i++ {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 2*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i+1, err)
		}
		defer c.Close()
	}
	waitField(t, sock, "fe/FRONTEND", "scur", limit)
	time.Sleep(300 * time.Millisecond)
	rows, names := statRows(t, cliCmd(t, sock, "show stat"))
	if got := field(t, rows, names, "fe/FRONTEND", "smax"); got != limit {
		t.Errorf("frontend smax %s with %d connections open, want the limit %s", got, n+1, limit)
	}
}
