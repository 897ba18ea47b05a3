package e2e

// Servers on UNIX sockets ("server s /path", "unix@path", "abns@name"):
// HTTP with pooled connections, mode tcp, FastCGI and health checks, each
// run through dhproxy and haproxy 2.6 and compared. DHPROXY_BIN=
// /usr/sbin/haproxy passes too.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// unixHTTPServer serves backendHandler on a UNIX socket at path and
// counts the connections it accepted.
func unixHTTPServer(t *testing.T, path string) (accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	accepted = new(atomic.Int32)
	srv := &http.Server{Handler: backendHandler("unix"), ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				accepted.Add(1)
			}
		}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return accepted
}

// unixEcho echoes each connection's bytes back on a UNIX socket at path
// (Go's "@...": an abstract one), closing its write side at EOF.
func unixEcho(t *testing.T, path string) {
	t.Helper()
	ln, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
				c.(*net.UnixConn).CloseWrite()
			}()
		}
	}()
}

// statField returns column col of "show stat" for proxy/server.
func statField(t *testing.T, sock, proxy, server, col string) string {
	t.Helper()
	lines := strings.Split(cliCmd(t, sock, "show stat"), "\n")
	head := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) < len(head) || f[0] != proxy || f[1] != server {
			continue
		}
		for i, h := range head {
			if h == col {
				return f[i]
			}
		}
	}
	t.Fatalf("show stat: no %s for %s/%s in:\n%s", col, proxy, server, strings.Join(lines, "\n"))
	return ""
}

// checkStatus is the server's "show stat" check_status without the "* "
// that marks a check under way.
func checkStatus(t *testing.T, sock, proxy, server string) string {
	t.Helper()
	return strings.TrimPrefix(statField(t, sock, proxy, server, "check_status"), "* ")
}

// serverStateLine is the "show servers state" line of server (the time
// since the last change blanked).
func serverStateLine(t *testing.T, sock, backend, server string) string {
	t.Helper()
	for _, f := range stateLines(t, sock, backend) {
		if len(f) > 9 && f[3] == server {
			f[9] = "T"
			return strings.Join(f, " ")
		}
	}
	t.Fatalf("show servers state %s: no server %s", backend, server)
	return ""
}

// logLines waits for n lines on p's stdout (the "log stdout" lines).
func logLines(t *testing.T, p *proc, n int) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := strings.TrimSpace(p.Stdout())
		if lines := strings.Split(out, "\n"); out != "" && len(lines) >= n {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d log lines wanted, got:\n%s", n, out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// sameAsHAProxy runs run with the proxy under test, then with haproxy,
// each with a directory of its own (for sockets), and fails t unless both
// runs saw the same. Without haproxy there is nothing to compare with.
func sameAsHAProxy(t *testing.T, run func(binary, dir string) []string) {
	t.Helper()
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	g, w := strings.Join(run(bin, t.TempDir()), "\n"), strings.Join(run(haproxyBin, t.TempDir()), "\n")
	t.Logf("%s", g)
	if g != w {
		t.Errorf("got:\n%s\nhaproxy:\n%s", g, w)
	}
}

// unixHead is the head of these tests' configurations: a global section
// with an admin stats socket at sock, then a defaults section in mode with
// the timeouts (connect 2s, client and server 5s). With a logFormat, the
// traffic lines other than empty connections' go to stdout (logLines).
func unixHead(sock, mode, logFormat string) string {
	global := "\nglobal\n    stats socket " + sock + " level admin"
	var extra []string
	if logFormat != "" {
		global += "\n    log stdout format raw local0"
		extra = []string{"log global", "option dontlognull", "log-format " + strconv.Quote(logFormat)}
	}
	return global + defaultsSection(mode, "2s", "5s", "5s", extra...) + "\n"
}

// TestUnixServerHTTPAsHAProxy: an HTTP backend on a UNIX socket (an
// absolute path, and a relative one with unix@) answers through the proxy,
// its connection kept and reused by the next session (http-reuse always),
// with "source" and "tcp-ut" doing nothing there, as in haproxy;
// the log's %si:%sp and %bi:%bp, "show stat" addr, "show servers state"
// and "set server addr" say what haproxy 2.6 says of such a server.
func TestUnixServerHTTPAsHAProxy(t *testing.T) {
	fe := freePort(t)
	sameAsHAProxy(t, func(binary, dir string) []string {
		accepted := unixHTTPServer(t, filepath.Join(dir, "app.sock"))
		unixHTTPServer(t, filepath.Join(dir, "rel.sock"))
		sock := filepath.Join(dir, "stats.sock")
		cfg := unixHead(sock, "http", "%b/%s %si:%sp %bi:%bp %ST") + fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    use_backend rel if { path_beg /rel }
    default_backend app
backend app
    http-reuse always
    server s1 %s source 127.0.0.2 tcp-ut 1s
backend rel
    server s1 unix@rel.sock
`, fe, filepath.Join(dir, "app.sock"))
		cmd := exec.Command(binary, "-db", "-f", writeConfig(t, cfg))
		cmd.Dir = dir // where unix@rel.sock leads
		p := startProxyCmd(t, cmd, fe)
		var res []string
		for i, path := range []string{"/a", "/b", "/rel/c"} {
			out, err := curl(t, "-s", "-i", "--max-time", "5", fmt.Sprintf("http://127.0.0.1:%d%s", fe, path))
			if err != nil {
				t.Fatalf("curl %s: %v", path, err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(out)), nil)
			if err != nil {
				t.Fatalf("%s: %v\n%s", path, err, out)
			}
			body, _ := io.ReadAll(resp.Body)
			res = append(res, fmt.Sprintf("%d: %d %s uri=%s", i, resp.StatusCode, body, resp.Header.Get("X-Seen-URI")))
		}
		// one connection for both sessions to app: the first one's was
		// pooled when its client left
		res = append(res, fmt.Sprintf("connections to app: %d", accepted.Load()))
		res = append(res, logLines(t, p, 3)...)
		res = append(res,
			"addr="+statField(t, sock, "app", "s1", "addr"),
			serverStateLine(t, sock, "app", "s1"),
			serverStateLine(t, sock, "rel", "s1"),
			strings.TrimSpace(cliCmd(t, sock, "set server app/s1 addr 127.0.0.1 port 80")))
		p.stop()
		return res
	})
}

// TestUnixServerTCPModeAsHAProxy: mode tcp to an echo server on an
// abstract socket (abns@) checked by tcp-check rules, and to one on a path
// that went away: the bytes come back, half-closes pass, and the logs, the
// checks and the stats match haproxy 2.6's.
func TestUnixServerTCPModeAsHAProxy(t *testing.T) {
	fe, fe2 := freePort(t), freePort(t)
	runs := 0
	sameAsHAProxy(t, func(binary, dir string) []string {
		runs++ // a name of its own: the first run's server is still there
		name := fmt.Sprintf("dhproxy-e2e-%d-%d-%d", os.Getpid(), fe, runs)
		// haproxy's abstract address is all of sun_path, NUL-padded
		unixEcho(t, "@"+name+strings.Repeat("\x00", 107-len(name)))
		sock := filepath.Join(dir, "stats.sock")
		cfg := unixHead(sock, "tcp", "%b/%s %si:%sp %bi:%bp %B %ts") + fmt.Sprintf(`listen echo
    bind 127.0.0.1:%d
    option tcp-check
    tcp-check send PING\n
    tcp-check expect string PING
    server s1 abns@%s check inter 200
listen gone
    bind 127.0.0.1:%d
    no log
    retries 100
    server s1 %s
`, fe, name, fe2, filepath.Join(dir, "gone.sock"))
		p := startBinary(t, binary, cfg, fe)
		var res []string
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		msg := strings.Repeat("echo through a unix socket\n", 1000)
		go func() {
			io.WriteString(c, msg)
			c.(*net.TCPConn).CloseWrite()
		}()
		back, err := io.ReadAll(c)
		c.Close()
		res = append(res, fmt.Sprintf("echoed %d of %d bytes, same: %v, err: %v", len(back), len(msg), string(back) == msg, err))
		// no server behind the path: the connect fails at once, and is
		// retried at once (haproxy pauses only after a failure that came
		// later): the client's connection is closed well before its
		// deadline, not after 100 pauses
		c, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe2))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "x")
		n, err := c.Read(make([]byte, 1))
		c.Close()
		// closed (a reset when the "x" was left unread), not timed out
		res = append(res, fmt.Sprintf("gone: read %d, closed: %v", n, err == io.EOF || errors.Is(err, syscall.ECONNRESET)))
		res = append(res, logLines(t, p, 1)...)
		deadline := time.Now().Add(5 * time.Second)
		for strings.HasSuffix(statField(t, sock, "echo", "s1", "check_status"), "INI") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		res = append(res,
			"addr="+statField(t, sock, "echo", "s1", "addr"),
			"status="+statField(t, sock, "echo", "s1", "status"),
			"check="+checkStatus(t, sock, "echo", "s1")+" "+statField(t, sock, "echo", "s1", "check_desc"),
			serverStateLine(t, sock, "echo", "s1"))
		p.stop()
		return res
	})
}

var checkDuration = regexp.MustCompile(`check duration: \d+ms`)

// TestUnixServerCheckDownUpAsHAProxy: an HTTP check (option httpchk) of a
// UNIX socket server marks it DOWN once its socket is gone, with haproxy's
// "Socket error" and the errno, and UP again once a server listens there
// anew; "port", the backend's "source" and "tcp-ut" change nothing for a
// socket ("port" shows in the state line).
func TestUnixServerCheckDownUpAsHAProxy(t *testing.T) {
	fe := freePort(t)
	sameAsHAProxy(t, func(binary, dir string) []string {
		path := filepath.Join(dir, "app.sock")
		ln, err := net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		srv := &http.Server{Handler: backendHandler("unix")}
		go srv.Serve(ln)
		sock := filepath.Join(dir, "stats.sock")
		cfg := unixHead(sock, "http", "") + fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    default_backend app
backend app
    option httpchk GET /health
    source 127.0.0.2
    server s1 %s check inter 100 fall 1 rise 1 port 80 tcp-ut 1s
`, fe, path)
		p := startBinary(t, binary, cfg, fe)
		var res []string
		wait := func(status string) {
			deadline := time.Now().Add(5 * time.Second)
			// a server starts UP before its first check ("INI"); "* "
			// marks a check under way
			for statField(t, sock, "app", "s1", "status") != status || strings.HasSuffix(statField(t, sock, "app", "s1", "check_status"), "INI") {
				if time.Now().After(deadline) {
					t.Fatalf("%s: app/s1 not %s after 5s", binary, status)
				}
				time.Sleep(20 * time.Millisecond)
			}
			res = append(res, status+": "+checkStatus(t, sock, "app", "s1")+" "+
				statField(t, sock, "app", "s1", "check_code")+" "+statField(t, sock, "app", "s1", "check_desc"),
				serverStateLine(t, sock, "app", "s1"))
		}
		wait("UP")
		srv.Close() // closes the listener, which removes the socket
		wait("DOWN")
		ln, err = net.Listen("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		srv = &http.Server{Handler: backendHandler("unix")}
		go srv.Serve(ln)
		defer srv.Close()
		wait("UP")
		out, err := curl(t, "-s", "--max-time", "5", fmt.Sprintf("http://127.0.0.1:%d/", fe))
		res = append(res, fmt.Sprintf("after: %q %v", out, err))
		p.stop()
		for _, l := range strings.Split(p.Stderr(), "\n") {
			if strings.Contains(l, "Server app/s1 is") {
				res = append(res, checkDuration.ReplaceAllString(l[strings.Index(l, "Server app/s1"):], "check duration: N"))
			}
		}
		return res
	})
}

// TestFastCGIUnixSocketAsHAProxy: PHP-FPM on a UNIX socket (its Debian
// default) behind "server fpm unix@... proto fcgi check": the same
// responses and CGI parameters through dhproxy as through haproxy 2.6.
func TestFastCGIUnixSocketAsHAProxy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fpm.sock")
	docroot := startPHPFPMOn(t, path, func() bool {
		c, err := net.Dial("unix", path)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	fe := freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", fe)
	sameAsHAProxy(t, func(binary, dir string) []string {
		logPort, _ := udpLog(t)
		sock := filepath.Join(dir, "stats.sock")
		cfg := fcgiConfigFull(fe, 0, logPort, docroot, "", "", sock)
		cfg = strings.Replace(cfg, "server fpm 127.0.0.1:0 proto fcgi", "server fpm unix@"+path+" proto fcgi check inter 200", 1)
		p := startBinary(t, binary, cfg, fe)
		defer p.stop()
		var res []string
		for _, args := range [][]string{
			{"-H", "X-Test: 1", url + "/env.php/extra?x=1"},
			{"-d", "hello=world", url + "/post.php"},
			{url + "/big.php"},
			{url + "/nosuch.php"},
		} {
			out, err := curl(t, append([]string{"-s", "-i", "--max-time", "5"}, args...)...)
			if err != nil {
				t.Fatalf("curl %v: %v", args, err)
			}
			res = append(res, normalizeFcgiResponse(out))
		}
		deadline := time.Now().Add(5 * time.Second)
		for strings.HasSuffix(statField(t, sock, "php", "fpm", "check_status"), "INI") && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		res = append(res, "check="+checkStatus(t, sock, "php", "fpm"), "addr="+statField(t, sock, "php", "fpm", "addr"))
		return res
	})
}
