package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// procStatus returns the Uid, Gid and CapEff lines of /proc/<pid>/status
// (fields joined by one space) and the process's root directory.
func procStatus(t *testing.T, pid int) (uid, gid, capEff, root string) {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "Uid:":
			uid = strings.Join(f[1:], " ")
		case "Gid:":
			gid = strings.Join(f[1:], " ")
		case "CapEff:":
			capEff = f[1]
		}
	}
	root, _ = os.Readlink(fmt.Sprintf("/proc/%d/root", pid))
	return
}

func privConfig(t *testing.T, chroot, sock string, fe, be int) string {
	return fmt.Sprintf(`global
    user nobody
    group nogroup
    chroot %s
    nbthread 3
    cpu-map 1/all 0
    stats socket %s level admin`, chroot, sock) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d check inter 300ms
`, fe, be)
}

// checkDropped asserts that pid runs as nobody:nogroup without any
// capability, locked in chroot.
func checkDropped(t *testing.T, pid int, chroot string) {
	t.Helper()
	var uid, gid, capEff, root string
	// The process drops its privileges once it serves: poll briefly.
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if uid, gid, capEff, root = procStatus(t, pid); capEff == "0000000000000000" {
			break
		}
	}
	if uid != "65534 65534 65534 65534" || gid != "65534 65534 65534 65534" || capEff != "0000000000000000" || root != chroot {
		t.Errorf("pid %d: Uid %q Gid %q CapEff %q root %q; want nobody, nogroup, no capability, root %s", pid, uid, gid, capEff, root, chroot)
	}
}

// user/group/chroot: the serving process runs unprivileged in its chroot
// and still serves and checks; SIGTTOU pauses its listener (connections
// refused), SIGTTIN resumes it.
func TestPrivilegesDropped(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	chroot := t.TempDir()
	os.Chmod(chroot, 0o755)
	be, _ := startHTTPBackend(t, "web")
	fe := freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	p := startProxy(t, privConfig(t, chroot, sock, fe, be), fe)
	defer p.stop()
	checkDropped(t, p.cmd.Process.Pid, chroot)
	checkCPUMap(t, p.cmd.Process.Pid, "0")
	url := fmt.Sprintf("http://127.0.0.1:%d/", fe)
	time.Sleep(700 * time.Millisecond) // checks ran in the chroot
	if out, err := curl(t, url); err != nil || out != "web" {
		t.Fatalf("unprivileged proxy: %q %v", out, err)
	}
	rows, names := statRows(t, cliCmd(t, sock, "show stat"))
	if st := field(t, rows, names, "be/s1", "status"); st != "UP" {
		t.Errorf("s1 %s: checks fail once unprivileged", st)
	}

	if info := cliCmd(t, sock, "show info"); !strings.Contains(info, "\nNbthread: 3\n") {
		t.Errorf("nbthread 3: show info says\n%.400s", info)
	}

	p.cmd.Process.Signal(syscall.SIGTTOU)
	refused := false
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline) && !refused; time.Sleep(50 * time.Millisecond) {
		refused = !canDial(fe)
	}
	if !refused {
		t.Fatal("SIGTTOU: the listener still accepts")
	}
	p.cmd.Process.Signal(syscall.SIGTTIN)
	waitPort(t, fe, 3*time.Second)
	if out, err := curl(t, url); err != nil || out != "web" {
		t.Fatalf("after SIGTTIN: %q %v", out, err)
	}
}

// checkCPUMap asserts that every thread of pid may run only on cpus
// ("cpu-map": threads started later inherit it).
func checkCPUMap(t *testing.T, pid int, cpus string) {
	t.Helper()
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if len(tasks) == 0 {
		t.Fatalf("no threads listed for %d", pid)
	}
	for _, task := range tasks {
		b, err := os.ReadFile(task)
		if err != nil {
			continue // a thread that ended
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "Cpus_allowed_list:"); ok && strings.TrimSpace(v) != cpus {
				t.Errorf("cpu-map: %s allows CPUs %s, want %s", task, strings.TrimSpace(v), cpus)
			}
		}
	}
}

// In master-worker mode the worker drops its privileges, the master keeps
// them (it re-executes workers on reload), also after a reload.
func TestPrivilegesDroppedWorker(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	chroot := t.TempDir()
	os.Chmod(chroot, 0o755)
	be, _ := startHTTPBackend(t, "web")
	fe := freePort(t)
	dir := t.TempDir()
	master := filepath.Join(dir, "master.sock")
	cfgPath := writeConfig(t, privConfig(t, chroot, filepath.Join(dir, "stats.sock"), fe, be))
	p := startMaster(t, cfgPath, master, nil, fe)
	defer p.stop()
	pt := waitProc(t, master, "a worker", 5*time.Second, func(pt procTable) bool { return len(pt.workers) == 1 })
	checkDropped(t, pt.workers[0], chroot)
	if uid, _, capEff, _ := procStatus(t, p.cmd.Process.Pid); !strings.HasPrefix(uid, "0 ") || capEff == "0000000000000000" {
		t.Errorf("master: Uid %q CapEff %q, want root", uid, capEff)
	}
	p.cmd.Process.Signal(syscall.SIGUSR2)
	next := waitProc(t, master, "a new worker", 10*time.Second, func(n procTable) bool {
		return len(n.workers) == 1 && n.workers[0] != pt.workers[0]
	})
	checkDropped(t, next.workers[0], chroot)
	if out, err := curl(t, "http://127.0.0.1:"+strconv.Itoa(fe)+"/"); err != nil || out != "web" {
		t.Fatalf("after the reload: %q %v", out, err)
	}
}

// TestSpreadChecks: "spread-checks 50" draws each check interval at random
// within inter ± 50% (HAProxy's process_chk), so a server's checks come at
// uneven gaps; without it they come every inter.
func TestSpreadChecks(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// An HTTP check: a plain TCP check may close before it is accepted.
	arrivals := make(chan time.Time, 64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			arrivals <- time.Now()
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(time.Second))
				c.Read(make([]byte, 512))
				io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
			}()
		}
	}()
	fe := freePort(t)
	startProxy(t, "global\n    spread-checks 50"+defaultsSection("tcp", "1s", "5s", "5s")+fmt.Sprintf(`
listen li
    bind 127.0.0.1:%d
    option httpchk
    server s 127.0.0.1:%d check inter 200ms
`, fe, ln.Addr().(*net.TCPAddr).Port), fe)
	var gaps []time.Duration
	var last time.Time
	for len(gaps) < 26 {
		select {
		case at := <-arrivals:
			if !last.IsZero() {
				gaps = append(gaps, at.Sub(last))
			}
			last = at
		case <-time.After(2 * time.Second):
			t.Fatalf("no check for 2 s; gaps so far %v", gaps)
		}
	}
	gaps = gaps[2:] // the first checks follow the start, not the interval
	t.Logf("gaps between checks (inter 200ms, spread-checks 50): %v", gaps)
	// A busy machine only delays checks, so without spreading no gap is
	// shorter than inter; with it, 3 in 8 are below 175 ms.
	short := 0
	for _, g := range gaps {
		if g < 80*time.Millisecond {
			t.Errorf("a gap of %v: shorter than inter - 50%%", g)
		}
		if g < 175*time.Millisecond {
			short++
		}
	}
	if short < 2 {
		t.Errorf("%d of %d gaps below 175 ms: checks not spread", short, len(gaps))
	}
}

// TestSIGHUPDumpsStates: SIGHUP makes a standalone process write each
// server's and proxy's state as haproxy 2.6 does (its own internal
// <HTTPCLIENT> proxy left aside).
func TestSIGHUPDumpsStates(t *testing.T) {
	web, _ := startHTTPBackend(t, "web")
	down := freePort(t)
	fe, li := freePort(t), freePort(t)
	p := startProxy(t, defaultsSection("http", "1s", "5s", "5s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d check inter 200ms fall 1
    server s2 127.0.0.1:%d check inter 200ms backup
    server s3 127.0.0.1:%d disabled
listen li
    bind 127.0.0.1:%d
    server x 127.0.0.1:%d
`, fe, down, web, web, li, web), fe, li)
	time.Sleep(time.Second) // s1's check fails
	p.cmd.Process.Signal(syscall.SIGHUP)
	want := []string{
		"SIGHUP received, dumping servers states.",
		// One connection each on fe and li: the harness's readiness probe.
		"SIGHUP: Proxy fe has no servers. Conn: act(FE+BE): 0+0, 0 pend (0 unass), tot(FE+BE): 1+0.",
		"SIGHUP: Server be/s1 is DOWN. Conn: 0 act, 0 pend, 0 tot.",
		"SIGHUP: Server be/s2 is UP. Conn: 0 act, 0 pend, 0 tot.",
		"SIGHUP: Server be/s3 is DOWN. Conn: 0 act, 0 pend, 0 tot.",
		"SIGHUP: Proxy be is running on backup servers ! Conn: act(FE+BE): 0+0, 0 pend (0 unass), tot(FE+BE): 0+0.",
		"SIGHUP: Server li/x is UP. Conn: 0 act, 0 pend, 0 tot.",
		"SIGHUP: Proxy li has 1 active servers and 0 backup servers available. Conn: act(FE+BE): 0+0, 0 pend (0 unass), tot(FE+BE): 1+0.",
	}
	var got []string
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		got = got[:0]
		for _, l := range strings.Split(p.Stderr(), "\n") {
			_, msg, ok := strings.Cut(l, ") : ")
			if ok && strings.HasPrefix(l, "[WARNING]") && strings.HasPrefix(msg, "SIGHUP") && !strings.Contains(msg, "<HTTP") {
				got = append(got, msg)
			}
		}
		if len(got) >= len(want) {
			break
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("SIGHUP lines:\n%s\nwant:\n%s\nstderr:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), p.Stderr())
	}
	if p.exited() {
		t.Fatal("SIGHUP ended the process")
	}
}
