package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// slowBackend answers every request after delay.
func slowBackend(t *testing.T, delay time.Duration) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/abort/big" {
			chunk := make([]byte, 64<<10)
			for i := 0; i < 128; i++ { // 8 MB, more than the sockets buffer
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
			return
		}
		time.Sleep(delay)
		io.WriteString(w, "slow\n")
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// truncatingBackend announces a 1000-byte body, sends 10 bytes and closes:
// the proxy sees the server abort during the data phase ("SD").
func truncatingBackend(t *testing.T) int {
	t.Helper()
	return h1StartRawBackend(t, func(c net.Conn) {
		buf := make([]byte, 4096)
		c.Read(buf)
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
		time.Sleep(20 * time.Millisecond)
	})
}

// timingScenario runs the same traffic through the proxy binary at path:
// sequential requests to a server answering after 100 ms, then concurrent
// ones queued by its maxconn 1, a client closing before the answer and a
// server closing mid-body; it returns "show stat" and "show info"
// afterwards.
func timingScenario(t *testing.T, path string, slow, trunc int) (stat, info string) {
	t.Helper()
	fePort, tcpPort := freePort(t), freePort(t)
	sock := filepath.Join(t.TempDir(), "api.sock")
	cfg := fmt.Sprintf(`global
    stats socket %s level admin`, sock) + defaultsSection("http", "1s", "5s", "5s", "timeout queue 5s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    use_backend brk if { path_beg /brk }
    use_backend abort if { path_beg /abort }
    default_backend slow
backend slow
    server s1 127.0.0.1:%d maxconn 1
backend abort
    server a1 127.0.0.1:%d
backend brk
    server b1 127.0.0.1:%d
listen tcpsvc
    mode tcp
    bind 127.0.0.1:%d
    server t1 127.0.0.1:%d maxconn 1
`, fePort, slow, slow, trunc, tcpPort, slow)
	startBinary(t, path, cfg, fePort)
	url := fmt.Sprintf("http://127.0.0.1:%d/", fePort)
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(u string) {
		resp, err := client.Get(u)
		if err != nil {
			return // the truncated body is expected to fail
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for i := 0; i < 4; i++ {
		get(url)
	}
	time.Sleep(50 * time.Millisecond)
	// Four at once through maxconn 1: they wait about 0, 100, 200 and
	// 300 ms in the server's queue.
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); get(url) }()
	}
	wg.Wait()
	// The same through mode tcp: times per connection, no response time.
	tcpURL := fmt.Sprintf("http://127.0.0.1:%d/", tcpPort)
	get(tcpURL)
	time.Sleep(50 * time.Millisecond) // its server slot is free again: one balanced, two queued
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); get(tcpURL) }()
	}
	wg.Wait()
	// A client that leaves before the 100 ms answer.
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fePort))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /abort HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(30 * time.Millisecond)
	c.Close()
	// A client that leaves during a large body: a client abort.
	c, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fePort))
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "GET /abort/big HTTP/1.1\r\nHost: x\r\n\r\n")
	io.ReadFull(c, make([]byte, 1000))
	c.(*net.TCPConn).SetLinger(0)
	c.Close()
	get(url + "brk")
	time.Sleep(300 * time.Millisecond) // both aborted streams end
	return cliCmd(t, sock, "show stat"), cliCmd(t, sock, "show info")
}

// infoField reads one "Name: value" line of show info.
func infoField(t *testing.T, info, name string) string {
	t.Helper()
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(l, name+": "); ok {
			return v
		}
	}
	t.Fatalf("show info has no %s:\n%s", name, info)
	return ""
}

// TestStatsTimingMatchesHAProxy sends the same requests through haproxy 2.6
// and dhproxy and compares the time averages and maxima (qtime, ctime,
// rtime, ttime over the last requests), the abort counters and the rate
// maxima of "show stat".
func TestStatsTimingMatchesHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	slow, trunc := slowBackend(t, 100*time.Millisecond), truncatingBackend(t)
	wantStat, wantInfo := timingScenario(t, haproxyBin, slow, trunc)
	gotStat, gotInfo := timingScenario(t, bin, slow, trunc)
	wantRows, names := statRows(t, wantStat)
	gotRows, _ := statRows(t, gotStat)
	// CumConns and CumReq are left out: haproxy counts its runtime API's
	// connections in them, dhproxy does not.
	if w, g := infoField(t, wantInfo, "CurrConns"), infoField(t, gotInfo, "CurrConns"); w != g {
		t.Errorf("show info CurrConns: dhproxy %s, haproxy %s", g, w)
	}
	// A rate maximum depends on where the one-second periods fall in the
	// traffic, which lasts more than a second: equal within 2.
	near := func(what, w, g string) {
		wn, err1 := strconv.Atoi(w)
		gn, err2 := strconv.Atoi(g)
		if err1 != nil || err2 != nil || gn-wn < -2 || gn-wn > 2 {
			t.Errorf("%s: dhproxy %q, haproxy %q", what, g, w)
		}
	}
	for _, f := range []string{"MaxConnRate", "MaxSessRate"} {
		near("show info "+f, infoField(t, wantInfo, f), infoField(t, gotInfo, f))
	}
	// lbtot: how many concurrent requests found the server free depends
	// on when each client got to run.
	for _, rc := range [][2]string{{"slow/s1", "lbtot"}, {"tcpsvc/t1", "lbtot"}, {"slow/s1", "rate_max"}, {"slow/BACKEND", "rate_max"}, {"tcpsvc/t1", "rate_max"},
		{"fe/FRONTEND", "rate_max"}, {"fe/FRONTEND", "req_rate_max"}, {"fe/FRONTEND", "conn_rate_max"}} {
		near(rc[0]+" "+rc[1], field(t, wantRows, names, rc[0], rc[1]), field(t, gotRows, names, rc[0], rc[1]))
	}
	// Times in ms: equal within scheduling jitter (the backend takes 100 ms).
	for _, row := range []string{"slow/s1", "slow/BACKEND", "tcpsvc/t1", "tcpsvc/BACKEND"} {
		for _, col := range []string{"qtime", "ctime", "rtime", "ttime", "qtime_max", "ctime_max", "rtime_max", "ttime_max"} {
			w, g := field(t, wantRows, names, row, col), field(t, gotRows, names, row, col)
			wn, err1 := strconv.Atoi(w)
			gn, err2 := strconv.Atoi(g)
			if err1 != nil || err2 != nil {
				t.Errorf("%s %s: dhproxy %q, haproxy %q", row, col, g, w)
				continue
			}
			// 60 ms of jitter, more on a loaded machine: a third of the
			// time; a maximum is one request's, so half of it.
			tol := max(60, max(gn, wn)/3)
			if strings.HasSuffix(col, "_max") {
				tol = max(60, max(gn, wn)/2)
			}
			if d := gn - wn; d < -tol || d > tol {
				t.Errorf("%s %s: dhproxy %d ms, haproxy %d ms", row, col, gn, wn)
			}
		}
	}
	if v := field(t, gotRows, names, "slow/BACKEND", "qtime_max"); v == "0" {
		t.Errorf("slow/BACKEND qtime_max 0: the queue was not measured")
	}
	// Counters: equal.
	exact := map[string][]string{
		"slow/s1":       {"stot", "req_tot", "cli_abrt", "srv_abrt"},
		"slow/BACKEND":  {"stot", "req_tot", "cli_abrt", "srv_abrt"},
		"abort/a1":      {"cli_abrt", "srv_abrt"},
		"abort/BACKEND": {"cli_abrt", "srv_abrt"},
		"brk/b1":        {"cli_abrt", "srv_abrt"},
		"brk/BACKEND":   {"cli_abrt", "srv_abrt"},
		"fe/FRONTEND":   {"stot", "req_tot"},
		"tcpsvc/t1":     {"stot"},
	}
	for row, cols := range exact {
		for _, col := range cols {
			if w, g := field(t, wantRows, names, row, col), field(t, gotRows, names, row, col); w != g {
				t.Errorf("%s %s: dhproxy %q, haproxy %q", row, col, g, w)
			}
		}
	}
}
