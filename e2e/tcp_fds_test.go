package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"testing"
	"time"
)

// startTCPEcho serves a loopback echo that closes each connection once
// its client has finished sending. It returns the port.
func startTCPEcho(t testing.TB) int {
	t.Helper()
	return h1StartRawBackend(t, func(c net.Conn) { io.Copy(c, c) })
}

// countFDs is the number of open descriptors of process pid.
func countFDs(t testing.TB, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// heldSessions is how many mode tcp sessions TestTCPModeFDsPerSession
// holds; DHPROXY_FD_SESSIONS raises it for a measurement.
func heldSessions(t *testing.T) int {
	n := 300
	if v := os.Getenv("DHPROXY_FD_SESSIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("DHPROXY_FD_SESSIONS=%q: want a positive count", v)
		}
	}
	return n
}

// TestTCPModeFDsPerSession holds many mode tcp sessions that have each
// moved data in both directions, then closes them: a held session costs
// its two sockets (pipes for splicing are taken only while data moves), and
// the descriptors go away as soon as the sessions end, not when the
// garbage collector gets to them.
func TestTCPModeFDsPerSession(t *testing.T) {
	n := heldSessions(t)
	echo := startTCPEcho(t)
	port := freePort(t)
	p := startProxy(t, fmt.Sprintf(`
global
    maxconn %d`, n+100)+defaultsSection("tcp", "5s", "60s", "60s")+fmt.Sprintf(`
listen fdcount
    bind 127.0.0.1:%d
    server echo 127.0.0.1:%d
`, port, echo), port)
	pid := p.cmd.Process.Pid
	base := countFDs(t, pid)

	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	msg := make([]byte, 64<<10) // several splice calls' worth each way
	got := make([]byte, len(msg))
	for i := range n {
		c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), 5*time.Second)
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		conns = append(conns, c)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write(msg); err != nil {
			t.Fatalf("session %d: write: %v", i, err)
		}
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("session %d: echo: %v", i, err)
		}
	}
	// A few descriptors of slack for the proxy's own housekeeping.
	const slack = 24
	held := countFDs(t, pid)
	t.Logf("%s: %d descriptors before, %d with %d sessions held", bin, base, held, n)
	if held > base+2*n+slack {
		t.Errorf("%d sessions held %d descriptors (%d before): want at most two per session", n, held, base)
	}

	for _, c := range conns {
		c.Close()
	}
	conns = nil
	start := time.Now()
	after := countFDs(t, pid)
	for after > base+slack && time.Since(start) < 2*time.Second {
		time.Sleep(50 * time.Millisecond)
		after = countFDs(t, pid)
	}
	t.Logf("%s: %d descriptors %v after the sessions closed", bin, after, time.Since(start).Round(time.Millisecond))
	if after > base+slack {
		t.Errorf("2 s after %d sessions closed the proxy still has %d descriptors (%d before)", n, after, base)
	}
}
