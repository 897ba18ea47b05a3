package e2e

// Black-box tests of traffic logging: a real rsyslogd (Debian's package)
// receives the proxy's syslog datagrams on a private UDP port and writes
// them to files, which the tests read; stdout logging is read from the
// proxy's own stdout. Run against the real thing with
// DHPROXY_BIN=/usr/sbin/haproxy go test ./e2e -run Log
//
// Helpers carry an "lg" prefix to stay clear of the other test files.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// lgRsyslog is a private rsyslogd instance.
type lgRsyslog struct {
	port int
	raw  string // every message as received (%rawmsg%), one per line
	dir  string
}

// lgFindRsyslogd returns the rsyslogd path, or "" if it is not installed.
func lgFindRsyslogd() string {
	if p, err := exec.LookPath("rsyslogd"); err == nil {
		return p
	}
	if _, err := os.Stat("/usr/sbin/rsyslogd"); err == nil { // sbin may be off PATH
		return "/usr/sbin/rsyslogd"
	}
	return ""
}

// lgFreeUDPPort returns a loopback UDP port that was free a moment ago.
func lgFreeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// lgStartRsyslog runs `rsyslogd -n -f conf -i pidfile` in a temp dir with
// only imudp loaded (no kernel log, journal or /dev/log input), listening on
// a free 127.0.0.1 port, and waits until a probe datagram reaches its file.
// It is stopped by PID at cleanup. Skipped only when rsyslogd is missing
// outside CI.
func lgStartRsyslog(t *testing.T) *lgRsyslog {
	t.Helper()
	rsyslogd := lgFindRsyslogd()
	if rsyslogd == "" {
		if os.Getenv("CI") == "" {
			t.Skip("rsyslogd not installed (run scripts/install-test-deps.sh)")
		}
		t.Fatal("rsyslogd not installed in CI")
	}
	r := &lgRsyslog{port: lgFreeUDPPort(t), dir: t.TempDir()}
	r.raw = filepath.Join(r.dir, "raw.log")
	conf := filepath.Join(r.dir, "rsyslog.conf")
	pidfile := filepath.Join(r.dir, "rsyslogd.pid")
	err := os.WriteFile(conf, []byte(fmt.Sprintf(`global(workDirectory=%q net.enableDNS="off")
module(load="imudp")
input(type="imudp" address="127.0.0.1" port="%d")
template(name="raw" type="string" string="%%rawmsg%%\n")
*.* action(type="omfile" file=%q template="raw")
`, r.dir, r.port, r.raw)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	cmd := exec.Command(rsyslogd, "-n", "-f", conf, "-i", pidfile)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting rsyslogd: %v", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})

	// Ready once a probe sent to its port is in the file: UDP has no
	// handshake to poll, so the only proof is a message going through.
	probe, err := net.Dial("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(r.port)))
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("rsyslogd exited early:\n%s", out.String())
		default:
		}
		probe.Write([]byte("<14>rsyslog-ready-probe"))
		if data, _ := os.ReadFile(r.raw); bytes.Contains(data, []byte("rsyslog-ready-probe")) {
			return r
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd not receiving after 15s:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitLine polls the received messages until one contains marker.
func (r *lgRsyslog) waitLine(t *testing.T, marker string) string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, _ := os.ReadFile(r.raw)
		for _, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, marker) {
				t.Logf("rsyslog received: %s", l)
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message with %q after 10s; rsyslog got:\n%s", marker, data)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lines returns every message received so far but the readiness probes.
func (r *lgRsyslog) lines() []string {
	data, _ := os.ReadFile(r.raw)
	var out []string
	for _, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		if l != "" && !strings.Contains(l, "rsyslog-ready-probe") {
			out = append(out, l)
		}
	}
	return out
}

// lgHeader is HAProxy's default syslog header: rfc3164 without hostname.
var lgHeader = regexp.MustCompile(`^<(\d+)>([A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d) ([^\[ ]+)\[(\d+)\]: (.*)$`)

// lgSplit checks the syslog header of a received message and returns the
// log line after it.
func lgSplit(t *testing.T, p *proc, msg string, wantPri int) string {
	t.Helper()
	m := lgHeader.FindStringSubmatch(msg)
	if m == nil {
		t.Fatalf("not an rfc3164 message from the proxy: %q", msg)
	}
	if m[1] != strconv.Itoa(wantPri) {
		t.Errorf("PRI <%s>, want <%d> in %q", m[1], wantPri, msg)
	}
	if tag := filepath.Base(bin); m[3] != tag {
		t.Errorf("tag %q, want the program name %q", m[3], tag)
	}
	if m[4] != strconv.Itoa(p.cmd.Process.Pid) {
		t.Errorf("pid %s, want %d", m[4], p.cmd.Process.Pid)
	}
	stamp, err := time.ParseInLocation("Jan _2 15:04:05", m[2], time.Local)
	if err != nil {
		t.Errorf("header date %q: %v", m[2], err)
	} else if now := time.Now(); !lgNear(stamp.AddDate(now.Year(), 0, 0), now) {
		t.Errorf("header date %q is not now (%v)", m[2], now.Format(time.Stamp))
	}
	return m[5]
}

func lgNear(a, b time.Time) bool { d := a.Sub(b); return d < time.Minute && d > -time.Minute }

// lgCurl fetches url from a known local port (so that %cp is known). It
// returns the bytes received on the wire (what %B counts in TCP mode) and
// their HTX size (what HAProxy 2.6 counts in %B in HTTP mode: for the start
// line 20 bytes plus its three words, name+value per header, 1 for the end
// of headers, the de-chunked body, and 1 for the end of a chunked body).
func lgCurl(t *testing.T, url string, localPort int) (wire, htx int64) {
	t.Helper()
	hdrFile := filepath.Join(t.TempDir(), "headers")
	out, err := curl(t, "-o", "/dev/null", "-D", hdrFile, "-w", "%{http_code} %{size_header} %{size_download}",
		"--local-port", strconv.Itoa(localPort), url)
	if err != nil {
		t.Fatal(err)
	}
	var code int
	var hdr, body int64
	if _, err := fmt.Sscan(out, &code, &hdr, &body); err != nil || code != 200 {
		t.Fatalf("curl %s: %q (%v)", url, out, err)
	}
	head, err := os.ReadFile(hdrFile)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(head), "\r\n"), "\r\n")
	htx = 20 + int64(len(strings.ReplaceAll(lines[0], " ", ""))) + 1 + body
	for _, l := range lines[1:] {
		name, value, _ := strings.Cut(l, ":")
		htx += int64(len(name) + len(strings.TrimSpace(value)))
		if strings.EqualFold(name, "transfer-encoding") {
			htx++ // end of the chunked body
		}
	}
	return hdr + body, htx
}

func lgAtoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A request through a frontend with "option httplog" is logged once it is
// over, as local0.info, in HAProxy's default HTTP format.
func TestLogHTTPLogToRsyslog(t *testing.T) {
	rs := lgStartRsyslog(t)
	be, _ := startHTTPBackend(t, "web1")
	port, cport := freePort(t), freePort(t)
	p := startProxy(t, fmt.Sprintf(`
global
    log 127.0.0.1:%d local0`, rs.port)+defaultsSection("http", "5s", "30s", "30s", "log global", "option httplog")+fmt.Sprintf(`
frontend fe_log
    bind 127.0.0.1:%d
    default_backend be_log
backend be_log
    server s1 127.0.0.1:%d
`, port, be), port)
	_, sent := lgCurl(t, fmt.Sprintf("http://127.0.0.1:%d/logme?x=1", port), cport)

	line := lgSplit(t, p, rs.waitLine(t, "/logme?x=1"), 16*8+6)
	re := regexp.MustCompile(`^127\.0\.0\.1:` + strconv.Itoa(cport) +
		` \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3})\] fe_log be_log/s1` +
		` (\d+)/(\d+)/(\d+)/(\d+)/(\d+) 200 (\d+) - - ---- 1/1/0/0/0 0/0 "GET /logme\?x=1 HTTP/1\.1"$`)
	m := re.FindStringSubmatch(line)
	if m == nil {
		// The counters are read after the stream released its server:
		// %ac/%fc count this connection, %bc/%sc no longer do.
		t.Fatalf("not HAProxy's httplog line:\n%s\nwant like:\n127.0.0.1:%d [25/Nov/2026:10:35:38.954] fe_log be_log/s1 0/0/0/2/2 200 137 - - ---- 1/1/0/0/0 0/0 \"GET /logme?x=1 HTTP/1.1\"", line, cport)
	}
	if at, err := time.ParseInLocation("02/Jan/2006:15:04:05.000", m[1], time.Local); err != nil || !lgNear(at, time.Now()) {
		t.Errorf("request date %q is not now (%v)", m[1], err)
	}
	tr, ta := lgAtoi(t, m[5]), lgAtoi(t, m[6])
	if lgAtoi(t, m[2])+lgAtoi(t, m[3])+lgAtoi(t, m[4])+tr > ta {
		t.Errorf("TR+Tw+Tc+Tr exceeds Ta in %s", line)
	}
	if b := lgAtoi(t, m[7]); b != sent {
		t.Errorf("%%B = %d, want the HTX size %d of what curl received", b, sent)
	}
}

// "option tcplog" logs a TCP session at its end; HAProxy 2.6 prints Tw one
// above the queue time in TCP mode, so a stream that never queued shows 1.
func TestLogTCPLogToRsyslog(t *testing.T) {
	rs := lgStartRsyslog(t)
	be, _ := startHTTPBackend(t, "web1")
	port, cport := freePort(t), freePort(t)
	p := startProxy(t, fmt.Sprintf(`
global
    log 127.0.0.1:%d local0`, rs.port)+defaultsSection("tcp", "5s", "30s", "30s", "log global", "option tcplog")+fmt.Sprintf(`
frontend fe_tcp
    bind 127.0.0.1:%d
    default_backend be_tcp
backend be_tcp
    server s1 127.0.0.1:%d
`, port, be), port)
	sent, _ := lgCurl(t, fmt.Sprintf("http://127.0.0.1:%d/tcp", port), cport)

	line := lgSplit(t, p, rs.waitLine(t, fmt.Sprintf("127.0.0.1:%d ", cport)), 134)
	re := regexp.MustCompile(`^127\.0\.0\.1:` + strconv.Itoa(cport) +
		` \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\] fe_tcp be_tcp/s1 1/(\d+)/(\d+) (\d+) -- 1/1/0/0/0 0/0$`)
	m := re.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("not HAProxy's tcplog line:\n%s\nwant like:\n127.0.0.1:%d [25/Nov/2026:10:39:39.087] fe_tcp be_tcp/s1 1/0/5 138 -- 1/1/0/0/0 0/0", line, cport)
	}
	if b := lgAtoi(t, m[3]); b != sent {
		t.Errorf("%%B = %d, curl received %d bytes", b, sent)
	}
	if tc, tt := lgAtoi(t, m[1]), lgAtoi(t, m[2]); tc > tt {
		t.Errorf("Tc > Tt in %s", line)
	}
}

// Without httplog/tcplog a frontend with log targets logs each accepted
// connection with HAProxy's fixed "Connect from" line.
func TestLogConnectFromToRsyslog(t *testing.T) {
	rs := lgStartRsyslog(t)
	be, _ := startHTTPBackend(t, "web1")
	port, cport := freePort(t), freePort(t)
	p := startProxy(t, fmt.Sprintf(`
global
    log 127.0.0.1:%d local0
defaults
    log global
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend plain
    mode http
    bind 127.0.0.1:%d
    default_backend be
backend be
    mode http
    server s1 127.0.0.1:%d
`, rs.port, port, be), port)
	lgCurl(t, fmt.Sprintf("http://127.0.0.1:%d/", port), cport)
	msg := rs.waitLine(t, fmt.Sprintf("Connect from 127.0.0.1:%d ", cport))
	if got, want := lgSplit(t, p, msg, 134), fmt.Sprintf("Connect from 127.0.0.1:%d to 127.0.0.1:%d (plain/HTTP)", cport, port); got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// "option dontlognull" drops connections that sent nothing, which are
// otherwise logged as a 400 "<BADREQ>" terminated by the client (CR--).
func TestLogDontLogNullToRsyslog(t *testing.T) {
	rs := lgStartRsyslog(t)
	be, _ := startHTTPBackend(t, "web1")
	quiet, loud := freePort(t), freePort(t)
	startProxy(t, fmt.Sprintf(`
global
    log 127.0.0.1:%d local0`, rs.port)+defaultsSection("http", "5s", "30s", "30s", "log global", "option httplog")+fmt.Sprintf(`
frontend quiet
    option dontlognull
    bind 127.0.0.1:%d
    default_backend be
frontend loud
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, quiet, loud, be), quiet, loud)
	// startProxy's readiness dials were empty connections too: wait for
	// loud's and forget them.
	rs.waitLine(t, "] loud loud/<NOSRV> ")
	for _, port := range []int{quiet, loud} {
		c, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	lgCurl(t, fmt.Sprintf("http://127.0.0.1:%d/after-null", quiet), freePort(t))
	rs.waitLine(t, "/after-null")

	var quietNull, loudNull int
	emptyRe := regexp.MustCompile(` -1/-1/-1/-1/\d+ 400 0 - - CR-- .* "<BADREQ>"$`)
	for _, l := range rs.lines() {
		switch {
		case strings.Contains(l, "] quiet quiet/<NOSRV> "):
			quietNull++
		case strings.Contains(l, "] loud loud/<NOSRV> "):
			if !emptyRe.MatchString(l) {
				t.Errorf("empty connection logged as:\n%s", l)
			}
			loudNull++
		}
	}
	if quietNull != 0 {
		t.Errorf("dontlognull frontend logged %d empty connections:\n%s", quietNull, strings.Join(rs.lines(), "\n"))
	}
	if loudNull < 2 { // the readiness dial and ours
		t.Errorf("frontend without dontlognull logged %d empty connections, want >= 2:\n%s", loudNull, strings.Join(rs.lines(), "\n"))
	}
}

// "log stdout format raw" with "option httplog clf" writes Apache's common
// log format, one line per request, on the proxy's stdout.
func TestLogStdoutCLF(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port, cport := freePort(t), freePort(t)
	p := startProxy(t, `
global
    log stdout format raw local0`+defaultsSection("http", "5s", "30s", "30s", "log global", "option httplog clf")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, port, be), port)
	_, sent := lgCurl(t, fmt.Sprintf("http://127.0.0.1:%d/clf?a=b", port), cport)
	re := regexp.MustCompile(`(?m)^127\.0\.0\.1 - - \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d) \+0000\] "GET /clf\?a=b HTTP/1\.1" 200 (\d+) "" "" ` +
		strconv.Itoa(cport) + ` \d{3} "fe" "be" "s1" \d+ \d+ \d+ \d+ \d+ ---- 1 1 0 0 0 0 0 "" "" $`)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if m := re.FindStringSubmatch(p.Stdout()); m != nil {
			t.Logf("stdout: %q", m[0])
			if at, err := time.Parse("02/Jan/2006:15:04:05", m[1]); err != nil || !lgNear(at, time.Now()) {
				t.Errorf("GMT date %q is not now (%v)", m[1], err)
			}
			if b := lgAtoi(t, m[2]); b != sent {
				t.Errorf("%%B = %d, want the HTX size %d of what curl received", b, sent)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no CLF line on stdout after 10s; stdout:\n%s\nstderr:\n%s", p.Stdout(), p.Stderr())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
