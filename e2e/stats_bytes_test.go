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

// TestStatsBytesAsHAProxy: in HTTP mode the stats' bin and bout count
// what %U and %B count, the requests and responses as haproxy 2.6 holds
// them (HTX: start line's parts plus 20, fields' names and values, 1 for
// the end of the head, the body's data, 1 for a chunked body's end), on
// the frontend, backend and server alike; the server a connect failed to
// is charged with the request and the 503; a tracked entry's bytes_in_cnt
// and bytes_out_cnt count the same. dhproxy counted the bytes the client
// connection carried.
func TestStatsBytesAsHAProxy(t *testing.T) {
	srv := logBackend(t)
	reqs := []string{
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
		"GET /404 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /fast HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"dead POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
	}
	dead := freePort(t)
	// the l rows', the d rows' after each request
	want := `38 51, 0 0
97 102, 0 0
138 161, 0 0
218 1264, 0 0
263 1334, 0 0
332 1385, 0 0
332 1385, 59 217
`
	for _, path := range []string{haproxyBin, bin} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		port, dport := freePort(t), freePort(t)
		p := startBinary(t, path, fmt.Sprintf("global\n    stats socket %s level admin", sock)+defaultsSection("http", "1s", "5s", "5s")+fmt.Sprintf(`
listen l
    bind 127.0.0.1:%d
    stick-table type ip size 1k store bytes_in_cnt,bytes_out_cnt
    http-request track-sc0 src
    server s 127.0.0.1:%d
listen d
    bind 127.0.0.1:%d
    retries 0
    server s 127.0.0.1:%d
`, port, srv, dport, dead), port)
		var b strings.Builder
		for _, r := range reqs {
			to := port
			if rest, ok := strings.CutPrefix(r, "dead "); ok {
				r, to = rest, dport
			}
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", to))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, r)
			io.ReadAll(c)
			c.Close()
			waitField(t, sock, "l/FRONTEND", "scur", "0")
			waitField(t, sock, "d/FRONTEND", "scur", "0")
			rows, names := statRows(t, cliCmd(t, sock, "show stat"))
			for i, px := range []string{"l", "d"} {
				// the frontend's, the server's and the backend's alike
				var cols []string
				for _, row := range []string{px + "/FRONTEND", px + "/s", px + "/BACKEND"} {
					cols = append(cols, field(t, rows, names, row, "bin")+" "+field(t, rows, names, row, "bout"))
				}
				if cols[1] != cols[0] || cols[2] != cols[0] {
					t.Errorf("%s, %q: frontend, server, backend bin bout %q", path, r, cols)
				}
				b.WriteString([]string{"", ", "}[i] + cols[0])
			}
			b.WriteString("\n")
		}
		// the tracked entry's bytes are the same
		if tab := cliCmd(t, sock, "show table l"); !strings.Contains(tab, " bytes_in_cnt=332 bytes_out_cnt=1385\n") {
			t.Errorf("%s: show table l:\n%s", path, tab)
		}
		p.stop()
		if b.String() != want {
			t.Errorf("%s counted\n%swant\n%s", path, b.String(), want)
		}
	}
}
