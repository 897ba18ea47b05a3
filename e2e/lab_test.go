package e2e

import (
	"bufio"
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

// lab is a network-namespace lab built by the shared netns-lab.sh: hosts
// joined by one bridge, 10.213.0.1, .2, ... in the order given. Traffic
// stays inside it; the hosts are removed at cleanup, also on failure.
//
//	l := newLab(t, "client", "lb1", "lb2", "db1")
//	p := l.start("lb1", bin, "vrrp", "-f", l.writeFile("k1.conf", conf))
//	l.waitHolder(vip, "lb1", []string{"lb1", "lb2"}, 10*time.Second)
type lab struct {
	t      testing.TB
	script string
	prefix string
	addr   map[string]string // host -> IPv4 address on the lab subnet
	dir    string
}

// labSeq makes lab and file names unique within the test process (the
// pid across processes).
var labSeq atomic.Int32

// labScript finds netns-lab.sh: LAB_SCRIPT (or NETNS_LAB), else the
// shared folder beside the repository.
func labScript(t testing.TB) string {
	cands := []string{os.Getenv("LAB_SCRIPT"), os.Getenv("NETNS_LAB"), "../../shared/lab/netns-lab.sh", "/work/shared/lab/netns-lab.sh"}
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

// newLab builds the hosts.
func newLab(t testing.TB, hosts ...string) *lab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	l := &lab{t: t, script: labScript(t), prefix: fmt.Sprintf("lb%d-%d", os.Getpid()%100000, labSeq.Add(1)), addr: map[string]string{}, dir: t.TempDir()}
	t.Cleanup(func() {
		if out, err := l.labCmd("down").CombinedOutput(); err != nil {
			t.Errorf("lab down: %v\n%s", err, out)
		}
	})
	out, err := l.labCmd(append([]string{"up"}, hosts...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("lab up: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 {
			l.addr[f[0]] = f[1]
		}
	}
	if len(l.addr) != len(hosts) {
		t.Fatalf("lab up printed %q", out)
	}
	return l
}

func (l *lab) labCmd(args ...string) *exec.Cmd {
	cmd := exec.Command("bash", append([]string{l.script}, args...)...)
	cmd.Env = append(os.Environ(), "LAB_PREFIX="+l.prefix)
	return cmd
}

// ns is the network namespace of host.
func (l *lab) ns(host string) string { return l.prefix + "-" + host }

// sh runs a shell command inside host and returns its output; an error
// fails the test.
func (l *lab) sh(host, script string) string {
	l.t.Helper()
	out, err := exec.Command("ip", "netns", "exec", l.ns(host), "sh", "-c", script).CombinedOutput()
	if err != nil {
		l.t.Fatalf("%s: %s: %v\n%s", host, script, err, out)
	}
	return string(out)
}

// run runs a program inside host and returns its standard output; an
// error fails the test.
func (l *lab) run(host string, args ...string) string {
	l.t.Helper()
	cmd := exec.Command("ip", append([]string{"netns", "exec", l.ns(host)}, args...)...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		l.t.Fatalf("%s: %v: %v\n%s%s", host, args, err, out, stderr.String())
	}
	return string(out)
}

// output runs a program inside host and returns its combined output and
// error, for commands allowed to fail.
func (l *lab) output(host string, name string, args ...string) (string, error) {
	var b bytes.Buffer
	c := exec.Command("ip", append([]string{"netns", "exec", l.ns(host), name}, args...)...)
	c.Stdout, c.Stderr = &b, &b
	err := c.Run()
	return b.String(), err
}

// writeFile writes a file under the lab's temp dir, in a folder of its
// own: several hosts may each be given a "keepalived.conf".
func (l *lab) writeFile(name, content string) string {
	l.t.Helper()
	dir, err := os.MkdirTemp(l.dir, "f")
	if err != nil {
		l.t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		l.t.Fatal(err)
	}
	return path
}

// start runs a program inside host in the background ("ip netns exec"
// execs it, so the PID is the program's); it is stopped by PID at cleanup.
func (l *lab) start(host string, args ...string) *proc {
	l.t.Helper()
	p := &proc{done: make(chan struct{})}
	p.cmd = exec.Command("ip", append([]string{"netns", "exec", l.ns(host)}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.WaitDelay = waitDelay
	if err := p.cmd.Start(); err != nil {
		l.t.Fatalf("starting %v in %s: %v", args, host, err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	l.t.Cleanup(func() { p.stopChecked(l.t, args[0]+" in "+host) })
	return p
}

// kill sends SIGKILL and waits.
func (p *proc) kill() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// term sends SIGTERM and waits up to 10 s.
func (p *proc) term(t testing.TB) {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Errorf("process %d ignored SIGTERM for 10 s", p.cmd.Process.Pid)
		p.kill()
	}
}

func (l *lab) hasAddr(host, ip string) bool {
	out, _ := l.output(host, "ip", "-o", "addr", "show", "dev", "eth0")
	return strings.Contains(out, " "+ip+"/")
}

// holders lists the hosts whose eth0 carries ip.
func (l *lab) holders(ip string, hosts []string) []string {
	var hs []string
	for _, h := range hosts {
		if l.hasAddr(h, ip) {
			hs = append(hs, h)
		}
	}
	return hs
}

// waitHolder waits until want alone among hosts holds ip; it returns when
// that was first seen.
func (l *lab) waitHolder(ip, want string, hosts []string, within time.Duration, logs ...*proc) time.Time {
	l.t.Helper()
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
			l.t.Fatalf("%s held by %v after %v, want only %s%s", ip, hs, within, want, b.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// inNetns runs f on a thread moved into the host's network namespace, then
// moves the thread back: sockets f creates belong to the lab for good.
func (l *lab) inNetns(host string, f func()) error {
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
func (l *lab) httpServer(host string, port int, name string) (stop func()) {
	l.t.Helper()
	var ln net.Listener
	var err error
	if nerr := l.inNetns(host, func() { ln, err = net.Listen("tcp", fmt.Sprintf("%s:%d", l.addr[host], port)) }); nerr != nil {
		l.t.Fatal(nerr)
	}
	if err != nil {
		l.t.Fatal(err)
	}
	srv := &http.Server{Handler: backendHandler(name), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	var once sync.Once
	stop = func() { once.Do(func() { srv.Close() }) }
	l.t.Cleanup(stop)
	return stop
}

// httpClient dials from inside the host.
func (l *lab) httpClient(host string) *http.Client {
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
