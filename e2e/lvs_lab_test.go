package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	probeOnce  sync.Once
	probeBin   string
	probeError error
)

// lvsProbe builds the namespaces' web server / client (internal/lvs/testdata/lvsprobe).
func lvsProbe(t testing.TB) string {
	probeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lvsprobe-")
		if err != nil {
			probeError = err
			return
		}
		probeBin = filepath.Join(dir, "lvsprobe")
		out, err := exec.Command("go", "build", "-o", probeBin, "dhproxy/internal/lvs/testdata/lvsprobe").CombinedOutput()
		if err != nil {
			probeError = fmt.Errorf("building lvsprobe: %v\n%s", err, out)
		}
	})
	if probeError != nil {
		t.Fatal(probeError)
	}
	return probeBin
}

// lvsOnly skips a virtual-server test when the binary under test is
// haproxy: virtual servers are keepalived's job, run by "dhproxy lvs" or
// "dhproxy -K", which haproxy has no counterpart for.
func lvsOnly(t testing.TB) {
	t.Helper()
	if isHAProxy() {
		t.Skip("virtual servers (dhproxy lvs / -K) have no haproxy counterpart")
	}
}

// newLVSLab builds a lab for the virtual-server tests (dhproxy, the real
// servers and the clients run inside it).
func newLVSLab(t testing.TB, hosts ...string) *lab {
	t.Helper()
	lvsOnly(t)
	if os.Geteuid() == 0 {
		if _, err := exec.LookPath("nft"); err != nil {
			t.Fatalf("nft not found (%v); run scripts/install-test-deps.sh", err)
		}
	}
	return newLab(t, hosts...)
}

// web starts lvsprobe's web server (and UDP echo) as host on port 80 and
// 53, and waits until it accepts.
func (l *lab) web(host string) *proc {
	l.t.Helper()
	p := l.start(host, lvsProbe(l.t), "serve", host, "0.0.0.0:80")
	u := l.start(host, lvsProbe(l.t), "serve", host, "0.0.0.0:53")
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := exec.Command("ip", "netns", "exec", l.ns(host), "ss", "-Hltn", "sport = :80").Output()
		if strings.Contains(string(out), ":80") {
			break
		}
		if time.Now().After(deadline) || p.exited() {
			l.t.Fatalf("web server in %s not listening: %s", host, p.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	go func() { <-p.done; u.stop() }() // one handle stops both
	return p
}

// startLVS runs `dhproxy lvs run` in host with conf; extra flags first.
func (l *lab) startLVS(host, conf string, flags ...string) (*proc, string) {
	l.t.Helper()
	sock := filepath.Join(l.dir, fmt.Sprintf("lvs-%d.sock", labSeq.Add(1)))
	args := append([]string{bin, "lvs", "run", "-S", sock}, flags...)
	p := l.start(host, append(args, l.writeFile(fmt.Sprintf("keepalived-%d.conf", labSeq.Add(1)), conf))...)
	lvsWaitLog(l.t, p, "virtual servers running", 10*time.Second)
	return p, sock
}

// startLVSFile is startLVS with the configuration file given (a reload
// rewrites it).
func (l *lab) startLVSFile(host, conf string, flags ...string) (*proc, string) {
	l.t.Helper()
	sock := filepath.Join(l.dir, fmt.Sprintf("lvs-%d.sock", labSeq.Add(1)))
	args := append([]string{bin, "lvs", "run", "-S", sock}, flags...)
	p := l.start(host, append(args, conf)...)
	lvsWaitLog(l.t, p, "virtual servers running", 10*time.Second)
	return p, sock
}

// lvsWaitLog polls p's stderr for want, failing after within.
func lvsWaitLog(t testing.TB, p *proc, want string, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for !strings.Contains(p.Stderr(), want) {
		if p.exited() {
			t.Fatalf("process exited (%v) before logging %q:\n%s", p.err, want, p.Stderr())
		}
		if time.Since(start) > within {
			t.Fatalf("no %q after %v; log:\n%s", want, within, p.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return time.Since(start)
}

// lvsStopTerm sends SIGTERM and waits for a clean exit.
func lvsStopTerm(t testing.TB, p *proc) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", p.err, p.Stderr())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no exit 10s after SIGTERM:\n%s", p.Stderr())
	}
}

// lvsStopClean stops the director's dhproxy with SIGTERM and checks that
// no table of dhproxy's is left in host's ruleset.
func (l *lab) lvsStopClean(p *proc, host string) {
	l.t.Helper()
	lvsStopTerm(l.t, p)
	if tables := l.run(host, "nft", "list", "tables"); strings.Contains(tables, "dhproxy_lvs") {
		l.t.Fatalf("table left after SIGTERM: %s", tables)
	}
}

// wantList checks that `dhproxy lvs list` in host shows every wanted text.
func (l *lab) wantList(host, sock string, wants ...string) {
	l.t.Helper()
	list := l.run(host, bin, "lvs", "list", "-S", sock)
	for _, want := range wants {
		if !strings.Contains(list, want) {
			l.t.Errorf("lvs list lacks %q:\n%s", want, list)
		}
	}
}

// wantDirectReturn downloads 1 MiB through url+"big": the director only
// carries the client's small packets when replies go straight back.
func (l *lab) wantDirectReturn(director, url string) {
	l.t.Helper()
	before := txBytes(l.t, l, director)
	if out := strings.TrimSpace(l.run("client", lvsProbe(l.t), "get", url+"big", "1")); out != "1048576 bytes" {
		l.t.Fatalf("big download: %q", out)
	}
	if sent := txBytes(l.t, l, director) - before; sent > 256<<10 {
		l.t.Fatalf("the director sent %d bytes for a 1 MiB answer: replies went through it, not direct", sent)
	}
}

// lvsLines splits output into trimmed non-empty lines.
func lvsLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// lvsCount tallies equal lines.
func lvsCount(ls []string) map[string]int {
	m := map[string]int{}
	for _, l := range ls {
		m[l]++
	}
	return m
}

// startCmd starts cmd as a proc (output kept, stopped when the test
// ends) without waiting for anything.
func startCmd(t *testing.T, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{done: make(chan struct{}), cmd: cmd}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	p.cmd.WaitDelay = waitDelay
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	return p
}
