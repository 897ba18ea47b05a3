package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// unitFile is a systemd unit's [Service] settings, in order.
type unitFile struct {
	env  map[string]string
	exec map[string][]string // ExecStartPre, ExecStart, ExecReload
}

func readUnit(t *testing.T, path string) unitFile {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := unitFile{env: map[string]string{}, exec: map[string][]string{}}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), "=")
		if !ok || strings.HasPrefix(key, "#") {
			continue
		}
		switch {
		case key == "Environment":
			for _, kv := range regexp.MustCompile(`"([^"]*)"`).FindAllStringSubmatch(val, -1) {
				k, v, _ := strings.Cut(kv[1], "=")
				u.env[k] = v
			}
		case strings.HasPrefix(key, "Exec"):
			u.exec[key] = append(u.exec[key], val)
		}
	}
	return u
}

// command expands $VAR as systemd does for unquoted words (a variable
// standing alone splits into words) and returns the argv.
func (u unitFile) command(line string) []string {
	var argv []string
	for _, w := range strings.Fields(line) {
		if strings.HasPrefix(w, "$") {
			argv = append(argv, strings.Fields(u.env[w[1:]])...)
			continue
		}
		argv = append(argv, w)
	}
	return argv
}

// The repository's unit passes systemd-analyze verify, and its command
// lines do what they promise against a live process: ExecStartPre checks,
// ExecStart serves with READY=1 sent, ExecReload replaces the worker, and
// a reload with a broken configuration stops at the check.
func TestSystemdUnit(t *testing.T) {
	if isHAProxy() {
		t.Skip("dhproxy's own unit file")
	}
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Fatal("systemd-analyze is missing: ./scripts/install-test-deps.sh installs Debian's systemd package")
	}
	src, err := os.ReadFile("../examples/systemd/dhproxy.service")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	unit := filepath.Join(dir, "dhproxy.service")
	os.WriteFile(unit, []byte(strings.ReplaceAll(string(src), "/usr/sbin/dhproxy", bin)), 0o644)
	if out, err := exec.Command(analyze, "verify", unit).CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}

	u := readUnit(t, unit)
	for _, k := range []string{"CONFIG", "PIDFILE", "EXTRAOPTS"} {
		if _, ok := u.env[k]; !ok {
			t.Fatalf("the unit sets no %s", k)
		}
	}
	cfgPath, sock, port := simpleReloadConfig(t, "")
	u.env["CONFIG"], u.env["PIDFILE"] = cfgPath, filepath.Join(dir, "dhproxy.pid")
	u.env["EXTRAOPTS"] = strings.Replace(u.env["EXTRAOPTS"], "/run/dhproxy-master.sock", sock, 1)
	run := func(key string) error {
		for _, line := range u.exec[key] {
			argv := u.command(line)
			if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
				return fmt.Errorf("%s: %v\n%s", line, err, out)
			}
		}
		return nil
	}
	if err := run("ExecStartPre"); err != nil {
		t.Fatalf("ExecStartPre: %v", err)
	}
	notify := filepath.Join(dir, "notify")
	nc, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notify, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	argv := u.command(u.exec["ExecStart"][0])
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notify)
	p := startProxyCmd(t, cmd, port)
	buf := make([]byte, 512)
	nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	if n, err := nc.Read(buf); err != nil || !strings.HasPrefix(string(buf[:n]), "READY=1") {
		t.Fatalf("first notification %q, %v; want READY=1", buf[:n], err)
	}
	if pid, _ := os.ReadFile(u.env["PIDFILE"]); strings.TrimSpace(string(pid)) != strconv.Itoa(p.cmd.Process.Pid) {
		t.Errorf("pid file holds %q, want the master's pid %d", pid, p.cmd.Process.Pid)
	}
	u.env["MAINPID"] = strconv.Itoa(p.cmd.Process.Pid)
	before := waitProc(t, sock, "a worker", 5*time.Second, func(pt procTable) bool { return len(pt.workers) == 1 })
	if err := run("ExecReload"); err != nil {
		t.Fatalf("ExecReload: %v", err)
	}
	after := waitProc(t, sock, "the reload replaces the worker", 10*time.Second, func(pt procTable) bool {
		return len(pt.workers) == 1 && pt.workers[0] != before.workers[0]
	})
	// A broken configuration: the reload stops at its check.
	good, _ := os.ReadFile(cfgPath)
	os.WriteFile(cfgPath, append(good, "    bogus-keyword\n"...), 0o644)
	if err := run("ExecReload"); err == nil {
		t.Fatal("ExecReload succeeded with a broken configuration")
	}
	time.Sleep(300 * time.Millisecond)
	if pt, err := showProc(t, sock); err != nil || len(pt.workers) != 1 || pt.workers[0] != after.workers[0] || pt.reloads != 1 {
		t.Fatalf("after a refused reload: %+v %v; want worker %d after 1 reload", pt, err, after.workers[0])
	}
}
