package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runtimeConfig is a configuration with a stats socket, for comparing
// runtime API answers between haproxy and dhproxy.
func runtimeConfig(sock string, fePort, statsPort int) string {
	return fmt.Sprintf(`global
    stats socket %s level admin`, sock) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server web1 127.0.0.1:9
backend other
    server web2 127.0.0.1:9
listen stats
    bind 127.0.0.1:%d
    stats enable
`, fePort, statsPort)
}

// statusColumns keeps pxname, svname and status of "show stat" lines.
func statusColumns(out string) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Split(l, ","); len(f) > 17 {
			b.WriteString(f[0] + "," + f[1] + "," + f[17] + "\n")
		} else {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// TestRuntimeShowBackendAndEnv: "show backend", "show env [var]", "set
// timeout cli", "show cli sockets", "show version" and the rows and
// backend status of "show stat up|no-maint" answer as haproxy 2.6's, errors included, "help" lists them
// alike, and the new timeout ends an idle session.
func TestRuntimeShowBackendAndEnv(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	t.Setenv("DHPROXY_E2E_VAR", "some value")
	answers := map[string]map[string]string{}
	var helps []string
	for _, path := range []string{haproxyBin, bin} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		statsPort := freePort(t)
		startBinary(t, path, runtimeConfig(sock, freePort(t), statsPort), statsPort)
		got := map[string]string{}
		for _, cmd := range []string{"show backend", "show env DHPROXY_E2E_VAR", "show env DHPROXY_E2E_NONE", "operator; show env DHPROXY_E2E_VAR", "user; show env DHPROXY_E2E_VAR",
			"set timeout cli 5", "set timeout cli", "set timeout cli x", "set timeout cli 5s", "set timeout cli 0", "set timeout cli 500ms",
			"set timeout cli 100000000000", "set timeout foo 5", "set timeout", "user; set timeout cli 5"} {
			got[cmd] = cliCmd(t, sock, cmd)
		}
		got["show cli sockets"] = strings.ReplaceAll(cliCmd(t, sock, "show cli sockets"), sock, "SOCK")
		// Which rows "up" and "no-maint" keep, and the backend's status
		// then ("UP (1/2)": servers up out of all).
		for _, cmd := range []string{"show stat up", "show stat no-maint", "set server be/web1 state maint; show stat no-maint", "show stat up"} {
			got[cmd] = statusColumns(cliCmd(t, sock, cmd))
		}
		if v := cliCmd(t, sock, "show version"); strings.Count(v, "\n") != 2 || !strings.HasSuffix(v, "\n\n") || len(v) < 4 {
			t.Errorf("%s: show version: %q", path, v)
		}
		if all := cliCmd(t, sock, "show env"); !strings.Contains(all, "\nDHPROXY_E2E_VAR=some value\n") {
			t.Errorf("%s: show env lacks the variable:\n%s", path, all)
		}
		answers[path] = got
		// The new timeout ends an idle interactive session (the default,
		// "stats timeout", is 10 s).
		c, err := net.Dial("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		io.WriteString(c, "prompt\nset timeout cli 1\n")
		c.SetReadDeadline(time.Now().Add(8 * time.Second))
		io.Copy(io.Discard, c)
		c.Close()
		if d := time.Since(start); d < 900*time.Millisecond || d > 4*time.Second {
			t.Errorf("%s: the session with 'set timeout cli 1' ended after %v", path, d)
		}
		var lines []string
		for _, l := range strings.Split(cliCmd(t, sock, "help"), "\n") {
			if strings.HasPrefix(l, "  show backend ") || strings.HasPrefix(l, "  show env ") || strings.HasPrefix(l, "  set timeout ") ||
				strings.HasPrefix(l, "  show cli ") || strings.HasPrefix(l, "  show version ") {
				lines = append(lines, l)
			}
		}
		helps = append(helps, strings.Join(lines, "\n"))
	}
	for cmd, want := range answers[haproxyBin] {
		if got := answers[bin][cmd]; got != want {
			t.Errorf("%q: got %q, haproxy answers %q", cmd, got, want)
		}
	}
	if helps[0] != helps[1] {
		t.Errorf("help lines:\nhaproxy:\n%s\ndhproxy:\n%s", helps[0], helps[1])
	}
}
