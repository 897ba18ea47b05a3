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

// TestAgentRepliesAsHAProxy: the stats of servers whose agents answer
// with a state, a weight, a maxconn, an admin word or a word it does not
// know are haproxy 2.6's; an answer without a state shows "CHECKED", "No
// status change" (dhproxy showed nothing of it: "INI"); "maint" and
// "drain" set the server's forced state, as the runtime API's (dhproxy
// marked the first DOWN, and neither in "show servers state"); an empty
// answer fails "at step 2" (dhproxy said 1).
func TestAgentRepliesAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	live, stop := startHTTPBackend(t, "live")
	defer stop()
	replies := []string{"50%\n", "ready\n", "stopped #why\n", "fail #x y\n", "up maxconn:10\n", "hello\n", "down\n", "up, 80%\n", "maint\n", "drain 30%\n", ""}
	var agents []*agentServer
	for _, r := range replies {
		agents = append(agents, startAgent(t, r))
	}
	res := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		fe := freePort(t)
		cfg := fmt.Sprintf(`global
    stats socket %s level admin`, sock) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend b
backend b
`, fe)
		for i, a := range agents {
			cfg += fmt.Sprintf("    server s%d 127.0.0.1:%d weight 10 agent-check agent-port %d agent-inter 100ms\n", i, live, a.port())
		}
		p := startBinary(t, path, cfg, fe)
		for _, a := range agents {
			a.set(t, a.reply.Load().(string)) // asked twice since: the answer is applied
		}
		var out string
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if out = cliCmd(t, sock, "show stat"); !strings.Contains(out, ",* ") || time.Now().After(deadline) {
				break
			}
		}
		rows, names := statRows(t, out)
		var b strings.Builder
		for i := range agents {
			fmt.Fprintf(&b, "%q:", replies[i])
			for _, col := range []string{"status", "weight", "uweight", "slim", "agent_status", "agent_code", "agent_desc", "last_agt", "agent_health"} {
				fmt.Fprintf(&b, " %s=%s", col, field(t, rows, names, fmt.Sprintf("b/s%d", i), col))
			}
			b.WriteString("\n")
		}
		// srv_op_state, srv_admin_state, srv_uweight, srv_iweight
		for _, l := range strings.Split(cliCmd(t, sock, "show servers state b"), "\n")[2:] {
			if f := strings.Fields(l); len(f) > 9 {
				b.WriteString(strings.Join(f[3:4], "") + " " + strings.Join(f[5:9], " ") + "\n")
			}
		}
		res[path] = b.String()
		p.stop()
	}
	if res[haproxyBin] != res[bin] {
		t.Errorf("haproxy:\n%s\ndhproxy:\n%s", res[haproxyBin], res[bin])
	}
}
