package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func isHAProxy() bool { return strings.Contains(filepath.Base(bin), "haproxy") }

// comparesWithHAProxy skips a test that runs haproxy beside dhproxy in
// every run: with DHPROXY_BIN=haproxy it would compare haproxy with itself,
// and its checks of dhproxy's documented differences do not hold there.
func comparesWithHAProxy(t *testing.T) {
	t.Helper()
	if isHAProxy() {
		t.Skip("compares dhproxy with haproxy in every run")
	}
}

func TestVersionLayout(t *testing.T) {
	for _, flag := range []string{"-v", "-vv"} {
		out, err := exec.Command(bin, flag).Output()
		if err != nil {
			t.Fatalf("%s: %v", flag, err)
		}
		first := strings.SplitN(string(out), "\n", 2)[0]
		// HAProxy's layout: "<Name> version <X> <date> - <url>".
		f := strings.Fields(first)
		if len(f) < 3 || f[1] != "version" {
			t.Fatalf("%s: first line %q is not '<name> version <x> ...'", flag, first)
		}
		if flag == "-vv" && !strings.Contains(string(out), "Feature list :") {
			t.Fatalf("-vv lacks the feature list:\n%s", out)
		}
	}
}

func TestCondFlag(t *testing.T) {
	cases := []struct {
		expr string
		env  string
		want int
	}{
		{"1", "", 0},
		{"0", "", 1},
		{"defined(DH_COND_X)", "DH_COND_X=1", 0},
		{"defined(DH_COND_X)", "", 1},
		{`streq("$DH_COND_X",yes) && !defined(DH_COND_NONE)`, "DH_COND_X=yes", 0},
		{"version_atleast(1.8)", "", 0},
	}
	for _, c := range cases {
		cmd := exec.Command(bin, "-cc", c.expr)
		cmd.Env = os.Environ()
		if c.env != "" {
			cmd.Env = append(cmd.Env, c.env)
		}
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.want {
			t.Errorf("-cc %q (%s): exit %d, want %d", c.expr, c.env, code, c.want)
		}
	}
}

// TestCheckDiagnosticsNameFileLine: -c on a broken file reports every error
// with [file:line], exits 1, and ends with HAProxy's fatal line.
func TestCheckDiagnosticsNameFileLine(t *testing.T) {
	cfg := "global\n    maxconn abc\nfrontend f\n    bind :8080\n    frobnicate\n    default_backend nope\n"
	_, stderr, code := runCheck(t, cfg)
	if code != 1 {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr)
	}
	for _, want := range []string{"haproxy.cfg:5] :", "Error(s) found in configuration file : ", "Fatal errors found in configuration."} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if isHAProxy() {
		return
	}
	// HAProxy takes "maxconn abc" as 0; dhproxy refuses it.
	if !strings.Contains(stderr, "haproxy.cfg:2] :") || !strings.Contains(stderr, "haproxy.cfg:6] :") || !strings.Contains(stderr, "'nope'") {
		t.Errorf("missing backend not reported at line 6:\n%s", stderr)
	}
}

// TestBindForms serves one backend through a port range, a unix socket and
// an inherited file descriptor.
func TestBindForms(t *testing.T) {
	if isHAProxy() {
		t.Skip("fd@ inheritance is exercised against dhproxy only")
	}
	be, _ := startHTTPBackend(t, "b")
	// Two consecutive free ports for the range.
	var lo int
	for range 50 {
		lo = freePort(t)
		if l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(lo+1)); err == nil {
			l.Close()
			break
		}
	}
	sock := filepath.Join(t.TempDir(), "dh.sock")
	inherited, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fdPort := inherited.Addr().(*net.TCPAddr).Port
	f, err := inherited.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	inherited.Close()
	defer f.Close()

	cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d-%d
    bind unix@%s
    bind "fd@${LISTEN_FD}"
    default_backend be
backend be
    server s 127.0.0.1:%d
`, lo, lo+1, sock, be)
	cmd := exec.Command(bin, "-db", "-f", writeConfig(t, cfg))
	cmd.ExtraFiles = []*os.File{f} // becomes fd 3
	cmd.Env = append(os.Environ(), "LISTEN_FD=3")
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() })
	for _, p := range []int{lo, lo + 1, fdPort} {
		waitPort(t, p, 10*time.Second)
		body, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", p))
		if err != nil || body != "b" {
			t.Fatalf("port %d: %q %v; stderr %s", p, body, err, stderr.String())
		}
	}
	body, err := curl(t, "--unix-socket", sock, "http://x/")
	if err != nil || body != "b" {
		t.Fatalf("unix socket: %q %v", body, err)
	}
}

// TestDaemonPidfile: -D returns once the background process serves; the
// pid file names that process, which answers and stops on SIGTERM.
func TestDaemonPidfile(t *testing.T) {
	be, _ := startHTTPBackend(t, "d")
	port := freePort(t)
	pidfile := filepath.Join(t.TempDir(), "dh.pid")
	cfg := fmt.Sprintf("defaults\n mode http\n timeout connect 2s\n timeout client 5s\n timeout server 5s\nlisten l\n bind 127.0.0.1:%d\n server s 127.0.0.1:%d\n", port, be)
	out, err := exec.Command(bin, "-D", "-p", pidfile, "-f", writeConfig(t, cfg)).CombinedOutput()
	if err != nil {
		t.Fatalf("-D: %v\n%s", err, out)
	}
	raw, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(raw)))
	if err != nil {
		t.Fatalf("pidfile %q", raw)
	}
	proc, _ := os.FindProcess(pid)
	t.Cleanup(func() { proc.Signal(syscall.SIGKILL) })
	waitPort(t, port, 10*time.Second)
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Backend") != "d" {
		t.Fatalf("daemon did not proxy: %v", resp.Header)
	}
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for proc.Signal(syscall.Signal(0)) == nil {
		if time.Now().After(deadline) {
			t.Fatal("daemon still alive 5s after SIGTERM")
		}
		if st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(st), ") Z ") {
			break // exited; a zombie until its parent (init) reaps it
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestStartupBindError: a busy port is reported with the bind line and the
// process exits 1 instead of running half-configured.
func TestStartupBindError(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	cfg := fmt.Sprintf("defaults\n mode tcp\n timeout connect 1s\n timeout client 1s\n timeout server 1s\nlisten l\n bind 127.0.0.1:%d\n server s 127.0.0.1:1\n", port)
	cmd := exec.Command(bin, "-db", "-f", writeConfig(t, cfg))
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("want exit 1, got %v\n%s", err, out)
	}
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	found := false
	for sc.Scan() {
		if strings.Contains(sc.Text(), "[ALERT]") && strings.Contains(sc.Text(), strconv.Itoa(port)) {
			found = true
		}
	}
	if !found {
		t.Fatalf("no alert naming port %d:\n%s", port, out)
	}
}

// TestCheckKeepalivedConf: -c -K validates a keepalived.conf beside the
// haproxy.cfg, with keepalived-style errors naming file:line.
func TestCheckKeepalivedConf(t *testing.T) {
	if isHAProxy() {
		t.Skip("-K is dhproxy's")
	}
	dir := t.TempDir()
	hcfg := writeConfig(t, "defaults\n mode http\n timeout connect 1s\n timeout client 1s\n timeout server 1s\nlisten l\n bind 127.0.0.1:8080\n server s 127.0.0.1:80\n")
	good := filepath.Join(dir, "good.conf")
	os.WriteFile(good, []byte(`vrrp_instance VI_1 {
    state MASTER
    interface eth0
    virtual_router_id 51
    priority 101
    advert_int 1
    authentication {
        auth_type PASS
        auth_pass 1111
    }
    virtual_ipaddress {
        10.213.0.100/24
    }
}
`), 0o644)
	out, err := exec.Command(bin, "-c", "-f", hcfg, "-K", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Configuration file is valid") {
		t.Fatalf("valid pair refused: %v\n%s", err, out)
	}
	bad := filepath.Join(dir, "bad.conf")
	os.WriteFile(bad, []byte("vrrp_instance VI_1 {\n    state MASTR\n    virtual_router_id 300\n}\n"), 0o644)
	out, err = exec.Command(bin, "-c", "-f", hcfg, "-K", bad).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("bad keepalived.conf: %v\n%s", err, out)
	}
	for _, want := range []string{"bad.conf:2]", "bad.conf:3]", "Fatal errors found in configuration."} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
