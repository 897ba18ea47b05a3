package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// infoLines keeps the "show info" lines whose names are listed.
func infoLines(out string, names ...string) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		for _, n := range names {
			if strings.HasPrefix(l, n+": ") {
				b.WriteString(l + "\n")
			}
		}
	}
	return b.String()
}

// slimColumns keeps pxname, svname, slim and status of "show stat".
func slimColumns(out string) string {
	var b strings.Builder
	for _, l := range strings.Split(out, "\n") {
		if f := strings.Split(l, ","); len(f) > 17 {
			b.WriteString(f[0] + "," + f[1] + "," + f[6] + "," + f[17] + "\n")
		}
	}
	return b.String()
}

// TestRuntimeLimitsAndFrontends: "set maxconn frontend|server|global",
// "set rate-limit connections|sessions global" and "disable|enable
// frontend" answer as haproxy 2.6's, errors included; their effect shows in
// "show stat" (slim, PAUSED) and "show info" alike; a disabled frontend
// refuses connections until it is enabled again.
func TestRuntimeLimitsAndFrontends(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	bePort, stopBE := startHTTPBackend(t, "web1")
	defer stopBE()
	answers := map[string][]string{}
	var order []string
	for _, path := range []string{haproxyBin, bin} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		fePort, statsPort := freePort(t), freePort(t)
		cfg := fmt.Sprintf(`global
    maxconn 500
    stats socket %s level admin`, sock) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server web1 127.0.0.1:%d maxconn 20
listen stats
    bind 127.0.0.1:%d
    stats enable
`, fePort, bePort, statsPort)
		startBinary(t, path, cfg, statsPort)
		var got []string
		order = order[:0]
		ask := func(cmd string) {
			order = append(order, cmd)
			got = append(got, cliCmd(t, sock, cmd))
		}
		for _, cmd := range []string{
			"set maxconn frontend", "set maxconn frontend nope 10", "set maxconn frontend be 10", "set maxconn frontend fe",
			"set maxconn frontend fe -1", "set maxconn frontend fe 42", "set maxconn frontend stats 7",
			"set maxconn server", "set maxconn server be/web1", "set maxconn server be/nope 5", "set maxconn server nope/web1 5",
			"set maxconn server be/web1 x", "set maxconn server be/web1 5x", "set maxconn server be/web1 9",
			"set maxconn global", "set maxconn global 600", "set maxconn global 300",
			"set rate-limit connections global", "set rate-limit connections global -1", "set rate-limit connections global 100",
			"set rate-limit sessions global 50", "set rate-limit connections foo 4",
			"disable frontend", "disable frontend nope", "disable frontend fe",
			"user; set maxconn global 10", "operator; disable frontend fe",
		} {
			ask(cmd)
		}
		order = append(order, "show stat (slim, status)")
		got = append(got, slimColumns(cliCmd(t, sock, "show stat")))
		order = append(order, "show info (limits)")
		got = append(got, infoLines(cliCmd(t, sock, "show info"), "Maxconn", "Hard_maxconn", "ConnRateLimit", "SessRateLimit"))
		ask("disable frontend fe")

		// A disabled frontend's socket stops listening, as haproxy's:
		// connections are refused until "enable frontend".
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", fePort), time.Second); err == nil {
			c.Close()
			t.Errorf("%s: a disabled frontend accepted a connection", path)
		}
		ask("enable frontend fe")
		ask("enable frontend fe")
		if out, err := curl(t, "-s", fmt.Sprintf("http://127.0.0.1:%d/", fePort)); err != nil || !strings.Contains(out, "web1") {
			t.Errorf("%s: after enable frontend: %q, %v", path, out, err)
		}
		order = append(order, "show stat after enable")
		got = append(got, slimColumns(cliCmd(t, sock, "show stat")))
		ask("set maxconn global 0")
		order = append(order, "show info after global 0")
		got = append(got, infoLines(cliCmd(t, sock, "show info"), "Maxconn", "Hard_maxconn"))
		answers[path] = got
	}
	for i, cmd := range order {
		got, want := answers[bin][i], answers[haproxyBin][i]
		if cmd == "set rate-limit connections foo 4" {
			// dhproxy's usage leaves out the SSL and compression limits
			// it does not have.
			if strings.HasPrefix(want, strings.TrimSuffix(got, "\n")) {
				continue
			}
		}
		if got != want {
			t.Errorf("%q: got %q, haproxy answers %q", cmd, got, want)
		}
	}
}

// TestRuntimeRateLimitHolds: with "set rate-limit connections global 5"
// dhproxy accepts about five connections a second (a dhproxy measurement;
// haproxy's limiter is the model).
func TestRuntimeRateLimitHolds(t *testing.T) {
	bePort, stopBE := startHTTPBackend(t, "web1")
	defer stopBE()
	sock := filepath.Join(t.TempDir(), "api.sock")
	fePort := freePort(t)
	startBinary(t, bin, adminSocketHead(sock)+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server web1 127.0.0.1:%d
`, fePort, bePort), fePort)
	// Let the readiness probe's connection leave the rate window.
	time.Sleep(1100 * time.Millisecond)
	if out := cliCmd(t, sock, "set rate-limit connections global 5"); out != "\n" {
		t.Fatalf("set rate-limit: %q", out)
	}
	// One connection per request, from this process: starting a client
	// process each time would measure the machine's load, not the limit.
	get := func() error {
		c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", fePort), 10*time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
		resp, err := io.ReadAll(c)
		if err == nil && !bytes.HasPrefix(resp, []byte("HTTP/1.1 200")) {
			err = fmt.Errorf("response %q", resp)
		}
		return err
	}
	start := time.Now()
	for i := 0; i < 15; i++ {
		if err := get(); err != nil {
			t.Fatal(err)
		}
	}
	// 15 connections at 5 a second: the first 5 at once, then about two
	// more seconds.
	if d := time.Since(start); d < 1500*time.Millisecond || d > 6*time.Second {
		t.Errorf("15 connections under a limit of 5/s took %v", d)
	}
	cliCmd(t, sock, "set rate-limit connections global 0")
	start = time.Now()
	for i := 0; i < 15; i++ {
		if err := get(); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("without the limit 15 connections took %v", d)
	}
}

// TestRuntimeStatsMaxconn: "stats maxconn 2" lets two runtime API sessions
// run at once over all the stats sockets; a third client waits in the
// backlog and is answered as soon as one of the two leaves, as haproxy does.
func TestRuntimeStatsMaxconn(t *testing.T) {
	for _, path := range []string{bin, haproxyBin} {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		dir := t.TempDir()
		sockA, sockB := filepath.Join(dir, "a.sock"), filepath.Join(dir, "b.sock")
		fePort := freePort(t)
		startBinary(t, path, fmt.Sprintf(`global
    stats maxconn 2
    stats socket %s level admin
    stats socket %s level admin`, sockA, sockB)+defaultsSection("http", "1s", "5s", "5s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request return status 200
`, fePort), fePort)
		cliCmd(t, sockB, "show info") // both sockets are there
		// Two interactive sessions, one per socket, held open.
		var held []net.Conn
		for _, sock := range []string{sockA, sockB} {
			c, err := net.Dial("unix", sock)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, "prompt\n")
			buf := make([]byte, 64)
			if n, err := c.Read(buf); err != nil || !bytes.Contains(buf[:n], []byte("> ")) {
				t.Fatalf("%s: interactive session: %q %v", path, buf[:n], err)
			}
			held = append(held, c)
		}
		third, err := net.Dial("unix", sockA)
		if err != nil {
			t.Fatal(err)
		}
		defer third.Close()
		io.WriteString(third, "show info\n")
		third.SetReadDeadline(time.Now().Add(700 * time.Millisecond))
		buf := make([]byte, 4096)
		if n, err := third.Read(buf); err == nil {
			t.Fatalf("%s: a third session was served with two held and stats maxconn 2: %q", path, buf[:n])
		}
		held[1].Close()
		third.SetReadDeadline(time.Now().Add(5 * time.Second))
		out, err := io.ReadAll(third)
		if err != nil || !strings.Contains(string(out), "Name: ") {
			t.Fatalf("%s: third session once a slot was free: %q %v", path, out, err)
		}
	}
}
