package e2e

// The ssl and h2 stats modules' columns after column 103, as haproxy 2.6
// prints them: same header, same ssl counters for the same traffic.

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestStatsSSLModule(t *testing.T) {
	ca := newTLSCA(t)
	dir := t.TempDir()
	crt := ca.writePEM(t, dir, "site.pem", "site.test")
	echo := startHeaderEcho(t)
	cfg := func(sock string, tlsPort, plainPort int) string {
		return fmt.Sprintf(`
global
	nbthread 1
	stats socket %s level admin`, sock) + defaultsSection("http", "2s", "5s", "5s", "http-reuse never") + fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s
	default_backend be
frontend plain
	bind 127.0.0.1:%d
	default_backend tlsbe
backend be
	server e 127.0.0.1:%d
backend tlsbe
	server s 127.0.0.1:%d ssl verify none
`, tlsPort, crt, plainPort, echo, tlsPort)
	}
	// Two requests through the TLS server hop (the second resumes), and a
	// client refused for its TLS version.
	traffic := func(tlsPort, plainPort int) {
		for i := 0; i < 2; i++ {
			if out, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", plainPort)); err != nil || out != "hello" {
				t.Fatalf("request %d: %q %v", i, out, err)
			}
		}
		if _, err := curl(t, append([]string{"--tls-max", "1.1", "--cacert", ca.pemFil}, tlsURL("site.test", tlsPort, "/")...)...); err == nil {
			t.Fatal("a TLS 1.1 client was served")
		}
	}
	modules := []string{"ssl_sess", "ssl_reused_sess", "ssl_failed_handshake"}
	read := func(sock string) (string, map[string]string) {
		out := cliCmd(t, sock, "show stat")
		header := strings.SplitN(out, "\n", 2)[0]
		rows, names := statRows(t, out)
		got := map[string]string{}
		for _, row := range []string{"fe/FRONTEND", "tlsbe/s", "tlsbe/BACKEND", "be/BACKEND"} {
			for _, col := range modules {
				got[row+" "+col] = field(t, rows, names, row, col)
			}
		}
		typed := cliCmd(t, sock, "show stat typed")
		if !strings.Contains(typed, ".103.ssl_sess.1:MCP:u64:") || !strings.Contains(typed, ".118.h2_backend_total_streams.1:MCP:u64:0") {
			t.Errorf("show stat typed lacks the module fields at haproxy's positions:\n%s", typed)
		}
		return header, got
	}
	sock := filepath.Join(t.TempDir(), "stats.sock")
	tlsPort, plainPort := freePort(t), freePort(t)
	startProxy(t, cfg(sock, tlsPort, plainPort), tlsPort, plainPort)
	// The readiness probe is a failed handshake, which may be counted a
	// moment after it closed: start from the count that includes it.
	_, before := read(sock)
	for i := 0; i < 100 && before["fe/FRONTEND ssl_failed_handshake"] == "0"; i++ {
		time.Sleep(20 * time.Millisecond)
		_, before = read(sock)
	}
	traffic(tlsPort, plainPort)
	header, got := read(sock)
	delta(t, got, before)
	// As haproxy: ssl_sess counts new sessions, ssl_reused_sess resumed ones.
	want := map[string]string{
		"fe/FRONTEND ssl_sess": "1", "fe/FRONTEND ssl_reused_sess": "1", "fe/FRONTEND ssl_failed_handshake": "1",
		"tlsbe/s ssl_sess": "1", "tlsbe/s ssl_reused_sess": "1", "tlsbe/s ssl_failed_handshake": "0",
		"tlsbe/BACKEND ssl_sess": "1", "tlsbe/BACKEND ssl_reused_sess": "1", "tlsbe/BACKEND ssl_failed_handshake": "0",
		"be/BACKEND ssl_sess": "0", "be/BACKEND ssl_reused_sess": "0", "be/BACKEND ssl_failed_handshake": "0",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if isHAProxy() {
		return
	}
	needHAProxyPeer(t)
	hsock := filepath.Join(t.TempDir(), "hstats.sock")
	htls, hplain := freePort(t), freePort(t)
	startBinary(t, haproxyBin, cfg(hsock, htls, hplain), htls)
	waitPort(t, hplain, 5e9)
	_, hbefore := read(hsock)
	traffic(htls, hplain)
	hheader, hgot := read(hsock)
	delta(t, hgot, hbefore)
	if hheader != header {
		t.Errorf("header differs from haproxy's\n dhproxy %s\n haproxy %s", header, hheader)
	}
	for k := range want {
		if got[k] != hgot[k] {
			t.Errorf("%s: dhproxy %q, haproxy %q", k, got[k], hgot[k])
		}
	}
}

// delta turns the counters of got into their increase since before.
func delta(t *testing.T, got, before map[string]string) {
	t.Helper()
	for k, v := range got {
		a, err1 := strconv.Atoi(v)
		b, err2 := strconv.Atoi(before[k])
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %q then %q", k, before[k], v)
		}
		got[k] = strconv.Itoa(a - b)
	}
}
