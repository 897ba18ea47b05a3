package e2e

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// peers sections: stick tables shared between two processes with
// HAProxy's peers protocol, between dhproxy and a real haproxy 2.6, and
// handed to the new process on a reload.

// peerNode is one process of a peers test: its HTTP port, peer port and
// stats socket.
type peerNode struct {
	name           string
	http, peerPort int
	sock           string
}

func newPeerNode(t *testing.T, name string) peerNode {
	return peerNode{name: name, http: freePort(t), peerPort: freePort(t), sock: filepath.Join(t.TempDir(), name+".sock")}
}

// peersConfig is a configuration for node self of a peers section holding
// nodes: a frontend tracking the source address and the X-K header in
// shared tables (one declared in the peers section).
func peersConfig(self peerNode, nodes ...peerNode) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global\n    stats socket %s level admin\n", self.sock)
	b.WriteString("defaults\n    mode http\n    timeout client 5s\n    timeout server 5s\n    timeout connect 1s\n")
	b.WriteString("peers mesh\n")
	for _, n := range nodes {
		fmt.Fprintf(&b, "    peer %s 127.0.0.1:%d\n", n.name, n.peerPort)
	}
	b.WriteString("    table keys type string len 32 size 100 expire 1m store http_req_cnt\n")
	fmt.Fprintf(&b, `frontend fe
    bind 127.0.0.1:%d
    stick-table type ip size 100 expire 1m store http_req_cnt,http_req_rate(10s),gpc0 peers mesh
    http-request track-sc0 src
    http-request track-sc1 req.hdr(x-k) table mesh/keys if { req.hdr(x-k) -m found }
    http-request sc-inc-gpc0(0) if { path /mark }
    http-request return status 200
`, self.http)
	return b.String()
}

// showTableUntil polls "show table <name>" on sock until it contains want.
func showTableUntil(t *testing.T, sock, table, want string, within time.Duration) string {
	t.Helper()
	var out string
	for deadline := time.Now().Add(within); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		out = cliCmd(t, sock, "show table "+table)
		if strings.Contains(out, want) {
			return out
		}
	}
	t.Fatalf("show table %s never showed %q within %v; last:\n%s", table, want, within, out)
	return out
}

func peerGet(t *testing.T, port int, path string, header ...string) {
	t.Helper()
	args := []string{"-sf", "-o", "/dev/null"}
	for _, h := range header {
		args = append(args, "-H", h)
	}
	if _, err := curl(t, append(args, fmt.Sprintf("http://127.0.0.1:%d%s", port, path))...); err != nil {
		t.Fatalf("GET %s on port %d: %v", path, port, err)
	}
}

func TestPeersTwoProcesses(t *testing.T) {
	a, b := newPeerNode(t, "a"), newPeerNode(t, "b")
	pa := startProxyCmd(t, exec.Command(bin, "-db", "-L", "a", "-f", writeConfig(t, peersConfig(a, a, b))), a.http, a.peerPort)
	pb := startProxyCmd(t, exec.Command(bin, "-db", "-L", "b", "-f", writeConfig(t, peersConfig(b, a, b))), b.http, b.peerPort)
	peerGet(t, a.http, "/mark", "X-K: from-a")
	peerGet(t, a.http, "/x")
	showTableUntil(t, b.sock, "fe", "key=127.0.0.1 use=0 exp=", 5*time.Second)
	out := showTableUntil(t, b.sock, "fe", "http_req_cnt=2", 5*time.Second)
	if !strings.Contains(out, "gpc0=1") {
		t.Errorf("B's entry lacks A's gpc0:\n%s", out)
	}
	showTableUntil(t, b.sock, "mesh/keys", "key=from-a ", 5*time.Second)
	// And back: B's own requests count on top, A sees the sum.
	peerGet(t, b.http, "/y", "X-K: from-b")
	showTableUntil(t, a.sock, "fe", "http_req_cnt=3", 5*time.Second)
	showTableUntil(t, a.sock, "mesh/keys", "key=from-b ", 5*time.Second)
	for _, p := range []*proc{pa, pb} {
		if strings.Contains(p.Stderr(), "peers mesh") && strings.Contains(p.Stderr(), "ALERT") {
			t.Errorf("peer logged an alert:\n%s", p.Stderr())
		}
	}
}

// TestPeersWithHAProxy runs dhproxy and haproxy 2.6 as the two peers of a
// section: entries made on either appear on the other.
func TestPeersWithHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to peer with:", err)
	}
	d, h := newPeerNode(t, "dh"), newPeerNode(t, "hap")
	pd := startProxyCmd(t, exec.Command(bin, "-db", "-L", "dh", "-f", writeConfig(t, peersConfig(d, d, h))), d.http, d.peerPort)
	ph := startProxyCmd(t, exec.Command(haproxyBin, "-db", "-L", "hap", "-f", writeConfig(t, peersConfig(h, d, h))), h.http, h.peerPort)
	// haproxy → dhproxy
	peerGet(t, h.http, "/mark", "X-K: from-haproxy")
	showTableUntil(t, d.sock, "fe", "gpc0=1", 8*time.Second)
	showTableUntil(t, d.sock, "mesh/keys", "key=from-haproxy use=0", 8*time.Second)
	// dhproxy → haproxy
	peerGet(t, d.http, "/x", "X-K: from-dhproxy")
	showTableUntil(t, h.sock, "fe", "http_req_cnt=2", 8*time.Second)
	out := showTableUntil(t, h.sock, "mesh/keys", "key=from-dhproxy", 8*time.Second)
	if !strings.Contains(out, "http_req_cnt=1") {
		t.Errorf("haproxy's copy of dhproxy's entry:\n%s", out)
	}
	if strings.Contains(pd.Stderr(), "WARNING") && strings.Contains(pd.Stderr(), "peers mesh") {
		t.Logf("dhproxy's peer log:\n%s", pd.Stderr())
	}
	_ = ph
}

// TestPeersBadInput sends garbage, a wrong version, an unknown peer and a
// table unknown here to dhproxy's peer port: each gets a log line naming
// the peer (or its address) and dhproxy keeps serving.
func TestPeersBadInput(t *testing.T) {
	if strings.Contains(bin, "haproxy") {
		t.Skip("dhproxy's log lines")
	}
	a, b := newPeerNode(t, "a"), newPeerNode(t, "b")
	pa := startProxyCmd(t, exec.Command(bin, "-db", "-L", "a", "-f", writeConfig(t, peersConfig(a, a, b))), a.http, a.peerPort)
	exchange := func(send string) string {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", a.peerPort))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		c.Write([]byte(send))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return line
	}
	if got := exchange("GET / HTTP/1.0\r\n\r\n"); got != "501\n" {
		t.Errorf("garbage: status %q, want 501", got)
	}
	if got := exchange("HAProxyS 3.0\na\nb 1 1\n"); got != "502\n" {
		t.Errorf("version 3.0: status %q, want 502", got)
	}
	if got := exchange("HAProxyS 2.1\na\nmallory 1 1\n"); got != "504\n" {
		t.Errorf("unknown peer: status %q, want 504", got)
	}
	if got := exchange("HAProxyS 2.1\nsomeone\nb 1 1\n"); got != "503\n" {
		t.Errorf("wrong name for this process: status %q, want 503", got)
	}
	// A session as peer b: a table unknown here, then a message of the
	// reserved class.
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", a.peerPort))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	def := []byte{1, 5, 'g', 'h', 'o', 's', 't', 4, 4, 0, 0}
	msg := append([]byte("HAProxyS 2.1\na\nb 1 1\n"), 10, 0x82, byte(len(def)))
	msg = append(append(msg, def...), 255, 0)
	c.Write(msg)
	br := bufio.NewReader(c)
	if line, _ := br.ReadString('\n'); line != "200\n" {
		t.Fatalf("peer b's hello: %q", line)
	}
	waitLog := func(want string) {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if strings.Contains(pa.Stderr(), want) {
				return
			}
		}
		t.Errorf("no log line %q; stderr:\n%s", want, pa.Stderr())
	}
	waitLog("peer 'b' (127.0.0.1:")
	waitLog("table 'ghost' is not shared through this peers section here")
	waitLog("reserved message class 255")
	for _, want := range []string{"refused with status 501: not the peers protocol", "refused with status 502", "it is peer 'mallory'", "refused with status 503"} {
		waitLog(want)
	}
	peerGet(t, a.http, "/still-serving")
	if pa.exited() {
		t.Fatalf("dhproxy exited: %s", pa.Stderr())
	}
}

// reloadPeersConfig is a configuration whose peers section holds only the
// local peer: what makes HAProxy's old process teach its tables to the new
// one on a reload.
func reloadPeersConfig(t *testing.T) (cfgPath string, n peerNode) {
	n = newPeerNode(t, "solo")
	return writeConfig(t, peersConfig(n, n)), n
}

// TestPeersTablesSurviveReloadMasterWorker: entries tracked by a worker
// are in the next worker's table after a reload (-W), counters included.
func TestPeersTablesSurviveReloadMasterWorker(t *testing.T) {
	cfgPath, n := reloadPeersConfig(t)
	msock := filepath.Join(t.TempDir(), "master.sock")
	p := startMaster(t, cfgPath, msock, nil, n.http, "-L", "solo")
	peerGet(t, n.http, "/mark", "X-K: before-reload")
	peerGet(t, n.http, "/x")
	peerGet(t, n.http, "/y")
	showTableUntil(t, n.sock, "fe", "http_req_cnt=3", 3*time.Second)
	before := waitProc(t, msock, "one worker", 5*time.Second, func(pt procTable) bool { return len(pt.workers) == 1 })
	p.cmd.Process.Signal(syscall.SIGUSR2)
	waitProc(t, msock, "a new worker", 10*time.Second, func(pt procTable) bool {
		return len(pt.workers) == 1 && pt.workers[0] != before.workers[0]
	})
	out := showTableUntil(t, n.sock, "fe", "http_req_cnt=3", 8*time.Second)
	if !strings.Contains(out, "gpc0=1") {
		t.Errorf("the new worker's entry lost gpc0:\n%s", out)
	}
	showTableUntil(t, n.sock, "mesh/keys", "key=before-reload ", 3*time.Second)
	// The new worker counts on from there.
	peerGet(t, n.http, "/z")
	showTableUntil(t, n.sock, "fe", "http_req_cnt=4", 3*time.Second)
}

// TestPeersTablesSurviveReloadSF: the same with a standalone reload
// (-sf <old pid>).
func TestPeersTablesSurviveReloadSF(t *testing.T) {
	cfgPath, n := reloadPeersConfig(t)
	old := startProxyCmd(t, exec.Command(bin, "-db", "-L", "solo", "-f", cfgPath), n.http, n.peerPort)
	peerGet(t, n.http, "/mark", "X-K: before-reload")
	peerGet(t, n.http, "/x")
	showTableUntil(t, n.sock, "fe", "http_req_cnt=2", 3*time.Second)
	startProxyCmd(t, exec.Command(bin, "-db", "-L", "solo", "-f", cfgPath, "-sf", strconv.Itoa(old.cmd.Process.Pid)), n.http)
	select {
	case <-old.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("the old process did not exit; stderr:\n%s", old.Stderr())
	}
	out := showTableUntil(t, n.sock, "fe", "http_req_cnt=2", 5*time.Second)
	if !strings.Contains(out, "gpc0=1") {
		t.Errorf("the new process's entry lost gpc0:\n%s", out)
	}
	showTableUntil(t, n.sock, "mesh/keys", "key=before-reload ", 3*time.Second)
}

// TestPeersLearnOnConnect: a peer that starts after entries were made
// learns them when it connects (it asks for a resync and is taught), in
// both directions between dhproxy and haproxy 2.6, and between two
// dhproxy processes.
func TestPeersLearnOnConnect(t *testing.T) {
	bins := [][2]string{{bin, bin}}
	if _, err := os.Stat(haproxyBin); err == nil && !isHAProxy() {
		bins = append(bins, [2]string{haproxyBin, bin}, [2]string{bin, haproxyBin})
	}
	for _, pair := range bins {
		t.Run(filepath.Base(pair[0])+"-then-"+filepath.Base(pair[1]), func(t *testing.T) {
			first, second := newPeerNode(t, "first"), newPeerNode(t, "second")
			startProxyCmd(t, exec.Command(pair[0], "-db", "-L", "first", "-f", writeConfig(t, peersConfig(first, first, second))), first.http, first.peerPort)
			peerGet(t, first.http, "/mark", "X-K: early")
			peerGet(t, first.http, "/x")
			showTableUntil(t, first.sock, "fe", "http_req_cnt=2", 3*time.Second)
			startProxyCmd(t, exec.Command(pair[1], "-db", "-L", "second", "-f", writeConfig(t, peersConfig(second, first, second))), second.http, second.peerPort)
			out := showTableUntil(t, second.sock, "fe", "http_req_cnt=2", 10*time.Second)
			if !strings.Contains(out, "gpc0=1") {
				t.Errorf("learned entry lacks gpc0:\n%s", out)
			}
			showTableUntil(t, second.sock, "mesh/keys", "key=early ", 5*time.Second)
		})
	}
}

// TestPeersStickServerWithHAProxy: a "stick on" table shared with haproxy
// 2.6 carries the server (server_id; haproxy's server_key is read past):
// the entry haproxy stores appears on dhproxy with the same server id.
func TestPeersStickServerWithHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil || isHAProxy() {
		t.Skip("needs dhproxy and haproxy")
	}
	s1, stop1 := startHTTPBackend(t, "s1")
	defer stop1()
	s2, stop2 := startHTTPBackend(t, "s2")
	defer stop2()
	d, h := newPeerNode(t, "dh"), newPeerNode(t, "hap")
	conf := func(self peerNode) string {
		return fmt.Sprintf(`global
    stats socket %s level admin`, self.sock) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
peers mesh
    peer dh 127.0.0.1:%d
    peer hap 127.0.0.1:%d
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    stick-table type string len 32 size 100 expire 1m peers mesh
    stick on req.hdr(x-user)
    server s1 127.0.0.1:%d id 11
    server s2 127.0.0.1:%d id 12
`, d.peerPort, h.peerPort, self.http, s1, s2)
	}
	startProxyCmd(t, exec.Command(bin, "-db", "-L", "dh", "-f", writeConfig(t, conf(d))), d.http, d.peerPort)
	startProxyCmd(t, exec.Command(haproxyBin, "-db", "-L", "hap", "-f", writeConfig(t, conf(h))), h.http, h.peerPort)
	// carol takes haproxy's first server, alice its second; dhproxy's
	// balancer would send a newcomer to its first.
	peerGet(t, h.http, "/", "X-User: carol")
	peerGet(t, h.http, "/", "X-User: alice")
	out := showTableUntil(t, d.sock, "be", "key=alice ", 8*time.Second)
	peerGet(t, d.http, "/", "X-User: bob")
	hout := showTableUntil(t, h.sock, "be", "key=bob ", 8*time.Second)
	alice := regexp.MustCompile(`key=alice .*server_id=(\d+)`).FindStringSubmatch(out)
	bob := regexp.MustCompile(`key=bob .*server_id=(\d+)`).FindStringSubmatch(hout)
	if alice == nil || bob == nil {
		t.Fatalf("server ids missing:\ndhproxy:\n%s\nhaproxy:\n%s", out, hout)
	}
	// The server each entry names must be the one that answered.
	got, _ := curl(t, "-s", "-i", "-H", "X-User: alice", fmt.Sprintf("http://127.0.0.1:%d/", d.http))
	want := "X-Backend: " + map[string]string{"11": "s1", "12": "s2"}[alice[1]]
	if alice[1] != "12" || !strings.Contains(got, want) {
		t.Errorf("alice stuck to server id %s on haproxy, but dhproxy sent her to: %q", alice[1], got)
	}
}
