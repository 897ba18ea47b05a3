package e2e

import (
	"encoding/csv"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServerTrackAsHAProxy: "track" servers follow the state of the server
// they track, down a chain (li/u tracks li/t, which tracks be/s), with
// haproxy's "via" log lines, the stats' status and tracked columns, and
// traffic: a tracking server that follows a DOWN server takes none; a
// maintenance set at run time passes down the chain too.
func TestServerTrackAsHAProxy(t *testing.T) {
	web, _ := startHTTPBackend(t, "web")
	chk := freePort(t)
	for _, path := range []string{haproxyBin, bin} {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", chk))
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		fe := freePort(t)
		sock := filepath.Join(t.TempDir(), "admin.sock")
		p := startBinary(t, path, fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    timeout check 3s
backend be
    server s 127.0.0.1:%d check inter 100 rise 1 fall 1
listen li
    bind 127.0.0.1:%d
    server t 127.0.0.1:%d track be/s
    server u 127.0.0.1:%d track t
`, sock, chk, fe, web, web), fe)
		status := func() string {
			rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(cliCmd(t, sock, "show stat"), "# "))).ReadAll()
			if err != nil || len(rows) == 0 {
				t.Fatalf("%s: show stat: %v", path, err)
			}
			col := map[string]int{}
			for i, h := range rows[0] {
				col[h] = i
			}
			var b strings.Builder
			for _, r := range rows[1:] {
				if r[1] == "FRONTEND" || r[1] == "BACKEND" {
					continue
				}
				fmt.Fprintf(&b, "%s/%s=%s(%s) ", r[0], r[1], r[col["status"]], r[col["tracked"]])
			}
			return strings.TrimSpace(b.String())
		}
		waitStatus := func(want string) {
			deadline := time.Now().Add(5 * time.Second)
			for {
				got := status()
				if got == want {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: stats %q, want %q", path, got, want)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/", fe)
		waitStatus("be/s=UP() li/t=UP(be/s) li/u=UP(li/t)")
		if out, err := curl(t, "-s", "-o", "/dev/null", "-w", "%{http_code}", url); err != nil || out != "200" {
			t.Fatalf("%s: tracked servers up: %q %v", path, out, err)
		}
		l.Close()
		waitStatus("be/s=DOWN() li/t=DOWN(be/s) li/u=DOWN(li/t)")
		if out, _ := curl(t, "-s", "-o", "/dev/null", "-w", "%{http_code}", url); out != "503" {
			t.Errorf("%s: tracked servers down, got %q, want 503", path, out)
		}
		for _, line := range []string{"Server li/t is DOWN via be/s. 1 active and 0 backup servers left.",
			"Server li/u is DOWN via li/t. 0 active and 0 backup servers left.", "proxy 'li' has no server available!"} {
			if !strings.Contains(p.Stderr(), line) {
				t.Errorf("%s: stderr lacks %q:\n%s", path, line, p.Stderr())
			}
		}
		l, err = net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", chk))
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		waitStatus("be/s=UP() li/t=UP(be/s) li/u=UP(li/t)")
		if !strings.Contains(p.Stderr(), "Server li/u is UP via li/t. 2 active and 0 backup servers online.") {
			t.Errorf("%s: stderr lacks li/u's UP line:\n%s", path, p.Stderr())
		}
		// maintenance passes down the chain, from the tracked server and
		// from a tracking one, and ends with it
		cliCmd(t, sock, "set server be/s state maint")
		waitStatus("be/s=MAINT() li/t=MAINT (via be/s)(be/s) li/u=MAINT (via li/t)(li/t)")
		cliCmd(t, sock, "set server be/s state ready")
		waitStatus("be/s=UP() li/t=UP(be/s) li/u=UP(li/t)")
		cliCmd(t, sock, "set server li/t state maint")
		waitStatus("be/s=UP() li/t=MAINT(be/s) li/u=MAINT (via li/t)(li/t)")
		if !strings.Contains(p.Stderr(), "Server li/u is going DOWN for maintenance via li/t.") {
			t.Errorf("%s: stderr lacks li/u's maintenance line:\n%s", path, p.Stderr())
		}
		cliCmd(t, sock, "set server li/t state ready")
		waitStatus("be/s=UP() li/t=UP(be/s) li/u=UP(li/t)")
		p.stop()
		l.Close()
	}
}
