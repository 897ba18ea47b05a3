package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// logForwardInput are the syslog messages both proxies receive: RFC 5424
// and RFC 3164 ones, with and without their optional fields, and broken
// ones (no <PRI>, a bad header, which keeps only <PRI>).
var logForwardInput = []string{
	"<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - BOM'su root' failed",
	`<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - [exampleSDID@32473 iut="3" eventSource="App"][x@1 a="b\]c"] %% It's time`,
	"<13>1 - - - - - - nil all",
	"<13>1 2003-10-11T22:14:15Z h t p m - no fraction",
	"<13>1 bad",
	"<13>1 2003-10-11T22:14:15.003Z host app 1 - [unclosed",
	"<13>1 2003-10-11T22:14:15.x03Z host app 1 - - bad fraction",
	"<13>Oct 11 22:14:15 host1 app[123]: hello world",
	"<13>Oct  1 22:14:15 host1 app: no pid",
	"<13>Oct  1 22:14:15 host1 just a message",
	"<13>Jan 31 01:02:03 host1 app[1]:nospace",
	"<13>Feb  3 01:02:03 host1 app[12]x: odd tag",
	"<13>Xyz 11 22:14:15 host1 app: bad month",
	"<13>Oct 11 22:14:15  double space",
	"no priority at all",
	"<999>weird priority",
	"<7>bare message",
	"<abc>not a priority",
	"<>empty priority",
	"<13>trailing\n\n",
	"<13>" + strings.Repeat("A", 1500),
}

// logForwardConfig is a relay with one target per format (filters and
// sampling on some), all to the UDP port base+i.
func logForwardConfig(udpIn, tcpIn, base int, sock string) string {
	// one thread: haproxy's threads share a UDP socket and would take
	// the sampled target's turns in any order
	return fmt.Sprintf(`global
    nbthread 1
    stats socket %s level admin
log-forward relay
    dgram-bind 127.0.0.1:%d
    bind 127.0.0.1:%d
    maxconn 20
    timeout client 2s
    log 127.0.0.1:%d local0
    log 127.0.0.1:%d format rfc5424 local1
    log 127.0.0.1:%d format rfc3164 local2 notice
    log 127.0.0.1:%d len 80 format raw local2 info err
    log 127.0.0.1:%d format local local3
    log 127.0.0.1:%d format priority sample 1-2,4:5 local4
    log 127.0.0.1:%d format short local5
    log 127.0.0.1:%d format timed local6
    log 127.0.0.1:%d format iso local7
`, sock, udpIn, tcpIn, base, base+1, base+2, base+3, base+4, base+5, base+6, base+7, base+8)
}

const logForwardTargets = 9

// stamps are the timestamps a relay writes: of the message, or of its own
// clock, the only thing that may differ between the two relays.
var stamps = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d|[A-Z][a-z][a-z] [ 123]\d \d\d:\d\d:\d\d`)

// maskNow replaces the timestamps that no input message holds.
func maskNow(line string) string {
	return stamps.ReplaceAllStringFunc(line, func(s string) string {
		for _, m := range logForwardInput {
			if strings.Contains(m, s) {
				return s
			}
		}
		return "<now>"
	})
}

// TestLogForwardAsHAProxy: a log-forward section relays UDP and TCP
// (octet counting and LF framing) syslog messages to its targets exactly
// as haproxy 2.6 does, every target format included, once the timestamps
// the relay takes from its own clock are masked.
func TestLogForwardAsHAProxy(t *testing.T) {
	got := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		outs := consecutiveUDP(t, logForwardTargets)
		base := outs[0].LocalAddr().(*net.UDPAddr).Port
		udpIn, tcpIn := freeUDPPort(t), freePort(t)
		sock := filepath.Join(t.TempDir(), "api.sock")
		startBinary(t, path, logForwardConfig(udpIn, tcpIn, base, sock), tcpIn)
		var lines []string
		collect := func(phase string) {
			for i, pc := range outs {
				for _, l := range readDatagrams(pc, 2*len(logForwardInput)) {
					lines = append(lines, fmt.Sprintf("%s %d %q", phase, i, maskNow(l)))
				}
			}
		}

		tx, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", udpIn))
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Close()
		for _, m := range logForwardInput {
			tx.Write([]byte(m))
		}
		collect("udp")
		// TCP: the same messages, octet-counted, then LF-framed (the
		// ones that start with '<' and hold no LF), in one connection.
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tcpIn))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		var stream strings.Builder
		for _, m := range logForwardInput {
			fmt.Fprintf(&stream, "%d %s", len(m), m)
		}
		for _, m := range logForwardInput {
			if strings.HasPrefix(m, "<") && !strings.Contains(m, "\n") {
				stream.WriteString(m + "\r\n")
			}
		}
		c.Write([]byte(stream.String()))
		collect("tcp")
		got[path] = lines
		want := fmt.Sprintf("CumRecvLogs: %d\n", 2*len(logForwardInput)+countLF())
		if out := cliCmd(t, sock, "show info"); !strings.Contains(out, want) {
			t.Errorf("%s: show info has no %q:\n%s", path, want, out)
		}
	}
	h, d := got[haproxyBin], got[bin]
	if len(h) < 10*len(logForwardInput) {
		t.Fatalf("haproxy relayed only %d lines", len(h))
	}
	if strings.Join(h, "\n") != strings.Join(d, "\n") {
		t.Errorf("relayed lines differ:\n%s", diffLines(h, d))
	}
}

func countLF() int {
	n := 0
	for _, m := range logForwardInput {
		if strings.HasPrefix(m, "<") && !strings.Contains(m, "\n") {
			n++
		}
	}
	return n
}

// readDatagrams reads until want datagrams came or none came for a while
// (a second for the first).
func readDatagrams(pc net.PacketConn, want int) []string {
	var out []string
	buf := make([]byte, 65536)
	for len(out) < want {
		wait := 150 * time.Millisecond
		if len(out) == 0 {
			wait = time.Second
		}
		pc.SetReadDeadline(time.Now().Add(wait))
		n, _, err := pc.ReadFrom(buf)
		if err != nil {
			break
		}
		out = append(out, string(buf[:n]))
	}
	return out
}

// consecutiveUDP binds n UDP sockets on consecutive loopback ports.
func consecutiveUDP(t *testing.T, n int) []net.PacketConn {
	t.Helper()
	for try := 0; try < 50; try++ {
		first, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := first.LocalAddr().(*net.UDPAddr).Port
		pcs := []net.PacketConn{first}
		for i := 1; i < n; i++ {
			pc, err := net.ListenPacket("udp4", fmt.Sprintf("127.0.0.1:%d", port+i))
			if err != nil {
				break
			}
			pcs = append(pcs, pc)
		}
		if len(pcs) == n {
			for _, pc := range pcs {
				t.Cleanup(func() { pc.Close() })
			}
			return pcs
		}
		for _, pc := range pcs {
			pc.Close()
		}
	}
	t.Fatal("no run of free UDP ports")
	return nil
}

// diffLines shows the lines only one side has.
func diffLines(a, b []string) string {
	seen := map[string]int{}
	for _, l := range b {
		seen[l]++
	}
	var out []string
	for _, l := range a {
		if seen[l] > 0 {
			seen[l]--
			continue
		}
		out = append(out, "haproxy: "+l)
	}
	for l, n := range seen {
		for range n {
			out = append(out, "dhproxy: "+l)
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// TestLogForwardBadFrameAsHAProxy: a TCP frame that is neither
// octet-counted nor starts with '<' closes the connection, the messages
// before it relayed, as haproxy 2.6 does.
func TestLogForwardBadFrameAsHAProxy(t *testing.T) {
	for _, path := range []string{haproxyBin, bin} {
		out := consecutiveUDP(t, 1)[0]
		tcpIn := freePort(t)
		startBinary(t, path, fmt.Sprintf(`log-forward relay
    bind 127.0.0.1:%d
    log 127.0.0.1:%d format raw local0
`, tcpIn, out.LocalAddr().(*net.UDPAddr).Port), tcpIn)
		for _, bad := range []string{"0 <13>zero", "x", "12x <13>not a length"} {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tcpIn))
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("<13>before\n" + bad))
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("%s: connection not closed after %q (%d, %v)", path, bad, n, err)
			}
			c.Close()
			if got := readDatagrams(out, 2); len(got) != 1 || got[0] != "before\n" {
				t.Errorf("%s: messages around %q: %q", path, bad, got)
			}
		}
	}
}

// TestLogForwardTCPLimits: "maxconn" holds further TCP clients in the
// accept queue until one leaves and "timeout client" closes an idle one.
// dhproxy only: haproxy 2.6.12 never releases a syslog TCP client that
// closed (nor times one out), so that its maxconn-th client is its last.
func TestLogForwardTCPLimits(t *testing.T) {
	if isHAProxy() {
		t.Skip("haproxy 2.6.12 never frees a TCP syslog client nor times it out (docs/logging.md): dhproxy's own behaviour")
	}
	out := consecutiveUDP(t, 1)[0]
	tcpIn := freePort(t)
	startBinary(t, bin, fmt.Sprintf(`log-forward relay
    bind 127.0.0.1:%d
    maxconn 1
    timeout client 2s
    log 127.0.0.1:%d format raw local0
`, tcpIn, out.LocalAddr().(*net.UDPAddr).Port), tcpIn)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tcpIn))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// startBinary's probe left at once: its slot is free again
	first := dial()
	first.Write([]byte("<13>first\n"))
	if got := readDatagrams(out, 1); len(got) != 1 || got[0] != "first\n" {
		t.Fatalf("first client's message: %q", got)
	}
	second := dial()
	second.Write([]byte("9 <13>queue"))
	if got := readDatagrams(out, 1); len(got) != 0 {
		t.Errorf("a client beyond maxconn 1 was served at once: %q", got)
	}
	// the first client, idle, is closed by timeout client; then the
	// queued one is served
	start := time.Now()
	first.SetReadDeadline(time.Now().Add(3 * time.Second))
	if n, err := first.Read(make([]byte, 1)); n != 0 || errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Errorf("idle client not closed by timeout client (%d, %v after %v)", n, err, time.Since(start))
	}
	if got := readDatagrams(out, 1); len(got) != 1 || got[0] != "queue\n" {
		t.Errorf("queued client's message: %q", got)
	}
}
