package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// serverStateConfig has servers of every kind "show servers state" lists:
// checked, unchecked with a forced id, backup, disabled, a check port and
// address, a host name, a backend with a forced id.
func serverStateConfig(sock string, fe, up, down int, extraGlobal, extraDefaults string) string {
	return fmt.Sprintf(`global
    stats socket %s level admin
%s`, sock, extraGlobal) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
%s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    id 7
    server s1 127.0.0.1:%d check inter 200ms
    server s2 127.0.0.1:%d id 9 weight 20
    server s3 127.0.0.1:%d check inter 200ms port %d addr 127.0.0.1 backup
    server s4 127.0.0.1:%d disabled
    server s5 localhost:%d weight 3
backend other
    server o1 127.0.0.1:%d check inter 200ms
`, extraDefaults, fe, up, up, up, up, up, up, down)
}

// stateLines returns "show servers state" split in fields, the header
// checked, the time since the last change (column 9) blanked.
func stateLines(t *testing.T, sock, args string) [][]string {
	t.Helper()
	out := cliCmd(t, sock, strings.TrimSpace("show servers state "+args))
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) < 2 || lines[0] != "1" || lines[1] != strings.TrimSuffix(strings.SplitN(serversStateHeader26, "\n", 2)[1], "\n") {
		t.Fatalf("show servers state header:\n%s", out)
	}
	var rows [][]string
	for _, l := range lines[2:] {
		f := strings.Fields(l)
		if len(f) != 25 {
			t.Fatalf("line with %d fields, want 25: %q", len(f), l)
		}
		f[9] = "T"
		rows = append(rows, f)
	}
	return rows
}

const serversStateHeader26 = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n"

// "show servers state" gives haproxy 2.6's lines, field for field, for the
// same configuration and the same run-time changes (maint, drain, weight).
func TestServersStateLikeHAProxy(t *testing.T) {
	const haproxy = "/usr/sbin/haproxy"
	if isHAProxy() {
		t.Skip("compares dhproxy with haproxy")
	}
	if _, err := os.Stat(haproxy); err != nil {
		t.Skip("no haproxy to compare with")
	}
	upPort, _ := startHTTPBackend(t, "up")
	down := freePort(t)
	run := func(binary string) [][]string {
		dir := t.TempDir()
		sock := filepath.Join(dir, "stats.sock")
		fe := freePort(t)
		cmd := exec.Command(binary, "-db", "-f", writeConfig(t, serverStateConfig(sock, fe, upPort, down, "", "")))
		p := startProxyCmd(t, cmd, fe)
		defer p.stop()
		// Let the checks settle: o1 goes DOWN, s1 and s3 stay UP.
		time.Sleep(1500 * time.Millisecond)
		for _, c := range []string{"set server be/s2 state maint", "set server be/s5 state drain", "set server be/s1 weight 5"} {
			if out := cliCmd(t, sock, c); strings.TrimSpace(out) != "" {
				t.Fatalf("%s: %s", c, out)
			}
		}
		time.Sleep(300 * time.Millisecond)
		// A check under way shows in srv_check_state (bit 1) and resets
		// srv_check_result: read again between checks.
		for try := 0; ; try++ {
			rows := append(stateLines(t, sock, "be"), stateLines(t, sock, "other")...)
			busy := false
			for _, f := range rows {
				if st, _ := strconv.Atoi(f[13]); st&1 != 0 {
					busy = true
				}
			}
			if !busy || try == 20 {
				return rows
			}
			time.Sleep(30 * time.Millisecond)
		}
	}
	want := run(haproxy)
	got := run(bin)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		var b strings.Builder
		for i := range max(len(got), len(want)) {
			var g, w []string
			if i < len(got) {
				g = got[i]
			}
			if i < len(want) {
				w = want[i]
			}
			fmt.Fprintf(&b, "dhproxy %v\nhaproxy %v\n", g, w)
		}
		t.Errorf("show servers state differs from haproxy 2.6's:\n%s", b.String())
	}
}

// Servers put in maintenance or drain, or given a weight, at run time keep
// that state across a master-worker reload through the server state file
// that "show servers state" wrote.
func TestServerStateAcrossReload(t *testing.T) {
	upPort, _ := startHTTPBackend(t, "up")
	down := freePort(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "stats.sock")
	master := filepath.Join(dir, "master.sock")
	state := filepath.Join(dir, "state", "servers")
	os.Mkdir(filepath.Dir(state), 0o755)
	fe := freePort(t)
	cfgPath := writeConfig(t, serverStateConfig(sock, fe, upPort, down,
		"    server-state-base "+filepath.Dir(state)+"\n    server-state-file servers",
		"    load-server-state-from-file global"))
	p := startMaster(t, cfgPath, master, nil, fe)
	defer p.stop()
	before := waitProc(t, master, "a worker", 5*time.Second, func(pt procTable) bool { return len(pt.workers) == 1 })
	time.Sleep(1500 * time.Millisecond) // o1's checks take it DOWN
	for _, c := range []string{"set server be/s2 state maint", "set server be/s5 state drain", "set server be/s1 weight 5"} {
		if out := cliCmd(t, sock, c); strings.TrimSpace(out) != "" {
			t.Fatalf("%s: %s", c, out)
		}
	}
	want := stateLines(t, sock, "")
	if err := os.WriteFile(state, []byte(cliCmd(t, sock, "show servers state")), 0o644); err != nil {
		t.Fatal(err)
	}
	p.cmd.Process.Signal(syscall.SIGUSR2)
	waitProc(t, master, "a new worker", 10*time.Second, func(pt procTable) bool {
		return len(pt.workers) == 1 && pt.workers[0] != before.workers[0]
	})
	// haproxy 2.6 shows an unchecked server restored UP with the health
	// of a fully up check (rise+fall-1): that column of unchecked servers
	// is not compared.
	blankHealth := func(rows [][]string) [][]string {
		for _, r := range rows {
			if r[13] == "0" {
				r[12] = "H"
			}
		}
		return rows
	}
	want = blankHealth(want)
	var got [][]string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = blankHealth(stateLines(t, sock, "")); fmt.Sprint(got) == fmt.Sprint(want) {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after the reload:\n got %v\nwant %v", got, want)
	}
	// s2 in maintenance takes no traffic, s5 drained none balanced.
	for i := 0; i < 6; i++ {
		if out, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", fe)); err != nil || out != "up" {
			t.Fatalf("request %d: %q %v", i, out, err)
		}
	}
	rows, names := statRows(t, cliCmd(t, sock, "show stat"))
	if st := field(t, rows, names, "be/s2", "status"); st != "MAINT" {
		t.Errorf("s2 status %q after the reload", st)
	}
	if st := field(t, rows, names, "be/s5", "status"); st != "DRAIN" {
		t.Errorf("s5 status %q after the reload", st)
	}
	if n := field(t, rows, names, "be/s2", "stot"); n != "0" {
		t.Errorf("s2 served %s requests in maintenance", n)
	}
}

// The same with a standalone reload: the new process (-sf) loads the file
// the old one's "show servers state" wrote.
func TestServerStateAcrossSoftReload(t *testing.T) {
	upPort, _ := startHTTPBackend(t, "up")
	down := freePort(t)
	dir := t.TempDir()
	sock := filepath.Join(dir, "stats.sock")
	state := filepath.Join(dir, "state")
	fe := freePort(t)
	cfgPath := writeConfig(t, serverStateConfig(sock, fe, upPort, down, "    server-state-file "+state, "    load-server-state-from-file global"))
	old := startProxyCmd(t, exec.Command(bin, "-db", "-f", cfgPath), fe)
	defer old.stop()
	for _, c := range []string{"set server be/s2 state maint", "set server be/s5 state drain", "set server be/s1 weight 5"} {
		if out := cliCmd(t, sock, c); strings.TrimSpace(out) != "" {
			t.Fatalf("%s: %s", c, out)
		}
	}
	if err := os.WriteFile(state, []byte(cliCmd(t, sock, "show servers state")), 0o644); err != nil {
		t.Fatal(err)
	}
	next := startProxyCmd(t, exec.Command(bin, "-db", "-f", cfgPath, "-sf", strconv.Itoa(old.cmd.Process.Pid)), fe)
	defer next.stop()
	for deadline := time.Now().Add(10 * time.Second); !old.exited(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the old process did not leave")
		}
	}
	for _, l := range stateLines(t, sock, "be") {
		switch l[3] {
		case "s1":
			if l[7] != "5" { // uweight
				t.Errorf("s1 weight %s after -sf, want 5", l[7])
			}
		case "s2":
			if l[6] != "1" {
				t.Errorf("s2 admin state %s after -sf, want 1 (maintenance)", l[6])
			}
		case "s5":
			if l[6] != "8" {
				t.Errorf("s5 admin state %s after -sf, want 8 (drain)", l[6])
			}
		}
	}
}
