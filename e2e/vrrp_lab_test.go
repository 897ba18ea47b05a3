package e2e

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// vlab is a network-namespace lab for the VRRP tests, built by the shared
// netns-lab.sh: hosts joined by one bridge, 10.213.0.1, .2, ... in the order
// given. Traffic stays inside it.
//
// To start VRRP from another test (e.g. a VIP in front of MariaDB):
//
//	l := newVLab(t, "client", "lb1", "lb2", "db1")
//	p := l.start(t, "lb1", bin, "vrrp", "-f", l.file(t, "k1.conf", conf))
//	l.waitHolder(t, vip, "lb1", []string{"lb1", "lb2"}, 10*time.Second)
type vlab struct {
	prefix string
	addr   map[string]string // host -> IPv4 address
	script string
}

// vlabCount makes lab names unique within the test process (the pid
// across processes).
var vlabCount atomic.Int32

func vlabScript(t *testing.T) string {
	cands := []string{os.Getenv("LAB_SCRIPT"), "../../shared/lab/netns-lab.sh", "/work/shared/lab/netns-lab.sh"}
	for _, c := range cands {
		if c == "" {
			continue
		}
		if p, err := filepath.Abs(c); err == nil {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
	}
	t.Fatalf("netns-lab.sh not found (tried %v; set LAB_SCRIPT)", cands)
	return ""
}

// newVLab builds the hosts and removes them at cleanup, also on failure.
func newVLab(t *testing.T, hosts ...string) *vlab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	if isHAProxy() {
		t.Skip("VRRP is dhproxy's")
	}
	n := vlabCount.Add(1)
	l := &vlab{prefix: fmt.Sprintf("vr%d-%d", os.Getpid()%100000, n), addr: map[string]string{}, script: vlabScript(t)}
	t.Cleanup(func() { l.run(t, "down") })
	out := l.run(t, append([]string{"up"}, hosts...)...)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) == 2 {
			l.addr[f[0]] = f[1]
		}
	}
	if len(l.addr) != len(hosts) {
		t.Fatalf("lab up printed %q", out)
	}
	return l
}

func (l *vlab) run(t *testing.T, args ...string) string {
	t.Helper()
	cmd := exec.Command("bash", append([]string{l.script}, args...)...)
	cmd.Env = append(os.Environ(), "LAB_PREFIX="+l.prefix)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("netns-lab.sh %v: %v\n%s", args, err, out)
	}
	return string(out)
}

func (l *vlab) ns(host string) string { return l.prefix + "-" + host }

func (l *vlab) output(host string, name string, args ...string) (string, error) {
	var b bytes.Buffer
	c := exec.Command("ip", append([]string{"netns", "exec", l.ns(host), name}, args...)...)
	c.Stdout, c.Stderr = &b, &b
	err := c.Run()
	return b.String(), err
}

// file writes a file in the test's temp dir.
func (l *vlab) file(t *testing.T, name, content string) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// start runs a program inside a host ("ip netns exec" execs it, so the
// process is the program itself); it is stopped at cleanup.
func (l *vlab) start(t *testing.T, host string, name string, args ...string) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", l.ns(host), name}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.WaitDelay = waitDelay
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("starting %s in %s: %v", name, host, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.stop()
		// A binary built with -race (DHPROXY_BIN) reports here.
		if strings.Contains(p.Stderr(), "DATA RACE") || strings.Contains(p.Stderr(), "panic:") {
			t.Errorf("%s in %s:\n%s", name, host, p.Stderr())
		}
	})
	return p
}

// kill sends SIGKILL and waits.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// term sends SIGTERM and waits up to 10 s.
func (p *proc) term(t *testing.T) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("process %d ignored SIGTERM for 10 s", p.cmd.Process.Pid)
		p.kill()
	}
}

func (l *vlab) hasAddr(host, ip string) bool {
	out, _ := l.output(host, "ip", "-o", "addr", "show", "dev", "eth0")
	return strings.Contains(out, " "+ip+"/")
}

// holders lists the hosts whose eth0 carries ip.
func (l *vlab) holders(ip string, hosts []string) []string {
	var hs []string
	for _, h := range hosts {
		if l.hasAddr(h, ip) {
			hs = append(hs, h)
		}
	}
	return hs
}

// waitHolder waits until want holds ip (and, unless also is set, no other
// host among hosts does); it returns when that was first seen.
func (l *vlab) waitHolder(t *testing.T, ip, want string, hosts []string, within time.Duration, logs ...*proc) time.Time {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		hs := l.holders(ip, hosts)
		if len(hs) == 1 && hs[0] == want {
			return time.Now()
		}
		if time.Now().After(deadline) {
			var b strings.Builder
			for i, p := range logs {
				fmt.Fprintf(&b, "\n--- log %d:\n%s%s", i, p.Stdout(), p.Stderr())
			}
			t.Fatalf("%s held by %v after %v, want only %s%s", ip, hs, within, want, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inNetns runs f on a thread moved into the host's network namespace, then
// moves the thread back: sockets f creates belong to the lab for good.
func (l *vlab) inNetns(host string, f func()) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(orig)
		fd, err := unix.Open("/var/run/netns/"+l.ns(host), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- err
			return
		}
		f()
		// Only a thread back home returns to the pool; otherwise it stays
		// locked and dies with this goroutine.
		if err := unix.Setns(orig, unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("leaving %s: %w", host, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- nil
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("entering %s: %w", host, err)
	}
	return nil
}

// httpServer serves name on host:port inside the lab until stop.
func (l *vlab) httpServer(t *testing.T, host string, port int, name string) (stop func()) {
	t.Helper()
	var ln net.Listener
	var err error
	if nerr := l.inNetns(host, func() { ln, err = net.Listen("tcp", fmt.Sprintf("%s:%d", l.addr[host], port)) }); nerr != nil {
		t.Fatal(nerr)
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: backendHandler(name), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	var once sync.Once
	stop = func() { once.Do(func() { srv.Close() }) }
	t.Cleanup(stop)
	return stop
}

// httpClient dials from inside the host.
func (l *vlab) httpClient(t *testing.T, host string) *http.Client {
	dial := func(network, addr string) (net.Conn, error) {
		var c net.Conn
		var err error
		if nerr := l.inNetns(host, func() { c, err = net.DialTimeout(network, addr, 500*time.Millisecond) }); nerr != nil {
			return nil, nerr
		}
		return c, err
	}
	return &http.Client{
		Timeout:   time.Second,
		Transport: &http.Transport{Dial: dial, DisableKeepAlives: true},
	}
}
