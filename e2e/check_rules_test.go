package e2e

// tcp-check and http-check rule sequences, disable-on-404, agent-check,
// passive observation and shutdown-sessions, each against real backends
// written in the test, with the lines HAProxy 2.6 prints for the same
// scenarios (run with DHPROXY_BIN=/usr/sbin/haproxy to check them).

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// lineServer is a small redis-like server: it greets with "+OK ready",
// answers "PING" with "+PONG" while healthy, and with "-ERR busy" then
// closes while not.
type lineServer struct {
	l       net.Listener
	healthy atomic.Bool
	pings   atomic.Int64
}

var durations = regexp.MustCompile(`check duration: \d+ms`)

func startLineServer(t *testing.T) *lineServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &lineServer{l: l}
	s.healthy.Store(true)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return s
}

func (s *lineServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "+OK ready\r\n")
	r := bufio.NewReader(c)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if strings.TrimSpace(line) != "PING" {
			io.WriteString(c, "-ERR unknown command\r\n")
			continue
		}
		s.pings.Add(1)
		if !s.healthy.Load() {
			io.WriteString(c, "-ERR busy\r\n")
			return
		}
		io.WriteString(c, "+PONG\r\n")
	}
}

func (s *lineServer) port() int { return s.l.Addr().(*net.TCPAddr).Port }

func TestTCPCheckSequence(t *testing.T) {
	srv := startLineServer(t)
	closed := freePort(t)
	port := freePort(t)
	cfg := defaultsSection("tcp", "1s", "5s", "5s", "retries 0") + fmt.Sprintf(`
frontend f
    bind 127.0.0.1:%d
    default_backend be
backend be
    option tcp-check
    tcp-check comment greeting
    tcp-check expect string +OK
    tcp-check send PING\r\n
    tcp-check expect string +PONG
    server kv 127.0.0.1:%d check inter 200 rise 2 fall 2
backend be2
    option tcp-check
    tcp-check comment other-port
    tcp-check connect port %d
    tcp-check send PING\r\n
    server kv2 127.0.0.1:%d check inter 200 rise 1 fall 1
`, port, srv.port(), closed, srv.port())
	p := startProxy(t, cfg, port)

	hcWaitStderr(t, p, hcLine("WARNING", fmt.Sprintf(`Server be2/kv2 is DOWN, reason: Layer4 connection problem, info: "Connection refused at step 2 of tcp-check (connect port %d) comment: 'other-port'", check duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`, closed)), 5*time.Second)
	deadline := time.Now().Add(5 * time.Second)
	for srv.pings.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the server got %d PINGs in 5s; stderr:\n%s", srv.pings.Load(), p.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.healthy.Store(false)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/kv is DOWN, reason: Layer7 invalid response, info: "TCPCHK did not match content '+PONG' at step 4", check duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
	srv.healthy.Store(true)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/kv is UP, reason: Layer7 check passed, code: 0, info: "(tcp-check)", check duration: Nms. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`), 5*time.Second)
}

// A mismatch without min-recv waits for more data: a server that keeps the
// connection open times the check out, with the step it was waiting at.
func TestTCPCheckExpectTimeout(t *testing.T) {
	_, l := serveTCP(t, func(c net.Conn) {
		io.WriteString(c, "220 hello\r\n")
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		io.Copy(io.Discard, c)
	})
	port := freePort(t)
	cfg := defaultsSection("tcp", "1s", "5s", "5s", "retries 0", "timeout check 300ms") + fmt.Sprintf(`
frontend f
    bind 127.0.0.1:%d
    default_backend be
backend be
    option tcp-check
    tcp-check expect rstring ^220
    tcp-check expect string READY comment "wants READY"
    server s 127.0.0.1:%d check inter 200 rise 1 fall 1
`, port, l.Addr().(*net.TCPAddr).Port)
	p := startProxy(t, cfg, port)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/s is DOWN, reason: Layer7 timeout, info: " at step 2 of tcp-check (expect string 'READY') comment: 'wants READY'", check duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
}

// healthBackend serves "/health" with a settable status and body, records
// the check requests, and answers other paths with its name.
type healthBackend struct {
	*hcBackend
	status   atomic.Int32
	body     atomic.Value
	mu       sync.Mutex
	lastReq  string
	lastHost string
	checks   atomic.Int64
}

func startHealthBackend(t *testing.T, name string) *healthBackend {
	hb := &healthBackend{}
	hb.status.Store(200)
	hb.body.Store("all ok")
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		hb.mu.Lock()
		hb.lastReq, hb.lastHost = r.Method+" "+r.RequestURI+" "+r.Proto, r.Host
		hb.mu.Unlock()
		hb.checks.Add(1)
		w.WriteHeader(int(hb.status.Load()))
		io.WriteString(w, hb.body.Load().(string))
	})
	mux.Handle("/", backendHandler(name))
	hb.hcBackend = hcStartBackend(t, name, mux)
	return hb
}

func (hb *healthBackend) waitChecks(t *testing.T, p *proc, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for hb.checks.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%s got %d health checks in 5s; stderr:\n%s", hb.name, hb.checks.Load(), p.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestHTTPCheckSendExpect(t *testing.T) {
	web1 := startHealthBackend(t, "web1")
	web2 := hcStartBackend(t, "web2", nil)
	port := freePort(t)
	p := startProxy(t, hcConfig(port, `    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host health.example
    http-check expect status 200-299
    http-check expect ! string degraded
`, web1.hcBackend, web2), port)
	web1.waitChecks(t, p, 2)
	web1.mu.Lock()
	req, host := web1.lastReq, web1.lastHost
	web1.mu.Unlock()
	if req != "GET /health HTTP/1.1" || host != "health.example" {
		t.Errorf("check request %q Host %q, want GET /health HTTP/1.1 and health.example", req, host)
	}

	web1.body.Store("degraded: disk")
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is DOWN, reason: Layer7 invalid response, info: "HTTP check matched unwanted content", check duration: Nms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
	if seen := hcRequests(t, port, 10); seen["web2"] != 10 {
		t.Errorf("with web1 down, traffic went to %v", seen)
	}
	web1.body.Store("all ok")
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is UP, reason: Layer7 check passed, code: 200, check duration: Nms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`), 5*time.Second)
	web1.status.Store(503)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is DOWN, reason: Layer7 wrong status, code: 503, info: "Service Unavailable", check duration: Nms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
}

// Two sequences: the second connects to another port and checks its own
// request; either failing takes the server down.
func TestHTTPCheckTwoSequences(t *testing.T) {
	web1 := startHealthBackend(t, "web1")
	admin := startHealthBackend(t, "admin")
	port := freePort(t)
	p := startProxy(t, hcConfig(port, fmt.Sprintf(`    option httpchk
    http-check connect
    http-check send meth GET uri /health
    http-check expect status 200
    http-check connect port %d
    http-check send meth HEAD uri /health
    http-check expect rstatus ^2
`, admin.port), web1.hcBackend), port)
	admin.waitChecks(t, p, 2)
	web1.waitChecks(t, p, 2)
	admin.mu.Lock()
	req := admin.lastReq
	admin.mu.Unlock()
	if req != "HEAD /health HTTP/1.0" {
		t.Errorf("second request %q, want HEAD /health HTTP/1.0", req)
	}
	admin.status.Store(500)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is DOWN, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
}

// disable-on-404: a 404 puts the server in NOLB: it keeps the sessions
// that persist on it (cookie), new sessions go elsewhere.
func TestHTTPCheckDisableOn404(t *testing.T) {
	web1 := startHealthBackend(t, "web1")
	web2 := hcStartBackend(t, "web2", nil)
	port := freePort(t)
	cfg := defaultsSection("http", "1s", "5s", "5s", "retries 0") + fmt.Sprintf(`
frontend f
    bind 127.0.0.1:%d
    default_backend be
backend be
    option httpchk GET /health
    http-check disable-on-404
    cookie SRV insert indirect nocache
    server web1 127.0.0.1:%d cookie w1 check inter 200 rise 2 fall 2
    server web2 127.0.0.1:%d cookie w2 check inter 200 rise 2 fall 2
`, port, web1.port, web2.port)
	p := startProxy(t, cfg, port)
	web1.waitChecks(t, p, 2)

	web1.status.Store(404)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is stopping, reason: Layer7 check conditionally passed, code: 404, check duration: Nms. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`), 5*time.Second)
	if seen := hcRequests(t, port, 10); seen["web2"] != 10 {
		t.Errorf("with web1 stopping, new traffic went to %v, want web2 only", seen)
	}
	for i := 0; i < 5; i++ {
		body, err := curl(t, "-b", "SRV=w1", fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil || body != "web1" {
			t.Fatalf("persistent request %d went to %q (%v), want web1", i, body, err)
		}
	}
	web1.status.Store(200)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is UP, reason: Layer7 check passed, code: 200, check duration: Nms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`), 5*time.Second)
	if seen := hcRequests(t, port, 10); seen["web1"] == 0 {
		t.Errorf("with web1 back, traffic went to %v", seen)
	}
}

// agentServer answers every connection with the current reply.
type agentServer struct {
	l     net.Listener
	reply atomic.Value
	conns atomic.Int64
}

func startAgent(t *testing.T, reply string) *agentServer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := &agentServer{l: l}
	a.reply.Store(reply)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			a.conns.Add(1)
			io.WriteString(c, a.reply.Load().(string))
			c.Close()
		}
	}()
	return a
}

func (a *agentServer) port() int { return a.l.Addr().(*net.TCPAddr).Port }

// set changes the reply and waits until the agent served it twice, so that
// the proxy has read it.
func (a *agentServer) set(t *testing.T, reply string) {
	t.Helper()
	a.reply.Store(reply)
	n := a.conns.Load()
	deadline := time.Now().Add(5 * time.Second)
	for a.conns.Load() < n+2 {
		if time.Now().After(deadline) {
			t.Fatalf("the agent was not asked again within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestAgentCheck(t *testing.T) {
	web1 := hcStartBackend(t, "web1", nil)
	web2 := hcStartBackend(t, "web2", nil)
	agent := startAgent(t, "up\n")
	port := freePort(t)
	cfg := defaultsSection("http", "1s", "5s", "5s", "retries 0") + fmt.Sprintf(`
frontend f
    bind 127.0.0.1:%d
    default_backend be
backend be
    server web1 127.0.0.1:%d check inter 200 weight 100 agent-check agent-port %d agent-inter 100
    server web2 127.0.0.1:%d check inter 200 weight 100
`, port, web1.port, agent.port(), web2.port)
	p := startProxy(t, cfg, port)
	agent.set(t, "up\n")
	hcSettle()

	agent.reply.Store("drain\n")
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 enters drain state. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`), 5*time.Second)
	if seen := hcRequests(t, port, 10); seen["web2"] != 10 {
		t.Errorf("with web1 drained, traffic went to %v", seen)
	}
	agent.reply.Store("ready\n")
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is UP (leaving forced drain).`), 5*time.Second)

	agent.reply.Store("maint\n")
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is going DOWN for maintenance. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
	if seen := hcRequests(t, port, 10); seen["web2"] != 10 {
		t.Errorf("with web1 in maintenance, traffic went to %v", seen)
	}
	agent.reply.Store("ready up\n")
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is UP/READY (leaving forced maintenance).`), 5*time.Second)

	agent.reply.Store("down #disk full\n")
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is DOWN, reason: Layer7 wrong status, code: 0, info: "via agent : down (disk full)", check duration: Nms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
	if seen := hcRequests(t, port, 10); seen["web2"] != 10 {
		t.Errorf("with web1 down by its agent, traffic went to %v", seen)
	}
	agent.reply.Store("up 50%\n")
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is UP, reason: Layer7 check passed, code: 0, info: "via agent : up", check duration: Nms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`), 5*time.Second)
	if seen := hcRequests(t, port, 20); seen["web1"] == 0 {
		t.Errorf("with web1 up at 50%%, traffic went to %v", seen)
	}
	// An agent that cannot be reached does not take the server down.
	agent.l.Close()
	time.Sleep(500 * time.Millisecond)
	if strings.Count(p.Stderr(), "is DOWN") != 1 {
		t.Errorf("an unreachable agent changed the state:\n%s", p.Stderr())
	}
}

// observe layer7: the health check passes, but real requests get 500s;
// after error-limit of them, on-error mark-down takes the server down.
func TestObserveLayer7MarkDown(t *testing.T) {
	var fail atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if fail.Load() {
			w.WriteHeader(500)
			return
		}
		io.WriteString(w, "web1")
	})
	web1 := hcStartBackend(t, "web1", mux)
	port := freePort(t)
	cfg := defaultsSection("http", "1s", "5s", "5s", "retries 0", "retries 0") + fmt.Sprintf(`
frontend f
    bind 127.0.0.1:%d
    default_backend be
backend be
    option httpchk GET /health
    server web1 127.0.0.1:%d check inter 10s rise 2 fall 3 observe layer7 error-limit 3 on-error mark-down
`, port, web1.port)
	p := startProxy(t, cfg, port)
	fail.Store(true)
	for i := 0; i < 3; i++ {
		out, _ := curl(t, "-o", "/dev/null", "-w", "%{http_code}", fmt.Sprintf("http://127.0.0.1:%d/", port))
		if out != "500" {
			t.Fatalf("request %d: %q, want the server's 500", i, out)
		}
	}
	hcWaitStderr(t, p, `(?m)^\[WARNING\]\s+\(\d+\) : Server be/web1 is DOWN, reason: Health analyze, info: "Detected 3 consecutive errors, last one was: Wrong http response"\. 0 active and 0 backup servers left\. \d+ sessions active, 0 requeued, 0 remaining in queue\.$`, 5*time.Second)
	out, _ := curl(t, "-o", "/dev/null", "-w", "%{http_code}", fmt.Sprintf("http://127.0.0.1:%d/", port))
	if out != "503" {
		t.Errorf("after mark-down: %q, want 503", out)
	}
}

// dialEcho opens a session through the proxy and checks it echoes.
func dialEcho(t *testing.T, port int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, "hi\n")
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	buf := make([]byte, 3)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hi\n" {
		t.Fatalf("echo through the proxy: %q, %v", buf, err)
	}
	return c
}

// closedWithin tells whether the peer closed c within d.
func closedWithin(c net.Conn, d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := c.Read(make([]byte, 1))
	return err == io.EOF || (err != nil && !isTimeoutErr(err))
}

func isTimeoutErr(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// on-marked-down shutdown-sessions closes the sessions of a server the
// checks take down; without it they continue.
func TestShutdownSessionsOnMarkedDown(t *testing.T) {
	echo1, echo2 := startTCPEcho(t), startTCPEcho(t)
	hc1 := startAgent(t, "") // a health port the test can close
	hc2 := startAgent(t, "")
	port := freePort(t)
	port2 := freePort(t)
	cfg := defaultsSection("tcp", "1s", "30s", "30s", "retries 0") + fmt.Sprintf(`
frontend f
    bind 127.0.0.1:%d
    default_backend be
frontend f2
    bind 127.0.0.1:%d
    default_backend be2
backend be
    server s1 127.0.0.1:%d check port %d inter 100 rise 1 fall 1 on-marked-down shutdown-sessions
backend be2
    server s2 127.0.0.1:%d check port %d inter 100 rise 1 fall 1
`, port, port2, echo1, hc1.port(), echo2, hc2.port())
	p := startProxy(t, cfg, port, port2)
	c1 := dialEcho(t, port)
	c2 := dialEcho(t, port2)
	hc1.l.Close()
	hc2.l.Close()
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/s1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms. 0 active and 0 backup servers left. 1 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be2/s2 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms. 0 active and 0 backup servers left. 1 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
	if !closedWithin(c1, 2*time.Second) {
		t.Errorf("the session on s1 (shutdown-sessions) stayed open after s1 went down")
	}
	if closedWithin(c2, 300*time.Millisecond) {
		t.Errorf("the session on s2 (no shutdown-sessions) was closed")
	}
}

// on-marked-up shutdown-backup-sessions: when the active server comes back,
// the sessions that went to the backup meanwhile are closed.
func TestShutdownBackupSessionsOnMarkedUp(t *testing.T) {
	echoA, echoB := startTCPEcho(t), startTCPEcho(t)
	// The check goes to an address no other test listens on: a port freed
	// on 127.0.0.1 could be taken again by another test's server (or be a
	// check's own source port) and make the first check pass.
	const hcAddr = "127.0.0.77"
	hcPort := freePort(t)
	port := freePort(t)
	cfg := defaultsSection("tcp", "1s", "30s", "30s", "retries 0") + fmt.Sprintf(`
frontend f
    bind 127.0.0.1:%d
    default_backend be
backend be
    server act 127.0.0.1:%d check addr `+hcAddr+` port %d inter 100 rise 1 fall 1 on-marked-up shutdown-backup-sessions
    server bck 127.0.0.1:%d check inter 100 backup
`, port, echoA, hcPort, echoB)
	p := startProxy(t, cfg, port)
	// The readiness probe's session may still be counted: \d+ sessions.
	hcWaitStderr(t, p, strings.Replace(hcLine("WARNING", `Server be/act is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms. 0 active and 1 backup servers left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.`), ` 0 sessions`, ` \d+ sessions`, 1), 5*time.Second)
	c := dialEcho(t, port)
	l, err := net.Listen("tcp", hcAddr+":"+strconv.Itoa(hcPort))
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
			c.Close()
		}
	}()
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/act is UP, reason: Layer4 check passed, check duration: Nms. 1 active and 1 backup servers online. 0 sessions requeued, 0 total in queue.`), 5*time.Second)
	if !closedWithin(c, 2*time.Second) {
		t.Errorf("the session on the backup stayed open after the active server came back")
	}
}

// With log-health-checks, each agent result that changes something gets
// its "Agent check for server" line, and the state lines lose their reason.
func TestAgentCheckLogHealthChecks(t *testing.T) {
	web := hcStartBackend(t, "web", nil)
	agent := startAgent(t, "up\n")
	port := freePort(t)
	cfg := defaultsSection("http", "1s", "5s", "5s", "retries 0") + fmt.Sprintf(`
frontend f
    bind 127.0.0.1:%d
    default_backend be
backend be
    option log-health-checks
    server s 127.0.0.1:%d check inter 300 rise 1 fall 1 weight 100 agent-check agent-port %d agent-inter 100
`, port, web.port, agent.port())
	p := startProxy(t, cfg, port)
	agent.set(t, "up\n")
	agent.set(t, "fail #boom\n")
	hcWaitStderr(t, p, hcLine("ALERT", `backend 'be' has no server available!`), 5*time.Second)
	agent.set(t, "up garbage\n")
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/s is UP. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`), 5*time.Second)
	agent.l.Close()
	hcWaitStderr(t, p, hcLine("WARNING", `Agent check for server be/s failed, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms, status: 1/1 UP.`), 5*time.Second)

	var lines []string
	for _, l := range strings.Split(p.Stderr(), "\n") {
		if strings.Contains(l, "be/s ") || strings.Contains(l, "'be'") {
			_, text, _ := strings.Cut(l, " : ")
			lines = append(lines, durations.ReplaceAllString(text, "check duration: Nms"))
		}
	}
	want := []string{
		`Agent check for server be/s succeeded, reason: Layer7 check passed, code: 0, info: "via agent : up", check duration: Nms, status: 1/1 UP.`,
		`Agent check for server be/s failed, reason: Layer7 wrong status, code: 0, info: "via agent : fail (boom)", check duration: Nms, status: 0/1 DOWN.`,
		`Server be/s is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`,
		`backend 'be' has no server available!`,
		`Agent check for server be/s succeeded, reason: Layer7 check passed, code: 0, info: "via agent : up (garbage)", check duration: Nms, status: 1/1 UP.`,
		`Server be/s is UP. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`,
		`Agent check for server be/s failed, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms, status: 1/1 UP.`,
	}
	// The health check's own first line may come before or after the
	// agent's first; leave it out.
	var got []string
	for _, l := range lines {
		if !strings.HasPrefix(l, "Health check for") {
			got = append(got, l)
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// option ssl-hello-chk: a TLS server answers the SSLv3 hello with a TLS
// record (here an alert: Go refuses SSLv3) and passes at layer 6; a server
// speaking something else fails with "Layer6 invalid response".
func TestSSLHelloCheck(t *testing.T) {
	tlsPort := tlsServer(t)
	plain := sendAndCloseServer(t, "HTTP/1.1 400 Bad Request\r\n\r\n")
	port := freePort(t)
	cfg := defaultsSection("tcp", "1s", "5s", "5s", "retries 0") + fmt.Sprintf(`
frontend f
    bind 127.0.0.1:%d
    default_backend be
backend be
    option ssl-hello-chk
    option log-health-checks
    server tls 127.0.0.1:%d check inter 200 rise 1 fall 1
    server plain 127.0.0.1:%d check inter 200 rise 1 fall 1
`, port, tlsPort, plain)
	p := startProxy(t, cfg, port)
	hcWaitStderr(t, p, hcLine("WARNING", `Health check for server be/tls succeeded, reason: Layer6 check passed, check duration: Nms, status: 1/1 UP.`), 5*time.Second)
	hcWaitStderr(t, p, hcLine("WARNING", `Health check for server be/plain failed, reason: Layer6 invalid response, check duration: Nms, status: 0/1 DOWN.`), 5*time.Second)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/plain is DOWN. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
}

func tlsServer(t *testing.T) int {
	cfg := &tls.Config{Certificates: []tls.Certificate{selfSignedTLS(t, "check")}}
	return h1StartRawBackend(t, func(c net.Conn) {
		tc := tls.Server(c, cfg)
		tc.Handshake()
		tc.Close()
	})
}

// sendAndCloseServer reads what comes (briefly), answers data and closes.
func sendAndCloseServer(t *testing.T, data string) int {
	return h1StartRawBackend(t, func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		c.Read(make([]byte, 1024))
		io.WriteString(c, data)
	})
}

// Health events go to the backend's own log targets: a backend with "log
// global" sends them to the global syslog target, one without sends none.
func TestHealthEventsGoToBackendLogs(t *testing.T) {
	logPort, next := udpLogExact(t)
	dead := freePort(t)
	port := freePort(t)
	cfg := fmt.Sprintf(`
global
    log 127.0.0.1:%d local0`, logPort) + defaultsSection("http", "1s", "5s", "5s", "retries 0") + fmt.Sprintf(`
frontend f
    bind 127.0.0.1:%d
    default_backend quiet
backend quiet
    server s1 127.0.0.1:%d check inter 200 rise 1 fall 1
backend logged
    log global
    server s2 127.0.0.1:%d check inter 200 rise 1 fall 1
`, port, dead, dead)
	p := startProxy(t, cfg, port)
	hcWaitStderr(t, p, hcLine("ALERT", `backend 'quiet' has no server available!`), 5*time.Second)
	hcWaitStderr(t, p, hcLine("ALERT", `backend 'logged' has no server available!`), 5*time.Second)
	wantDown := regexp.MustCompile(`^<129>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+\[\d+\]: Server logged/s2 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: \d+ms\. 0 active and 0 backup servers left\. 0 sessions active, 0 requeued, 0 remaining in queue\.\n?$`)
	wantEmerg := regexp.MustCompile(`^<128>\w{3} [ \d]\d \d\d:\d\d:\d\d \S+\[\d+\]: backend logged has no server available!\n?$`)
	deadline := time.Now().Add(3 * time.Second)
	var lines []string
	for down, emerg := false, false; !down || !emerg; {
		l, ok := next(time.Until(deadline))
		if !ok {
			t.Fatalf("syslog got %q, want the DOWN and no-server lines of backend logged", lines)
		}
		if strings.Contains(l, "quiet") {
			t.Fatalf("backend quiet has no log target, yet syslog got %q", l)
		}
		lines = append(lines, l)
		down = down || wantDown.MatchString(l)
		emerg = emerg || wantEmerg.MatchString(l)
	}
}

// http-check send-state: every check request tells the server how the
// proxy sees it, in HAProxy's X-Haproxy-Server-State format.
func TestHTTPCheckSendState(t *testing.T) {
	var mu sync.Mutex
	states := map[string][]string{}
	var fail atomic.Bool
	handler := func(name string) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			st := r.Header.Get("X-Haproxy-Server-State")
			if l := states[name]; len(l) == 0 || l[len(l)-1] != st {
				states[name] = append(l, st)
			}
			mu.Unlock()
			if name == "web1" && fail.Load() {
				w.WriteHeader(500)
			}
		})
	}
	web1 := hcStartBackend(t, "web1", handler("web1"))
	web2 := hcStartBackend(t, "web2", handler("web2"))
	port := freePort(t)
	p := startProxy(t, hcConfig(port, "    option httpchk GET /\n    http-check send-state\n", web1, web2), port)
	hcSettle()
	fail.Store(true)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is DOWN, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: Nms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), 5*time.Second)
	fail.Store(false)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is UP, reason: Layer7 check passed, code: 200, check duration: Nms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`), 5*time.Second)
	hcSettle()

	host, _ := os.Hostname()
	tail := func(b *hcBackend, weight string) string {
		return fmt.Sprintf("; address=127.0.0.1; port=%d; name=be/%s; node=%s; weight=%s; scur=0/0; qcur=0", b.port, b.name, host, weight)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{"UP 1/2" + tail(web1, "1/2"), "UP" + tail(web1, "1/2"), "UP 1/2" + tail(web1, "1/2"),
		"DOWN" + tail(web1, "1/1"), "DOWN 1/2" + tail(web1, "1/1"), "UP" + tail(web1, "1/2")}
	if strings.Join(states["web1"], "\n") != strings.Join(want, "\n") {
		t.Errorf("web1 saw:\n%s\nwant:\n%s", strings.Join(states["web1"], "\n"), strings.Join(want, "\n"))
	}
	if got := states["web2"]; len(got) == 0 || got[len(got)-1] != "UP"+tail(web2, "1/2") {
		t.Errorf("web2 saw %q", got)
	}
}
