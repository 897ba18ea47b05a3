package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestProgramEnvAsHAProxy: a program started by the master sees
// HAPROXY_CLI, the stats sockets' addresses in haproxy's notation, and
// HAPROXY_STARTUP_VERSION, as under haproxy 2.6 (whose HAPROXY_CLI ends
// with its master-worker socket pair, "sockpair@N", which dhproxy has not).
func TestProgramEnvAsHAProxy(t *testing.T) {
	comparesWithHAProxy(t)
	got := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		dir := t.TempDir()
		script := filepath.Join(dir, "env.sh")
		os.WriteFile(script, []byte("#!/bin/sh\nenv | grep -E '^HAPROXY_(CLI|STARTUP_VERSION)=' | sort > "+dir+"/tmp && mv "+dir+"/tmp "+dir+"/out\nexec sleep 30\n"), 0o755)
		tcp4, fe := freePort(t), freePort(t)
		sockets := fmt.Sprintf("    stats socket %s/a.sock level admin\n    stats socket 127.0.0.1:%d\n    stats socket ipv4@127.0.0.1:%d level user\n", dir, tcp4, freePort(t))
		if l, err := net.Listen("tcp6", "[::1]:0"); err == nil {
			port := l.Addr().(*net.TCPAddr).Port
			l.Close()
			sockets += fmt.Sprintf("    stats socket ipv6@::1:%d\n", port)
		}
		cfg := filepath.Join(dir, "h.cfg")
		os.WriteFile(cfg, []byte(fmt.Sprintf("global\n%sprogram env\n    command %s\ndefaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend f\n    bind 127.0.0.1:%d\n", sockets, script, fe)), 0o644)
		p := startProxyCmd(t, exec.Command(path, "-W", "-db", "-f", cfg), fe)
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, err := os.ReadFile(filepath.Join(dir, "out"))
			if err == nil {
				got[path] = strings.ReplaceAll(string(out), dir, "DIR")
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the program wrote nothing; stderr:\n%s", path, p.Stderr())
			}
			time.Sleep(20 * time.Millisecond)
		}
		p.stop()
	}
	ports := regexp.MustCompile(`:\d+`)
	version := regexp.MustCompile(`(?m)^HAPROXY_STARTUP_VERSION=.+$`)
	want := ports.ReplaceAllString(regexp.MustCompile(`;sockpair@\d+`).ReplaceAllString(got[haproxyBin], ""), ":P")
	have := ports.ReplaceAllString(got[bin], ":P")
	if version.ReplaceAllString(have, "V") != version.ReplaceAllString(want, "V") || !version.MatchString(have) {
		t.Errorf("program environment under dhproxy:\n%s\nunder haproxy:\n%s", got[bin], got[haproxyBin])
	}
	if !strings.Contains(have, "HAPROXY_CLI=unix@DIR/a.sock;ipv4@127.0.0.1:P;ipv4@127.0.0.1:P") {
		t.Errorf("HAPROXY_CLI missing or not in haproxy's notation:\n%s", got[bin])
	}
}

// TestStatsSocketRelativePath: "stats socket name" without a slash is a
// host without its port for haproxy, refused at -c; "unix@name" is the
// relative socket path.
func TestStatsSocketRelativePath(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "h.cfg")
	os.WriteFile(cfg, []byte("global\n    stats socket stats.sock level admin\ndefaults\n    mode http\n"), 0o644)
	for _, path := range []string{haproxyBin, bin} {
		out, err := exec.Command(path, "-c", "-f", cfg).CombinedOutput()
		if err == nil {
			t.Errorf("%s -c accepted 'stats socket stats.sock':\n%s", path, out)
		}
		if path == bin && !strings.Contains(string(out), "h.cfg:2") || !strings.Contains(string(out), "missing port specification in 'stats.sock'") {
			t.Errorf("%s -c: %s", path, out)
		}
	}
}
