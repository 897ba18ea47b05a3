package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runtimeConfig is a configuration with a stats socket, for comparing
// runtime API answers between haproxy and dhproxy.
func runtimeConfig(sock string, fePort, statsPort int) string {
	return fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
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
`, sock, fePort, statsPort)
}

// TestRuntimeShowBackendAndEnv: "show backend" and "show env [var]" answer
// as haproxy 2.6's, errors included, and "help" lists them alike.
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
		for _, cmd := range []string{"show backend", "show env DHPROXY_E2E_VAR", "show env DHPROXY_E2E_NONE", "operator; show env DHPROXY_E2E_VAR", "user; show env DHPROXY_E2E_VAR"} {
			got[cmd] = cliCmd(t, sock, cmd)
		}
		if all := cliCmd(t, sock, "show env"); !strings.Contains(all, "\nDHPROXY_E2E_VAR=some value\n") {
			t.Errorf("%s: show env lacks the variable:\n%s", path, all)
		}
		answers[path] = got
		var lines []string
		for _, l := range strings.Split(cliCmd(t, sock, "help"), "\n") {
			if strings.HasPrefix(l, "  show backend ") || strings.HasPrefix(l, "  show env ") {
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
