package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fdLimitConfig needs 4014 descriptors in haproxy's count: 2 per
// connection, 10 spare, 1 listener, 3 for the one thread.
func fdLimitConfig(port int, global string) string {
	return fmt.Sprintf(`
global
    maxconn 2000
    nbthread 1
%s`, global) + defaultsSection("tcp", "1s", "10s", "10s") + fmt.Sprintf(`
listen fdlimit
    bind 127.0.0.1:%d
    server s1 127.0.0.1:9
`, port)
}

// underLimit is BIN -db -f cfg run with the open files limit soft:hard.
func underLimit(ctx context.Context, t *testing.T, soft, hard int, cfg string) *exec.Cmd {
	t.Helper()
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		t.Fatal("prlimit (util-linux) is needed:", err)
	}
	return exec.CommandContext(ctx, prlimit, fmt.Sprintf("--nofile=%d:%d", soft, hard), bin, "-db", "-f", writeConfig(t, cfg))
}

// softFDLimit reads the "Max open files" soft limit of process pid.
func softFDLimit(t *testing.T, pid int) int {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Max open files"); ok {
			n, err := strconv.Atoi(strings.Fields(rest)[0])
			if err != nil {
				t.Fatalf("limits: %q", sc.Text())
			}
			return n
		}
	}
	t.Fatal("no 'Max open files' line in /proc/PID/limits")
	return 0
}

// A global maxconn the open files limit cannot hold stops the start with
// haproxy's alert and exit code 1.
func TestFDLimitTooLowRefusesToStart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := underLimit(ctx, t, 1024, 1024, fdLimitConfig(freePort(t), "")).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; output:\n%s", err, out)
	}
	if want := ".main()] Cannot raise FD limit to 4014, limit is 1024."; !strings.Contains(string(out), "[ALERT]") || !strings.Contains(string(out), want) {
		t.Errorf("output lacks the alert %q:\n%s", want, out)
	}
}

// With "no strict-limits" the proxy starts anyway, saying why it may run
// out of descriptors.
func TestFDLimitNoStrictLimitsWarns(t *testing.T) {
	port := freePort(t)
	p := startProxyCmd(t, underLimit(context.Background(), t, 1024, 1024, fdLimitConfig(port, "    no strict-limits")), port)
	for _, want := range []string{
		".main()] Cannot raise FD limit to 4014, limit is 1024.",
		".main()] FD limit (1024) too low for maxconn=2000/maxsock=4014. Please raise 'ulimit-n' to 4014 or more to avoid any trouble.",
	} {
		if !strings.Contains(p.Stderr(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, p.Stderr())
		}
	}
}

// A soft limit below what maxconn needs is raised when the hard limit
// allows it; "ulimit-n" asks for more.
func TestFDLimitRaised(t *testing.T) {
	for _, tc := range []struct {
		global string
		want   int
	}{
		{"", 4014},
		{"    ulimit-n 6000", 6000},
	} {
		port := freePort(t)
		p := startProxyCmd(t, underLimit(context.Background(), t, 1024, 8192, fdLimitConfig(port, tc.global)), port)
		if got := softFDLimit(t, p.cmd.Process.Pid); got < tc.want {
			t.Errorf("%q: soft open files limit %d, want at least %d", tc.global, got, tc.want)
		}
		p.stop()
	}
}
