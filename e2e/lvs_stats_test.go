package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLVSStats runs `dhproxy -db -f haproxy.cfg -K keepalived.conf` as the
// NAT director and reads its virtual server through haproxy's interfaces:
// "show stat" on the stats socket has a backend row for the service and a
// server row per real server (and the sorry server as backup) with the
// connections held through the VIP, the weights and the check results;
// a stopped web server turns its row DOWN with L4CON; filters select the
// rows; the prometheus-exporter serves haproxy_server_* for them.
func TestLVSStats(t *testing.T) {
	l := natLab(t)
	web1 := l.web("web1")
	l.web("web2")
	sock := filepath.Join(l.dir, "haproxy.sock")
	hcfg := l.writeFile("haproxy.cfg", fmt.Sprintf(`
global
    stats socket %s mode 600 level admin`, sock)+defaultsSection("http", "1s", "5s", "5s")+`
frontend metrics
    bind 127.0.0.1:8405
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend none
backend none
    server s1 127.0.0.1:9
`)
	kconf := l.writeFile("keepalived.conf", natConf)
	p := l.start("lb1", "env", "DHPROXY_LVS_DATAPATH=nftables", "DHPROXY_LVS_SOCKET="+filepath.Join(l.dir, "lvs.sock"),
		bin, "-db", "-f", hcfg, "-K", kconf)
	lvsWaitLog(t, p, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, p, "HTTP status code success to [10.213.0.4]:tcp:80 url(/)", 10*time.Second)

	// Four idle connections through the VIP, two per real server (rr);
	// lvsprobe keeps a connection without a request for 10 s.
	for range 4 {
		l.start("client", "socat", "-u", "EXEC:sleep 20", "TCP:10.213.9.100:80")
	}
	const vs = "[10.213.9.100]:tcp:80"
	rs1, rs2, sorry := vs+"/[10.213.0.3]:tcp:80", vs+"/[10.213.0.4]:tcp:80", vs+"/[10.213.0.5]:tcp:80"
	var rows map[string][]string
	var col map[string]int
	read := func() {
		var names []string
		rows, names = statRows(t, cliCmd(t, sock, "show stat"))
		col = map[string]int{}
		for i, n := range names {
			col[n] = i
		}
	}
	get := func(row, name string) string {
		r, ok := rows[row]
		if !ok {
			t.Fatalf("no row %s in show stat: %v", row, rows)
		}
		return r[col[name]]
	}
	poll := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for read(); !cond(); read() {
			if time.Now().After(deadline) {
				t.Fatalf("no %s in show stat after 10s:\n%s", what, cliCmd(t, sock, "show stat"))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	poll("2 current sessions per real server", func() bool {
		_, ok := rows[rs1]
		return ok && get(rs1, "scur") == "2" && get(rs2, "scur") == "2"
	})
	for _, c := range []struct{ row, col, want string }{
		{rs1, "status", "UP"}, {rs1, "weight", "1"}, {rs1, "act", "1"}, {rs1, "bck", "0"}, {rs1, "type", "2"},
		{rs1, "check_status", "L4OK"}, {rs1, "check_desc", "Layer4 check passed"}, {rs1, "check_fall", "2"},
		{rs1, "check_health", "2"}, {rs1, "chkdown", "0"}, {rs1, "addr", "10.213.0.3:80"}, {rs1, "sid", "1"},
		{rs2, "check_status", "L7OK"}, {rs2, "check_code", "200"}, {rs2, "sid", "2"},
		{sorry, "status", "no check"}, {sorry, "bck", "1"}, {sorry, "act", "0"}, {sorry, "weight", "0"},
		{vs + "/BACKEND", "status", "UP"}, {vs + "/BACKEND", "scur", "4"}, {vs + "/BACKEND", "weight", "2"},
		{vs + "/BACKEND", "act", "2"}, {vs + "/BACKEND", "algo", "rr"}, {vs + "/BACKEND", "type", "1"},
		{vs + "/BACKEND", "qcur", ""},
	} {
		if got := get(c.row, c.col); got != c.want {
			t.Errorf("%s %s = %q, want %q", c.row, c.col, got, c.want)
		}
	}
	// The virtual server is numbered after the proxies.
	iid := get(vs+"/BACKEND", "iid")
	if n, _ := strconv.Atoi(get("none/BACKEND", "iid")); iid != strconv.Itoa(n+1) {
		t.Errorf("virtual server iid %s, proxy none's %d", iid, n)
	}

	web1.stop()
	poll("the stopped web server DOWN", func() bool { return get(rs1, "status") == "DOWN" })
	for _, c := range []struct{ row, col, want string }{
		{rs1, "check_status", "L4CON"}, {rs1, "last_chk", "Connection refused"}, {rs1, "weight", "0"},
		{rs1, "chkdown", "1"}, {rs1, "chkfail", "2"}, {rs1, "check_health", "0"},
		{rs2, "status", "UP"}, {vs + "/BACKEND", "weight", "1"}, {vs + "/BACKEND", "act", "1"},
	} {
		if got := get(c.row, c.col); got != c.want {
			t.Errorf("after web1 stopped: %s %s = %q, want %q", c.row, c.col, got, c.want)
		}
	}

	// show stat <iid> 4 -1: the virtual server's server rows only.
	servers, _ := statRows(t, cliCmd(t, sock, "show stat "+iid+" 4 -1"))
	if len(servers) != 3 || servers[rs1] == nil || servers[sorry] == nil {
		t.Errorf("show stat %s 4 -1: %v", iid, servers)
	}
	if typed := cliCmd(t, sock, "show stat "+iid+" 2 -1 typed"); !strings.HasPrefix(typed, "B."+iid+".0.0.pxname.1:KNS:str:"+vs+"\n") {
		t.Errorf("typed:\n%s", typed)
	}

	metrics := l.run("lb1", "curl", "-s", "-m", "5", "http://127.0.0.1:8405/metrics")
	for _, want := range []string{
		`haproxy_server_current_sessions{proxy="` + vs + `",server="[10.213.0.4]:tcp:80"} 2`,
		`haproxy_server_status{proxy="` + vs + `",server="[10.213.0.3]:tcp:80",state="DOWN"} 1`,
		`haproxy_server_check_status{proxy="` + vs + `",server="[10.213.0.3]:tcp:80",state="L4CON"} 1`,
		`haproxy_server_weight{proxy="` + vs + `",server="[10.213.0.4]:tcp:80"} 1`,
		`haproxy_backend_status{proxy="` + vs + `",state="UP"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", metrics)
	}
}
