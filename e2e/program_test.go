package e2e

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The "program" section: the master of master-worker mode starts each
// program next to its workers, starts a new instance at a reload (and
// signals the old one) unless "no option start-on-reload", lists them in
// "show proc" and stops them when it stops. Runs against haproxy 2.6 too.

// programScript writes a shell script that records, in dir/<name>.<pid>,
// its arguments, its HAPROXY_* environment and the signal that ends it.
func programScript(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "prog.sh")
	script := `#!/bin/sh
out="` + dir + `/$1.$$"
name=$1
shift
for a in "$@"; do echo "arg=[$a]" >> "$out"; done
env | grep '^HAPROXY_M' | sort >> "$out"
echo started >> "$out"
trap 'echo USR1 >> "$out"; exit 0' USR1
trap 'echo TERM >> "$out"; exit 0' TERM
while :; do sleep 0.05; done
`
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// programOutput waits until the program instance pid has written want.
func programOutput(t *testing.T, dir, name string, pid int, want string) string {
	t.Helper()
	path := filepath.Join(dir, fmt.Sprintf("%s.%d", name, pid))
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if strings.Contains(string(b), want) {
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("program %s (%d) did not write %q; its file holds %q", name, pid, want, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitPrograms polls "show proc" until cond holds. Each question has a
// short deadline: haproxy 2.6's master leaves one asked while it starts
// unanswered (the next ones are answered).
func waitPrograms(t *testing.T, sock, what string, cond func(procTable) bool) procTable {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		out, err := quickCLI(sock, "show proc")
		if pt, perr := parseProc(out); err == nil && perr == nil && cond(pt) {
			return pt
		}
		last = fmt.Sprintf("%q %v", out, err)
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting until %s; last show proc: %s", what, last)
	return procTable{}
}

func quickCLI(sock, cmd string) (string, error) {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return "", err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(time.Second))
	if _, err := io.WriteString(c, cmd+"\n"); err != nil {
		return "", err
	}
	c.(*net.UnixConn).CloseWrite()
	out, err := io.ReadAll(c)
	return string(out), err
}

// gone reports whether no process has that pid any more.
func gone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func TestProgramSectionLifecycle(t *testing.T) {
	cfgPath, sock, port := simpleReloadConfig(t, "")
	dir := t.TempDir()
	script := programScript(t, dir)
	cfg, _ := os.ReadFile(cfgPath)
	progs := fmt.Sprintf("program replaced\n    command %s replaced a \"b c\"\nprogram kept\n    command %s kept k\n    no option start-on-reload\n", script, script)
	if err := os.WriteFile(cfgPath, append(cfg, progs...), 0o644); err != nil {
		t.Fatal(err)
	}
	p := startProxyCmd(t, exec.Command(bin, "-W", "-S", sock, "-f", cfgPath), port)
	defer p.stop()
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(p.Stderr())
		}
	})
	first := waitPrograms(t, sock, "both programs run", func(pt procTable) bool {
		return len(pt.workers) == 1 && pt.programs["replaced"].pid > 0 && pt.programs["kept"].pid > 0
	})
	rep, kept := first.programs["replaced"].pid, first.programs["kept"].pid
	out := programOutput(t, dir, "replaced", rep, "started")
	want := "arg=[a]\narg=[b c]\nHAPROXY_MASTER_CLI=unix@" + sock + "\nHAPROXY_MWORKER=1\nstarted\n"
	if out != want {
		t.Errorf("program output %q, want %q", out, want)
	}

	p.cmd.Process.Signal(syscall.SIGUSR2)
	after := waitPrograms(t, sock, "the reload starts a new 'replaced'", func(pt procTable) bool {
		return len(pt.workers) == 1 && pt.workers[0] != first.workers[0] && pt.programs["replaced"].pid > 0 && pt.programs["replaced"].pid != rep
	})
	programOutput(t, dir, "replaced", after.programs["replaced"].pid, "started")
	// The old instance is signalled as old workers are (SIGUSR1).
	programOutput(t, dir, "replaced", rep, "USR1")
	if isHAProxy() {
		// haproxy 2.6.12 moves it to "# old programs" and sends it SIGUSR1,
		// unlike its documentation; dhproxy keeps it as documented.
		t.Logf("haproxy: 'kept' after the reload: current %+v, old %+v", after.programs["kept"], after.oldPrograms["kept"])
	} else if k := after.programs["kept"]; k.pid != kept || k.reloads != 1 {
		t.Errorf("'kept' (no option start-on-reload) after a reload: %+v, want pid %d and 1 reload; show proc %+v", k, kept, after)
	}

	running := []int{after.programs["replaced"].pid}
	if !isHAProxy() {
		running = append(running, kept)
	}
	p.stop()
	for _, pid := range running {
		deadline := time.Now().Add(5 * time.Second)
		for !gone(pid) && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if !gone(pid) {
			syscall.Kill(pid, syscall.SIGKILL) // ours: started by our master
			t.Errorf("program %d still runs after the master stopped", pid)
		}
	}
	programOutput(t, dir, "replaced", after.programs["replaced"].pid, "TERM")
}

// A program section needs master-worker mode: haproxy 2.6 refuses it
// otherwise, "haproxy -c" included.
func TestProgramSectionNeedsMasterWorker(t *testing.T) {
	prog := "program p\n    command /bin/true\n"
	_, stderr, code := runCheck(t, prog)
	if code == 0 || !strings.Contains(stderr, "Can't use a 'program' section without master worker mode") {
		t.Errorf("without master-worker: exit %d, stderr %q; want a refusal", code, stderr)
	}
	if _, stderr, code := runCheck(t, "global\n    master-worker\n"+prog); code != 0 {
		t.Errorf("with master-worker: exit %d, stderr %q; want valid", code, stderr)
	}
	if _, stderr, code := runCheck(t, "global\n    master-worker\nprogram p\n    user root\n"); code == 0 || !strings.Contains(stderr, "lacks a command") {
		t.Errorf("without command: exit %d, stderr %q; want a refusal", code, stderr)
	}
}
