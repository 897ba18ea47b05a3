package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// haproxy 2.6's general purpose arrays: gpc(N), gpc_rate(N,period) and
// gpt(N) with sc-inc-gpc/sc-set-gpt, the fetches and converters reading
// them, "show table" printing them, and peers syncing them with haproxy.

func TestStickArrays(t *testing.T) {
	port := freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	startProxy(t, "global\n    stats socket "+sock+" level admin\n"+rulesDefaults(port)+`
    stick-table type ip size 10 expire 1m store gpt(2),gpc(3),gpc_rate(2,10s)
    tcp-request content sc-inc-gpc(2,0)
    tcp-request connection track-sc0 src
    tcp-request content sc-set-gpt(0,0) 9 if { src 127.0.0.1 }
    http-request sc-inc-gpc(1,0)
    http-request sc-inc-gpc(1,0)
    http-request sc-inc-gpc(0,0)
    http-request sc-inc-gpc0(0)
    http-request sc-inc-gpc(7,0)
    http-request sc-set-gpt(1,0) 42
    http-request return status 200 content-type text/plain lf-string "g1=%[sc_get_gpc(1,0)] r1=%[sc_gpc_rate(1,0)] t1=%[sc_get_gpt(1,0)] g0=%[sc_get_gpc0(0)] g1old=%[sc0_get_gpc1] t0=%[sc_get_gpt0(0)] src=%[src_get_gpc(1,fe)]/%[src_gpc_rate(1,fe)]/%[src_get_gpt(1,fe)] conv=%[src,table_gpc(1,fe)]/%[src,table_gpc_rate(0,fe)]/%[src,table_gpt(0,fe)] out=%[sc_get_gpc(3,0)]%[sc_get_gpt(2,0)] inc=%[src_inc_gpc(2,fe)] clr=%[sc_clr_gpc(2,0)]/%[sc_get_gpc(2,0)]\n"
`, port)
	body, err := curl(t, "-s", fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatal(err)
	}
	// sc-inc-gpc0 and gpc1 read and write the arrays' elements 0 and 1
	// (gpc0 is not stored); an element past the array is no sample; the
	// connection rule tracked before the content rule counted gpc2 (as
	// haproxy orders them, whatever the lines' order), src_inc_gpc made
	// it 2 and sc_clr_gpc answered that and cleared it.
	want := "g1=2 r1=2 t1=42 g0=2 g1old=2 t0=9 src=2/2/42 conv=2/2/9 out= inc=2 clr=2/0\n"
	if body != want {
		t.Errorf("body\n got %q\nwant %q", body, want)
	}
	out := cliCmd(t, sock, "show table fe")
	line := regexp.MustCompile(`(?m)^0x[0-9a-f]+: key=127\.0\.0\.1 use=\d exp=\d+ (.*)$`).FindStringSubmatch(out)
	// as haproxy 2.6 prints them: gpt, gpc, gpc_rate, the index after the
	// first word of the name
	wantData := "gpt0=9 gpt1=42 gpc0=2 gpc1=2 gpc2=0 gpc0_rate(10000)=2 gpc1_rate(10000)=2"
	if line == nil || line[1] != wantData {
		t.Errorf("show table fe:\n%s\nwant the data %q", out, wantData)
	}
}

// arraysPeersConfig is node self's configuration of a peers section
// sharing a table of arrays.
func arraysPeersConfig(self peerNode, nodes ...peerNode) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global\n    stats socket %s level admin\n", self.sock)
	b.WriteString("defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 1s\n")
	b.WriteString("peers mesh\n")
	for _, n := range nodes {
		fmt.Fprintf(&b, "    peer %s 127.0.0.1:%d\n", n.name, n.peerPort)
	}
	fmt.Fprintf(&b, `frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 100 expire 1m store gpt(2),gpc(2),gpc_rate(2,10s) peers mesh
    http-request track-sc0 src
    http-request sc-inc-gpc(1,0) if { path /mark }
    http-request set-var(txn.n) sc_get_gpc(1,0)
    http-request sc-set-gpt(1,0) int(8),add(txn.n) if { path /mark }
    http-request return status 200
`, self.http)
	return b.String()
}

// TestPeersArraysWithHAProxy: entries with arrays go both ways between
// dhproxy and haproxy 2.6, and both print them alike.
func TestPeersArraysWithHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to peer with:", err)
	}
	d, h := newPeerNode(t, "dh"), newPeerNode(t, "hap")
	startProxyCmd(t, exec.Command(bin, "-db", "-L", "dh", "-f", writeConfig(t, arraysPeersConfig(d, d, h))), d.http, d.peerPort)
	startProxyCmd(t, exec.Command(haproxyBin, "-db", "-L", "hap", "-f", writeConfig(t, arraysPeersConfig(h, d, h))), h.http, h.peerPort)
	// haproxy → dhproxy
	peerGet(t, h.http, "/mark")
	showTableUntil(t, d.sock, "fe", "gpt0=0 gpt1=9 gpc0=0 gpc1=1 gpc0_rate(10000)=0 gpc1_rate(10000)=1", 8*time.Second)
	// dhproxy → haproxy: counts on top of what haproxy sent
	peerGet(t, d.http, "/mark")
	want := "gpt0=0 gpt1=10 gpc0=0 gpc1=2 gpc0_rate(10000)=0 gpc1_rate(10000)=2"
	showTableUntil(t, h.sock, "fe", want, 8*time.Second)
	showTableUntil(t, d.sock, "fe", want, 8*time.Second)
}
