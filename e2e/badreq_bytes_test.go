package e2e

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadRequestBytesAsHAProxy: requests the proxy answers itself (400,
// 408, 413) count in the stats (bin, bout, ereq, hrsp_4xx, req_tot of the
// frontend, backend and server) and the log's %B and %U as haproxy 2.6
// counts them. A refused head is a "<BADREQ>" counting no byte; so is a
// bad chunk that came with the head (haproxy's HTTP/1 layer parses it
// before any stream: dhproxy forwarded the head and answered 400 later);
// a bad chunk that comes later is a 400 "PH--" whose page counts (its
// "connection: close" too, as in haproxy's 400 and 408 messages only),
// charged to the backend and server but not as the server's response
// (dhproxy closed the server's side and answered 502 "SH--"). The 400
// and 408 of a rule count their "connection: close" too.
func TestBadRequestBytesAsHAProxy(t *testing.T) {
	srv := logBackend(t)
	good := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	steps := []struct {
		send  string
		close bool   // the client closes after sending, without reading
		later string // sent 200 ms after send
	}{
		{"GET /a b HTTP/1.1\r\nhost: a\r\n\r\n", false, ""},
		{"GET /x HTTP/1.1\r\nhost: a\r\ncontent-length: 3x\r\n\r\n", false, ""},
		{"GET /x HTTP/1.0\r\ncontent-length: 3\r\n\r\nabc", false, ""},
		{"GET /x", false, ""}, // times out (timeout http-request)
		{"", false, ""},       // times out, nothing sent
		{"GET /x", true, ""},
		{"GET /x HTTP/1.1\r\nhost: a\r\nx: " + strings.Repeat("y", 20000) + "\r\n\r\n", false, ""},
		{good + "GET /a b HTTP/1.1\r\nhost: a\r\n\r\n", false, ""},
		{good + "GET /x", false, ""},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, ""},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", false, "zz\r\n"},
		{"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n", false, "zz\r\n"},
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", false, "GET /a b HTTP/1.1\r\nhost: a\r\n\r\n"},
		{"GET /deny400 HTTP/1.1\r\nHost: x\r\n\r\n", false, ""},
		{"GET /deny408 HTTP/1.1\r\nHost: x\r\n\r\n", false, ""},
	}
	var cols = []string{"bin", "bout", "ereq", "hrsp_4xx", "req_tot", "cli_abrt"}
	got := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		logPort, nextLine := udpLog(t)
		sock := filepath.Join(t.TempDir(), "api.sock")
		fe := freePort(t)
		p := startBinary(t, path, fmt.Sprintf("global\n    stats socket %s level admin\n    log 127.0.0.1:%d format raw local0", sock, logPort)+
			defaultsSection("http", "1s", "5s", "5s", "log global", "timeout http-request 300ms", `log-format "%ST %B %U %tsc %{+Q}r"`)+fmt.Sprintf(`
frontend f
    bind 127.0.0.1:%d
    http-request deny deny_status 400 if { path /deny400 }
    http-request deny deny_status 408 if { path /deny408 }
    default_backend b
backend b
    server s1 127.0.0.1:%d
`, fe, srv), fe)
		nextLine.skipProbe()
		var b strings.Builder
		for _, s := range steps {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe))
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(c, s.send)
			if s.later != "" {
				time.Sleep(200 * time.Millisecond)
				io.WriteString(c, s.later)
			}
			if !s.close {
				c.SetReadDeadline(time.Now().Add(3 * time.Second))
				io.ReadAll(c)
			}
			c.Close()
			waitField(t, sock, "f/FRONTEND", "scur", "0")
			fmt.Fprintf(&b, "%.40q\n", s.send)
			for _, l := range nextLine.rest(300 * time.Millisecond) {
				b.WriteString("  " + l + "\n")
			}
			rows, names := statRows(t, cliCmd(t, sock, "show stat"))
			for _, row := range []string{"f/FRONTEND", "b/BACKEND", "b/s1"} {
				b.WriteString("  " + row)
				for _, col := range cols {
					b.WriteString(" " + col + "=" + field(t, rows, names, row, col))
				}
				b.WriteString("\n")
			}
		}
		p.stop()
		got[path] = b.String()
	}
	t.Log(got[bin])
	if got[bin] != got[haproxyBin] {
		t.Errorf("dhproxy:\n%s\nhaproxy:\n%s", got[bin], got[haproxyBin])
	}
}
