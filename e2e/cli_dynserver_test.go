package e2e

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// dynServerConfig has a dynamic-capable backend (roundrobin), one with
// consistent hashing, and two with static algorithms that refuse "add
// server"; a Prometheus exporter on /metrics.
func dynServerConfig(sock string, fePort, s1 int) string {
	return fmt.Sprintf(`global
    stats socket %s level admin`, sock) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend be
backend be
    balance roundrobin
    server s1 127.0.0.1:%d
backend bes
    balance static-rr
    server s1 127.0.0.1:%[2]d
backend bh
    balance source
    hash-type consistent
    server s1 127.0.0.1:%[2]d
backend bm
    balance source
    server s1 127.0.0.1:%[2]d
`, fePort, s1)
}

// TestRuntimeAddDelServerAsHAProxy: "add server", "del server", "enable|
// disable health|agent" and the states they leave ("show servers state",
// the servers' "show stat" rows) answer as haproxy 2.6's for the same sequence:
// refused options and algorithms, duplicate names, ids, the new server in
// maintenance until enabled, deletion only from maintenance.
func TestRuntimeAddDelServerAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	port1, stop1 := startHTTPBackend(t, "one")
	defer stop1()
	seq := []string{
		"add server be/n1 127.0.0.1:1",
		"add server be/n1 127.0.0.1:1",
		"add server bes/n1 127.0.0.1:1",
		"add server bh/n1 127.0.0.1:1",
		"add server bm/n1 127.0.0.1:1",
		"add server be/n2",
		"add server be",
		"add server",
		"add server nope/n2 127.0.0.1:1",
		"add server be/n3 127.0.0.1:1 backup",
		"add server be/n4 127.0.0.1:1 weight 10 check inter 2s rise 3 fall 2 maxconn 5",
		"add server be/n5 127.0.0.1:1 cookie abc",
		"add server be/n6 127.0.0.1:1 redir http://x",
		"add server be/n7 127.0.0.1:1 disabled",
		"add server be/n8 127.0.0.1:1 init-addr last",
		"add server be/n9 127.0.0.1:1 resolvers x",
		"add server be/n10 127.0.0.1:1 id 55",
		"add server be/n11 127.0.0.1:1 send-proxy",
		"add server be/n12 127.0.0.1:1 ssl verify none",
		"add server be/n13 127.0.0.1:1 agent-check agent-port 80",
		"add server be/n14 127.0.0.1:1 slowstart 10s",
		"add server be/n15 127.0.0.1:1 weight 300",
		"add server be/n16 127.0.0.1",
		"add server be/n17 127.0.0.1:1 minconn 3 maxqueue 4",
		"add server be/n18 127.0.0.1:1 observe layer7",
		"add server be/n19 127.0.0.1:1 enabled",
		// An "sni" expression compiles at run time (it once crashed the process).
		"add server be/n21 127.0.0.1:1 ssl verify none sni req.hdr(host)",
		"add server be/n22 127.0.0.1:1 ssl verify none sni str(x.test)",
		"add server be/n23 127.0.0.1:1 ssl verify none sni nosuchfetch",
		"show servers state be",
		"del server be/s1",
		"del server be/n1",
		"del server be/n1",
		"del server be",
		"del server nope/s1",
		"del server be/zz",
		"enable server be/n4",
		"del server be/n4",
		"disable server be/n4",
		"del server be/n4",
		"enable health be/n3",
		"disable health be/n3",
		"enable health be/s1",
		"disable health be/s1",
		"enable agent be/s1",
		"disable agent be/n13",
		"enable agent be/n13",
		"disable agent be/n13",
		"set server be/n3 state ready",
		"add server be/n1 127.0.0.1:1",
		"operator; add server be/n20 127.0.0.1:1",
		"show servers state",
		"show stat",
	}
	answers := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		fePort := freePort(t)
		startBinary(t, path, dynServerConfig(sock, fePort, port1), fePort)
		var got []string
		for _, cmd := range seq {
			out := strings.ReplaceAll(cliCmd(t, sock, cmd), fmt.Sprint(port1), "P1")
			switch {
			case strings.HasPrefix(cmd, "show servers state"):
				out = maskStateAge(out)
			case cmd == "show stat":
				out = serverRows(out)
			}
			got = append(got, out)
		}
		answers[path] = got
	}
	for i, cmd := range seq {
		// dhproxy's errors may add where its fetches are listed
		got := strings.ReplaceAll(answers[bin][i], " (dhproxy supports the ones docs/rules.md lists)", "")
		if want := answers[haproxyBin][i]; got != want {
			t.Errorf("%q: got\n%q\nhaproxy answers\n%q", cmd, got, want)
		}
	}
}

// maskStateAge replaces srv_time_since_last_change (which differs by a
// second between two processes) in "show servers state" lines.
func maskStateAge(out string) string {
	lines := strings.Split(out, "\n")
	for i, l := range lines {
		if f := strings.Fields(l); len(f) > 20 && !strings.HasPrefix(l, "#") {
			f[9] = "T"
			lines[i] = strings.Join(f, " ")
		}
	}
	return strings.Join(lines, "\n")
}

// TestRuntimeAddDelServerTraffic: under a steady bounded stream of
// requests, a server added and enabled at run time starts taking traffic,
// one put in maintenance and deleted stops taking it, and no request
// fails; the stats CSV and the Prometheus exporter show the added server
// and drop the deleted one, in both haproxy 2.6 and dhproxy.
func TestRuntimeAddDelServerTraffic(t *testing.T) {
	port1, stop1 := startHTTPBackend(t, "one")
	defer stop1()
	port2, stop2 := startHTTPBackend(t, "two")
	defer stop2()
	for i, path := range []string{haproxyBin, bin} {
		if _, err := os.Stat(path); err != nil {
			t.Log("skipping", path, err)
			continue
		}
		// Subtest names go into the socket's path: no "#" for haproxy's
		// configuration, where it starts a comment.
		t.Run([]string{"reference", "candidate"}[i], func(t *testing.T) {
			sock := filepath.Join(t.TempDir(), "api.sock")
			fePort := freePort(t)
			startBinary(t, path, dynServerConfig(sock, fePort, port1), fePort)
			base := fmt.Sprintf("http://127.0.0.1:%d", fePort)
			var seen sync.Map // backend name -> phase it was seen in
			var phase, failures, done atomic.Int32
			var wg sync.WaitGroup
			stop := make(chan struct{})
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					c := &http.Client{Timeout: 5 * time.Second}
					for i := 0; i < 5000; i++ {
						select {
						case <-stop:
							return
						default:
						}
						ph := phase.Load()
						resp, err := c.Get(base + "/")
						if err != nil {
							failures.Add(1)
							t.Errorf("request in phase %d: %v", ph, err)
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode != 200 {
							failures.Add(1)
							t.Errorf("request in phase %d: status %d", ph, resp.StatusCode)
						}
						name := resp.Header.Get("X-Backend")
						if phase.Load() == ph {
							seen.Store(fmt.Sprintf("%d/%s", ph, name), true)
						}
						done.Add(1)
					}
				}()
			}
			waitFor := func(what string, cond func() bool) {
				t.Helper()
				for deadline := time.Now().Add(10 * time.Second); !cond(); {
					if time.Now().After(deadline) {
						t.Fatalf("%s: timed out waiting for %s", path, what)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			seenIn := func(ph int, name string) func() bool {
				return func() bool { _, ok := seen.Load(fmt.Sprintf("%d/%s", ph, name)); return ok }
			}
			// Phase 0: only s1.
			waitFor("traffic on s1", seenIn(0, "one"))
			if out := cliCmd(t, sock, fmt.Sprintf("add server be/n1 127.0.0.1:%d", port2)); out != "New server registered.\n\n" {
				t.Fatalf("add server: %q", out)
			}
			// In maintenance: listed, no traffic yet.
			rows, _ := statRows(t, cliCmd(t, sock, "show stat"))
			if r := rows["be/n1"]; r == nil || r[17] != "MAINT" {
				t.Fatalf("show stat row of be/n1 after add: %q", r)
			}
			if m := metrics(t, base); !strings.Contains(m, `haproxy_server_status{proxy="be",server="n1",state="MAINT"} 1`) {
				t.Errorf("Prometheus has no MAINT status for be/n1 after add")
			}
			phase.Store(1)
			if out := cliCmd(t, sock, "enable server be/n1"); out != "\n" {
				t.Fatalf("enable server: %q", out)
			}
			phase.Store(2)
			waitFor("traffic on the added server", seenIn(2, "two"))
			waitFor("traffic still on s1", seenIn(2, "one"))
			if out := cliCmd(t, sock, "set server be/n1 state maint"); out != "\n" {
				t.Fatalf("set server state maint: %q", out)
			}
			// Requests in flight finish on n1; then it has no connection
			// and can go (haproxy refuses while any remains).
			var out string
			waitFor("del server", func() bool {
				out = cliCmd(t, sock, "del server be/n1")
				return out == "Server deleted.\n"
			})
			phase.Store(3)
			before := done.Load()
			waitFor("200 requests after the deletion", func() bool { return done.Load() > before+200 })
			close(stop)
			wg.Wait()
			if seenIn(3, "two")() {
				t.Errorf("the deleted server still took requests")
			}
			rows, _ = statRows(t, cliCmd(t, sock, "show stat"))
			if rows["be/n1"] != nil {
				t.Errorf("show stat still lists be/n1 after del server")
			}
			if m := metrics(t, base); strings.Contains(m, `server="n1"`) {
				t.Errorf("Prometheus still lists be/n1 after del server")
			}
			if n := failures.Load(); n != 0 {
				t.Errorf("%d of %d requests failed", n, done.Load()+n)
			}
		})
	}
}

// metrics fetches the Prometheus exporter's page.
func metrics(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// serverRows keeps the server rows of "show stat", whole but for lastchg
// (seconds since the last change, which differ by one between processes).
// Proxy rows are left out: with a server added "enabled", haproxy 2.6
// leaves its weight out of the backend's weight and act columns.
func serverRows(out string) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		f := strings.Split(l, ",")
		if len(f) < 24 || strings.HasPrefix(l, "#") || f[1] == "FRONTEND" || f[1] == "BACKEND" {
			continue
		}
		f[23] = "T"
		b.WriteString(strings.Join(f, ",") + "\n")
	}
	return b.String()
}
