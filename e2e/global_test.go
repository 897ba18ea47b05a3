package e2e

import (
	"strconv"
	"strings"
	"testing"
)

// TestGlobalSetenvSetVar: the global section's setenv/presetenv/unsetenv
// change what later lines' "${VAR}", .if defined() and env() see, and
// set-var fills process variables at startup that rules read; the same
// response from haproxy (DHPROXY_BIN=/usr/sbin/haproxy).
func TestGlobalSetenvSetVar(t *testing.T) {
	port := freePort(t)
	cfg := `
global
    setenv FE_PORT ` + strconv.Itoa(port) + `
    presetenv PRE_KEPT fromcfg
    presetenv PRE_NEW fromcfg
    setenv GONE x
    unsetenv GONE DROPPED
    set-var proc.prio int(100)
    set-var proc.threshold int(200),sub(proc.prio)
    set-var proc.name str("${PRE_NEW}-${PRE_KEPT}")
    set-var proc.port env(FE_PORT)
.if defined(DROPPED)
    .alert "unsetenv DROPPED did not apply to .if defined()"
.endif
` + defaultsSection("http", "2s", "5s", "5s") + `
frontend fe
    bind "127.0.0.1:${FE_PORT}"
    http-request return status 200 content-type text/plain lf-string "t=%[var(proc.threshold)] n=%[var(proc.name)] p=%[var(proc.port)] g=%[env(GONE)] d=%[env(DROPPED)]"
`
	startProxyEnv(t, cfg, []string{"PRE_KEPT=fromenv", "DROPPED=y"}, port)
	body, err := curl(t, "http://127.0.0.1:"+strconv.Itoa(port)+"/")
	want := "t=100 n=fromcfg-fromenv p=" + strconv.Itoa(port) + " g= d="
	if err != nil || body != want {
		t.Fatalf("body %q (err %v), want %q", body, err, want)
	}
}

// TestGlobalZeroWarning: with "zero-warning" a configuration that draws a
// warning is refused, by -c too, with haproxy's closing alert; without a
// warning it is valid. Same exit codes from haproxy.
func TestGlobalZeroWarning(t *testing.T) {
	base := defaultsSection("http", "2s", "5s", "5s") + `
frontend fe
    bind 127.0.0.1:` + strconv.Itoa(freePort(t)) + `
`
	_, stderr, code := runCheck(t, "global\n    zero-warning\n.warning \"a warning\"\n"+base)
	if code != 1 || !strings.Contains(stderr, "Some warnings were found and 'zero-warning' is set. Aborting.") {
		t.Errorf("zero-warning with a warning: exit %d, stderr:\n%s", code, stderr)
	}
	if _, stderr, code := runCheck(t, "global\n    zero-warning\n"+base); code != 0 {
		t.Errorf("zero-warning without a warning: exit %d, stderr:\n%s", code, stderr)
	}
	if _, stderr, code := runCheck(t, "global\n.warning \"a warning\"\n"+base); code != 0 {
		t.Errorf("a warning without zero-warning: exit %d, stderr:\n%s", code, stderr)
	}
}
