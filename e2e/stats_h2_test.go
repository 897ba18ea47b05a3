package e2e

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// h2StatCols are the h2 module's columns, as haproxy 2.6 names them.
var h2StatCols = []string{"h2_headers_rcvd", "h2_data_rcvd", "h2_settings_rcvd", "h2_rst_stream_rcvd", "h2_goaway_rcvd",
	"h2_detected_conn_protocol_errors", "h2_detected_strm_protocol_errors", "h2_rst_stream_resp", "h2_goaway_resp",
	"h2_open_connections", "h2_backend_open_streams", "h2_total_connections", "h2_backend_total_streams"}

// rawH2 opens an HTTP/2 connection to port, sends the preface, an empty
// SETTINGS and frames written by send, then reads what the proxy answers
// until it closes or goes quiet, and closes.
func rawH2(t *testing.T, port int, send func(fr *http2.Framer, enc func(kv ...string) []byte)) {
	t.Helper()
	c, fr := dialH2(t, port)
	defer c.Close()
	send(fr.Framer, fr.block)
	for {
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		if _, err := fr.ReadFrame(); err != nil {
			return
		}
	}
}

// TestStatsH2Module: the h2 module's frontend counters count the frames
// of real clients (curl, nghttp, a raw client resetting a stream, sending
// a malformed request, breaking the protocol) as haproxy 2.6 counts them.
func TestStatsH2Module(t *testing.T) {
	be, _ := startHTTPBackend(t, "h2stats")
	port := freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	startProxy(t, fmt.Sprintf(`
global
    stats socket %s level admin`, sock)+defaultsSection("http", "5s", "10s", "10s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d proto h2
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, port, be), port)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	get := []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a"}
	steps := []struct {
		name string
		run  func()
		want string // what the step adds to the counters, in h2StatCols order (haproxy 2.6's)
	}{
		{"curl GET", func() { curl(t, "--http2-prior-knowledge", url+"/") }, "1 0 3 0 0 0 0 0 0 0 0 1 1"},
		{"curl POST", func() { curl(t, "--http2-prior-knowledge", "-d", "hello", url+"/") }, "1 1 3 0 0 0 0 0 0 0 0 1 1"},
		{"nghttp two streams", func() {
			// Slow answers: nghttp acknowledges the proxy's SETTINGS before
			// the responses arrive (with both in one read it skips the ACK).
			exec.Command("nghttp", "-n", url+"/slow?ms=100&a", url+"/slow?ms=100&b").Run()
		}, "2 0 3 0 1 0 0 0 0 0 0 1 2"},
		{"stream reset by the client", func() {
			rawH2(t, port, func(fr *http2.Framer, enc func(...string) []byte) {
				fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(":method", "POST", ":scheme", "http", ":path", "/", ":authority", "a"), EndHeaders: true})
				fr.WriteRSTStream(1, http2.ErrCodeCancel)
			})
		}, "1 0 2 1 0 0 0 0 0 0 0 1 1"},
		{"malformed request", func() {
			rawH2(t, port, func(fr *http2.Framer, enc func(...string) []byte) {
				fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: enc(append(get, "X-Upper", "1")...), EndHeaders: true, EndStream: true})
			})
		}, "1 0 2 0 0 0 0 1 0 0 0 1 0"},
		{"connection error", func() {
			rawH2(t, port, func(fr *http2.Framer, enc func(...string) []byte) {
				fr.WriteData(0, true, []byte("x"))
			})
		}, "0 0 2 0 0 0 0 0 0 0 0 1 0"},
	}
	counters := func() []int {
		rows, names := statRows(t, cliCmd(t, sock, "show stat"))
		var vals []int
		for _, col := range h2StatCols {
			n, _ := strconv.Atoi(field(t, rows, names, "fe/FRONTEND", col))
			vals = append(vals, n)
		}
		return vals
	}
	// The readiness probe's connection (no preface) is counted by both
	// proxies once it is over: deltas from then on.
	prev := counters()
	for deadline := time.Now().Add(3 * time.Second); (prev[9] != 0 || prev[11] == 0) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		prev = counters()
	}
	for _, st := range steps {
		st.run()
		var now []int
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			// The gauges come back to 0 once the connection is over.
			if now = counters(); now[9] == 0 && now[10] == 0 || time.Now().After(deadline) {
				break
			}
		}
		var d []string
		for i := range now {
			d = append(d, strconv.Itoa(now[i]-prev[i]))
		}
		prev = now
		got := strings.Join(d, " ")
		t.Logf("%s: %s", st.name, got)
		if got != st.want {
			t.Errorf("after %s: h2 counters rose by %s, want %s (%s)", st.name, got, st.want, strings.Join(h2StatCols, " "))
		}
	}
}
