package check

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"dhproxy/internal/config"
	"dhproxy/internal/model"
)

// buildBackend parses a backend section (after a "defaults" with mode
// tcp) the way the proxy does and returns backend "be".
func buildBackend(t *testing.T, body string) *model.Proxy {
	t.Helper()
	text := "defaults\n    mode tcp\nbackend be\n" + body
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	var d config.Diags
	cfg := model.Build(config.Load([]string{path}, nil, &d), &d)
	if cfg == nil {
		var b bytes.Buffer
		d.Write(&b, 0)
		t.Fatalf("config refused:\n%s\n%s", b.String(), text)
	}
	return cfg.Proxy("be")
}

// sendAndClose writes data to every connection (after reading what the
// check sends, when wait is set) and closes it.
func sendAndClose(t *testing.T, data string, wait bool) string {
	return rawServer(t, func(c net.Conn) {
		defer c.Close()
		if wait {
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			c.Read(make([]byte, 512))
		}
		io.WriteString(c, data)
	})
}

// greetThenClose says "+PONG", reads one line and closes without answering.
func greetThenClose(t *testing.T) string {
	return rawServer(t, func(c net.Conn) {
		defer c.Close()
		io.WriteString(c, "+PONG\r\n")
		c.SetReadDeadline(time.Now().Add(time.Second))
		bufio.NewReader(c).ReadString('\n')
	})
}

// sendAndHold writes data and keeps the connection open.
func sendAndHold(t *testing.T, data string) string {
	return rawServer(t, func(c net.Conn) {
		io.WriteString(c, data)
		io.Copy(io.Discard, c)
	})
}

func runRules(t *testing.T, be *model.Proxy, addr string, env runEnv) Result {
	t.Helper()
	res, ok := compile(be, false).run(context.Background(), addr, timing{inter: 2 * time.Second, connect: time.Second, check: 300 * time.Millisecond}, env)
	if !ok {
		t.Fatal("run aborted")
	}
	return res
}

// The statuses and infos haproxy 2.6 reports for the same rules and
// server behaviours (checked with haproxy -db and log-health-checks).
func TestTCPCheckRuleResults(t *testing.T) {
	pong := sendAndClose(t, "+PONG\r\n", false)
	refused := closedPort(t)
	_, refusedPort, _ := net.SplitHostPort(refused)
	cases := []struct {
		name, rules, addr string
		status            Status
		info              string
	}{
		{"string", "tcp-check expect string +PONG", pong, StatusL7OK, "(tcp-check)"},
		{"string mismatch", "tcp-check expect string nope", pong, StatusL7RSP, "TCPCHK did not match content 'nope' at step 1"},
		{"inverted string", "tcp-check expect ! string PONG", pong, StatusL7RSP, "TCPCHK matched unwanted content 'PONG' at step 1"},
		{"binary", "tcp-check expect binary 2b504f4e47", pong, StatusL7OK, "(tcp-check)"},
		{"binary mismatch", "tcp-check expect binary 00ff", pong, StatusL7RSP, "TCPCHK did not match content (binary) at step 1"},
		{"rbinary", "tcp-check expect rbinary ^2B50", pong, StatusL7OK, "(tcp-check)"},
		{"rbinary mismatch", "tcp-check expect rbinary ^00", pong, StatusL7RSP, "TCPCHK did not match content (binary regex) at step 1"},
		{"rstring mismatch", `tcp-check expect rstring ^-ERR`, pong, StatusL7RSP, "TCPCHK did not match content (regex) at step 1"},
		{"inverted rstring", `tcp-check expect ! rstring ^\+P`, pong, StatusL7RSP, "TCPCHK matched unwanted content (regex) at step 1"},
		{"comment", "tcp-check comment c1\n    tcp-check expect string nope", pong, StatusL7RSP, "TCPCHK did not match content 'nope' at step 2 comment: c1"},
		{"on-error", `tcp-check expect string nope error-status L7STS on-error "no pong"`, pong, StatusL7STS, "no pong"},
		{"ok-status", `tcp-check expect string PONG ok-status L4OK on-success "pong seen"`, pong, StatusL4OK, "pong seen"},
		{"empty", "tcp-check expect string x", sendAndClose(t, "", false), StatusL7RSP, "TCPCHK got an empty response at step 1"},
		{"empty with comment", "tcp-check expect string x comment here", sendAndClose(t, "", false), StatusL7RSP, "TCPCHK got an empty response at step 1 comment: 'here'"},
		{"timeout", "tcp-check send hi\n    tcp-check expect string x", blackHole(t), StatusL7TOUT, " at step 2 of tcp-check (expect string 'x')"},
		{"tout-status", "tcp-check expect string x tout-status L6TOUT", blackHole(t), StatusL6TOUT, " at step 1 of tcp-check (expect string 'x')"},
		{"mismatch waits", `tcp-check expect rstring ^\+PONG`, sendAndHold(t, "+PO"), StatusL7TOUT, " at step 1 of tcp-check (expect regex)"},
		{"min-recv is conclusive", `tcp-check expect min-recv 3 rstring ^\+PONG`, sendAndHold(t, "+PO"), StatusL7RSP, "TCPCHK did not match content (regex) at step 1"},
		{"initial connect", "", refused, StatusL4CON, "Connection refused at initial connection step of tcp-check"},
		{"connect port", "tcp-check connect port " + refusedPort, pong, StatusL4CON, "Connection refused at step 1 of tcp-check (connect port " + refusedPort + ")"},
		{"connect only", "tcp-check connect", pong, StatusL4OK, "(tcp-check)"},
		{"ends with send", "tcp-check send x", sendAndClose(t, "", true), StatusL7OK, "(tcp-check)"},
		{"sequence", "tcp-check expect string +PONG\n    tcp-check send PING\\r\\n\n    tcp-check expect string nope", greetThenClose(t), StatusL7RSP, "TCPCHK got an empty response at step 3"},
	}
	for _, c := range cases {
		be := buildBackend(t, "    option tcp-check\n    "+c.rules+"\n")
		res := runRules(t, be, c.addr, runEnv{})
		if res.Status != c.status || res.Info != c.info {
			t.Errorf("%s: %v %q, want %v %q", c.name, res.Status, res.Info, c.status, c.info)
		}
	}
}

func TestHTTPCheckRuleResults(t *testing.T) {
	hello := replyServer(t, "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello")
	noBody := replyServer(t, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
	notFound := replyServer(t, "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n")
	chunked := replyServer(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5;x=1\r\npedia\r\n0\r\n\r\n")
	cacheCtl := replyServer(t, "HTTP/1.0 200 OK\r\nCache-Control: no-cache, private\r\nContent-Length: 0\r\n\r\n")
	cases := []struct {
		name, rules, addr string
		env               runEnv
		status            Status
		code              int
		info              string
	}{
		{"default", "", hello, runEnv{}, StatusL7OK, 200, ""},
		{"string", "http-check expect string hell", hello, runEnv{}, StatusL7OK, 200, ""},
		{"string mismatch", "http-check expect string bye", hello, runEnv{}, StatusL7RSP, 200, "HTTP content check did not match"},
		{"inverted string", "http-check expect ! string hello", hello, runEnv{}, StatusL7RSP, 200, "HTTP check matched unwanted content"},
		{"rstring", "http-check expect rstring ^h.l", hello, runEnv{}, StatusL7OK, 200, ""},
		{"no body", "http-check expect string x", noBody, runEnv{}, StatusL7RSP, 200, "HTTP content check could not find a response body"},
		{"rstatus", "http-check expect rstatus ^2", hello, runEnv{}, StatusL7OK, 200, ""},
		{"status list", "http-check expect status 300-399,404", hello, runEnv{}, StatusL7STS, 200, "OK"},
		{"inverted status", "http-check expect ! status 200", hello, runEnv{}, StatusL7STS, 200, "OK"},
		{"on-error and comment", `http-check expect status 500 on-error "wanted 500" comment c`, hello, runEnv{}, StatusL7STS, 200, "wanted 500 comment: c"},
		{"two expects", "http-check expect status 200\n    http-check expect string nope", hello, runEnv{}, StatusL7RSP, 200, "HTTP content check did not match"},
		{"404 on an up server", "http-check disable-on-404", notFound, runEnv{notDown: true}, StatusL7OKC, 404, ""},
		{"404 on a down server", "http-check disable-on-404", notFound, runEnv{}, StatusL7STS, 404, "Not Found"},
		{"refused", "", closedPort(t), runEnv{}, StatusL4CON, 0, "Connection refused"},
		{"chunked", "http-check expect string kiped", chunked, runEnv{}, StatusL7OK, 200, ""},
		{"chunked, sizes are not data", "http-check expect ! rstring ^4", chunked, runEnv{}, StatusL7OK, 200, ""},
		{"hdr name", "http-check expect hdr name content-length", hello, runEnv{}, StatusL7OK, 200, ""},
		{"hdr name sub, value", "http-check expect hdr name -m sub TENT value 5", hello, runEnv{}, StatusL7OK, 200, ""},
		{"hdr missing", "http-check expect fhdr name x-none", hello, runEnv{}, StatusL7STS, 200, "OK"},
		{"hdr element", "http-check expect hdr name cache-control value private", cacheCtl, runEnv{}, StatusL7OK, 200, ""},
		{"fhdr whole value", "http-check expect fhdr name cache-control value private", cacheCtl, runEnv{}, StatusL7STS, 200, "OK"},
		{"fhdr regex", "http-check expect fhdr name -m reg ^Cache- value -m reg ^no-cache,", cacheCtl, runEnv{}, StatusL7OK, 200, ""},
		{"inverted hdr", "http-check expect ! hdr name cache-control value -m beg no-", cacheCtl, runEnv{}, StatusL7STS, 200, "OK"},
	}
	for _, c := range cases {
		be := buildBackend(t, "    mode http\n    option httpchk\n    "+c.rules+"\n")
		res := runRules(t, be, c.addr, c.env)
		if res.Status != c.status || res.Code != c.code || res.Info != c.info {
			t.Errorf("%s: %v %d %q, want %v %d %q", c.name, res.Status, res.Code, res.Info, c.status, c.code, c.info)
		}
	}
}

// The request "http-check send" puts on the wire, over "option httpchk".
func TestHTTPCheckSendRequest(t *testing.T) {
	got := make(chan string, 4)
	addr := rawServer(t, func(c net.Conn) {
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(time.Second))
		br := bufio.NewReader(c)
		var req string
		for {
			l, err := br.ReadString('\n')
			req += l
			if err != nil || l == "\r\n" {
				break
			}
		}
		if strings.Contains(req, "content-length: 3") {
			body := make([]byte, 3)
			io.ReadFull(br, body)
			req += string(body)
		}
		got <- req
		io.WriteString(c, "HTTP/1.0 200 OK\r\n\r\n")
	})
	cases := []struct{ rules, want string }{
		{"option httpchk GET /x", "GET /x HTTP/1.0\r\n\r\n"},
		{"option httpchk GET /x\n    http-check send uri /y hdr X-A 1", "GET /y HTTP/1.0\r\nx-a: 1\r\n\r\n"},
		{"option httpchk\n    http-check send meth POST uri /p ver HTTP/1.1 hdr Host h body abc", "POST /p HTTP/1.1\r\nhost: h\r\ncontent-length: 3\r\nconnection: close\r\n\r\nabc"},
		{"option httpchk\n    http-check send ver HTTP/1.1 hdr Connection keep-alive", "OPTIONS / HTTP/1.1\r\nconnection: keep-alive\r\n\r\n"},
	}
	for _, c := range cases {
		be := buildBackend(t, "    mode http\n    "+c.rules+"\n")
		if res := runRules(t, be, addr, runEnv{}); res.Status != StatusL7OK {
			t.Errorf("%q: %v %q", c.rules, res.Status, res.Info)
		}
		if r := <-got; r != c.want {
			t.Errorf("%q sent %q, want %q", c.rules, r, c.want)
		}
	}
}

func TestParseAgentLine(t *testing.T) {
	cases := []struct {
		line   string
		rep    agentReply
		status Status
		info   string
	}{
		{"up", agentReply{health: "up", pct: -1, maxconn: -1}, StatusL7OK, "via agent : up"},
		{"UP", agentReply{health: "UP", pct: -1, maxconn: -1}, StatusL7OK, "via agent : UP"},
		{"down #disk full", agentReply{health: "down", pct: -1, maxconn: -1}, StatusL7STS, "via agent : down (disk full)"},
		{"stopped", agentReply{health: "stopped", pct: -1, maxconn: -1}, StatusL7STS, "via agent : stopped"},
		{"fail #  boom", agentReply{health: "fail", pct: -1, maxconn: -1}, StatusL7STS, "via agent : fail (boom)"},
		{"garbage up", agentReply{health: "up", pct: -1, maxconn: -1}, StatusL7OK, "via agent : up (garbage)"},
		{"up #fine", agentReply{health: "up", pct: -1, maxconn: -1}, StatusL7OK, "via agent : up (fine)"},
		{"ready,75%,maxconn:30", agentReply{admin: "ready", pct: 75, maxconn: 30, neutral: true}, StatusUnknown, ""},
		{"drain 0%", agentReply{admin: "drain", pct: 0, maxconn: -1, neutral: true}, StatusUnknown, ""},
		{"maint\tdown", agentReply{health: "down", admin: "maint", pct: -1, maxconn: -1}, StatusL7STS, "via agent : down"},
		{"foo", agentReply{pct: -1, maxconn: -1, neutral: true}, StatusUnknown, "agent reports an error : foo"},
		{"maxconn:x", agentReply{pct: -1, maxconn: -1, neutral: true}, StatusUnknown, "agent warns : maxconn string empty or preceded by garbage"},
		{"maxconn:", agentReply{pct: -1, maxconn: -1, neutral: true}, StatusUnknown, "agent warns : Require <maxconn>."},
		{"maxconn:5x up", agentReply{health: "up", pct: -1, maxconn: -1}, StatusL7OK, "via agent : up (Trailing garbage in maxconn string)"},
		{"50%x", agentReply{pct: -1, maxconn: -1, neutral: true}, StatusUnknown, "agent warns : Trailing garbage in weight string"},
		{"99999%", agentReply{pct: 25600, maxconn: -1, neutral: true}, StatusUnknown, ""},
		{"", agentReply{pct: -1, maxconn: -1, neutral: true}, StatusUnknown, ""},
		{"up 50% down", agentReply{health: "down", pct: 50, maxconn: -1}, StatusL7STS, "via agent : down"},
	}
	for _, c := range cases {
		rep, st, info := parseAgentLine(c.line)
		if rep != c.rep || st != c.status || info != c.info {
			t.Errorf("%q: %+v %v %q, want %+v %v %q", c.line, rep, st, info, c.rep, c.status, c.info)
		}
	}
}

func FuzzParseAgentLine(f *testing.F) {
	for _, s := range []string{"up", "down #x", "75%,maxconn:10 drain", "#", "%", "9%x", "maxconn:", ",,, \t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		rep, st, info := parseAgentLine(line)
		if rep.health == "" && st != StatusUnknown {
			t.Errorf("%q: status %v without a health word", line, st)
		}
		if rep.health != "" && !strings.HasPrefix(info, "via agent : ") {
			t.Errorf("%q: info %q", line, info)
		}
	})
}

// An agent's words reach the runtime through the target's callbacks, and
// an unreachable agent changes nothing.
func TestAgentCallbacks(t *testing.T) {
	agent, reply := fakeAgent(t, "drain 40% maxconn:7\n")
	_, port, _ := net.SplitHostPort(agent)
	srv := newAcceptServer(t, "")
	s := server("s1", srv.addr(), time.Second, 1, 1)
	s.Weight = 100
	fmt.Sscan(port, &s.Health.AgentPort)
	s.Health.Agent, s.Health.AgentInter = true, 30*time.Millisecond
	be := backend("be", s)
	drains := make(chan bool, 8)
	pcts := make(chan int, 8)
	maxconns := make(chan int, 8)
	ts := targetsOf(be, nil)
	ts[0].SetDrain = func(d bool) { drains <- d }
	ts[0].SetWeightPct = func(p int) { pcts <- p }
	ts[0].SetMaxconn = func(n int) { maxconns <- n }
	rec := newRecorder()
	stop := Start(ts, rec.logf)
	defer stop()
	waitVal(t, "drain", drains, true)
	waitVal(t, "weight percentage", pcts, 40)
	waitVal(t, "maxconn", maxconns, 7)
	rec.waitFor(t, "Server be/s1 enters drain state. 0 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.", 2*time.Second)
	reply("ready 100%\n")
	waitVal(t, "drain", drains, false)
	rec.waitFor(t, "Server be/s1 is UP (leaving forced drain).", 2*time.Second)
}

func waitVal[T comparable](t *testing.T, what string, ch chan T, want T) {
	t.Helper()
	deadline := time.After(3 * time.Second)
	for {
		select {
		case v := <-ch:
			if v == want {
				return
			}
		case <-deadline:
			t.Fatalf("%s never became %v", what, want)
		}
	}
}

// A TLS server answers the SSLv3 hello with an alert or a handshake: the
// check passes at layer 6; a plain HTTP server does not.
func TestSSLHelloCheck(t *testing.T) {
	cert := selfSigned(t)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); c.(*tls.Conn).Handshake() }()
		}
	}()
	be := buildBackend(t, "    option ssl-hello-chk\n")
	if res := runRules(t, be, l.Addr().String(), runEnv{}); res.Status != StatusL6OK || res.Info != "" {
		t.Errorf("TLS server: %v %q, want L6OK", res.Status, res.Info)
	}
	plain := sendAndClose(t, "HTTP/1.1 400 Bad Request\r\n\r\n", true)
	if res := runRules(t, be, plain, runEnv{}); res.Status != StatusL6RSP {
		t.Errorf("plain server: %v %q, want L6RSP", res.Status, res.Info)
	}
	if res := runRules(t, be, blackHole(t), runEnv{}); res.Status != StatusL6TOUT {
		t.Errorf("silent server: %v %q, want L6TOUT", res.Status, res.Info)
	}
	if h := sslClientHello(time.Unix(0, 0)); len(h) != 5+0x79 || h[0] != 0x16 || h[5] != 0x01 {
		t.Errorf("hello record of %d bytes: % x", len(h), h[:6])
	}
}

func selfSigned(t *testing.T) tls.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "check"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// check-send-proxy: the check connection starts with a PROXY v1 line.
func TestCheckSendProxy(t *testing.T) {
	got := make(chan string, 1)
	addr := rawServer(t, func(c net.Conn) {
		defer c.Close()
		c.SetReadDeadline(time.Now().Add(time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		select {
		case got <- line:
		default:
		}
	})
	s := server("s1", addr, time.Second, 1, 1)
	s.Health.SendProxy = true
	be := backend("be", s)
	stop := Start(targetsOf(be, nil), nil)
	defer stop()
	select {
	case line := <-got:
		_, port, _ := net.SplitHostPort(addr)
		if !strings.HasPrefix(line, "PROXY TCP4 127.0.0.1 127.0.0.1 ") || !strings.HasSuffix(line, " "+port+"\r\n") {
			t.Errorf("first line %q, want a PROXY TCP4 header to port %s", line, port)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no check connection")
	}
}

// After error-limit consecutive errors, on-error decides: mark-down takes
// the server down at once, fail-check counts one failed check,
// sudden-death leaves it one failure from down.
func TestPassiveOnError(t *testing.T) {
	for _, c := range []struct {
		onError string
		want    []string
	}{
		{"mark-down", []string{
			`notice: Health check for server be/s1 failed, reason: Health analyze, info: "Detected 3 consecutive errors, last one was: L4 unsuccessful connection", status: 0/2 DOWN.`,
			`alert: Server be/s1 is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`,
			`emerg: backend be has no server available!`,
		}},
		{"fail-check", []string{
			`notice: Health check for server be/s1 failed, reason: Health analyze, info: "Detected 3 consecutive errors, last one was: L4 unsuccessful connection", status: 2/3 UP.`,
		}},
		{"sudden-death", []string{
			`notice: Health check for server be/s1 failed, reason: Health analyze, info: "Detected 3 consecutive errors, last one was: L4 unsuccessful connection", status: 1/3 UP.`,
		}},
	} {
		srv := newAcceptServer(t, "")
		s := server("s1", srv.addr(), time.Hour, 2, 3)
		s.Health.Observe, s.Health.ErrorLimit, s.Health.OnError = "layer4", 3, c.onError
		be := backend("be", s)
		be.Options["log-health-checks"] = true
		ts := targetsOf(be, nil)
		ts[0].Passive = NewPassive(s)
		rec := newRecorder()
		stop := Start(ts, rec.logf)
		rec.waitFor(t, "status: 3/3 UP.", 2*time.Second) // the first check
		p := ts[0].Passive
		p.Report(OutcomeL4Error)
		p.Report(OutcomeL4OK) // a success resets the count
		for i := 0; i < 3; i++ {
			p.Report(OutcomeL4Error)
		}
		rec.waitFor(t, "Health analyze", 2*time.Second)
		time.Sleep(50 * time.Millisecond)
		stop()
		got := rec.normalized()[1:]
		if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
			t.Errorf("%s:\n%s\nwant:\n%s", c.onError, strings.Join(got, "\n"), strings.Join(c.want, "\n"))
		}
	}
}

// Layer 7 observation ignores connection successes and counts 5xx, except
// 501 and 505; a good response resets the count.
func TestPassiveLayers(t *testing.T) {
	srv := newAcceptServer(t, "")
	s := server("s1", srv.addr(), time.Hour, 2, 3)
	s.Health = model.ServerHealth{Observe: "layer7", ErrorLimit: 2, OnError: "fail-check"}
	be := backend("be", s)
	be.Options["log-health-checks"] = true
	ts := targetsOf(be, nil)
	p := NewPassive(s)
	ts[0].Passive = p
	rec := newRecorder()
	stop := Start(ts, rec.logf)
	defer stop()
	rec.waitFor(t, "status: 3/3 UP.", 2*time.Second)
	p.Report(HTTPOutcome(500))
	p.Report(OutcomeL4OK)
	p.Report(HTTPOutcome(503))
	i := rec.waitFor(t, `info: "Detected 2 consecutive errors, last one was: Wrong http response", status: 2/3 UP.`, 2*time.Second)
	p.Report(HTTPOutcome(501))
	p.Report(HTTPOutcome(505))
	p.Report(HTTPOutcome(502))
	p.Report(HTTPOutcome(404))
	p.Report(OutcomeHTTPReadTimeout)
	if got := rec.normalized(); len(got) != i+1 {
		t.Errorf("501, 505 and 404 are not errors, and 404 resets the count, yet: %q", got[i+1:])
	}
	p.Report(OutcomeHTTPBrokenPipe)
	rec.waitForAfter(t, i, `info: "Detected 2 consecutive errors, last one was: Close from server (http)", status: 1/3 UP.`, 2*time.Second)
	if NewPassive(&model.Server{Health: model.ServerHealth{Observe: "layer4"}}) != nil {
		t.Error("observe without check should not observe")
	}
}

// Maintenance pauses the health check; leaving it, the server is up until
// its first failed check, as in HAProxy.
func TestAgentMaintenancePausesChecks(t *testing.T) {
	agent, reply := fakeAgent(t, "up\n")
	_, port, _ := net.SplitHostPort(agent)
	s := server("s1", closedPort(t), 40*time.Millisecond, 1, 1)
	fmt.Sscan(port, &s.Health.AgentPort)
	s.Health.Agent, s.Health.AgentInter = true, 20*time.Millisecond
	be := backend("be", s)
	rec := newRecorder()
	stop := Start(targetsOf(be, nil), rec.logf)
	defer stop()
	rec.waitFor(t, "Server be/s1 is DOWN, reason: Layer4 connection problem", 2*time.Second)
	reply("maint\n")
	rec.waitFor(t, "Server be/s1 was DOWN and now enters maintenance.", 2*time.Second)
	n := len(rec.normalized())
	time.Sleep(200 * time.Millisecond) // several check intervals
	if got := rec.normalized(); len(got) != n {
		t.Errorf("checks ran during maintenance: %q", got[n:])
	}
	reply("ready\n")
	i := rec.waitFor(t, "Server be/s1 is UP/READY (leaving forced maintenance).", 2*time.Second)
	rec.waitForAfter(t, i, "Server be/s1 is DOWN, reason: Layer4 connection problem", 2*time.Second)
}

// fakeAgent answers every connection with the current reply and closes.
func fakeAgent(t *testing.T, first string) (addr string, set func(string)) {
	var cur atomic.Value
	cur.Store(first)
	addr = rawServer(t, func(c net.Conn) {
		defer c.Close()
		io.WriteString(c, cur.Load().(string))
	})
	return addr, func(s string) { cur.Store(s) }
}

// After error-limit errors the next check comes after fastinter, whatever
// on-error says (here the default, fastinter, which does nothing else).
func TestPassiveBringsCheckSooner(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	arrivals := &arrivalLog{}
	s := server("s1", httpStatusServer(t, &status, arrivals), time.Hour, 2, 3)
	s.FastInter = 50 * time.Millisecond
	s.Health = model.ServerHealth{Observe: "layer4", ErrorLimit: 2}
	be := backend("be", s)
	be.Options["httpchk"] = true
	ts := targetsOf(be, nil)
	ts[0].Passive = NewPassive(s)
	rec := newRecorder()
	stop := Start(ts, rec.logf)
	defer stop()
	arrivals.waitCount(t, 0, 200, 1, 2*time.Second)
	ts[0].Passive.Report(OutcomeL4Error)
	time.Sleep(200 * time.Millisecond)
	if n := len(arrivals.get()); n != 1 {
		t.Fatalf("%d checks after one error, want still 1 (the limit is 2)", n)
	}
	start := time.Now()
	ts[0].Passive.Report(OutcomeL4Error)
	arrivals.waitCount(t, 1, 200, 1, 2*time.Second)
	within(t, "next check after the limit", time.Since(start), 0, time.Second)
	if got := rec.normalized(); len(got) != 0 {
		t.Errorf("fastinter logs nothing, got %q", got)
	}
}

// A connect rule goes to its own address and port, else the check's.
func TestConnectRuleTarget(t *testing.T) {
	cases := []struct {
		r    rule
		want string
	}{
		{rule{}, "127.0.0.1:80"},
		{rule{port: 81}, "127.0.0.1:81"},
		{rule{host: "127.0.0.2"}, "127.0.0.2:80"},
		{rule{host: "127.0.0.2:82"}, "127.0.0.2:82"},
		{rule{host: "127.0.0.2:82", port: 83}, "127.0.0.2:83"},
		{rule{host: "::1", port: 84}, "[::1]:84"},
	}
	for _, c := range cases {
		if got := c.r.target("127.0.0.1:80"); got != c.want {
			t.Errorf("%+v: %s, want %s", c.r, got, c.want)
		}
	}
	// a UNIX socket's port changes nothing, as in haproxy; an address does
	if got := (rule{port: 81}).target("unix@/run/a.sock"); got != "unix@/run/a.sock" {
		t.Errorf("port of a socket: %s", got)
	}
	if got := (rule{host: "127.0.0.2", port: 81}).target("unix@/run/a.sock"); got != "127.0.0.2:81" {
		t.Errorf("address for a socket: %s", got)
	}
	if got := (rule{host: "unix@b.sock", port: 81}).target("127.0.0.1:80"); got != "unix@b.sock" {
		t.Errorf("connect addr to a socket: %s", got)
	}
}

func FuzzDechunk(f *testing.F) {
	for _, s := range []string{"4\r\nwiki\r\n0\r\n\r\n", "5;x=1\r\npedia\r\n", "0\r\n", "z\r\n", "ffffffff\r\nab", "3\nabc\n0\n\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		data, _ := dechunkState(b)
		if len(data) > len(b) {
			t.Errorf("%q: %d bytes of data from %d", b, len(data), len(b))
		}
	})
}

// The X-Haproxy-Server-State values of the states e2e tests do not reach.
func TestServerStateHeader(t *testing.T) {
	s1 := server("s1", "10.0.0.1:80", time.Second, 2, 3)
	s1.Weight = 20
	s2 := server("s2", "10.0.0.2:80", time.Second, 2, 3)
	s2.Weight = 30
	be := backend("be", s1, s2)
	g := newGroup(be)
	m := g.member(s1)
	m.t = Target{Proxy: "be", Server: "s1", Node: "lb1", BackendConns: func() int { return 7 }, Sessions: func() (int, int) { return 3, 1 }}
	c := &checker{rise: 2, fall: 3, health: 4, g: g, m: m}
	m.check = c
	tail := "; address=10.0.0.1; port=80; name=be/s1; node=lb1; weight=%s; scur=3/7; qcur=1"
	for _, step := range []struct {
		set  func()
		want string
	}{
		{func() {}, "UP" + fmt.Sprintf(tail, "20/50")},
		{func() { m.stopping = true }, "NOLB" + fmt.Sprintf(tail, "20/30")},
		{func() { c.health = 3 }, "NOLB 2/3" + fmt.Sprintf(tail, "20/30")},
		{func() { m.stopping, m.drain = false, true }, "UP 2/3" + fmt.Sprintf(tail, "0/30")},
		{func() { m.drain, m.weightPct = false, 50 }, "UP 2/3" + fmt.Sprintf(tail, "10/40")},
		{func() { m.running, c.health = false, 1 }, "DOWN 1/2" + fmt.Sprintf(tail, "10/30")},
		{func() { c.health = 0 }, "DOWN" + fmt.Sprintf(tail, "10/30")},
		// haproxy names a UNIX socket "unix", with no port
		{func() { m.conf.Addr, m.conf.Unix = "/run/a.sock:80", true }, "DOWN" + strings.Replace(fmt.Sprintf(tail, "10/30"), "address=10.0.0.1; port=80", "address=unix; port=", 1)},
	} {
		step.set()
		if got := c.serverState(); got != step.want {
			t.Errorf("got  %s\nwant %s", got, step.want)
		}
	}
}
