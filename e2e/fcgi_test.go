package e2e

// FastCGI applications (fcgi-app, use-fcgi-app, server "proto fcgi")
// against a real PHP-FPM, each compared with haproxy 2.6 on the same
// configuration. DHPROXY_BIN=/usr/sbin/haproxy passes too.

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// fcgiScripts are the PHP scripts of the test docroot.
var fcgiScripts = map[string]string{
	// the CGI parameters a script sees, one per line
	"env.php": `<?php
$keys = ['CONTENT_LENGTH','CONTENT_TYPE','DOCUMENT_ROOT','GATEWAY_INTERFACE','QUERY_STRING',
  'REMOTE_ADDR','REMOTE_PORT','REQUEST_METHOD','REQUEST_URI','SCRIPT_FILENAME','SCRIPT_NAME',
  'PATH_INFO','PATH_TRANSLATED','SERVER_NAME','SERVER_PORT','SERVER_PROTOCOL','SERVER_SOFTWARE',
  'HTTPS','HTTP_HOST','HTTP_X_TEST','HTTP_AUTHORIZATION','HTTP_CONNECTION','HTTP_TE',
  'REDIRECT_STATUS','X_FROM','REMOTE_USER','AUTH_TYPE'];
foreach ($keys as $k) { echo $k, '=', isset($_SERVER[$k]) ? $_SERVER[$k] : '<unset>', "\n"; }
`,
	"post.php":   `<?php echo "type=", $_SERVER['CONTENT_TYPE'] ?? '', " len=", $_SERVER['CONTENT_LENGTH'] ?? '', " body=", file_get_contents("php://input");`,
	"status.php": `<?php header("Status: 404 Not Found"); header("Location: /elsewhere"); echo "moved";`,
	"nf.php":     `<?php header("Status: 404 Not Found"); echo "not found";`,
	"stderr.php": `<?php error_log("boom from php"); echo "logged";`,
	"big.php":    `<?php echo str_repeat("0123456789", 4000);`,
}

// startPHPFPM runs Debian's php-fpm with a pool of its own on a loopback
// port, serving fcgiScripts from a temp docroot; stopped at cleanup.
func startPHPFPM(t *testing.T) (port int, docroot string) {
	t.Helper()
	port = freePort(t)
	return port, startPHPFPMOn(t, fmt.Sprintf("127.0.0.1:%d", port), func() bool { return canDial(port) })
}

// startPHPFPMOn is startPHPFPM listening on listen (a UNIX socket path
// too), accepting once ready says so.
func startPHPFPMOn(t *testing.T, listen string, ready func() bool) (docroot string) {
	t.Helper()
	bins, _ := filepath.Glob("/usr/sbin/php-fpm*")
	if len(bins) == 0 {
		t.Skip("php-fpm is not installed (scripts/install-test-deps.sh installs it)")
	}
	dir := t.TempDir()
	docroot = filepath.Join(dir, "www")
	if err := os.Mkdir(docroot, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range fcgiScripts {
		if err := os.WriteFile(filepath.Join(docroot, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Children on demand, enough of them: with keep-conn, each idle
	// connection a proxy keeps holds one (haproxy's and dhproxy's alike).
	conf := fmt.Sprintf(`[global]
pid = %[1]s/fpm.pid
error_log = %[1]s/fpm.log
daemonize = no
[test]
listen = %[2]s
pm = ondemand
pm.max_children = 64
clear_env = no
`, dir, listen)
	confPath := filepath.Join(dir, "fpm.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// -R: allowed to run as root, as the tests may.
	cmd := exec.Command(bins[0], "-R", "-F", "-y", confPath)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// Its own process group: the cleanup ends the master and its children.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.WaitDelay = waitDelay
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
	})
	deadline := time.Now().Add(10 * time.Second)
	for !ready() {
		select {
		case <-done:
			t.Fatalf("php-fpm exited: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("php-fpm not accepting after 10s: %s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return docroot
}

// countingRelay forwards loopback connections to port and counts them:
// how many connections the proxy opened to the application.
func countingRelay(t *testing.T, port int) (relayPort int, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int32)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			up, err := net.Dial("tcp4", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				c.Close()
				continue
			}
			go func() { defer up.Close(); defer c.Close(); buf := make([]byte, 32<<10); copyAll(up, c, buf) }()
			go func() { defer up.Close(); defer c.Close(); buf := make([]byte, 32<<10); copyAll(c, up, buf) }()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port, accepted
}

func copyAll(dst, src net.Conn, buf []byte) {
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// fcgiConfig is the configuration both proxies run: a frontend with an
// http-response rule, a backend using the application, the stderr lines
// sent raw to a UDP log receiver.
func fcgiConfig(fe, fpm, logPort int, docroot, extra string) string {
	return fcgiConfigTLS(fe, fpm, logPort, docroot, extra, "")
}

// fcgiConfigTLS is fcgiConfig with, when tlsBind is set, a second bind
// line ("127.0.0.1:<port> ssl crt <pem>").
func fcgiConfigTLS(fe, fpm, logPort int, docroot, extra, tlsBind string) string {
	return fcgiConfigFull(fe, fpm, logPort, docroot, extra, tlsBind, "")
}

// fcgiConfigFull is fcgiConfigTLS with, when sock is set, a stats socket.
func fcgiConfigFull(fe, fpm, logPort int, docroot, extra, tlsBind, sock string) string {
	if tlsBind != "" {
		tlsBind = "\n    bind " + tlsBind
	}
	if sock != "" {
		sock = "\n    stats socket " + sock
	}
	return fmt.Sprintf(`
global%s
    log stdout format raw local0
defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d%s
    log global
    option httplog
    http-response set-header X-Resp fcgi
    default_backend php
backend php
    use-fcgi-app php
    server fpm 127.0.0.1:%d proto fcgi
fcgi-app php
    docroot %s
    index env.php
    path-info ^(/.+\.php)(/.*)?$
    set-param REDIRECT_STATUS 200
    acl xf req.hdr(x-from) -m found
    set-param x-from %%[req.hdr(x-from)]-seen if xf
    pass-header Authorization if { req.hdr(x-pass) 1 }
    log-stderr 127.0.0.1:%d local0
%s`, sock, fe, tlsBind, fpm, docroot, logPort, extra)
}

var syslogHead = regexp.MustCompile(`^(<\d+>)\w{3} [ \d]\d \d\d:\d\d:\d\d (\S+)\[\d+\]: `)

var fcgiVolatile = regexp.MustCompile(`(?m)^(REMOTE_PORT|SERVER_SOFTWARE)=.*$`)

// TestFastCGIAsHAProxy: requests to PHP-FPM through a fcgi-app get the
// same status, Location, body and CGI parameters through dhproxy as
// through haproxy 2.6 (but REMOTE_PORT, and SERVER_SOFTWARE, which names
// the proxy); the response goes through http-response rules, the log and
// the server and backend counters; FCGI_STDERR goes to log-stderr, tagged
// with the application's name.
func TestFastCGIAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	fpm, docroot := startPHPFPM(t)
	fe, feTLS := freePort(t), freePort(t)
	url := fmt.Sprintf("http://127.0.0.1:%d", fe)
	ca := newTLSCA(t)
	pemDir := t.TempDir()
	ca.writePEM(t, pemDir, "a.pem", "a.test")
	tlsBind := fmt.Sprintf("127.0.0.1:%d ssl crt %s", feTLS, filepath.Join(pemDir, "a.pem"))
	// a body of several FCGI_STDIN records, echoed as a chunked response
	bigBody := filepath.Join(t.TempDir(), "body")
	if err := os.WriteFile(bigBody, []byte(strings.Repeat("0123456789abcdef", 200<<10/16)), 0o644); err != nil {
		t.Fatal(err)
	}
	type step struct {
		name string
		args []string
	}
	steps := []step{
		{"params, path-info, set-param, pass-header", []string{"-H", "X-Test: 1", "-H", "X-From: me", "-H", "X-Pass: 1", "-H", "Authorization: Bearer tok", "-H", "TE: trailers", url + "/env.php/extra/p%20ath?x=1&y"}},
		{"hidden Authorization, basic auth params", []string{"-u", "user:pw", url + "/env.php"}},
		{"index", []string{url + "/"}},
		{"POST body", []string{"-d", "hello=world", url + "/post.php"}},
		{"long POST body", []string{"--data-binary", "@" + bigBody, url + "/post.php"}},
		{"chunked POST body", []string{"-H", "Transfer-Encoding: chunked", "-H", "Content-Type: text/plain", "--data-binary", "chunked body", url + "/post.php"}},
		{"Status then Location", []string{url + "/status.php"}},
		{"Status", []string{url + "/nf.php"}},
		{"stderr", []string{url + "/stderr.php"}},
		{"long body", []string{url + "/big.php"}},
		{"HEAD", []string{"-I", url + "/env.php"}},
		{"no such script", []string{url + "/nosuch.php"}},
		{"HTTP/2 client", []string{"--http2-prior-knowledge", url + "/env.php"}},
		{"HTTP/1.0 client, long body", []string{"--http1.0", url + "/big.php"}},
		{"HTTP/1.0 client", []string{"--http1.0", url + "/env.php"}},
		{"HTTPS", append([]string{"--cacert", ca.pemFil}, tlsURL("a.test", feTLS, "/env.php")...)},
	}
	run := func(binary string) (results []string, stderr string, logs []string) {
		logPort, next := udpLog(t)
		sock := filepath.Join(t.TempDir(), "stats.sock")
		p := startBinary(t, binary, fcgiConfigFull(fe, fpm, logPort, docroot, "", tlsBind, sock), fe)
		for _, s := range steps {
			args := append([]string{"-s", "-i", "--max-time", "5"}, s.args...)
			out, err := curl(t, args...)
			if err != nil {
				t.Fatalf("%s: curl: %v", s.name, err)
			}
			results = append(results, s.name+":\n"+normalizeFcgiResponse(out))
		}
		if line, ok := next(5 * time.Second); ok {
			// the date and pid differ; the priority, the tag (the
			// application's name) and the message must not
			stderr = syslogHead.ReplaceAllString(line, "$1 $2: ")
		}
		// the server's and backend's counters of the answers
		rows, names := statRows(t, cliCmd(t, sock, "show stat"))
		for _, row := range []string{"php/fpm", "php/BACKEND"} {
			var c []string
			for _, col := range []string{"stot", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "eresp", "econ"} {
				c = append(c, col+"="+field(t, rows, names, row, col))
			}
			results = append(results, row+" counters: "+strings.Join(c, " "))
		}
		deadline := time.Now().Add(5 * time.Second)
		for time.Now().Before(deadline) {
			logs = logs[:0]
			for _, l := range strings.Split(p.Stdout(), "\n") {
				// client [date] fe be/server timers status bytes - - term conns queues "request"
				if f := strings.Fields(l); len(f) > 12 && f[2] == "fe" && !strings.Contains(l, "<BADREQ>") { // not the readiness probe
					logs = append(logs, fmt.Sprintf("%s %s %s %s", f[3], f[5], f[9], strings.Join(f[12:], " ")))
				}
			}
			if len(logs) >= len(steps) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		p.stop()
		return results, stderr, logs
	}
	want, wantErr, wantLogs := run(haproxyBin)
	got, gotErr, gotLogs := run(bin)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("step %d\n--- got\n%s\n--- want\n%s", i, got[i], want[i])
		}
	}
	t.Logf("haproxy's results:\n%s\nstderr line: %s\nlog lines:\n%s", strings.Join(want, "\n"), wantErr, strings.Join(wantLogs, "\n"))
	if gotErr != wantErr || wantErr == "" {
		t.Errorf("log-stderr line: got %q, want %q", gotErr, wantErr)
	}
	if strings.Join(gotLogs, "\n") != strings.Join(wantLogs, "\n") {
		t.Errorf("log lines (server, status, termination, request):\n--- got\n%s\n--- want\n%s", strings.Join(gotLogs, "\n"), strings.Join(wantLogs, "\n"))
	}
}

// normalizeFcgiResponse keeps what must match of a response: the status
// line, the Location, Content-Length (or chunked framing) and X-Resp
// fields (names in lower case: haproxy lowers them, dhproxy keeps the
// application's), whether a Date came, and the body with the parameters
// that name the proxy's port or software masked.
func normalizeFcgiResponse(out string) string {
	head, body, _ := strings.Cut(out, "\r\n\r\n")
	lines := strings.Split(head, "\r\n")
	var res []string
	for _, l := range lines[1:] {
		name, value, _ := strings.Cut(l, ":")
		name = strings.ToLower(name)
		switch name {
		case "content-length":
			if strings.Contains(body, "SERVER_SOFTWARE=") {
				value = "<the proxy's name makes it differ>"
			}
			fallthrough
		case "location", "transfer-encoding", "x-resp", "content-type":
			res = append(res, name+": "+strings.TrimSpace(value))
		case "date":
			res = append(res, "date: <set>")
		}
	}
	// haproxy adds Date and Content-Length after the http-response rules
	slices.Sort(res)
	if len(body) > 2000 {
		body = fmt.Sprintf("<%d bytes>", len(body))
	}
	return lines[0] + "\n" + strings.Join(res, "\n") + "\n\n" + fcgiVolatile.ReplaceAllString(body, "$1=<masked>")
}

// TestFastCGIKeepConnAsHAProxy: with "option keep-conn" (the default) the
// requests of a client ride one connection to the application; with "no
// option keep-conn" each has its own, as with haproxy; "option get-values"
// (PHP-FPM answers FCGI_GET_VALUES) changes neither.
func TestFastCGIKeepConnAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	fpm, docroot := startPHPFPM(t)
	for _, keep := range []string{"option keep-conn", "no option keep-conn", "option get-values"} {
		counts := map[string]int32{}
		for _, binary := range []string{haproxyBin, bin} {
			relay, accepted := countingRelay(t, fpm)
			fe := freePort(t)
			logPort, _ := udpLog(t)
			p := startBinary(t, binary, fcgiConfig(fe, relay, logPort, docroot, "    "+keep+"\n"), fe)
			url := fmt.Sprintf("http://127.0.0.1:%d/nf.php", fe)
			out, err := curl(t, "-s", "-w", "%{http_code} ", "-o", "/dev/null", url, "-o", "/dev/null", url, "-o", "/dev/null", url, "-o", "/dev/null", url)
			if err != nil || out != "404 404 404 404 " {
				t.Fatalf("%s, %s: %q %v", binary, keep, out, err)
			}
			p.stop()
			counts[binary] = accepted.Load()
		}
		if counts[bin] != counts[haproxyBin] {
			t.Errorf("%s: %d connections to the application for 4 requests, haproxy %d", keep, counts[bin], counts[haproxyBin])
		}
		t.Logf("%s: %d connections for 4 requests", keep, counts[bin])
	}
}
