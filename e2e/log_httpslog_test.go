package e2e

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// logBackend is an HTTP/1.1 server whose answers are fixed bytes: "/slow"
// sends its head, then its body 600 ms later; "/chunked" its head and a
// first chunk, then the rest 300 ms later; "/v10" an HTTP/1.0 answer and
// "/sclose" one with "Connection: close", both closing; "/ska" one with
// "Connection: keep-alive"; "/ws" a WebSocket's 101, then "bye" 300 ms
// later and a close; "/fast" its head and body in one write;
// anything else a 2-byte body.
func logBackend(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
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
				br := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					io.Copy(io.Discard, req.Body)
					switch req.URL.Path {
					case "/slow":
						c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 20000\r\n\r\n"))
						time.Sleep(600 * time.Millisecond)
						c.Write([]byte(strings.Repeat("s", 20000)))
					case "/chunked":
						c.Write([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"))
						time.Sleep(300 * time.Millisecond)
						c.Write([]byte("6\r\n world\r\n0\r\n\r\n"))
					case "/ws":
						c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"))
						time.Sleep(300 * time.Millisecond)
						c.Write([]byte("bye"))
						return
					case "/v10":
						c.Write([]byte("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
						return
					case "/sclose":
						c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"))
						return
					case "/ska":
						c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"))
					case "/404":
						c.Write([]byte("HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nno!"))
					case "/fast":
						c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + strings.Repeat("f", 1000)))
					default:
						c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// readOne sends a GET for uri on c, reads its response and closes c,
// letting the proxies log the line before the next one.
func readOne(t *testing.T, c net.Conn, uri string) {
	t.Helper()
	defer time.Sleep(50 * time.Millisecond)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", uri)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("GET %s: %v", uri, err)
	}
	io.Copy(io.Discard, resp.Body)
}

// loggedLines runs the proxy at path with a configuration of logHead (in
// mode http, with the defaults lines) and body, waits for port, runs
// traffic and returns the lines logged by then (the start-up probe's
// lines dropped), in order.
func loggedLines(t *testing.T, path string, defaults []string, body string, port int, traffic func()) []string {
	t.Helper()
	logPort, next := udpLog(t)
	p := startBinary(t, path, logHead(logPort, "http", defaults...)+body, port)
	defer p.stop()
	next.skipProbe()
	traffic()
	return next.rest(700 * time.Millisecond)
}

// loggedAsHAProxy runs loggedLines with haproxy and with dhproxy, checks
// that both logged the same normalized lines and returns dhproxy's.
func loggedAsHAProxy(t *testing.T, defaults []string, body string, port int, traffic func()) string {
	t.Helper()
	var logs [2][]string
	for i, path := range []string{haproxyBin, bin} {
		for _, l := range loggedLines(t, path, defaults, body, port, traffic) {
			logs[i] = append(logs[i], normalizeLogLine(l))
		}
	}
	got, want := strings.Join(logs[1], "\n"), strings.Join(logs[0], "\n")
	if got != want {
		t.Errorf("dhproxy logged\n%s\nhaproxy\n%s", got, want)
	}
	t.Logf("dhproxy logged\n%s", got)
	return got
}

var (
	logClientPort = regexp.MustCompile(`^127\.0\.0\.1:\d+ `)
	logDate       = regexp.MustCompile(`\[\d\d/\w+/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]`)
	logTimers     = regexp.MustCompile(`^[-+0-9]+(/[-+0-9]+){2,4}$`)
)

// normalizeLogLine replaces the client port, the date and the timers
// (the fifth field) of an httplog/tcplog-like line: timers are rounded
// to 100 ms, '+' and -1 kept.
func normalizeLogLine(l string) string {
	l = logClientPort.ReplaceAllString(l, "127.0.0.1:P ")
	l = logDate.ReplaceAllString(l, "[DATE]")
	f := strings.SplitN(l, " ", 6)
	if len(f) == 6 && logTimers.MatchString(f[4]) {
		ts := strings.Split(f[4], "/")
		for i, v := range ts {
			plus := strings.HasPrefix(v, "+")
			n, err := strconv.Atoi(strings.TrimPrefix(v, "+"))
			if err != nil || n < 0 {
				continue
			}
			ts[i] = strconv.Itoa((n + 50) / 100 * 100)
			if plus {
				ts[i] = "+" + ts[i]
			}
		}
		f[4] = strings.Join(ts, "/")
	}
	return strings.Join(f, " ")
}

// TestHTTPSLogAsHAProxy: "option httpslog" writes haproxy 2.6's HTTPS log
// format (httplog plus fc_err/ssl_fc_err/ssl_c_err/ssl_c_ca_err/resumed
// and SNI/version/cipher) on TLS and plain binds; it yields to a later
// httplog, tcplog or log-format (and a later tcplog to an httplog, as the
// last log format wins) and falls back to tcplog in mode tcp.
func TestHTTPSLogAsHAProxy(t *testing.T) {
	ca := newTLSCA(t)
	crt := ca.writePEM(t, t.TempDir(), "site.pem", "site.test")
	srv := logBackend(t)
	tlsPort, plain, over, tcpPort, lfPort, tcpl := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	defaults := []string{"option httpslog"}
	cfg := `frontend fs
    bind 127.0.0.1:` + strconv.Itoa(tlsPort) + ` ssl crt ` + crt + `
    bind 127.0.0.1:` + strconv.Itoa(plain) + `
    default_backend b
frontend fh
    bind 127.0.0.1:` + strconv.Itoa(over) + `
    option tcplog
    option httplog
    default_backend b
frontend fk
    bind 127.0.0.1:` + strconv.Itoa(tcpl) + `
    option httplog
    option tcplog
    default_backend b
frontend ft
    mode tcp
    bind 127.0.0.1:` + strconv.Itoa(tcpPort) + `
    default_backend bt
frontend fl
    bind 127.0.0.1:` + strconv.Itoa(lfPort) + ` ssl crt ` + crt + `
    log-format "%ST %[ssl_fc_sni] %sslv"
    option httpslog
    default_backend b
backend b
    server s 127.0.0.1:` + strconv.Itoa(srv) + `
backend bt
    mode tcp
    server s 127.0.0.1:` + strconv.Itoa(srv) + `
`
	tls12 := &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}}
	get := func(network string, port int, conf *tls.Config, uri string) {
		t.Helper()
		var c net.Conn
		var err error
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if conf != nil {
			c, err = tls.Dial("tcp", addr, conf)
		} else {
			c, err = net.Dial("tcp", addr)
		}
		if err != nil {
			t.Fatal(err)
		}
		readOne(t, c, uri)
	}
	traffic := func() {
		sni := tls12.Clone()
		sni.ServerName = "site.test"
		get("tcp", tlsPort, sni, "/a")
		get("tcp", tlsPort, tls12, "/b") // no SNI
		resumed := sni.Clone()
		resumed.ClientSessionCache = tls.NewLRUClientSessionCache(4)
		get("tcp", tlsPort, resumed, "/c")
		get("tcp", tlsPort, resumed, "/d") // a resumed session
		get("tcp", plain, nil, "/e")
		get("tcp", over, nil, "/f")
		get("tcp", tcpl, nil, "/k")
		get("tcp", tcpPort, nil, "/g")
		get("tcp", lfPort, sni, "/h")
	}
	got := loggedAsHAProxy(t, defaults, cfg, tlsPort, traffic)
	for _, s := range []string{
		`"GET /a HTTP/1.1" 0/0000000000000000/0/0/0 site.test/TLSv1.2/ECDHE-ECDSA-AES128-GCM-SHA256`,
		`"GET /d HTTP/1.1" 0/0000000000000000/0/0/1 site.test/`,
		`"GET /e HTTP/1.1" 0/-/-/-/0 -/-/-`,
	} {
		if !strings.Contains(got, s) {
			t.Errorf("no %q in dhproxy's lines:\n%s", s, got)
		}
	}
}

// TestHTTPSLogConfigAsHAProxy: "no option httpslog" is refused with its
// line, a backend's is ignored with a warning, and mode tcp falls back to
// tcplog with a warning, as haproxy 2.6 says.
func TestHTTPSLogConfigAsHAProxy(t *testing.T) {
	for _, c := range []struct {
		conf, want string
		line       int
	}{
		{"frontend f\n    mode http\n    bind 127.0.0.1:1\n    no option httpslog\n", "negation/default is not supported for option 'httpslog'", 4},
		{"frontend f\n    mode tcp\n    bind 127.0.0.1:1\n    option httpslog\n", "'option httpslog' not usable with frontend 'f' (needs 'mode http'). Falling back to 'option tcplog'.", 4},
		{"backend b\n    mode http\n    option httpslog\n    option logasap\n", "'logasap' ignored because backend 'b' has no frontend capability.", 4},
		{"frontend f\n    mode http\n    bind 127.0.0.1:1\n    option logasap x\n", "'option logasap' cannot handle unexpected argument 'x'.", 4},
	} {
		for _, path := range []string{haproxyBin, bin} {
			cfg := writeConfig(t, c.conf)
			out, _ := exec.Command(path, "-c", "-f", cfg).CombinedOutput()
			if !strings.Contains(string(out), c.want) || !strings.Contains(string(out), fmt.Sprintf("%s:%d]", cfg, c.line)) {
				t.Errorf("%s on\n%s\nsaid\n%s\nnot %q at line %d", path, c.conf, out, c.want, c.line)
			}
		}
	}
}

// wsRequest asks logBackend for a WebSocket ("/ws": a 101, then "bye"
// 300 ms later and a close).
const wsRequest = "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\nUpgrade: websocket\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

// TestLogASAPAsHAProxy: with "option logasap" an HTTP request is logged
// as soon as its response head is ready, before a slow body: Ta stops
// there and Ta, Tt and %B get a '+'; a request that got no response is
// logged at its end with the '+' as well. In mode tcp the line goes when
// the server connection is established. Early lines skip dontlognull.
// An HTTP/2 stream and a WebSocket's 101 are logged the same way.
func TestLogASAPAsHAProxy(t *testing.T) {
	srv := logBackend(t)
	port, lf, noSrv, tcpPort, h2 := freePort(t), freePort(t), freePort(t), freePort(t), freePort(t)
	defaults := []string{"option logasap", "option dontlognull"}
	cfg := `frontend fa
    bind 127.0.0.1:` + strconv.Itoa(port) + `
    option httplog
    default_backend b
frontend fl
    bind 127.0.0.1:` + strconv.Itoa(lf) + `
    log-format "%ST B=%B U=%U Td=%Td %{+Q}r"
    default_backend b
frontend f2
    bind 127.0.0.1:` + strconv.Itoa(h2) + ` proto h2
    option httplog
    default_backend b
frontend fn
    bind 127.0.0.1:` + strconv.Itoa(noSrv) + `
    option httplog
    default_backend dead
backend b
    server s 127.0.0.1:` + strconv.Itoa(srv) + `
frontend ft
    mode tcp
    bind 127.0.0.1:` + strconv.Itoa(tcpPort) + `
    option tcplog
    default_backend bt
backend dead
    retries 0
    server s 127.0.0.1:` + strconv.Itoa(freePort(t)) + `
backend bt
    mode tcp
    server s 127.0.0.1:` + strconv.Itoa(srv) + `
`
	get := func(port int, uri string) {
		t.Helper()
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		readOne(t, c, uri)
	}
	traffic := func() {
		get(port, "/slow")
		get(port, "/")
		get(port, "/chunked")
		get(lf, "/slow")
		if out, err := exec.Command("curl", "-sS", "-o", "/dev/null", "--http2-prior-knowledge", fmt.Sprintf("http://127.0.0.1:%d/slow", h2)).CombinedOutput(); err != nil {
			t.Fatalf("curl over h2: %v %s", err, out)
		}
		time.Sleep(50 * time.Millisecond)
		get(noSrv, "/none")
		ws, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		ws.SetDeadline(time.Now().Add(5 * time.Second))
		ws.Write([]byte(wsRequest))
		io.Copy(io.Discard, ws) // the 101, "bye", then the server's close
		ws.Close()
		time.Sleep(50 * time.Millisecond)
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tcpPort))
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // logged at connect: Tt does not count this
		readOne(t, c, "/tcp")
	}
	got := loggedAsHAProxy(t, defaults, cfg, port, traffic)
	if !strings.Contains(got, `/+0 200 +`) || !strings.Contains(got, ` ft bt/s 0/0/+0 +0 -- `) {
		t.Errorf("the slow body's request is not logged at its head, or the tcp connection at its connect:\n%s", got)
	}
}

// TestLogBytesConnectionAsHAProxy: %B does not count the Connection field
// the proxy writes for the client (close, keep-alive for HTTP/1.0) nor
// the server's close or keep-alive one, as haproxy's count of its HTX
// response leaves them out; a WebSocket's 101 head counts whole.
func TestLogBytesConnectionAsHAProxy(t *testing.T) {
	srv := logBackend(t)
	port, hc := freePort(t), freePort(t)
	defaults := []string{`log-format "%B %{+Q}r"`}
	cfg := `frontend fa
    bind 127.0.0.1:` + strconv.Itoa(port) + `
    default_backend b
frontend fc
    bind 127.0.0.1:` + strconv.Itoa(hc) + `
    option httpclose
    default_backend b
backend b
    server s 127.0.0.1:` + strconv.Itoa(srv) + `
`
	send := func(p int, req string) {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(time.Second))
		c.Write([]byte(req))
		io.Copy(io.Discard, c) // until the proxy closes, or the deadline
		c.Close()
		time.Sleep(50 * time.Millisecond)
	}
	traffic := func() {
		send(port, "GET /v10 HTTP/1.1\r\nHost: x\r\n\r\n")
		send(port, "GET /sclose HTTP/1.1\r\nHost: x\r\n\r\n")
		send(port, "GET /ska HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n")
		send(port, "GET /close HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		send(port, "GET /ten HTTP/1.0\r\n\r\n")
		send(port, "GET /tenka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
		send(hc, "GET /httpclose HTTP/1.1\r\nHost: x\r\n\r\n")
		send(port, wsRequest)
	}
	var logs [2]string
	for i, path := range []string{haproxyBin, bin} {
		logs[i] = strings.Join(loggedLines(t, path, defaults, cfg, port, traffic), "\n")
	}
	if logs[1] != logs[0] {
		t.Errorf("dhproxy logged\n%s\nhaproxy\n%s", logs[1], logs[0])
	}
	if strings.Count(logs[1], "51 ") != 7 || !strings.Contains(logs[1], `135 "GET /ws HTTP/1.1"`) {
		t.Errorf("not 7 answers of 51 bytes and a 101 of 132 + 3:\n%s", logs[1])
	}
}
