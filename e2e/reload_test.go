package e2e

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// Master-worker mode (-W -S): seamless reloads under load, a refused
// reload, systemd notifications, the master's end. The same tests run
// against haproxy 2.6 (DHPROXY_BIN=/usr/sbin/haproxy); where haproxy itself
// loses requests on reload, its numbers are logged, not asserted.

// masterCLI sends one command to the master socket and returns the answer.
func masterCLI(t testing.TB, sock, cmd string) (string, error) {
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", err
	}
	c.(*net.UnixConn).CloseWrite() // haproxy answers once the client has finished
	out, err := io.ReadAll(c)
	return string(out), err
}

// procTable is "show proc" read: the current workers and the old ones,
// the programs by name.
type procTable struct {
	master         string // the master's line
	workers, olds  []int
	reloads, fails int
	programs       map[string]progRow
	oldPrograms    map[string]progRow
}

// progRow is a program's line of "show proc".
type progRow struct{ pid, reloads int }

func showProc(t testing.TB, sock string) (procTable, error) {
	out, err := masterCLI(t, sock, "show proc")
	if err != nil {
		return procTable{}, err
	}
	return parseProc(out)
}

func parseProc(out string) (procTable, error) {
	pt := procTable{programs: map[string]progRow{}, oldPrograms: map[string]progRow{}}
	section := ""
	for _, line := range strings.Split(out, "\n") {
		switch {
		case line == "# workers", line == "# old workers", line == "# programs", line == "# old programs":
			section = line
			continue
		case line == "" || strings.HasPrefix(line, "#"):
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		pid, _ := strconv.Atoi(f[0])
		switch {
		case f[1] == "master":
			pt.master = line
			fmt.Sscanf(strings.Join(f[2:5], " "), "%d [failed: %d]", &pt.reloads, &pt.fails)
		case section == "# workers":
			pt.workers = append(pt.workers, pid)
		case section == "# old workers":
			pt.olds = append(pt.olds, pid)
		case section == "# programs" && len(f) > 2:
			reloads, _ := strconv.Atoi(f[2])
			pt.programs[f[1]] = progRow{pid, reloads}
		case section == "# old programs" && len(f) > 2:
			reloads, _ := strconv.Atoi(f[2])
			pt.oldPrograms[f[1]] = progRow{pid, reloads}
		}
	}
	if pt.master == "" {
		return pt, fmt.Errorf("no master line in %q", out)
	}
	return pt, nil
}

// waitProc polls "show proc" until cond holds.
func waitProc(t testing.TB, sock, what string, within time.Duration, cond func(procTable) bool) procTable {
	t.Helper()
	deadline := time.Now().Add(within)
	var last procTable
	var lastErr error
	for time.Now().Before(deadline) {
		pt, err := showProc(t, sock)
		if err == nil && cond(pt) {
			return pt
		}
		last, lastErr = pt, err
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting until %s; last show proc: %+v %v", what, last, lastErr)
	return last
}

// startMaster runs BIN -W -S sock -f cfg (plus extra flags) and waits until
// its worker serves port.
func startMaster(t testing.TB, cfgPath, sock string, env []string, port int, extra ...string) *proc {
	t.Helper()
	args := append([]string{"-W", "-S", sock, "-f", cfgPath}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	p := startProxyCmd(t, cmd, port)
	waitProc(t, sock, "a worker runs", 10*time.Second, func(pt procTable) bool { return len(pt.workers) == 1 })
	return p
}

// reloadBackend answers "/" with "ok", "/upload" with the size of the body
// it read, and upgrades "/ws" to an echo tunnel.
func reloadBackend(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })
	mux.HandleFunc("/upload", func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			w.WriteHeader(400)
		}
		fmt.Fprint(w, n)
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		c, rw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			return
		}
		defer c.Close()
		// RFC 6455's accept value: haproxy checks WebSocket handshakes.
		sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		rw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
		rw.Flush()
		io.Copy(c, rw)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// loadStats counts what the clients saw.
type loadStats struct {
	ok, failed, resets atomic.Int64
	mu                 sync.Mutex
	firstErrs          []string
}

func (s *loadStats) fail(who string, err error) {
	s.failed.Add(1)
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		s.resets.Add(1)
	}
	s.mu.Lock()
	if len(s.firstErrs) < 10 {
		s.firstErrs = append(s.firstErrs, fmt.Sprintf("%s: %v", who, err))
	}
	s.mu.Unlock()
}

// getOnce sends one GET on c (dialing when c is nil) and reads the whole
// answer; it returns the connection to use next (nil when the proxy
// closes it).
func getOnce(addr string, c net.Conn, r *bufio.Reader, keep bool) (net.Conn, *bufio.Reader, error) {
	if c == nil {
		var err error
		if c, err = net.DialTimeout("tcp", addr, 2*time.Second); err != nil {
			return nil, nil, err
		}
		r = bufio.NewReader(c)
	}
	conn := "keep-alive"
	if !keep {
		conn = "close"
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: %s\r\n\r\n", conn); err != nil {
		c.Close()
		return nil, nil, err
	}
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		c.Close()
		return nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	if err == nil && (resp.StatusCode != 200 || string(body) != "ok") {
		err = fmt.Errorf("status %d, body %q", resp.StatusCode, body)
	}
	if err != nil || resp.Close || !keep {
		c.Close()
		return nil, nil, err
	}
	return c, r, nil
}

const (
	reloadCount   = 20
	hardStopAfter = 6 * time.Second
)

// The done-means test of issue 17: keep-alive clients (some idle long
// enough to be parked), new-connection clients, a slow upload and a
// WebSocket tunnel run through 20 reloads in a row.
func TestReloadUnderLoad(t *testing.T) {
	bport, port := reloadBackend(t), freePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	// The frontend counts requests in a table shared through a peers
	// section of the local peer only: each old worker hands it to the next.
	cfg := fmt.Sprintf(`global
    hard-stop-after %dms`, hardStopAfter.Milliseconds()) + defaultsSection("http", "2s", "30s", "30s", "timeout http-keep-alive 3s", "timeout tunnel 60s") + fmt.Sprintf(`
peers local
    peer lb 127.0.0.1:%d
frontend fe
    bind %s
    stick-table type ip size 10 expire 5m store http_req_cnt peers local
    http-request track-sc0 src
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, freePort(t), addr, bport)
	dir := t.TempDir()
	sock := filepath.Join(dir, "m.sock")
	cfgPath := filepath.Join(dir, "haproxy.cfg")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	p := startMaster(t, cfgPath, sock, nil, port, "-L", "lb")

	var st loadStats
	stop := make(chan struct{})
	var wg sync.WaitGroup
	// Keep-alive clients: back to back, and with pauses that park the
	// connection (idle over 200 ms) but stay under the keep-alive timeout.
	for i, pause := range []time.Duration{0, 0, 5 * time.Millisecond, 50 * time.Millisecond, 300 * time.Millisecond, time.Second} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c net.Conn
			var r *bufio.Reader
			for {
				select {
				case <-stop:
					if c != nil {
						c.Close()
					}
					return
				case <-time.After(pause):
				}
				var err error
				if c, r, err = getOnce(addr, c, r, true); err != nil {
					st.fail(fmt.Sprintf("keep-alive client %d", i), err)
				} else {
					st.ok.Add(1)
				}
			}
		}()
	}
	// New-connection clients.
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := getOnce(addr, nil, nil, false); err != nil {
					st.fail(fmt.Sprintf("new-connection client %d", i), err)
				} else {
					st.ok.Add(1)
				}
			}
		}()
	}
	// A slow upload spanning several reloads (well within hard-stop-after).
	const uploadSize = 48 << 10
	uploadErr := make(chan error, 1)
	go func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			uploadErr <- err
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(30 * time.Second))
		fmt.Fprintf(c, "POST /upload HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", uploadSize)
		chunk := make([]byte, 1024)
		for range uploadSize / len(chunk) {
			if _, err := c.Write(chunk); err != nil {
				uploadErr <- fmt.Errorf("upload write: %w", err)
				return
			}
			time.Sleep(hardStopAfter / 2 / (uploadSize / 1024))
		}
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			uploadErr <- fmt.Errorf("upload response: %w", err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != strconv.Itoa(uploadSize) {
			err = fmt.Errorf("upload: status %d, body %q", resp.StatusCode, body)
		}
		uploadErr <- err
	}()
	// A WebSocket tunnel: a message every 100 ms until it breaks.
	var tunnelEnd atomic.Int64 // unix nanoseconds when it broke
	var tunnelWhy atomic.Value // why it broke
	tunnelReady, tunnelStop := make(chan struct{}), make(chan struct{})
	defer close(tunnelStop)
	go func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			close(tunnelReady)
			tunnelEnd.Store(time.Now().UnixNano())
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		fmt.Fprint(c, "GET /ws HTTP/1.1\r\nHost: t\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		resp, err := http.ReadResponse(r, nil)
		close(tunnelReady)
		if err != nil || resp.StatusCode != 101 {
			tunnelWhy.Store(fmt.Sprintf("upgrade: %v %v", resp, err))
			tunnelEnd.Store(time.Now().UnixNano())
			return
		}
		line := make([]byte, 5)
		for {
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, "ping\n"); err != nil {
				tunnelWhy.Store(err.Error())
				break
			}
			if _, err := io.ReadFull(r, line); err != nil || string(line) != "ping\n" {
				tunnelWhy.Store(fmt.Sprintf("read %q %v", line, err))
				break
			}
			select {
			case <-tunnelStop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
		tunnelEnd.Store(time.Now().UnixNano())
	}()
	<-tunnelReady
	time.Sleep(300 * time.Millisecond) // the load is running

	firstReload := time.Now()
	seen := map[int]bool{}
	var all []int
	for i := range reloadCount {
		before := waitProc(t, sock, "a current worker", 10*time.Second, func(pt procTable) bool { return len(pt.workers) == 1 })
		if !seen[before.workers[0]] {
			seen[before.workers[0]] = true
			all = append(all, before.workers[0])
		}
		p.cmd.Process.Signal(syscall.SIGUSR2)
		after := waitProc(t, sock, fmt.Sprintf("reload %d replaces worker %d", i+1, before.workers[0]), 20*time.Second, func(pt procTable) bool {
			return len(pt.workers) == 1 && pt.workers[0] != before.workers[0]
		})
		seen[after.workers[0]] = true
		all = append(all, after.workers[0])
		time.Sleep(150 * time.Millisecond)
	}
	reloadsTook := time.Since(firstReload)
	if err := <-uploadErr; err != nil {
		st.fail("upload", err)
	}
	close(stop)
	wg.Wait()

	// The tunnel lives in the first worker until hard-stop-after.
	for tunnelEnd.Load() == 0 && time.Since(firstReload) < hardStopAfter+5*time.Second {
		time.Sleep(50 * time.Millisecond)
	}
	var tunnelLife time.Duration
	if end := tunnelEnd.Load(); end != 0 {
		tunnelLife = time.Unix(0, end).Sub(firstReload)
	}
	// No old worker stays.
	last := waitProc(t, sock, "the old workers have gone", hardStopAfter+10*time.Second, func(pt procTable) bool { return len(pt.olds) == 0 })
	leftover := 0
	for _, pid := range all {
		if pid != last.workers[0] && syscall.Kill(pid, 0) == nil {
			leftover++
		}
	}
	// The table went from worker to worker. It cannot count every request,
	// in haproxy as in dhproxy: the new worker's own counts from before the
	// lesson are overwritten by it, and the old worker's after it are lost
	// (both serve for a moment). Without the hand-over it would hold only
	// the last worker's share, a few percent: logged as a measurement.
	counted := tableReqCnt(t, sock)
	t.Logf("%s: %d reloads in %v; %d requests ok, %d failed (%d resets); tunnel closed %v after the first reload (hard-stop-after %v, %v); leftover old workers %d; table counted %d requests; first errors: %q",
		filepath.Base(bin), reloadCount, reloadsTook.Round(time.Millisecond), st.ok.Load(), st.failed.Load(), st.resets.Load(), tunnelLife.Round(time.Millisecond), hardStopAfter, tunnelWhy.Load(), leftover, counted, st.firstErrs)
	if leftover > 0 {
		t.Errorf("%d old workers still run", leftover)
	}
	if st.ok.Load() < 1000 {
		t.Errorf("only %d requests went through: the load did not run", st.ok.Load())
	}
	if isHAProxy() {
		return // haproxy's losses are the measurement above
	}
	if st.failed.Load() > 0 {
		t.Errorf("%d requests failed (%d resets) across %d reloads: %q", st.failed.Load(), st.resets.Load(), reloadCount, st.firstErrs)
	}
	// Reloads 240 ms apart may break the chain of hand-overs (a worker
	// replaced before it learned); one reload at rest must carry the table
	// whole.
	p.cmd.Process.Signal(syscall.SIGUSR2)
	waitProc(t, sock, "a reload at rest replaces the worker", 20*time.Second, func(pt procTable) bool {
		return len(pt.workers) == 1 && pt.workers[0] != last.workers[0] && len(pt.olds) == 0
	})
	if atRest := tableReqCnt(t, sock); atRest != counted {
		t.Errorf("a reload at rest: the new worker's table counted %d requests, the old one's %d: the table was not handed over", atRest, counted)
	}
	if tunnelLife < hardStopAfter-500*time.Millisecond || tunnelLife > hardStopAfter+5*time.Second {
		t.Errorf("the tunnel ended %v after the first reload, want at hard-stop-after (%v)", tunnelLife, hardStopAfter)
	}
}

// simpleReloadConfig is a proxy on port in front of the reload backend.
func simpleReloadConfig(t testing.TB, extraGlobal string) (cfgPath, sock string, port int) {
	bport := reloadBackend(t)
	port = freePort(t)
	dir := t.TempDir()
	cfgPath, sock = filepath.Join(dir, "haproxy.cfg"), filepath.Join(dir, "m.sock")
	cfg := fmt.Sprintf("global\n%s\ndefaults\n    mode http\n    timeout connect 2s\n    timeout client 5s\n    timeout server 5s\nfrontend fe\n    bind 127.0.0.1:%d\n    default_backend be\nbackend be\n    server s1 127.0.0.1:%d\n", extraGlobal, port, bport)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgPath, sock, port
}

// A reload whose configuration fails its check leaves the running worker
// serving; the master logs why and "show proc" counts the failure.
func TestReloadBadConfigKeepsWorker(t *testing.T) {
	cfgPath, sock, port := simpleReloadConfig(t, "")
	p := startMaster(t, cfgPath, sock, nil, port)
	before := waitProc(t, sock, "a worker", 5*time.Second, func(pt procTable) bool { return len(pt.workers) == 1 })
	good, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, append(good, "    bogus-keyword here\n"...), 0o644)
	p.cmd.Process.Signal(syscall.SIGUSR2)
	after := waitProc(t, sock, "the reload is counted as failed", 10*time.Second, func(pt procTable) bool { return pt.fails == 1 })
	if len(after.workers) != 1 || after.workers[0] != before.workers[0] || len(after.olds) != 0 {
		t.Fatalf("after a failed reload: workers %v, old %v; want the same worker %d alone", after.workers, after.olds, before.workers[0])
	}
	if _, _, err := getOnce("127.0.0.1:"+strconv.Itoa(port), nil, nil, false); err != nil {
		t.Fatalf("the old worker does not serve: %v", err)
	}
	for _, want := range []string{"bogus-keyword", "Loading failure"} {
		if !strings.Contains(p.Stderr(), want) {
			t.Errorf("the master's log lacks %q:\n%s", want, p.Stderr())
		}
	}
	if !isHAProxy() {
		// "reload" on the master CLI says so too, with the reason.
		out, err := masterCLI(t, sock, "reload")
		if err != nil || !strings.HasPrefix(out, "Success=0\n") || !strings.Contains(out, "bogus-keyword") {
			t.Errorf("master CLI reload answered %q, %v", out, err)
		}
	}
	// Fixed again, the next reload replaces the worker.
	os.WriteFile(cfgPath, good, 0o644)
	p.cmd.Process.Signal(syscall.SIGUSR2)
	waitProc(t, sock, "a new worker", 10*time.Second, func(pt procTable) bool {
		return len(pt.workers) == 1 && pt.workers[0] != before.workers[0]
	})
}

// -Ws tells systemd READY=1 once the worker serves, RELOADING=1 then
// READY=1 around a reload, and STOPPING=1 on stop.
func TestSystemdNotify(t *testing.T) {
	cfgPath, sock, port := simpleReloadConfig(t, "")
	notify := filepath.Join(filepath.Dir(sock), "notify")
	nc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	var mu sync.Mutex
	var got []string
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := nc.Read(buf)
			if err != nil {
				return
			}
			mu.Lock()
			got = append(got, string(buf[:n]))
			mu.Unlock()
		}
	}()
	messages := func() string {
		mu.Lock()
		defer mu.Unlock()
		return strings.Join(got, "|")
	}
	waitMsg := func(what string, n int) {
		t.Helper()
		for end := time.Now().Add(10 * time.Second); strings.Count(messages(), what) < n; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(end) {
				t.Fatalf("no %d× %q from the master; got %q", n, what, messages())
			}
		}
	}
	cmd := exec.Command(bin, "-Ws", "-S", sock, "-f", cfgPath)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify)
	p := startProxyCmd(t, cmd, port)
	waitMsg("READY=1", 1)
	if !strings.Contains(messages(), fmt.Sprintf("MAINPID=%d", p.cmd.Process.Pid)) && !isHAProxy() {
		t.Errorf("READY=1 without MAINPID of the master: %q", messages())
	}
	p.cmd.Process.Signal(syscall.SIGUSR2)
	waitMsg("READY=1", 2)
	if isHAProxy() {
		t.Logf("haproxy sent %q", messages())
	} else if !strings.Contains(messages(), "RELOADING=1") {
		t.Errorf("no RELOADING=1 around the reload: %q", messages())
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	<-p.done
	if !isHAProxy() {
		waitMsg("STOPPING=1", 1)
	}
	t.Logf("notifications: %q", messages())
}

// A worker that dies takes the master down with its exit code, as
// haproxy 2.6's exit-on-failure.
func TestMasterExitsWhenWorkerDies(t *testing.T) {
	cfgPath, sock, port := simpleReloadConfig(t, "")
	p := startMaster(t, cfgPath, sock, nil, port)
	pt := waitProc(t, sock, "a worker", 5*time.Second, func(pt procTable) bool { return len(pt.workers) == 1 })
	syscall.Kill(pt.workers[0], syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the master still runs after its worker was killed:\n%s", p.Stderr())
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 137 {
		t.Errorf("master exited %d after its worker was killed, want 137 (the worker's); stderr:\n%s", code, p.Stderr())
	}
	if !strings.Contains(p.Stderr(), fmt.Sprintf("Current worker (%d) exited with code 137 (Killed)", pt.workers[0])) {
		t.Errorf("the master's log does not name the dead worker:\n%s", p.Stderr())
	}
}

// Standalone reload: "-sf PID" binds beside the old process (SO_REUSEPORT),
// then soft-stops it; its keep-alive connection gets one more answer, with
// "Connection: close", and it exits.
// tableReqCnt is http_req_cnt of 127.0.0.1 in the current worker's table
// fe, read through the master CLI.
func tableReqCnt(t *testing.T, sock string) int64 {
	out, err := masterCLI(t, sock, "@1 show table fe")
	if err != nil {
		t.Fatalf("show table: %v", err)
	}
	_, after, ok := strings.Cut(out, "http_req_cnt=")
	if !ok {
		t.Fatalf("show table fe:\n%s", out)
	}
	n, _ := strconv.ParseInt(strings.TrimSpace(strings.Fields(after)[0]), 10, 64)
	return n
}

func TestSoftStopFlag(t *testing.T) {
	cfgPath, _, port := simpleReloadConfig(t, "")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	old := startProxyCmd(t, exec.Command(bin, "-db", "-f", cfgPath), port)
	c, r, err := getOnce(addr, nil, nil, true)
	if err != nil || c == nil {
		t.Fatalf("keep-alive request to the old process: %v", err)
	}
	defer c.Close()
	// The pid file tells when the new process serves: it signals the old
	// one right after writing it.
	pidfile := filepath.Join(t.TempDir(), "new.pid")
	startProxyCmd(t, exec.Command(bin, "-db", "-f", cfgPath, "-p", pidfile, "-sf", strconv.Itoa(old.cmd.Process.Pid)), port)
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if isHAProxy() {
			time.Sleep(500 * time.Millisecond) // haproxy -db writes no pid file
			break
		}
		if _, err := os.Stat(pidfile); err == nil {
			break
		}
		if time.Now().After(end) {
			t.Fatal("the new process did not write its pid file")
		}
	}
	select {
	case <-old.done:
		if !isHAProxy() {
			t.Fatal("the old process left before its keep-alive connection's next request")
		}
	case <-time.After(200 * time.Millisecond):
		// The old process waits for its connection: one more request,
		// answered with Connection: close.
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: t\r\n\r\n")
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("request on the old process's keep-alive connection: %v", err)
		}
		io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !resp.Close {
			t.Fatalf("old process answered %d, close %v; want 200 with Connection: close", resp.StatusCode, resp.Close)
		}
	}
	select {
	case <-old.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the old process did not exit after -sf")
	}
	if _, _, err := getOnce(addr, nil, nil, false); err != nil {
		t.Fatalf("the new process does not serve: %v", err)
	}
}

// After a reload, the stats socket answers from the new worker only, and
// the master CLI reaches it with "@1".
func TestReloadStatsSocket(t *testing.T) {
	dir := t.TempDir()
	stats := filepath.Join(dir, "stats.sock")
	cfgPath, sock, port := simpleReloadConfig(t, "    stats socket "+stats+" level admin")
	p := startMaster(t, cfgPath, sock, nil, port)
	before := waitProc(t, sock, "a worker", 5*time.Second, func(pt procTable) bool { return len(pt.workers) == 1 })
	// An idle keep-alive connection keeps the old worker alive a while.
	c, _, err := getOnce("127.0.0.1:"+strconv.Itoa(port), nil, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p.cmd.Process.Signal(syscall.SIGUSR2)
	after := waitProc(t, sock, "a new worker", 10*time.Second, func(pt procTable) bool {
		return len(pt.workers) == 1 && pt.workers[0] != before.workers[0]
	})
	want := fmt.Sprintf("Pid: %d\n", after.workers[0])
	for i := range 20 {
		out, err := masterCLI(t, stats, "show info")
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("show info #%d on the stats socket: %v; want %q in:\n%.300s", i, err, want, out)
		}
	}
	out, err := masterCLI(t, sock, "@1 show info")
	if err != nil || !strings.Contains(out, want) {
		t.Fatalf("@1 show info on the master CLI: %v; want %q in:\n%.300s", err, want, out)
	}
	if isHAProxy() {
		return // haproxy 2.6 closed the idle connection: its old worker is gone
	}
	// The old worker, still finishing its connection, answers "@!<pid>".
	if pt, _ := showProc(t, sock); len(pt.olds) != 1 || pt.olds[0] != before.workers[0] {
		t.Fatalf("show proc: old workers %v, want [%d]", pt.olds, before.workers[0])
	}
	wantOld := fmt.Sprintf("Pid: %d\n", before.workers[0])
	out, err = masterCLI(t, sock, fmt.Sprintf("@!%d show info", before.workers[0]))
	if err != nil || !strings.Contains(out, wantOld) {
		t.Fatalf("@!%d show info on the master CLI: %v; want %q in:\n%.300s", before.workers[0], err, wantOld, out)
	}
}

// handoverByX runs oldBin, then newBin with "-x <stats socket> -sf <old
// pid>", both with "noreuseport" so that only the transferred sockets let
// the new process serve the same port, while clients keep connecting.
// It returns the requests that failed.
func handoverByX(t *testing.T, oldBin, newBin string, newMode ...string) (ok, failed int64, errs []string) {
	if len(newMode) == 0 {
		newMode = []string{"-db"}
	}
	dir := t.TempDir()
	stats := filepath.Join(dir, "stats.sock")
	cfgPath, _, port := simpleReloadConfig(t, "    noreuseport\n    stats socket "+stats+" level admin expose-fd listeners")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	old := startProxyCmd(t, exec.Command(oldBin, "-db", "-f", cfgPath), port)
	var st loadStats
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := getOnce(addr, nil, nil, false); err != nil {
					st.fail(fmt.Sprintf("client %d", i), err)
				} else {
					st.ok.Add(1)
				}
			}
		}()
	}
	time.Sleep(200 * time.Millisecond)
	cmd := exec.Command(newBin, append(newMode, "-f", cfgPath, "-x", stats, "-sf", strconv.Itoa(old.cmd.Process.Pid))...)
	p := startProxyCmd(t, cmd, port)
	select {
	case <-old.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the old process did not leave; new process's stderr:\n%s", p.Stderr())
	}
	time.Sleep(300 * time.Millisecond) // the new process alone now
	close(stop)
	wg.Wait()
	if p.exited() {
		t.Fatalf("the new process exited: %v\n%s", p.err, p.Stderr())
	}
	if _, _, err := getOnce(addr, nil, nil, false); err != nil {
		t.Fatalf("the new process does not serve: %v\n%s", err, p.Stderr())
	}
	return st.ok.Load(), st.failed.Load(), st.firstErrs
}

// -x takes the listening sockets from the old process (haproxy's
// "_getsocks" on a stats socket with "expose-fd listeners"): the port is
// never closed, so no connection attempt fails during the hand-over. The
// wire format is haproxy's: dhproxy also takes them from haproxy 2.6, and
// haproxy from dhproxy.
func TestSocketTransferX(t *testing.T) {
	ok, failed, errs := handoverByX(t, bin, bin)
	t.Logf("%s -> %s: %d requests ok, %d failed %q", filepath.Base(bin), filepath.Base(bin), ok, failed, errs)
	if failed > 0 && !isHAProxy() {
		t.Errorf("%d requests failed during the hand-over: %q", failed, errs)
	}
	const haproxy = "/usr/sbin/haproxy"
	if isHAProxy() {
		return
	}
	if _, err := os.Stat(haproxy); err != nil {
		t.Fatalf("%s is needed to check the wire format (scripts/install-test-deps.sh installs it)", haproxy)
	}
	for _, pair := range [][2]string{{haproxy, bin}, {bin, haproxy}} {
		ok, failed, errs := handoverByX(t, pair[0], pair[1])
		t.Logf("%s -> %s: %d requests ok, %d failed %q", filepath.Base(pair[0]), filepath.Base(pair[1]), ok, failed, errs)
	}
}

// "grace": after SIGUSR1 the process keeps accepting for that long, then
// stops as usual.
func TestGraceKeepsAccepting(t *testing.T) {
	cfgPath, _, port := simpleReloadConfig(t, "    grace 3s")
	addr := "127.0.0.1:" + strconv.Itoa(port)
	p := startProxyCmd(t, exec.Command(bin, "-db", "-f", cfgPath), port)
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGUSR1)
	time.Sleep(300 * time.Millisecond)
	if _, _, err := getOnce(addr, nil, nil, false); err != nil {
		t.Fatalf("during grace: %v", err)
	}
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Signal(syscall.SIGQUIT)
		<-p.done
		t.Fatalf("the process did not stop after grace:\n%s", p.Stderr())
	}
	if d := time.Since(start); d < 2900*time.Millisecond {
		t.Fatalf("stopped %v after SIGUSR1, before grace (3s) ended", d)
	}
}

// -W -D: the command returns once the worker serves; the pid file holds
// the master's pid, which stops everything with SIGTERM.
func TestMasterWorkerDaemon(t *testing.T) {
	cfgPath, sock, port := simpleReloadConfig(t, "")
	pidfile := filepath.Join(filepath.Dir(sock), "d.pid")
	out, err := exec.Command(bin, "-W", "-D", "-p", pidfile, "-S", sock, "-f", cfgPath).CombinedOutput()
	if err != nil {
		t.Fatalf("-W -D: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(pidfile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil || pid <= 0 {
		t.Fatalf("pid file: %q %v", raw, err)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	waitPort(t, port, 5*time.Second)
	pt := waitProc(t, sock, "a worker", 5*time.Second, func(pt procTable) bool { return len(pt.workers) == 1 })
	if !strings.HasPrefix(pt.master, strconv.Itoa(pid)+" ") {
		t.Errorf("show proc's master %q, pid file %d", pt.master, pid)
	}
	syscall.Kill(pid, syscall.SIGTERM)
	for end := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if syscall.Kill(pid, 0) != nil && syscall.Kill(pt.workers[0], 0) != nil {
			break
		}
		if time.Now().After(end) {
			t.Fatal("master or worker still running 5 s after SIGTERM")
		}
	}
}

// Master-worker mode defines HAPROXY_MWORKER for the configuration, as
// haproxy 2.6 does: for the reloads (the first start read it before).
func TestMasterWorkerEnv(t *testing.T) {
	cfgPath, sock, port := simpleReloadConfig(t, "")
	port2 := freePort(t)
	f, _ := os.OpenFile(cfgPath, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, ".if defined(HAPROXY_MWORKER)\nfrontend fe2\n    bind 127.0.0.1:%d\n    default_backend be\n.endif\n", port2)
	f.Close()
	p := startMaster(t, cfgPath, sock, nil, port)
	if canDial(port2) {
		t.Fatal("HAPROXY_MWORKER defined for the first configuration")
	}
	p.cmd.Process.Signal(syscall.SIGUSR2)
	waitPort(t, port2, 10*time.Second)
}

// A soft stop sent the moment the listeners accept, while the process
// still starts, is kept: the process stops, as it does once running.
func TestEarlySoftStopIsKept(t *testing.T) {
	for i := 0; i < 6; i++ {
		cfgPath, _, port := simpleReloadConfig(t, "")
		cmd := exec.Command(bin, "-db", "-f", cfgPath)
		p := startProxyCmd(t, cmd)
		for !canDial(port) {
			if p.exited() {
				t.Fatalf("exited before listening: %s", p.Stderr())
			}
			time.Sleep(time.Millisecond)
		}
		p.cmd.Process.Signal(syscall.SIGUSR1)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
			t.Fatalf("run %d: SIGUSR1 sent as the port opened was lost: still running 5 s later", i)
		}
	}
}

// TestSoftStopEndsChecks: a soft-stopping process (SIGUSR1, the old worker
// of a reload) runs no more health checks, as haproxy 2.6: the next process
// follows the servers. A tunnel keeps the old process alive meanwhile.
func TestSoftStopEndsChecks(t *testing.T) {
	var checks atomic.Int64
	chk, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer chk.Close()
	go func() {
		for {
			c, err := chk.Accept()
			if err != nil {
				return
			}
			checks.Add(1)
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Second))
				c.Read(make([]byte, 512))
				io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
			}()
		}
	}()
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	fe := freePort(t)
	p := startProxy(t, "global\n    hard-stop-after 10s"+defaultsSection("tcp", "1s", "30s", "30s")+fmt.Sprintf(`
listen tun
    bind 127.0.0.1:%d
    server e %s
backend chk
    mode http
    option httpchk
    server s %s check inter 100ms
`, fe, echo.Addr(), chk.Addr()), fe)
	tun, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(fe))
	if err != nil {
		t.Fatal(err)
	}
	defer tun.Close()
	tun.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(tun, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(tun, make([]byte, 1)); err != nil {
		t.Fatalf("tunnel: %v", err)
	}
	for end := time.Now().Add(3 * time.Second); checks.Load() < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("only %d checks in 3 s:\n%s", checks.Load(), p.Stderr())
		}
	}
	p.cmd.Process.Signal(syscall.SIGUSR1)
	time.Sleep(150 * time.Millisecond) // a check under way may still land
	before := checks.Load()
	time.Sleep(time.Second)
	if p.exited() {
		t.Fatalf("the process left with its tunnel open:\n%s", p.Stderr())
	}
	if n := checks.Load() - before; n > 0 {
		t.Errorf("%d health checks in the second after SIGUSR1 (inter 100ms); a stopping process checks no more", n)
	}
	if _, err := io.WriteString(tun, "y"); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(tun, make([]byte, 1)); err != nil {
		t.Fatalf("tunnel after SIGUSR1: %v", err)
	}
}

// TestCloseSpreadInfinite: with "close-spread-time infinite" a soft stop asks
// no connection to end, as haproxy 2.6: requests on a keep-alive connection
// opened before SIGUSR1 are answered without "Connection: close" and the
// connection stays usable (the process lives on until it closes).
func TestCloseSpreadInfinite(t *testing.T) {
	cfgPath, _, port := simpleReloadConfig(t, "    close-spread-time infinite\n    hard-stop-after 10s")
	p := startProxyCmd(t, exec.Command(bin, "-db", "-f", cfgPath), port)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	c, r, err := getOnce(addr, nil, nil, true)
	if err != nil || c == nil {
		t.Fatalf("first request: %v", err)
	}
	defer c.Close()
	p.cmd.Process.Signal(syscall.SIGUSR1)
	time.Sleep(300 * time.Millisecond)
	for i := range 2 {
		if c, r, err = getOnce(addr, c, r, true); err != nil || c == nil {
			t.Fatalf("request %d after SIGUSR1: %v (closed: %v); want an answer that keeps the connection", i+1, err, c == nil)
		}
	}
	if p.exited() {
		t.Fatal("the process left with a connection open")
	}
	c.Close()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the process did not leave once its last connection closed")
	}
}

// TestMasterWorkerKeyword: "master-worker" in global is -W: the started
// process is a master whose worker serves, and SIGUSR2 replaces the worker.
func TestMasterWorkerKeyword(t *testing.T) {
	cfgPath, sock, port := simpleReloadConfig(t, "    master-worker")
	p := startProxyCmd(t, exec.Command(bin, "-S", sock, "-f", cfgPath), port)
	before := waitProc(t, sock, "a worker runs", 10*time.Second, func(pt procTable) bool { return len(pt.workers) == 1 })
	if before.workers[0] == p.cmd.Process.Pid {
		t.Fatalf("the started process %d is listed as the worker", p.cmd.Process.Pid)
	}
	p.cmd.Process.Signal(syscall.SIGUSR2)
	waitProc(t, sock, "the reload replaces the worker", 10*time.Second, func(pt procTable) bool {
		return len(pt.workers) == 1 && pt.workers[0] != before.workers[0]
	})
	if _, _, err := getOnce("127.0.0.1:"+strconv.Itoa(port), nil, nil, false); err != nil {
		t.Fatalf("request after the reload: %v", err)
	}
}

// TestSocketTransferXToMaster: a master-worker process started with -x and
// -sf takes the listening sockets of the standalone process it replaces
// (noreuseport: it could not bind beside it), as haproxy's master does.
func TestSocketTransferXToMaster(t *testing.T) {
	msock := filepath.Join(t.TempDir(), "master.sock")
	ok, failed, errs := handoverByX(t, bin, bin, "-W", "-S", msock)
	t.Logf("%s -> %s -W: %d requests ok, %d failed %q", filepath.Base(bin), filepath.Base(bin), ok, failed, errs)
	if failed > 0 {
		t.Errorf("%d requests failed during the hand-over: %q", failed, errs)
	}
	if pt, err := showProc(t, msock); err != nil || len(pt.workers) != 1 {
		t.Errorf("show proc: %+v %v; want one worker", pt, err)
	}
}
