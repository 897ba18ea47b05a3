package check

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dhproxy/internal/conn/conntest"
	"dhproxy/internal/model"
)

// The golden lines below were checked against haproxy 2.6 running the same
// scenarios (haproxy -db, "option log-health-checks" on and off).

func TestTCPCheckRiseFall(t *testing.T) {
	srv := newAcceptServer(t, "")
	addr := srv.addr()
	be := backend("be1", server("srv1", addr, 100*time.Millisecond, 2, 3))
	be.Options["log-health-checks"] = true
	var mu sync.Mutex
	var changes []bool
	rec := newRecorder()
	stop := Start(targetsOf(be, func(_ string, up bool) {
		mu.Lock()
		changes = append(changes, up)
		mu.Unlock()
	}), rec.logf)
	defer stop()

	rec.waitFor(t, "status: 3/3 UP.", 2*time.Second)
	srv.l.Close()
	rec.waitFor(t, "has no server available!", 2*time.Second)
	newAcceptServer(t, addr)
	rec.waitFor(t, "is UP", 2*time.Second)
	stop()

	want := []string{
		`notice: Health check for server be1/srv1 succeeded, reason: Layer4 check passed, check duration: Nms, status: 3/3 UP.`,
		`notice: Health check for server be1/srv1 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms, status: 2/3 UP.`,
		`notice: Health check for server be1/srv1 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms, status: 1/3 UP.`,
		`notice: Health check for server be1/srv1 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms, status: 0/2 DOWN.`,
		`alert: Server be1/srv1 is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`,
		`emerg: backend be1 has no server available!`,
		`notice: Health check for server be1/srv1 succeeded, reason: Layer4 check passed, check duration: Nms, status: 1/2 DOWN.`,
		`notice: Health check for server be1/srv1 succeeded, reason: Layer4 check passed, check duration: Nms, status: 3/3 UP.`,
		`notice: Server be1/srv1 is UP. 1 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`,
	}
	if got := rec.normalized(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	mu.Lock()
	defer mu.Unlock()
	if fmt.Sprint(changes) != "[false true]" {
		t.Errorf("SetUp calls %v, want [false true]", changes)
	}
}

// Without log-health-checks only state changes are logged, and they carry
// the reason. A server that never passed a check goes down at the first
// failure, whatever fall says, as in HAProxy.
func TestStateLinesCarryReason(t *testing.T) {
	be := backend("be", server("web1", closedPort(t), 100*time.Millisecond, 2, 5),
		server("web2", newAcceptServer(t, "").addr(), 100*time.Millisecond, 2, 5))
	rec := newRecorder()
	stop := Start(targetsOf(be, nil), rec.logf)
	defer stop()
	rec.waitFor(t, "web1 is DOWN", 2*time.Second)
	time.Sleep(150 * time.Millisecond)
	stop()
	want := []string{
		`alert: Server be/web1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`,
	}
	if got := rec.normalized(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestHTTPCheckUpWording(t *testing.T) {
	var status atomic.Int32
	status.Store(500)
	addr := httpStatusServer(t, &status, nil)
	be := backend("be", server("web1", addr, 100*time.Millisecond, 2, 2), server("web2", closedPort(t), time.Hour, 2, 2))
	be.Servers[1].Check = false // counts as up
	be.Options["httpchk"] = true
	be.HTTPChk = []string{"GET", "/health"}
	rec := newRecorder()
	stop := Start(targetsOf(be, nil), rec.logf)
	defer stop()
	rec.waitFor(t, "is DOWN", 2*time.Second)
	status.Store(200)
	rec.waitFor(t, "is UP", 2*time.Second)
	stop()
	want := []string{
		`alert: Server be/web1 is DOWN, reason: Layer7 wrong status, code: 500, info: "Internal Server Error", check duration: Nms. 1 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`,
		`notice: Server be/web1 is UP, reason: Layer7 check passed, code: 200, check duration: Nms. 2 active and 0 backup servers online. 0 sessions requeued, 0 total in queue.`,
	}
	if got := rec.normalized(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestBackupWording(t *testing.T) {
	bk := newAcceptServer(t, "")
	be := backend("be", server("a1", closedPort(t), 100*time.Millisecond, 2, 2), server("b1", bk.addr(), 100*time.Millisecond, 2, 2))
	be.Servers[1].Backup = true
	rec := newRecorder()
	stop := Start(targetsOf(be, nil), rec.logf)
	defer stop()
	rec.waitFor(t, "a1 is DOWN", 2*time.Second)
	time.Sleep(100 * time.Millisecond) // let b1 pass a check and be fully up
	bk.l.Close()
	rec.waitFor(t, "has no server available!", 2*time.Second)
	stop()
	want := []string{
		`alert: Server be/a1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms. 0 active and 1 backup servers left. Running on backup. 0 sessions active, 0 requeued, 0 remaining in queue.`,
		`alert: Backup Server be/b1 is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`,
		`emerg: backend be has no server available!`,
	}
	if got := rec.normalized(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestListenAndBackupCheckLines(t *testing.T) {
	be := backend("l", server("b1", closedPort(t), 100*time.Millisecond, 2, 2))
	be.Cap = model.CapFE | model.CapBE
	be.Servers[0].Backup = true
	be.Options["log-health-checks"] = true
	rec := newRecorder()
	stop := Start(targetsOf(be, nil), rec.logf)
	defer stop()
	rec.waitFor(t, "has no server available!", 2*time.Second)
	stop()
	want := []string{
		`notice: Health check for backup server l/b1 failed, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms, status: 0/2 DOWN.`,
		`alert: Backup Server l/b1 is DOWN. 0 active and 0 backup servers left. 0 sessions active, 0 requeued, 0 remaining in queue.`,
		`emerg: proxy l has no server available!`,
	}
	if got := rec.normalized(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("log lines:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// httpStatusServer answers every request with the current status and
// records when each request arrived.
func httpStatusServer(t *testing.T, status *atomic.Int32, arrivals *arrivalLog) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		code := int(status.Load())
		if arrivals != nil {
			arrivals.add(code)
		}
		w.WriteHeader(code)
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

type arrival struct {
	at   time.Time
	code int
}

type arrivalLog struct {
	mu sync.Mutex
	a  []arrival
}

func (l *arrivalLog) add(code int) {
	l.mu.Lock()
	l.a = append(l.a, arrival{time.Now(), code})
	l.mu.Unlock()
}

func (l *arrivalLog) get() []arrival {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]arrival(nil), l.a...)
}

// waitCount polls until n requests answered with code have arrived after
// index from.
func (l *arrivalLog) waitCount(t *testing.T, from, code, n int, within time.Duration) []arrival {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		var got []arrival
		a := l.get()
		if from < len(a) {
			for _, x := range a[from:] {
				if x.code == code {
					got = append(got, x)
				}
			}
		}
		if len(got) >= n {
			return got[:n]
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d checks answered %d within %v, want %d", len(got), code, within, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The delay between checks is inter when fully up, fastinter while the
// counter moves, downinter while down, each counted from the end of the
// previous check.
func TestIntervals(t *testing.T) {
	// Far enough apart that a loaded machine's scheduling delay (a check
	// runs late, never early: 160 ms was seen) cannot make one interval
	// pass for the next.
	const inter, fast, down = 1000 * time.Millisecond, 150 * time.Millisecond, 500 * time.Millisecond
	var status atomic.Int32
	status.Store(200)
	var log arrivalLog
	s := server("web1", httpStatusServer(t, &status, &log), inter, 2, 3)
	s.FastInter, s.DownInter = fast, down
	be := backend("be", s)
	be.Options["httpchk"] = true
	rec := newRecorder()
	stop := Start(targetsOf(be, nil), rec.logf)
	defer stop()

	up := log.waitCount(t, 0, 200, 2, 3*time.Second)
	status.Store(500)
	mark := len(log.get())
	fails := log.waitCount(t, mark, 500, 5, 5*time.Second)
	status.Store(200)
	mark = len(log.get())
	rises := log.waitCount(t, mark, 200, 3, 5*time.Second)
	stop()

	gap := func(a, b arrival) time.Duration { return b.at.Sub(a.at) }
	near := func(what string, d, want time.Duration) {
		t.Helper()
		within(t, what, d, want*8/10, want+250*time.Millisecond)
	}
	near("inter while up", gap(up[0], up[1]), inter)
	// Failures 1 and 2 leave the server up but degraded (fastinter); the
	// third takes it down (downinter from then on).
	near("fastinter after 1st failure", gap(fails[0], fails[1]), fast)
	near("fastinter after 2nd failure", gap(fails[1], fails[2]), fast)
	near("downinter while down", gap(fails[2], fails[3]), down)
	near("downinter while down", gap(fails[3], fails[4]), down)
	near("fastinter while rising", gap(rises[0], rises[1]), fast)
	near("inter once up", gap(rises[1], rises[2]), inter)
	rec.waitFor(t, "is UP", time.Second)
}

// The first checks are spread over the interval in target order, as
// HAProxy's start_checks() does. HTTP checks make them visible.
func TestStartSpread(t *testing.T) {
	const inter = 400 * time.Millisecond
	var status atomic.Int32
	status.Store(200)
	var logs []*arrivalLog
	be := backend("be")
	be.Options["httpchk"] = true
	for i := 0; i < 4; i++ {
		l := &arrivalLog{}
		logs = append(logs, l)
		be.Servers = append(be.Servers, server(fmt.Sprint("s", i), httpStatusServer(t, &status, l), inter, 2, 3))
	}
	start := time.Now()
	stop := Start(targetsOf(be, nil), nil)
	defer stop()
	for i, l := range logs {
		first := l.waitCount(t, 0, 200, 1, 2*time.Second)[0]
		want := inter * time.Duration(i) / 4
		within(t, fmt.Sprint("first check of server ", i), first.at.Sub(start), want, want+80*time.Millisecond)
	}
}

// A pure TCP check resets the connection before the handshake completes on
// the server's side, so the server's application never sees it (Linux).
func TestTCPCheckInvisibleToServer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("relies on TCP_QUICKACK")
	}
	srv := newAcceptServer(t, "")
	rs := compile(backend("be"), false)
	for i := 0; i < 5; i++ {
		if res, _ := rs.run(context.Background(), srv.addr(), timing{inter: time.Second}, runEnv{}); res.Status != StatusL4OK {
			t.Fatalf("check %d: %+v", i, res)
		}
	}
	time.Sleep(50 * time.Millisecond)
	if n := len(srv.arrivals()); n != 0 {
		t.Errorf("the server accepted %d check connections, want 0", n)
	}
}

// Each result kind, against real sockets.
func TestResults(t *testing.T) {
	httpchk := func(args ...string) *model.Proxy {
		be := backend("be")
		be.Options["httpchk"] = true
		be.HTTPChk = args
		return be
	}
	tcp := backend("be")
	rst := rawServer(t, func(c net.Conn) {
		readRequest(c)
		c.(*net.TCPConn).SetLinger(0)
		c.Close()
	})
	closer := rawServer(t, func(c net.Conn) { readRequest(c); c.Close() })
	hole := blackHole(t)
	cases := []struct {
		name     string
		be       *model.Proxy
		addr     string
		tm       timing
		want     Result
		min, max time.Duration // bounds on the duration, when max > 0
	}{
		{"tcp ok", tcp, newAcceptServer(t, "").addr(), timing{inter: time.Second}, Result{Status: StatusL4OK}, 0, 0},
		{"tcp refused", tcp, closedPort(t), timing{inter: time.Second}, Result{Status: StatusL4CON, Info: "Connection refused"}, 0, 0},
		{"http 200", httpchk(), replyServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), timing{inter: time.Second}, Result{Status: StatusL7OK, Code: 200}, 0, 0},
		{"http 301", httpchk(), replyServer(t, "HTTP/1.1 301 Moved\r\nContent-Length: 0\r\n\r\n"), timing{inter: time.Second}, Result{Status: StatusL7OK, Code: 301}, 0, 0},
		{"http 100 then 204", httpchk(), replyServer(t, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"), timing{inter: time.Second}, Result{Status: StatusL7OK, Code: 204}, 0, 0},
		{"http 500", httpchk(), replyServer(t, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n"), timing{inter: time.Second}, Result{Status: StatusL7STS, Code: 500, Info: "Internal Server Error"}, 0, 0},
		{"http 503 no reason", httpchk(), replyServer(t, "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n"), timing{inter: time.Second}, Result{Status: StatusL7STS, Code: 503}, 0, 0},
		{"http 404 1.0", httpchk(), replyServer(t, "HTTP/1.0 404 Not Found\r\n\r\n"), timing{inter: time.Second}, Result{Status: StatusL7STS, Code: 404, Info: "Not Found"}, 0, 0},
		{"garbage", httpchk(), replyServer(t, "garbage here\r\n\r\n"), timing{inter: time.Second}, Result{Status: StatusL7RSP}, 0, 0},
		{"http/0.9 body", httpchk(), replyServer(t, "hello"), timing{inter: time.Second}, Result{Status: StatusL7RSP}, 0, 0},
		{"closed without reply", httpchk(), closer, timing{inter: time.Second}, Result{Status: StatusL7RSP}, 0, 0},
		{"reset", httpchk(), rst, timing{inter: time.Second}, Result{Status: StatusSOCKERR, Info: "Connection reset by peer"}, 0, 0},
		{"partial head", httpchk(), rawServer(t, func(c net.Conn) {
			readRequest(c)
			c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Le"))
			time.Sleep(time.Second)
		}), timing{inter: 200 * time.Millisecond}, Result{Status: StatusL7TOUT}, 190 * time.Millisecond, 600 * time.Millisecond},
		// Without "timeout check" the whole check gets inter.
		{"black hole, inter", httpchk(), hole, timing{inter: 200 * time.Millisecond, connect: 5 * time.Second}, Result{Status: StatusL7TOUT}, 190 * time.Millisecond, 600 * time.Millisecond},
		// With it, the exchange after the connect gets "timeout check".
		{"black hole, timeout check", httpchk(), hole, timing{inter: 2 * time.Second, connect: 5 * time.Second, check: 100 * time.Millisecond}, Result{Status: StatusL7TOUT}, 90 * time.Millisecond, 500 * time.Millisecond},
		{"tcp black hole", tcp, hole, timing{inter: time.Second}, Result{Status: StatusL4OK}, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			res, ok := compile(c.be, false).run(context.Background(), c.addr, c.tm, runEnv{})
			if !ok {
				t.Fatal("aborted")
			}
			d := res.Duration
			res.Duration = 0
			if res != c.want {
				t.Errorf("result %+v, want %+v", res, c.want)
			}
			if c.max > 0 {
				within(t, "duration", d, c.min, c.max)
			}
		})
	}
}

func TestConnectTimeout(t *testing.T) {
	addr := conntest.FullBacklog(t).String()
	rs := compile(backend("be"), false)
	// Without "timeout check", the connect may take the whole inter.
	res, _ := rs.run(context.Background(), addr, timing{inter: 300 * time.Millisecond, connect: 100 * time.Millisecond}, runEnv{})
	if res.Status != StatusL4TOUT || res.Info != "" {
		t.Errorf("got %+v, want L4TOUT without info", res)
	}
	within(t, "connect timeout without timeout check", res.Duration, 290*time.Millisecond, 800*time.Millisecond)
	// With it, the connect gets min(timeout connect, inter).
	res, _ = rs.run(context.Background(), addr, timing{inter: 2 * time.Second, connect: 100 * time.Millisecond, check: time.Second}, runEnv{})
	if res.Status != StatusL4TOUT {
		t.Errorf("got %+v, want L4TOUT", res)
	}
	within(t, "connect timeout with timeout check", res.Duration, 90*time.Millisecond, 600*time.Millisecond)
}

// Stopping does not wait for a check stuck on a silent server, and leaves
// no goroutine behind.
func TestStopIsPrompt(t *testing.T) {
	before := runtime.NumGoroutine()
	be := backend("be", server("s", blackHole(t), 10*time.Second, 2, 3))
	be.Options["httpchk"] = true
	stop := Start(targetsOf(be, nil), nil)
	time.Sleep(100 * time.Millisecond) // the check is now waiting for a reply
	start := time.Now()
	stop()
	within(t, "stop", time.Since(start), 0, 500*time.Millisecond)
	stop() // idempotent
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before+2 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	// The black hole's own goroutines end at cleanup; allow for them.
	if n := runtime.NumGoroutine(); n > before+2 {
		t.Errorf("%d goroutines after stop, %d before", n, before)
	}
}

// A panic in the runtime's callback is logged and the checks go on.
func TestPanicIsLoggedAndChecksContinue(t *testing.T) {
	addr, release := refusingPort(t)
	be := backend("be", server("s", addr, 100*time.Millisecond, 2, 2))
	var ups atomic.Int32
	rec := newRecorder()
	stop := Start(targetsOf(be, func(_ string, up bool) {
		if !up {
			panic("boom")
		}
		ups.Add(1)
	}), rec.logf)
	defer stop()
	rec.waitFor(t, "internal error: boom", 2*time.Second)
	release()
	newAcceptServer(t, addr)
	deadline := time.Now().Add(2 * time.Second)
	for ups.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if ups.Load() == 0 {
		t.Fatal("checks stopped after the panic")
	}
	for _, l := range rec.normalized() {
		if strings.Contains(l, "boom") && !strings.HasPrefix(l, "crit: ") {
			t.Errorf("panic logged as %q", l)
		}
	}
}

func TestActiveServersAndSessionsCallbacks(t *testing.T) {
	be := backend("be", server("s", closedPort(t), 100*time.Millisecond, 2, 2))
	ts := targetsOf(be, nil)
	ts[0].ActiveServers = func() (int, int) { return 3, 1 }
	ts[0].Sessions = func() (int, int) { return 7, 2 }
	rec := newRecorder()
	stop := Start(ts, rec.logf)
	defer stop()
	i := rec.waitFor(t, "is DOWN", 2*time.Second)
	stop()
	got := rec.normalized()[i]
	want := `alert: Server be/s is DOWN, reason: Layer4 connection problem, info: "Connection refused", check duration: Nms. 3 active and 1 backup servers left. 7 sessions active, 0 requeued, 2 remaining in queue.`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

func TestSkipsUncheckedAndDisabled(t *testing.T) {
	a := server("a", closedPort(t), 10*time.Millisecond, 2, 2)
	a.Check = false
	b := server("b", closedPort(t), 10*time.Millisecond, 2, 2)
	b.Disabled = true
	rec := newRecorder()
	stop := Start(targetsOf(backend("be", a, b), nil), rec.logf)
	time.Sleep(100 * time.Millisecond)
	stop()
	if l := rec.normalized(); len(l) != 0 {
		t.Errorf("unexpected logs: %q", l)
	}
}

func TestNoPortIsReported(t *testing.T) {
	s := server("s", "127.0.0.1:0", time.Second, 2, 2)
	rec := newRecorder()
	stop := Start(targetsOf(backend("be", s), nil), rec.logf)
	stop()
	want := []string{`crit: backend 'be': server 's' has neither service port nor check port.`}
	if got := rec.normalized(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
