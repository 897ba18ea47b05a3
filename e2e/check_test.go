package e2e

// Health checks: servers go DOWN after fall failed checks at inter spacing,
// come back after rise passed ones, take no traffic while down, and the
// proxy says so on stderr in HAProxy's words, e.g.
//
//	[WARNING]  (1234) : Server be/web1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: 0ms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.
//	[ALERT]    (1234) : backend 'be' has no server available!

import (
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	hcInter = 200 * time.Millisecond
	hcRise  = 2
	hcFall  = 2
)

// hcBackend is an HTTP backend that can be stopped and started again on the
// same port.
type hcBackend struct {
	port    int
	name    string
	handler http.Handler
	mu      sync.Mutex
	srv     *http.Server
}

func hcStartBackend(t *testing.T, name string, h http.Handler) *hcBackend {
	t.Helper()
	if h == nil {
		h = backendHandler(name)
	}
	b := &hcBackend{name: name, handler: h}
	b.start(t)
	t.Cleanup(b.stop)
	return b
}

func (b *hcBackend) start(t *testing.T) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(b.port))
	var l net.Listener
	var err error
	for i := 0; i < 100; i++ { // the port may still be held for a moment
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listening again on %s: %v", addr, err)
	}
	b.port = l.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: b.handler, ReadHeaderTimeout: 10 * time.Second}
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	go srv.Serve(l)
}

func (b *hcBackend) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv != nil {
		b.srv.Close()
		b.srv = nil
	}
}

// hcSettle lets the first checks pass. Pure TCP checks cannot be waited
// for: like HAProxy's, they reset the connection before the server's side
// of the handshake completes, so the server never sees them. The first check
// of each server starts within one inter (start-up spreading).
func hcSettle() { time.Sleep(3 * hcInter) }

// hcWaitStderr polls the proxy's stderr until re matches and returns how
// long that took.
func hcWaitStderr(t *testing.T, p *proc, re string, within time.Duration) time.Duration {
	t.Helper()
	rx := regexp.MustCompile(re)
	start := time.Now()
	for !rx.MatchString(p.Stderr()) {
		if p.exited() {
			t.Fatalf("proxy exited (%v) before logging %s; stderr:\n%s", p.err, re, p.Stderr())
		}
		if time.Since(start) > within {
			t.Fatalf("no stderr line matching\n  %s\nwithin %v; stderr:\n%s", re, within, p.Stderr())
		}
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

// hcLine builds a regexp for a whole stderr line in haproxy -db's layout
// from its text, where "Nms" stands for any check duration.
func hcLine(tag, text string) string {
	q := regexp.QuoteMeta(text)
	q = strings.ReplaceAll(q, "Nms", `\d+ms`)
	return `(?m)^\[` + tag + `\]\s+\(\d+\) : ` + q + `$`
}

// hcRequests sends n requests through the proxy and returns which backend
// answered each. The configurations using it set "retries 0": a request
// sent to a DOWN server then comes back as a 503 page instead of a slow
// retry elsewhere, so the answers alone show that traffic skipped it.
func hcRequests(t *testing.T, port, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for i := 0; i < n; i++ {
		body, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		seen[body]++
	}
	return seen
}

func hcConfig(port int, backendOpts string, servers ...*hcBackend) string {
	var b strings.Builder
	fmt.Fprintf(&b, defaultsSection("http", "1s", "5s", "5s", "retries 0")+`
frontend f
    bind 127.0.0.1:%d
    default_backend be
backend be
%s`, port, backendOpts)
	for _, s := range servers {
		fmt.Fprintf(&b, "    server %s 127.0.0.1:%d check inter %d rise %d fall %d\n", s.name, s.port, hcInter.Milliseconds(), hcRise, hcFall)
	}
	return b.String()
}

func TestHealthCheckDownAndUp(t *testing.T) {
	web1 := hcStartBackend(t, "web1", nil)
	web2 := hcStartBackend(t, "web2", nil)
	port := freePort(t)
	p := startProxy(t, hcConfig(port, "", web1, web2), port)

	// Let web1 pass a check so that it is fully up: only then does it take
	// fall failures to go down.
	hcSettle()
	if seen := hcRequests(t, port, 10); seen["web1"] == 0 || seen["web2"] == 0 {
		t.Fatalf("before the stop, traffic went to %v", seen)
	}

	web1.stop()
	took := hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`),
		hcFall*hcInter+3*time.Second)
	// fall failed checks, inter apart: at least (fall-1)*inter.
	if min := (hcFall - 1) * hcInter * 3 / 4; took < min {
		t.Errorf("web1 went DOWN %v after it stopped, want at least %v (fall %d, inter %v)", took, min, hcFall, hcInter)
	}
	if seen := hcRequests(t, port, 20); seen["web2"] != 20 {
		t.Errorf("with web1 down, traffic went to %v, want all 20 to web2", seen)
	}

	web1.start(t)
	took = hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is UP, reason: Layer4 check passed, check duration: Nms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`),
		hcRise*hcInter+3*time.Second)
	if min := (hcRise - 1) * hcInter * 3 / 4; took < min {
		t.Errorf("web1 came UP %v after it restarted, want at least %v (rise %d, inter %v)", took, min, hcRise, hcInter)
	}
	if seen := hcRequests(t, port, 20); seen["web1"] < 5 || seen["web2"] < 5 {
		t.Errorf("with web1 back, traffic went to %v, want both", seen)
	}
	if strings.Contains(p.Stderr(), "has no server available") {
		t.Errorf("web2 stayed up, yet:\n%s", p.Stderr())
	}
}

// option log-health-checks adds one line per check that changes the
// counter (or the status), and the state lines then omit the reason.
func TestHealthCheckLogHealthChecks(t *testing.T) {
	web1 := hcStartBackend(t, "web1", nil)
	web2 := hcStartBackend(t, "web2", nil)
	port := freePort(t)
	p := startProxy(t, hcConfig(port, "    option log-health-checks\n", web1, web2), port)

	hcWaitStderr(t, p, hcLine("WARNING", `Health check for server be/web1 succeeded, reason: Layer4 check passed, check duration: Nms, status: 2/2 UP.`), 5*time.Second)
	web1.stop()
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is DOWN. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`), hcFall*hcInter+3*time.Second)
	web1.start(t)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is UP. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`), hcRise*hcInter+3*time.Second)

	var lines []string
	for _, l := range strings.Split(p.Stderr(), "\n") {
		if strings.Contains(l, "be/web1") {
			_, text, _ := strings.Cut(l, " : ")
			lines = append(lines, regexp.MustCompile(`check duration: \d+ms`).ReplaceAllString(text, "check duration: Nms"))
		}
	}
	want := []string{
		`Health check for server be/web1 succeeded, reason: Layer4 check passed, check duration: Nms, status: 2/2 UP.`,
		`Health check for server be/web1 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms, status: 1/2 UP.`,
		`Health check for server be/web1 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms, status: 0/2 DOWN.`,
		`Server be/web1 is DOWN. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`,
		`Health check for server be/web1 succeeded, reason: Layer4 check passed, check duration: Nms, status: 1/2 DOWN.`,
		`Health check for server be/web1 succeeded, reason: Layer4 check passed, check duration: Nms, status: 2/2 UP.`,
		`Server be/web1 is UP. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`,
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("web1 lines:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// option httpchk GET /health: a 500 there takes the server down with the
// status and reason phrase, a 200 brings it back.
func TestHealthCheckHTTPWrongStatus(t *testing.T) {
	var status atomic.Int32
	status.Store(200)
	var checks atomic.Int64
	var reqLine atomic.Value
	health := http.NewServeMux()
	health.HandleFunc("/health", func(w http.ResponseWriter, r *http.Request) {
		reqLine.Store(r.Method + " " + r.RequestURI + " " + r.Proto)
		checks.Add(1)
		w.WriteHeader(int(status.Load()))
	})
	health.Handle("/", backendHandler("web1"))
	web1 := hcStartBackend(t, "web1", health)
	web2 := hcStartBackend(t, "web2", nil) // answers 200 on any path
	port := freePort(t)
	p := startProxy(t, hcConfig(port, "    option httpchk GET /health\n", web1, web2), port)

	deadline := time.Now().Add(5 * time.Second)
	for checks.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("web1 got %d health checks in 5s; stderr:\n%s", checks.Load(), p.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got := reqLine.Load(); got != "GET /health HTTP/1.0" {
		t.Errorf("check request line %q, want GET /health HTTP/1.0", got)
	}

	status.Store(500)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is DOWN, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: Nms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`),
		hcFall*hcInter+3*time.Second)
	if seen := hcRequests(t, port, 20); seen["web2"] != 20 {
		t.Errorf("with web1 down, traffic went to %v, want all 20 to web2", seen)
	}

	status.Store(200)
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is UP, reason: Layer7 check passed, code: 200, check duration: Nms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`),
		hcRise*hcInter+3*time.Second)
}

func TestHealthCheckNoServerAvailable(t *testing.T) {
	web1 := hcStartBackend(t, "web1", nil)
	port := freePort(t)
	p := startProxy(t, hcConfig(port, "", web1), port)
	hcSettle()
	web1.stop()
	hcWaitStderr(t, p, hcLine("WARNING", `Server be/web1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`),
		hcFall*hcInter+3*time.Second)
	hcWaitStderr(t, p, hcLine("ALERT", `backend 'be' has no server available!`), time.Second)
	start := time.Now()
	out, err := curl(t, "-o", "/dev/null", "-w", "%{http_code}", fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil || out != "503" {
		t.Errorf("with no server up: %q, %v; want 503", out, err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("the 503 took %v: the proxy tried the down server", d)
	}
}
