package e2e

import (
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// badResponseServer answers every request with a response whose header
// name holds a space.
func badResponseServer(t *testing.T) int {
	return h1StartRawBackend(t, func(c net.Conn) {
		c.Read(make([]byte, 4096))
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nBad Header: x\r\n\r\n")
	})
}

var (
	errDates    = regexp.MustCompile(`\[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]`)
	errSrcPort  = regexp.MustCompile(`src 127\.0\.0\.1:\d+`)
	errWrapsAt  = regexp.MustCompile(`, wraps at \d+,`)
	errH1Line   = regexp.MustCompile(`(?m)^  H1 .*\n`)
	errDumpDone = regexp.MustCompile(`(?m)^  00000`)
)

// normalizeErrors hides what differs by run (dates, client ports) and
// haproxy's multiplexer internals (H1 state lines, its buffer wrap point).
func normalizeErrors(s string) string {
	s = errDates.ReplaceAllString(s, "[DATE]")
	s = errSrcPort.ReplaceAllString(s, "src 127.0.0.1:PORT")
	s = errWrapsAt.ReplaceAllString(s, ", wraps at W,")
	return errH1Line.ReplaceAllString(s, "")
}

// TestRuntimeShowErrors: "show errors" dumps the last invalid request of a
// frontend and the last invalid response of a backend as haproxy 2.6 does
// (where, which event, the error position, the bytes with haproxy's
// escapes and line wrapping), with the proxy and direction filters and
// the unknown-proxy error.
func TestRuntimeShowErrors(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	bad := badResponseServer(t)
	answers := map[string][]string{}
	cmds := []string{"show errors", "show errors fe", "show errors be response", "show errors fe response",
		"show errors -1 request", "show errors nope", "user; show errors"}
	for _, path := range []string{haproxyBin, bin} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		fePort := freePort(t)
		startBinary(t, path, adminSocketHead(sock)+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server bad 127.0.0.1:%d
`, fePort, bad), fePort)
		var got []string
		got = append(got, normalizeErrors(cliCmd(t, sock, "show errors")))
		send := func(raw string) string {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fePort))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, raw)
			c.SetReadDeadline(time.Now().Add(3 * time.Second))
			b := make([]byte, 64)
			n, _ := io.ReadAtLeast(c, b, 12)
			return string(b[:n])
		}
		// The second invalid request replaces the first one's capture.
		send("GET / HTTP/1.1\r\nHo st: x\r\n\r\n")
		send("GET /" + strings.Repeat("a", 100) + " HTTP/1.1\r\nX: a\tb\\c\xff\"<>\r\nHo st: x\r\n\r\n")
		if r := send("GET /ok HTTP/1.1\r\nHost: x\r\n\r\n"); !strings.HasPrefix(r, "HTTP/1.1 502") {
			t.Errorf("%s: the invalid response gave %q", path, r)
		}
		for _, cmd := range cmds {
			got = append(got, normalizeErrors(cliCmd(t, sock, cmd)))
		}
		answers[path] = got
		if !errDumpDone.MatchString(got[1]) {
			t.Errorf("%s: no dump in\n%s", path, got[1])
		}
	}
	for i, cmd := range append([]string{"show errors (none yet)"}, cmds...) {
		if got, want := answers[bin][i], answers[haproxyBin][i]; got != want {
			t.Errorf("%q: got\n%s\nhaproxy answers\n%s", cmd, got, want)
		}
	}
}
