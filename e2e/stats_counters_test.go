package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// retryAgentScenario runs, through the binary at path, requests that meet
// a refused server (redispatched to the live one, retried on the same
// one until it fails, no server at all), and servers with agent checks
// (answering, down, unreachable, in maintenance, disabled); it returns
// "show stat" once no agent check is in progress.
func retryAgentScenario(t *testing.T, path string, live, dead, agentUp, agentDown, agentDrain int) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "api.sock")
	fePort := freePort(t)
	agent := func(port int) string {
		return fmt.Sprintf("agent-check agent-port %d agent-inter 300ms", port)
	}
	cfg := fmt.Sprintf(`global
    stats socket %s level admin`, sock) + defaultsSection("http", "1s", "5s", "5s", "retries 2") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    use_backend nored if { path_beg /nored }
    use_backend none if { path_beg /none }
    default_backend be
backend be
    option redispatch
    balance roundrobin
    server dead 127.0.0.1:%d
    server live 127.0.0.1:%d
backend nored
    server dead 127.0.0.1:%[2]d
backend none
    server m 127.0.0.1:%[3]d disabled
backend agents
    server up 127.0.0.1:%[3]d %[4]s
    server checked 127.0.0.1:%[3]d check inter 300ms %[4]s
    server down 127.0.0.1:%[3]d %[5]s
    server unreachable 127.0.0.1:%[3]d %[6]s
    server maint 127.0.0.1:%[3]d %[4]s
    server off 127.0.0.1:%[3]d %[4]s
    server drainedbyagent 127.0.0.1:%[3]d %[7]s
    server drained 127.0.0.1:%[3]d %[4]s
`, fePort, dead, live, agent(agentUp), agent(agentDown), agent(dead), agent(agentDrain))
	startBinary(t, path, cfg, fePort)
	cliCmd(t, sock, "set server agents/maint state maint; disable agent agents/off; set server agents/drained state drain")
	for _, p := range []string{"/", "/", "/", "/nored", "/none"} {
		curl(t, "-s", "-o", "/dev/null", fmt.Sprintf("http://127.0.0.1:%d%s", fePort, p))
	}
	// Every agent answered, and none is being checked right now (haproxy
	// shows "* " and no description then).
	deadline := time.Now().Add(5 * time.Second)
	for {
		out := cliCmd(t, sock, "show stat")
		if (!strings.Contains(out, ",INI,") && !strings.Contains(out, ",* ")) || time.Now().After(deadline) {
			return out
		}
		time.Sleep(70 * time.Millisecond)
	}
}

// TestStatsRetriesAndAgentMatchHAProxy: the same traffic through haproxy
// 2.6 and dhproxy gives the same retry, redispatch, connection error and
// session counters per server and backend (wretr and wredis charged to
// the server that failed, a redispatch landing elsewhere being no retry,
// the backend's stot once per request), and the same agent check columns
// (agent_status, agent_code, agent_desc, last_agt, agent_rise/fall/health;
// agent_duration present alike), weights and states from the agents'
// answers.
func TestStatsRetriesAndAgentMatchHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	live, stop := startHTTPBackend(t, "live")
	defer stop()
	dead := freePort(t)
	agentUp, agentDown, agentDrain := startAgent(t, "up 75%\n").port(), startAgent(t, "down #disk full\n").port(), startAgent(t, "up drain\n").port()
	want := retryAgentScenario(t, haproxyBin, live, dead, agentUp, agentDown, agentDrain)
	got := retryAgentScenario(t, bin, live, dead, agentUp, agentDown, agentDrain)
	wantRows, names := statRows(t, want)
	gotRows, _ := statRows(t, got)
	compare := func(row string, cols ...string) {
		for _, col := range cols {
			if w, g := field(t, wantRows, names, row, col), field(t, gotRows, names, row, col); w != g {
				t.Errorf("%s %s: dhproxy %q, haproxy %q", row, col, g, w)
			}
		}
	}
	for _, row := range []string{"be/dead", "be/live", "be/BACKEND", "nored/dead", "nored/BACKEND", "none/m", "none/BACKEND"} {
		compare(row, "wretr", "wredis", "econ", "stot", "lbtot", "status")
	}
	for _, srv := range []string{"up", "checked", "down", "unreachable", "maint", "off", "drainedbyagent", "drained"} {
		row := "agents/" + srv
		compare(row, "weight", "uweight")
		compare(row, "status", "last_agt", "agent_status", "agent_code", "agent_desc", "agent_rise", "agent_fall", "agent_health", "check_status")
		// The duration is the machine's; whether there is one is haproxy's.
		w, g := field(t, wantRows, names, row, "agent_duration"), field(t, gotRows, names, row, "agent_duration")
		if (w == "") != (g == "") {
			t.Errorf("%s agent_duration: dhproxy %q, haproxy %q", row, g, w)
		}
	}
}

// The weight column is haproxy's cur_eweight: a drained server keeps its
// weight (the backend's total leaves it out), one in maintenance shows
// the weight it had until it leaves maintenance. Values are haproxy
// 2.6.12's for the same commands.
func TestStatsWeightOfDrainedAndMaintServers(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	port := freePort(t)
	cfg := fmt.Sprintf(`global
    stats socket %s level admin`, sock) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server a 127.0.0.1:9 weight 10
    server b 127.0.0.1:9 weight 10
    server c 127.0.0.1:9 weight 10
`, port)
	startProxy(t, cfg, port)
	cliCmd(t, sock, "set server be/a state drain; set server be/b state maint; set weight be/b 5; set weight be/a 7; set weight be/c 3")
	check := func(when string, want map[string]string) {
		rows, names := statRows(t, cliCmd(t, sock, "show stat"))
		for row, w := range want {
			if got := field(t, rows, names, row, "weight"); got != w {
				t.Errorf("%s: %s weight %s, haproxy %s", when, row, got, w)
			}
		}
	}
	check("drained a, b in maintenance", map[string]string{"be/a": "7", "be/b": "10", "be/c": "3", "be/BACKEND": "3"})
	cliCmd(t, sock, "set server be/b state ready")
	check("b ready", map[string]string{"be/a": "7", "be/b": "5", "be/c": "3", "be/BACKEND": "8"})
}
