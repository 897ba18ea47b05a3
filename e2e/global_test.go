package e2e

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestGlobalSetenvSetVar: the global section's setenv/presetenv/unsetenv
// change what later lines' "${VAR}", .if defined() and env() see, and
// set-var fills process variables at startup that rules read; an
// unquoted $VAR of an address later in the global section sees setenv too.
// The same from haproxy (DHPROXY_BIN=/usr/sbin/haproxy).
func TestGlobalSetenvSetVar(t *testing.T) {
	port, statsPort := freePort(t), freePort(t)
	cfg := `
global
    setenv FE_PORT ` + strconv.Itoa(port) + `
    setenv STATS_PORT ` + strconv.Itoa(statsPort) + `
    stats socket ipv4@127.0.0.1:$STATS_PORT
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
	startProxyEnv(t, cfg, []string{"PRE_KEPT=fromenv", "DROPPED=y"}, port, statsPort)
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

// rawStatusLine sends req on a new connection and returns the first line
// of the answer.
func rawStatusLine(t *testing.T, port int, req string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(req)); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(c).ReadString('\n')
	return strings.TrimSpace(line)
}

// TestH1AcceptPayloadWithAnyMethod: an HTTP/1.0 GET, HEAD or DELETE with a
// body is refused with 413 (a server may not read that body, which then
// smuggles a request), unless "h1-accept-payload-with-any-method"; POST
// and empty bodies pass. Same answers from haproxy.
func TestH1AcceptPayloadWithAnyMethod(t *testing.T) {
	for _, accept := range []bool{false, true} {
		port := freePort(t)
		global := "global\n"
		if accept {
			global += "    h1-accept-payload-with-any-method\n"
		}
		startProxy(t, global+defaultsSection("http", "2s", "5s", "5s")+`
frontend fe
    bind 127.0.0.1:`+strconv.Itoa(port)+`
    http-request return status 200 content-type text/plain string ok
`, port)
		refused := "HTTP/1.1 413 Payload Too Large"
		if accept {
			refused = "HTTP/1.1 200 OK"
		}
		for req, want := range map[string]string{
			"GET / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc":                                 refused,
			"DELETE / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc":                              refused,
			"GET / HTTP/1.0\r\nContent-Length: 0\r\n\r\n":                                    "HTTP/1.1 200 OK",
			"POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\nabc":                                "HTTP/1.1 200 OK",
			"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc": "HTTP/1.1 200 OK",
		} {
			if got := rawStatusLine(t, port, req); got != want {
				t.Errorf("accept=%v %q: %q, want %q", accept, req, got, want)
			}
		}
	}
}

// TestH1CaseAdjust: the names "h1-case-adjust" lists are spelled its way
// on the wire, towards servers of a backend with "option
// h1-case-adjust-bogus-server" and towards HTTP/1 clients of a frontend
// with "option h1-case-adjust-bogus-client"; a frontend and backend
// without the options send them as they are (lower case here, as haproxy
// sends every name). Same bytes from haproxy.
func TestH1CaseAdjust(t *testing.T) {
	srvPort, _ := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		r := bufio.NewReader(c)
		var head strings.Builder
		for {
			line, err := r.ReadString('\n')
			if err != nil || line == "\r\n" {
				break
			}
			head.WriteString(line)
		}
		body := head.String()
		io.WriteString(c, "HTTP/1.1 200 OK\r\ncontent-length: "+strconv.Itoa(len(body))+"\r\nx-server-hdr: v\r\nconnection: close\r\n\r\n"+body)
	})
	dir := t.TempDir()
	caseFile := filepath.Join(dir, "cases")
	os.WriteFile(caseFile, []byte("# names bogus peers want\n  x-server-hdr X-SERVER-Hdr \n\n"), 0o644)
	fixed, plain := freePort(t), freePort(t)
	startProxy(t, `
global
    h1-case-adjust x-foo X-Foo
    h1-case-adjust-file `+caseFile+`
`+defaultsSection("http", "2s", "5s", "5s")+`
frontend fixed
    bind 127.0.0.1:`+strconv.Itoa(fixed)+`
    option h1-case-adjust-bogus-client
    default_backend fixed
backend fixed
    option h1-case-adjust-bogus-server
    server s 127.0.0.1:`+strconv.Itoa(srvPort)+`
frontend plain
    bind 127.0.0.1:`+strconv.Itoa(plain)+`
    default_backend plain
backend plain
    server s 127.0.0.1:`+strconv.Itoa(srvPort)+`
`, fixed, plain)
	req := "GET / HTTP/1.1\r\nhost: a\r\nx-foo: 1\r\nconnection: close\r\n\r\n"
	got := rawExchange(t, fixed, req)
	for _, want := range []string{"\r\nX-SERVER-Hdr: v\r\n", "\r\nX-Foo: 1\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("with the options: no %q in\n%q", want, got)
		}
	}
	got = rawExchange(t, plain, req)
	for _, want := range []string{"\r\nx-server-hdr: v\r\n", "\r\nx-foo: 1\r\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("without the options: no %q in\n%q", want, got)
		}
	}
}

// TestUnixBind: the global unix-bind prefixes the path of UNIX binds and
// gives them its mode, unless the bind has its own (not to the stats
// socket: haproxy 2.6 applies it to binds only); a request goes through the
// prefixed socket. Same files from haproxy.
func TestUnixBind(t *testing.T) {
	dir := t.TempDir()
	port := freePort(t)
	startProxy(t, `
global
    unix-bind prefix `+dir+`/ mode 600
    stats socket unix@`+dir+`/stats.sock
`+defaultsSection("http", "2s", "5s", "5s")+`
frontend fe
    bind unix@fe.sock
    bind unix@own.sock mode 644
    bind 127.0.0.1:`+strconv.Itoa(port)+`
    http-request return status 200 content-type text/plain string unix-ok
`, port)
	if fi, err := os.Stat(filepath.Join(dir, "stats.sock")); err != nil || fi.Mode().Perm() == 0o600 {
		t.Errorf("stats.sock: %v, %v; unix-bind must leave stats sockets alone", fi, err)
	}
	for name, want := range map[string]os.FileMode{"fe.sock": 0o600, "own.sock": 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != want {
			t.Errorf("%s: mode %v, want a socket with %o", name, fi.Mode(), want)
		}
	}
	c, err := net.Dial("unix", filepath.Join(dir, "fe.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
	if b, _ := io.ReadAll(c); !strings.HasSuffix(string(b), "unix-ok") {
		t.Errorf("through the prefixed socket: %q", b)
	}
}

// TestDefaultPath: "default-path config" makes relative paths start from
// the configuration file's directory, "parent" from its parent, "origin"
// from the given one: the errorfile is found from there. Same from haproxy.
func TestDefaultPath(t *testing.T) {
	base := t.TempDir()
	os.MkdirAll(filepath.Join(base, "conf", "errors"), 0o755)
	os.MkdirAll(filepath.Join(base, "errors"), 0o755)
	page := func(text string) []byte {
		return []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: " + strconv.Itoa(len(text)) + "\r\nConnection: close\r\n\r\n" + text)
	}
	os.WriteFile(filepath.Join(base, "conf", "errors", "503.http"), page("from-config-dir"), 0o644)
	os.WriteFile(filepath.Join(base, "errors", "503.http"), page("from-parent-dir"), 0o644)
	for policy, want := range map[string]string{
		"config":                   "from-config-dir",
		"parent":                   "from-parent-dir",
		"origin " + base + "/conf": "from-config-dir",
	} {
		port := freePort(t)
		cfgPath := filepath.Join(base, "conf", "haproxy.cfg")
		os.WriteFile(cfgPath, []byte(`
global
    default-path `+policy+`
`+defaultsSection("http", "2s", "5s", "5s")+`
frontend fe
    bind 127.0.0.1:`+strconv.Itoa(port)+`
    default_backend none
backend none
    errorfile 503 errors/503.http
`), 0o644)
		startProxyCmd(t, exec.Command(bin, "-db", "-f", cfgPath), port)
		if got := rawExchange(t, port, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"); !strings.Contains(got, want) {
			t.Errorf("default-path %s: %q, want the page %s", policy, got, want)
		}
	}
}

// TestFDHardLimit: without maxconn nor ulimit-n, the open files limit is
// raised towards the hard limit, but not above "fd-hard-limit". Same from
// haproxy.
func TestFDHardLimit(t *testing.T) {
	for _, tc := range []struct {
		global   string
		min, max int
	}{
		{"", 10000, 20000},
		{"    fd-hard-limit 3000", 1025, 3000},
	} {
		port := freePort(t)
		cfg := "\nglobal\n    nbthread 1\n" + tc.global + "\n" + defaultsSection("tcp", "1s", "10s", "10s") + `
listen fdhard
    bind 127.0.0.1:` + strconv.Itoa(port) + `
    server s1 127.0.0.1:9
`
		p := startProxyCmd(t, underLimit(context.Background(), t, 1024, 20000, cfg), port)
		if got := softFDLimit(t, p.cmd.Process.Pid); got < tc.min || got > tc.max {
			t.Errorf("%q: soft open files limit %d, want %d..%d", tc.global, got, tc.min, tc.max)
		}
		p.stop()
	}
}

// TestMworkerMaxReloads: a worker kept alive by a WebSocket tunnel after
// more reloads than "mworker-max-reloads" gets SIGTERM; the one under the
// limit stays. Same from haproxy.
func TestMworkerMaxReloads(t *testing.T) {
	bport := reloadBackend(t)
	port := freePort(t)
	dir := t.TempDir()
	cfgPath, sock := filepath.Join(dir, "haproxy.cfg"), filepath.Join(dir, "m.sock")
	os.WriteFile(cfgPath, []byte("global\n    mworker-max-reloads 1\n"+defaultsSection("http", "2s", "5s", "5s", "timeout tunnel 1m")+`
frontend fe
    bind 127.0.0.1:`+strconv.Itoa(port)+`
    default_backend be
backend be
    server s1 127.0.0.1:`+strconv.Itoa(bport)+`
`), 0o644)
	p := startMaster(t, cfgPath, sock, nil, port)
	first := waitProc(t, sock, "a worker", 5*time.Second, func(pt procTable) bool { return len(pt.workers) == 1 }).workers[0]
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if line, _ := bufio.NewReader(c).ReadString('\n'); !strings.Contains(line, " 101 ") {
		t.Fatalf("no tunnel: %q", line)
	}
	p.cmd.Process.Signal(syscall.SIGUSR2)
	waitProc(t, sock, "the first worker survives one reload", 10*time.Second, func(pt procTable) bool {
		return len(pt.workers) == 1 && pt.workers[0] != first && len(pt.olds) == 1 && pt.olds[0] == first
	})
	time.Sleep(300 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGUSR2)
	waitProc(t, sock, "the first worker is gone after a second reload", 10*time.Second, func(pt procTable) bool {
		for _, o := range pt.olds {
			if o == first {
				return false
			}
		}
		return pt.reloads == 2
	})
}

// TestH1CaseAdjustOwnRepliesAsHAProxy: the proxy's own replies (return,
// redirect, deny, 503) are spelled as h1-case-adjust lists too; the same
// bytes as haproxy's.
func TestH1CaseAdjustOwnRepliesAsHAProxy(t *testing.T) {
	got := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		fe := freePort(t)
		p := startBinary(t, path, `
global
    h1-case-adjust content-type Content-Type
    h1-case-adjust x-custom X-CUSTOM
    h1-case-adjust cache-control Cache-Control
`+defaultsSection("http", "2s", "5s", "5s")+`
frontend fe
    bind 127.0.0.1:`+strconv.Itoa(fe)+`
    option h1-case-adjust-bogus-client
    http-request return status 200 content-type text/plain hdr x-custom 1 string hi if { path /r }
    http-request redirect location /x if { path /redir }
    http-request deny if { path /deny }
    default_backend be
backend be
`, fe)
		for _, u := range []string{"/r", "/redir", "/deny", "/none"} {
			got[path] += rawExchange(t, fe, "GET "+u+" HTTP/1.1\r\nhost: a\r\nconnection: close\r\n\r\n") + "\n"
		}
		p.stop()
	}
	if got[bin] != got[haproxyBin] {
		t.Errorf("dhproxy replied\n%q\nhaproxy\n%q", got[bin], got[haproxyBin])
	}
	if !strings.Contains(got[bin], "\r\nX-CUSTOM: 1\r\n") {
		t.Errorf("no adjusted name in %q", got[bin])
	}
}
