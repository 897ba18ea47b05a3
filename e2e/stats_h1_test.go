package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// startFixedBackend serves the same bytes for every request: no Date
// header, so that responses have the same length in both proxies' runs.
func startFixedBackend(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Date"] = nil
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.Repeat("h1", 500))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// TestStatsH1ModuleMatchesHAProxy: the h1 module's columns (after the h2
// ones, as haproxy 2.6.12 prints them) count the same HTTP/1 connections,
// streams and bytes on the frontend (client side) and the backend (server
// side) as haproxy's for the same requests: three keep-alive requests on
// one connection, one more on a second connection that closes, a request
// that cannot be parsed; "show stat typed" describes the columns alike.
func TestStatsH1ModuleMatchesHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	backend := startFixedBackend(t)
	cols := []string{"h1_open_connections", "h1_open_streams", "h1_total_connections", "h1_total_streams", "h1_bytes_in", "h1_bytes_out", "h1_spliced_bytes_in", "h1_spliced_bytes_out"}
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
    server s1 127.0.0.1:%d
`, fePort, backend), fePort)
		// Counters are compared from here on: the readiness probe's empty
		// connection gets a 400 written by haproxy into the closed
		// socket (counted in h1_bytes_out), none by dhproxy.
		// Both count the probe, haproxy sometimes a moment later: wait
		// for it.
		var before map[string][]string
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			var names []string
			before, names = statRows(t, cliCmd(t, sock, "show stat"))
			fe := before["fe/FRONTEND"]
			if fe != nil && fe[colIndex(t, names, "h1_total_connections")] != "0" && fe[colIndex(t, names, "h1_open_connections")] == "0" || time.Now().After(deadline) {
				break
			}
		}
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fePort))
		if err != nil {
			t.Fatal(err)
		}
		br := bufio.NewReader(c)
		for i, req := range []string{
			"GET /a HTTP/1.1\r\nHost: x\r\n\r\n",
			"GET /bb HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\n\r\n",
			"GET /ccc HTTP/1.1\r\nHost: x\r\n\r\n",
		} {
			io.WriteString(c, req)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("%s: request %d: %v", path, i, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		c.Close()
		if out, err := curl(t, "-s", "-H", "Connection: close", fmt.Sprintf("http://127.0.0.1:%d/d", fePort)); err != nil || len(out) != 1000 {
			t.Fatalf("%s: curl: %v %q", path, err, out)
		}
		// A request that cannot be parsed: a 400, and a stream.
		bad, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fePort))
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(bad, "GARBAGE\r\n\r\n")
		io.ReadAll(bad)
		bad.Close()
		var rows map[string][]string
		var names []string
		// The frontend sees the first connection's end a moment later.
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			rows, names = statRows(t, cliCmd(t, sock, "show stat"))
			if r := rows["fe/FRONTEND"]; r != nil && r[colIndex(t, names, "h1_open_connections")] == "0" || time.Now().After(deadline) {
				break
			}
		}
		order = order[:0]
		var got []string
		for _, row := range []string{"fe/FRONTEND", "be/BACKEND", "be/s1"} {
			for _, col := range cols {
				if row == "be/BACKEND" && col == "h1_open_connections" {
					continue // idle pooled server connections: purge timing differs
				}
				order = append(order, row+" "+col)
				v := rows[row][colIndex(t, names, col)]
				if !strings.Contains(col, "open") && v != "" {
					var a, b int
					fmt.Sscan(v, &a)
					fmt.Sscan(before[row][colIndex(t, names, col)], &b)
					v = fmt.Sprint(a - b)
				}
				got = append(got, v)
			}
		}
		order = append(order, "typed h1 field descriptions")
		got = append(got, strings.Join(regexp.MustCompile(`(?m)^[FB]\.\d+\.\d+\.\d+\.h1_\w+\.1:\w+:\w+`).FindAllString(cliCmd(t, sock, "show stat typed"), -1), "\n"))
		answers[path] = got
	}
	for i, what := range order {
		if got, want := answers[bin][i], answers[haproxyBin][i]; got != want {
			t.Errorf("%s: got %q, haproxy %q", what, got, want)
		}
	}
}

func colIndex(t *testing.T, names []string, col string) int {
	t.Helper()
	for i, n := range names {
		if n == col {
			return i
		}
	}
	t.Fatalf("no column %s in show stat", col)
	return -1
}
