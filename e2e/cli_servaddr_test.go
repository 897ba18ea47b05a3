package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRuntimeSetServerAddr: "set server b/s addr IP [port P]" answers as
// haproxy 2.6's (what changed, errors), the server's traffic and health
// checks go to the new address, and "show stat" and "show servers state"
// show it, in both.
func TestRuntimeSetServerAddr(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	port1, stop1 := startHTTPBackend(t, "one")
	defer stop1()
	port2, stop2 := startHTTPBackend(t, "two")
	defer stop2()
	dead := freePort(t)
	answers := map[string][]string{}
	var order []string
	for _, path := range []string{haproxyBin, bin} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		fePort := freePort(t)
		startBinary(t, path, adminSocketHead(sock)+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server web1 127.0.0.1:%d check inter 100ms rise 1 fall 1
`, fePort, dead), fePort)
		url := fmt.Sprintf("http://127.0.0.1:%d/", fePort)
		waitStatus := func(want string) {
			t.Helper()
			deadline := time.Now().Add(5 * time.Second)
			for {
				st := statusColumns(cliCmd(t, sock, "show stat"))
				if strings.Contains(st, "be,web1,"+want+"\n") {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: web1 not %s:\n%s", path, want, st)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		waitStatus("DOWN")
		var got []string
		order = order[:0]
		for _, cmd := range []string{
			"set server be/web1 addr", "set server be/web1 addr localhost", "set server be/web1 addr 1.2.3.4.5",
			"set server be/web1 addr 127.0.0.1", "set server be/web1 addr 127.0.0.1 port",
			"set server be/web1 addr 127.0.0.1 port x", "set server be/web1 addr 127.0.0.2 foo 3",
			fmt.Sprintf("set server be/web1 addr 127.0.0.1 port %d", dead),
			fmt.Sprintf("set server be/web1 addr 127.0.0.1 port %dx", port1+65536),
			"set server be/nope addr 127.0.0.1", "operator; set server be/web1 addr 127.0.0.1",
		} {
			order = append(order, cmd)
			got = append(got, strings.ReplaceAll(cliCmd(t, sock, cmd), fmt.Sprint(dead), "DEAD"))
		}
		// The check now reaches port1: UP, and traffic goes there.
		waitStatus("UP")
		if out, err := curl(t, url); err != nil || !strings.Contains(out, "one") {
			t.Errorf("%s: after the change to port1: %q %v", path, out, err)
		}
		cmd := fmt.Sprintf("set server be/web1 addr 127.0.0.1 port %d", port2)
		order = append(order, "to port2")
		got = append(got, strings.NewReplacer(fmt.Sprint(port1), "P1", fmt.Sprint(port2), "P2").Replace(cliCmd(t, sock, cmd)))
		if out, err := curl(t, url); err != nil || !strings.Contains(out, "two") {
			t.Errorf("%s: after the change to port2: %q %v", path, out, err)
		}
		for _, l := range strings.Split(cliCmd(t, sock, "show servers state be"), "\n") {
			if f := strings.Fields(l); len(f) > 18 && f[3] == "web1" {
				order = append(order, "show servers state: addr, port")
				got = append(got, f[4]+" "+strings.ReplaceAll(f[18], fmt.Sprint(port2), "P2"))
			}
		}
		rows, _ := statRows(t, cliCmd(t, sock, "show stat"))
		order = append(order, "show stat: addr")
		got = append(got, strings.ReplaceAll(rows["be/web1"][73], fmt.Sprint(port2), "P2"))
		answers[path] = got
	}
	for i, cmd := range order {
		if got, want := answers[bin][i], answers[haproxyBin][i]; got != want {
			t.Errorf("%q: got %q, haproxy answers %q", cmd, got, want)
		}
	}
}
