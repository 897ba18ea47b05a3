package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// extCheckConfig runs script as the external check of listen "app".
func extCheckConfig(script string, fe, be int, fork bool) string {
	forkLine := ""
	if fork {
		forkLine = "    insecure-fork-wanted\n"
	}
	return fmt.Sprintf(`global
    external-check
%sdefaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen app
    bind 127.0.0.1:%d
    option external-check
    external-check path "/usr/bin:/bin"
    external-check command %s
    server s1 127.0.0.1:%d check inter 1s rise 1 fall 1
`, forkLine, fe, script, be)
}

// The external check gets haproxy's arguments and environment, and its exit
// status takes the server up and down with haproxy's log wording.
func TestExternalCheck(t *testing.T) {
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	script := filepath.Join(dir, "check.sh")
	os.WriteFile(script, []byte(`#!/bin/sh
{ echo "args $*"; env; } > `+dir+`/out.tmp
mv `+dir+`/out.tmp `+dir+`/out
[ -e `+dir+`/fail ] && exit 3
exit 0
`), 0o755)
	be, _ := startHTTPBackend(t, "web")
	fe := freePort(t)
	p := startProxy(t, extCheckConfig(script, fe, be, true), fe)
	defer p.stop()
	var out string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(dir, "out")); err == nil {
			out = string(b)
			break
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) == 0 || lines[0] != fmt.Sprintf("args 127.0.0.1 %d 127.0.0.1 %d", fe, be) {
		t.Fatalf("arguments: %q", out)
	}
	var env []string
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l, "PWD=") && !strings.HasPrefix(l, "OLDPWD=") && !strings.HasPrefix(l, "SHLVL=") && l != "_=/usr/bin/env" {
			env = append(env, l) // what the shell adds itself is left out
		}
	}
	sort.Strings(env)
	want := []string{
		"HAPROXY_PROXY_ADDR=127.0.0.1", "HAPROXY_PROXY_ID=1", "HAPROXY_PROXY_NAME=app", fmt.Sprintf("HAPROXY_PROXY_PORT=%d", fe),
		"HAPROXY_SERVER_ADDR=127.0.0.1", "HAPROXY_SERVER_CURCONN=0", "HAPROXY_SERVER_ID=1", "HAPROXY_SERVER_MAXCONN=0",
		"HAPROXY_SERVER_NAME=s1", fmt.Sprintf("HAPROXY_SERVER_PORT=%d", be), "HAPROXY_SERVER_PROTO=h1", "HAPROXY_SERVER_SSL=0",
		"PATH=/usr/bin:/bin",
	}
	if strings.Join(env, "\n") != strings.Join(want, "\n") {
		t.Errorf("environment\n got %q\nwant %q", env, want)
	}
	if got, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", fe)); err != nil || got != "web" {
		t.Fatalf("server up: %q %v", got, err)
	}
	os.WriteFile(filepath.Join(dir, "fail"), nil, 0o644)
	wantLog := "Server app/s1 is DOWN, reason: External check error, code: 3, check duration: "
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline) && !strings.Contains(p.Stderr(), wantLog); time.Sleep(50 * time.Millisecond) {
	}
	if !strings.Contains(p.Stderr(), wantLog) {
		t.Fatalf("no %q in:\n%s", wantLog, p.Stderr())
	}
	os.Remove(filepath.Join(dir, "fail"))
	wantUp := "Server app/s1 is UP, reason: External check passed, code: 0, check duration: "
	for deadline := time.Now().Add(8 * time.Second); time.Now().Before(deadline) && !strings.Contains(p.Stderr(), wantUp); time.Sleep(50 * time.Millisecond) {
	}
	if !strings.Contains(p.Stderr(), wantUp) {
		t.Fatalf("no %q in:\n%s", wantUp, p.Stderr())
	}
}

// Without "insecure-fork-wanted" the configuration is refused with the
// line of "option external-check" (haproxy 2.6 accepts it and every check
// then fails to fork).
func TestExternalCheckNeedsFork(t *testing.T) {
	if isHAProxy() {
		t.Skip("haproxy accepts the configuration and fails each check at run time")
	}
	_, stderr, code := runCheck(t, extCheckConfig("/bin/true", freePort(t), freePort(t), false))
	if code != 1 || !strings.Contains(stderr, ":10] : listen 'app': external checks start a process, which needs 'insecure-fork-wanted'") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}
