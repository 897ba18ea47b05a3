package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// holdingServer accepts connections, reads what they send and never
// answers; closed counts the connections the proxy closed.
func holdingServer(t *testing.T) (port int, closed *atomic.Int32) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	closed = new(atomic.Int32)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				io.Copy(io.Discard, c)
				closed.Add(1)
				c.Close()
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port, closed
}

var sessLineRE = regexp.MustCompile(`^(0x[0-9a-f]+): proto=(\S+) src=(\S+) fe=(\S+) be=(\S+) srv=(\S+) `)

// sessList parses "show sess" into "proto src fe be srv" lines (sorted)
// and the ids by source.
func sessList(t *testing.T, out string) (string, map[string]string) {
	var rows []string
	ids := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		m := sessLineRE.FindStringSubmatch(l + " ")
		if m == nil {
			t.Fatalf("show sess line %q", l)
		}
		rows = append(rows, strings.Join(m[2:], " "))
		ids[m[3]] = m[1]
	}
	sort.Strings(rows)
	return strings.Join(rows, "\n"), ids
}

// statusLine reads the start of what c receives within a few seconds:
// its first line.
func statusLine(c net.Conn) string {
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	b := make([]byte, 256)
	n, _ := io.ReadAtLeast(c, b, 12)
	line, _, _ := strings.Cut(string(b[:n]), "\r\n")
	return line
}

// TestRuntimeShowAndShutdownSessions: "show sess" lists the same sessions
// with the same protocol, source, frontend, backend and server as haproxy
// 2.6 (the runtime API's own session included), "show sess <id>" starts
// its dump alike, "shutdown session <id>" and "shutdown sessions server"
// close the server connections (the clients get a 502), and the errors
// and levels are haproxy's.
func TestRuntimeShowAndShutdownSessions(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	answers := map[string][]string{}
	var order []string
	for _, path := range []string{haproxyBin, bin} {
		hold, closed := holdingServer(t)
		sock := filepath.Join(t.TempDir(), "api.sock")
		fePort := freePort(t)
		startBinary(t, path, fmt.Sprintf(`global
    stats socket %s level admin`, sock)+defaultsSection("http", "1s", "30s", "30s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server slow 127.0.0.1:%d
`, fePort, hold), fePort)
		var got []string
		order = order[:0]
		add := func(name, v string) {
			order = append(order, name)
			got = append(got, v)
		}
		dial := func() (net.Conn, string) {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fePort))
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, "GET /held HTTP/1.1\r\nHost: x\r\n\r\n")
			return c, c.LocalAddr().String()
		}
		c1, src1 := dial()
		c2, src2 := dial()
		defer c1.Close()
		defer c2.Close()
		// Both requests reach the server before they are listed with it.
		var list string
		var ids map[string]string
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			list, ids = sessList(t, cliCmd(t, sock, "show sess"))
			if strings.Count(list, "srv=slow")+strings.Count(list, " slow") >= 2 || time.Now().After(deadline) {
				break
			}
		}
		add("show sess", strings.NewReplacer(src1, "SRC1", src2, "SRC2").Replace(list))
		detail := cliCmd(t, sock, "show sess "+ids[src1])
		lines := strings.Split(detail, "\n")
		var kept []string
		for _, l := range lines {
			switch {
			case strings.HasPrefix(l, "0x"):
				kept = append(kept, regexp.MustCompile(`^0x[0-9a-f]+: \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{6}\] id=\d+ `).ReplaceAllString(l, "ID: [DATE] id=N "))
			case strings.HasPrefix(l, "  frontend="):
				kept = append(kept, l[:strings.Index(l, ")")+1])
			case strings.HasPrefix(l, "  backend="), strings.HasPrefix(l, "  server="):
				// The backend's addr is the server connection's own, whose
				// port varies.
				l = strings.ReplaceAll(l, fmt.Sprint(hold), "HOLD")
				kept = append(kept, regexp.MustCompile(`^(  backend=.* addr=127\.0\.0\.1:)\d+$`).ReplaceAllString(l, "${1}PORT"))
			}
		}
		add("show sess ID", strings.ReplaceAll(strings.Join(kept, "\n"), src1, "SRC1"))
		for _, cmd := range []string{"show sess 0x1234", "user; show sess", "shutdown session", "shutdown session 0x1234",
			"shutdown sessions server", "shutdown sessions server be/nope", "shutdown sessions server nope/x",
			"operator; shutdown session " + ids[src1], "operator; shutdown sessions server be/slow"} {
			add(cmd, cliCmd(t, sock, cmd))
		}
		add("shutdown session ID", cliCmd(t, sock, "shutdown session "+ids[src1]))
		// The request loses its server connection: the client gets a 502.
		add("client 1 after shutdown session", statusLine(c1))
		list, _ = sessList(t, cliCmd(t, sock, "show sess"))
		add("show sess after shutdown", strings.ReplaceAll(list, src2, "SRC2"))
		add("shutdown sessions server", cliCmd(t, sock, "shutdown sessions server be/slow"))
		add("client 2 after shutdown sessions server", statusLine(c2))
		for deadline := time.Now().Add(3 * time.Second); closed.Load() < 2 && time.Now().Before(deadline); {
			time.Sleep(20 * time.Millisecond)
		}
		if n := closed.Load(); n != 2 {
			t.Errorf("%s: %d server connections closed, want 2", path, n)
		}
		answers[path] = got
	}
	for i, cmd := range order {
		if got, want := answers[bin][i], answers[haproxyBin][i]; got != want {
			t.Errorf("%q: got\n%s\nhaproxy answers\n%s", cmd, got, want)
		}
	}
}
