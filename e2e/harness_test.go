// Package e2e holds black-box tests that run the dhproxy binary like haproxy
// and talk to it over loopback. Setting DHPROXY_BIN runs the same tests
// against another binary, e.g. DHPROXY_BIN=/usr/sbin/haproxy, to check that
// the tests themselves encode HAProxy's real behaviour.
package e2e

import (
	"bytes"
	"context"
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
	"syscall"
	"testing"
	"time"
)

// bin is the proxy binary under test.
var bin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if b := os.Getenv("DHPROXY_BIN"); b != "" {
		bin = b
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "dhproxy-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin = filepath.Join(dir, "dhproxy")
	build := exec.Command("go", "build", "-o", bin, "dhproxy/cmd/dhproxy")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: building dhproxy:", err)
		return 1
	}
	return m.Run()
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t testing.TB) int {
	t.Helper()
	// The kernel may hand a just-closed port out again: a port given
	// once is never given twice in a run, so that two binds of a test, or
	// a test's "closed" port and another test's server, never share one.
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !portsGiven[port] {
			portsGiven[port] = true
			return port
		}
	}
	t.Fatal("no port that was not handed out before")
	return 0
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// syncBuffer is a bytes.Buffer safe to read while a process writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a running proxy process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr syncBuffer
	done           chan struct{} // closed once the process has exited
	err            error         // Wait's result, valid after done
}

func (p *proc) Stdout() string { return p.stdout.String() }
func (p *proc) Stderr() string { return p.stderr.String() }

// exited reports whether the process has already stopped.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// waitDelay bounds how long Wait waits for a dead process's output pipes:
// a child it forked (keepalived's VRRP process, say) may hold them open.
const waitDelay = 2 * time.Second

// stop sends SIGTERM, then SIGKILL after 3 s, to this process only, and
// waits for it.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// writeConfig stores cfg in a fresh temp dir and returns its path.
func writeConfig(t testing.TB, cfg string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// defaultsSection is the "defaults" section most test configurations open
// with: the mode, the connect, client and server timeouts and then any
// extra lines. It starts with a newline and ends without one, as the text
// around it in the tests' raw strings.
func defaultsSection(mode, connect, client, server string, extra ...string) string {
	var b strings.Builder
	b.WriteString("\ndefaults\n    mode " + mode)
	for _, l := range extra {
		b.WriteString("\n    " + l)
	}
	b.WriteString("\n    timeout connect " + connect + "\n    timeout client " + client + "\n    timeout server " + server)
	return b.String()
}

// startProxy runs `BIN -db -f cfg` and waits until every waitPort on
// 127.0.0.1 accepts connections. The process is stopped at test cleanup.
func startProxy(t testing.TB, cfg string, waitPorts ...int) *proc {
	t.Helper()
	return startProxyEnv(t, cfg, nil, waitPorts...)
}

// startProxyEnv is startProxy with env ("NAME=value") added to the
// process's environment.
func startProxyEnv(t testing.TB, cfg string, env []string, waitPorts ...int) *proc {
	t.Helper()
	cmd := exec.Command(bin, "-db", "-f", writeConfig(t, cfg))
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	return startProxyCmd(t, cmd, waitPorts...)
}

// startProxyCmd is startProxy for a command of the caller's (under
// prlimit, say).
func startProxyCmd(t testing.TB, cmd *exec.Cmd, waitPorts ...int) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{}), cmd: cmd}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.WaitDelay = waitDelay
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.stopChecked(t, bin) })

	deadline := time.Now().Add(10 * time.Second)
	for _, port := range waitPorts {
		for !canDial(port) {
			if p.exited() {
				t.Fatalf("proxy exited (%v) before port %d was up; stderr:\n%s", p.err, port, p.Stderr())
			}
			if time.Now().After(deadline) {
				t.Fatalf("port %d not accepting after 10s; stderr:\n%s", port, p.Stderr())
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return p
}

// stopChecked stops p and fails the test when p reported a data race (a
// DHPROXY_BIN built with -race) or crashed with a panic.
func (p *proc) stopChecked(t testing.TB, what string) {
	p.stop()
	out := p.Stderr()
	if strings.Contains(out, "WARNING: DATA RACE") || strings.HasPrefix(out, "panic: ") || strings.Contains(out, "\npanic: ") {
		t.Errorf("%s:\n%s", what, out)
	}
}

func canDial(port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 200*time.Millisecond)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// waitPort polls until 127.0.0.1:port accepts connections or fails the test.
func waitPort(t testing.TB, port int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !canDial(port) {
		if time.Now().After(deadline) {
			t.Fatalf("port %d not accepting after %v", port, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runCheck runs `BIN -c -f cfg` and returns its output and exit code.
func runCheck(t testing.TB, cfg string) (stdout, stderr string, exitCode int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-c", "-f", writeConfig(t, cfg))
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		exitCode = ee.ExitCode()
	default:
		t.Fatalf("running %s -c: %v", bin, err)
	}
	return o.String(), e.String(), exitCode
}

// startHTTPBackend serves HTTP/1.1 on a loopback port. Every response has
// body name (except /echo), X-Backend: name and X-Seen-* headers reporting
// what the backend received. Paths:
//   - /echo streams the request body back (full duplex, flushed per read);
//   - /slow?ms=N waits N ms before answering;
//   - any path with ?status=N answers with that status code.
//
// The returned stop function closes the server (also done at cleanup).
func startHTTPBackend(t testing.TB, name string) (port int, stop func()) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: backendHandler(name), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(l)
	var once sync.Once
	stop = func() { once.Do(func() { srv.Close() }) }
	t.Cleanup(stop)
	return l.Addr().(*net.TCPAddr).Port, stop
}

func backendHandler(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Backend", name)
		h.Set("X-Seen-XFF", strings.Join(r.Header.Values("X-Forwarded-For"), ", "))
		h.Set("X-Seen-Connection", strings.Join(r.Header.Values("Connection"), ", "))
		h.Set("X-Seen-Host", r.Host)
		h.Set("X-Seen-Method", r.Method)
		h.Set("X-Seen-URI", r.RequestURI)
		h.Set("X-Seen-Proto", r.Proto)
		h.Set("X-Seen-Remote", r.RemoteAddr)
		h.Set("X-Seen-Content-Length", strconv.FormatInt(r.ContentLength, 10))
		h.Set("X-Seen-Transfer-Encoding", strings.Join(r.TransferEncoding, ", "))
		status := http.StatusOK
		if s, err := strconv.Atoi(r.URL.Query().Get("status")); err == nil {
			status = s
		}

		switch r.URL.Path {
		case "/echo":
			// Echo while still reading, so streaming through the proxy
			// can be observed; Go needs full duplex enabled for that.
			rc := http.NewResponseController(w)
			rc.EnableFullDuplex()
			if ct := r.Header.Get("Content-Type"); ct != "" {
				h.Set("Content-Type", ct)
			}
			w.WriteHeader(status)
			buf := make([]byte, 32<<10)
			for {
				n, err := r.Body.Read(buf)
				if n > 0 {
					if _, werr := w.Write(buf[:n]); werr != nil {
						return
					}
					rc.Flush()
				}
				if err != nil {
					return
				}
			}
		case "/slow":
			ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
			select {
			case <-time.After(time.Duration(ms) * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
		io.WriteString(w, name)
	}
}

// curl runs the real curl with -sS --max-time 5 and returns its stdout; the
// error carries curl's stderr.
func curl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("/usr/bin/curl", append([]string{"-sS", "--max-time", "5"}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		return o.String(), fmt.Errorf("curl %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(e.String()))
	}
	return o.String(), nil
}

// Smoke tests of the harness itself, valid for haproxy and dhproxy alike.

func TestCheckValidConfig(t *testing.T) {
	out, errOut, code := runCheck(t, `
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen l
    bind 127.0.0.1:`+strconv.Itoa(freePort(t))+`
    server s1 127.0.0.1:9
`)
	if code != 0 || !strings.Contains(out, "Configuration file is valid") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestCheckInvalidConfig(t *testing.T) {
	out, errOut, code := runCheck(t, `
global
    no_such_keyword 1
listen l
    bind 127.0.0.1:`+strconv.Itoa(freePort(t))+`
`)
	if code != 1 || !strings.Contains(errOut, "[ALERT]") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestTCPModeToHTTPBackend(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
listen l
    bind 127.0.0.1:%d
    server s1 127.0.0.1:%d
`, port, be), port)
	body, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil || body != "web1" {
		t.Fatalf("body %q, %v", body, err)
	}
}

func TestHTTPModeForwardedFor(t *testing.T) {
	be, _ := startHTTPBackend(t, "web1")
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`
defaults
    mode http
    option forwardfor
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend f
    bind 127.0.0.1:%d
    default_backend b
backend b
    server s1 127.0.0.1:%d
`, port, be), port)
	out, err := curl(t, "-D", "-", fmt.Sprintf("http://127.0.0.1:%d/x?y=1", port))
	if err != nil {
		t.Fatal(err)
	}
	// HAProxy lowercases header names on the way out, so compare that way.
	for _, want := range []string{"x-backend: web1", "x-seen-xff: 127.0.0.1", "x-seen-uri: /x?y=1"} {
		if !strings.Contains(strings.ToLower(out), want) {
			t.Errorf("response lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasSuffix(out, "web1") {
		t.Errorf("body: %q", out)
	}
}

// TestHTTPBackendEcho checks the backend helper alone (no proxy).
func TestHTTPBackendEcho(t *testing.T) {
	be, stop := startHTTPBackend(t, "b")
	u := fmt.Sprintf("http://127.0.0.1:%d", be)
	out, err := curl(t, "-H", "Transfer-Encoding: chunked", "--data-binary", "hello world", u+"/echo")
	if err != nil || out != "hello world" {
		t.Fatalf("echo %q, %v", out, err)
	}
	start := time.Now()
	if out, err := curl(t, u+"/slow?ms=200&status=503", "-o", "/dev/null", "-w", "%{http_code}"); err != nil || out != "503" {
		t.Fatalf("slow: %q, %v", out, err)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Error("/slow answered too fast")
	}
	stop()
	if _, err := curl(t, u+"/"); err == nil {
		t.Error("backend still answering after stop")
	}
}
