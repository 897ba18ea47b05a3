package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// The log tests' syslog side: a UDP socket a proxy logs to, read a line at
// a time with a deadline, and the configuration head that points a proxy
// at it.

// nextLog returns the next line a proxy logged, trimmed, or false when
// none came within wait.
type nextLog func(wait time.Duration) (string, bool)

// udpLog receives a proxy's log lines over UDP: port is for the
// configuration's "log 127.0.0.1:<port>" (logHead writes it).
func udpLog(t *testing.T) (port int, next nextLog) {
	t.Helper()
	return udpLogTrim(t, strings.TrimSpace)
}

// udpLogExact is udpLog for the tests that read a line's ends (a trailing
// space is part of some formats): it cuts only the newline.
func udpLogExact(t *testing.T) (port int, next nextLog) {
	t.Helper()
	return udpLogTrim(t, func(l string) string { return strings.TrimRight(l, "\n") })
}

// udpLogTrim is udpLog with trim applied to each line.
func udpLogTrim(t *testing.T, trim func(string) string) (port int, next nextLog) {
	t.Helper()
	udp, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { udp.Close() })
	buf := make([]byte, 4096)
	return udp.LocalAddr().(*net.UDPAddr).Port, func(wait time.Duration) (string, bool) {
		udp.SetReadDeadline(time.Now().Add(wait))
		n, _, err := udp.ReadFrom(buf)
		if err != nil {
			return "", false
		}
		return trim(string(buf[:n])), true
	}
}

// line returns the next line, failing t when none came within 5 s; what
// says which line was awaited.
func (next nextLog) line(t *testing.T, what string) string {
	t.Helper()
	l, ok := next(5 * time.Second)
	if !ok {
		t.Fatalf("no log line within 5s: %s", what)
	}
	return l
}

// rest returns the lines that come until none does for wait.
func (next nextLog) rest(wait time.Duration) []string {
	var lines []string
	for l, ok := next(wait); ok; l, ok = next(wait) {
		lines = append(lines, l)
	}
	return lines
}

// skipProbe drops the lines of the readiness probe's empty connection
// (startBinary's), which come before the test's own: all that come until
// none does for 500 ms.
func (next nextLog) skipProbe() { next.rest(500 * time.Millisecond) }

// logHead is the head of a configuration that logs to 127.0.0.1:logPort
// in raw format (udpLog's port): a global section, then a defaults
// section in mode with "log global", the extra lines and the timeouts of
// most log tests (connect 1s, client and server 5s). It ends with a
// newline, for the sections that follow.
func logHead(logPort int, mode string, extra ...string) string {
	return fmt.Sprintf("global\n    log 127.0.0.1:%d format raw local0", logPort) +
		defaultsSection(mode, "1s", "5s", "5s", append([]string{"log global"}, extra...)...) + "\n"
}
