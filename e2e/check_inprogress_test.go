package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// silentServer accepts connections and never answers them, so that a
// check or an agent check on it stays in progress until its timeout.
func silentServer(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// checkInProgressRow runs, through the binary at path, a server whose
// first health check and agent check wait on a server that does not
// answer, and returns its "show stat" row once both are in progress.
func checkInProgressRow(t *testing.T, path string, silent int) (map[string][]string, []string) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	fe := freePort(t)
	cfg := fmt.Sprintf(`global
    stats socket %s level admin`, sock) + defaultsSection("tcp", "1s", "5s", "5s") + fmt.Sprintf(`
listen l
    bind 127.0.0.1:%d
    option tcp-check
    tcp-check expect string OK
    server s 127.0.0.1:%d check inter 3s agent-check agent-port %[2]d agent-inter 3s
`, fe, silent)
	p := startBinary(t, path, cfg, fe)
	defer p.stop()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, names := statRows(t, cliCmd(t, sock, "show stat"))
		if strings.HasPrefix(field(t, rows, names, "l/s", "check_status"), "* ") &&
			strings.HasPrefix(field(t, rows, names, "l/s", "agent_status"), "* ") || time.Now().After(deadline) {
			return rows, names
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCheckInProgressAsHAProxy: while a server's first health check and
// agent check run, haproxy 2.6 shows their status as "* INI" (its "check
// in progress" mark), their description as "Initializing", no check
// duration and an agent duration of 0. dhproxy showed no mark, no
// description and no agent duration.
func TestCheckInProgressAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	silent := silentServer(t)
	want := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		rows, names := checkInProgressRow(t, path, silent)
		for _, col := range []string{"status", "check_status", "check_code", "check_duration", "check_desc", "last_chk",
			"agent_status", "agent_code", "agent_duration", "agent_desc", "last_agt", "check_health", "agent_health"} {
			got := field(t, rows, names, "l/s", col)
			if path == haproxyBin {
				want[col] = got
				t.Logf("%s=%q", col, got)
			} else if got != want[col] {
				t.Errorf("%s: dhproxy %q, haproxy %q", col, got, want[col])
			}
		}
	}
}
