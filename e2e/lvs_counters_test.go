package e2e

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lvsTraffic is one line of `dhproxy lvs list --stats --exact`.
type lvsTraffic struct{ conns, inPkts, outPkts, inBytes, outBytes int64 }

// listStats runs `dhproxy lvs list --stats --exact` in host and returns
// its output and its lines by their first field after "->" (destinations)
// or by "TCP  addr" (services).
func listStats(t *testing.T, l *lab, host, sock string) (string, map[string]lvsTraffic) {
	t.Helper()
	out := l.run(host, bin, "lvs", "list", "--stats", "--exact", "-S", sock)
	lines := strings.Split(out, "\n")
	if len(lines) < 3 || lines[1] != "Prot LocalAddress:Port               Conns   InPkts  OutPkts  InBytes OutBytes" || lines[2] != "  -> RemoteAddress:Port" {
		t.Fatalf("lvs list --stats header:\n%s", out)
	}
	m := map[string]lvsTraffic{}
	for _, line := range lines[3:] {
		f := strings.Fields(line)
		if len(f) != 7 {
			continue
		}
		var v [5]int64
		for i := range v {
			n, err := strconv.ParseInt(f[2+i], 10, 64)
			if err != nil {
				t.Fatalf("lvs list --stats: %q: %v", line, err)
			}
			v[i] = n
		}
		key := f[1]
		if f[0] != "->" {
			key = f[0] + " " + f[1]
		}
		m[key] = lvsTraffic{v[0], v[1], v[2], v[3], v[4]}
	}
	return out, m
}

// TestLVSCountersNAT: NAT through nftables counts per real server the
// connections it got, the packets and bytes both ways; `show stat`,
// Prometheus and `dhproxy lvs list --stats` show them; a real server
// going down and up (the ruleset rebuilt twice) keeps its counters.
func TestLVSCountersNAT(t *testing.T) {
	l := natLab(t)
	web1 := l.web("web1")
	l.web("web2")
	sock := filepath.Join(l.dir, "haproxy.sock")
	lvsSock := filepath.Join(l.dir, "lvs.sock")
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
	p := l.start("lb1", "env", "DHPROXY_LVS_DATAPATH=nftables", "DHPROXY_LVS_SOCKET="+lvsSock,
		bin, "-db", "-f", hcfg, "-K", l.writeFile("keepalived.conf", natConf))
	lvsWaitLog(t, p, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, p, "HTTP status code success to [10.213.0.4]:tcp:80 url(/)", 10*time.Second)
	probe := lvsProbe(t)

	// 4 downloads of 1 MiB, rr: 2 connections per real server. Checks
	// go from the director itself, not through the VIP: not counted.
	if got := lvsLines(l.run("client", probe, "get", "http://10.213.9.100/big", "4")); len(got) != 4 || got[0] != "1048576 bytes" || got[3] != "1048576 bytes" {
		t.Fatalf("downloads: %v", got)
	}
	const mib = 1 << 20
	list, st := listStats(t, l, "lb1", lvsSock)
	t.Logf("\n%s", list)
	for _, rs := range []string{"10.213.0.3:80", "10.213.0.4:80"} {
		c := st[rs]
		// Each connection: a request of ~100 bytes, a 1 MiB answer; the
		// packets carry 40 to 60 bytes of headers each.
		if c.conns != 2 || c.outBytes < 2*mib || c.outBytes > 2*mib+200<<10 || c.inBytes < 2*100 || c.inBytes > 100<<10 ||
			c.inPkts < 2*4 || c.outPkts < 2*3 {
			t.Errorf("%s: %+v\n%s", rs, c, list)
		}
	}
	svc := st["TCP 10.213.9.100:80"]
	if w1, w2 := st["10.213.0.3:80"], st["10.213.0.4:80"]; svc != (lvsTraffic{w1.conns + w2.conns, w1.inPkts + w2.inPkts, w1.outPkts + w2.outPkts, w1.inBytes + w2.inBytes, w1.outBytes + w2.outBytes}) {
		t.Errorf("service line is not the sum of its destinations:\n%s", list)
	}
	if c := st["10.213.0.5:80"]; c != (lvsTraffic{}) {
		t.Errorf("the unused sorry server is listed with traffic:\n%s", list)
	}

	const vs = "[10.213.9.100]:tcp:80"
	rs1, rs2 := vs+"/[10.213.0.3]:tcp:80", vs+"/[10.213.0.4]:tcp:80"
	stat := func() (map[string][]string, map[string]int) {
		rows, names := statRows(t, cliCmd(t, sock, "show stat"))
		col := map[string]int{}
		for i, n := range names {
			col[n] = i
		}
		return rows, col
	}
	rows, col := stat()
	w1 := st["10.213.0.3:80"]
	for _, c := range []struct{ row, col, want string }{
		{rs1, "stot", "2"}, {rs1, "lbtot", "2"}, {rs2, "stot", "2"},
		{rs1, "bin", strconv.FormatInt(w1.inBytes, 10)}, {rs1, "bout", strconv.FormatInt(w1.outBytes, 10)},
		{vs + "/BACKEND", "stot", "4"}, {vs + "/BACKEND", "lbtot", "4"},
		{vs + "/BACKEND", "bout", strconv.FormatInt(svc.outBytes, 10)},
		{vs + "/[10.213.0.5]:tcp:80", "stot", "0"},
	} {
		if got := rows[c.row][col[c.col]]; got != c.want {
			t.Errorf("show stat %s %s = %q, want %q", c.row, c.col, got, c.want)
		}
	}
	metrics := l.run("lb1", "curl", "-s", "-m", "5", "http://127.0.0.1:8405/metrics")
	for _, want := range []string{
		`haproxy_server_sessions_total{proxy="` + vs + `",server="[10.213.0.4]:tcp:80"} 2`,
		`haproxy_server_bytes_out_total{proxy="` + vs + `",server="[10.213.0.3]:tcp:80"} ` + strconv.FormatInt(w1.outBytes, 10),
		`haproxy_backend_sessions_total{proxy="` + vs + `"} 4`,
		`haproxy_backend_bytes_in_total{proxy="` + vs + `"} ` + strconv.FormatInt(svc.inBytes, 10),
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}

	// web1 goes down, then up: the rules are rebuilt each time, the
	// counters stay.
	web1.stop()
	lvsWaitLog(t, p, "Removing service [10.213.0.3]:tcp:80 from VS "+vs, 10*time.Second)
	if _, now := listStats(t, l, "lb1", lvsSock); now["10.213.0.3:80"] != (lvsTraffic{}) {
		t.Errorf("a down real server is not listed, as in ipvsadm: %+v", now["10.213.0.3:80"])
	}
	rows, col = stat()
	if got := rows[rs1][col["stot"]]; got != "2" {
		t.Errorf("stot of the down real server: %q, want 2", got)
	}
	l.web("web1")
	lvsWaitLog(t, p, "Adding service [10.213.0.3]:tcp:80 to VS "+vs, 10*time.Second)
	if got := lvsLines(l.run("client", probe, "get", "http://10.213.9.100/", "2")); len(got) != 2 || got[0] == got[1] {
		t.Fatalf("rr after web1 came back: %v", got)
	}
	list, after := listStats(t, l, "lb1", lvsSock)
	for _, rs := range []string{"10.213.0.3:80", "10.213.0.4:80"} {
		b, a := st[rs], after[rs]
		if a.conns != b.conns+1 || a.inBytes <= b.inBytes || a.outBytes <= b.outBytes || a.inPkts <= b.inPkts || a.outPkts <= b.outPkts {
			t.Errorf("%s after down, up and one more connection: %+v, before %+v\n%s", rs, a, b, list)
		}
	}
}

// TestLVSCountersDR: DR counts the connections (the client's SYNs) and
// the packets and bytes from the clients; replies bypass the director, so
// out stays 0 in `lvs list --stats`.
func TestLVSCountersDR(t *testing.T) {
	l := drLab(t)
	l.web("web1")
	l.web("web2")
	conf := strings.Replace(drTutorialConf, "    persistence_timeout 50\n", "", 1)
	lvs, sock := l.startLVS("lb1", conf, "-datapath", "nftables")
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.3]:tcp:80 success.", 10*time.Second)
	lvsWaitLog(t, lvs, "TCP connection to [10.213.0.4]:tcp:80 success.", 10*time.Second)
	probe := lvsProbe(t)
	if got := lvsLines(l.run("client", probe, "get", "http://10.213.0.100/big", "4")); len(got) != 4 || got[3] != "1048576 bytes" {
		t.Fatalf("downloads: %v", got)
	}
	list, st := listStats(t, l, "lb1", sock)
	for _, rs := range []string{"10.213.0.3:80", "10.213.0.4:80"} {
		c := st[rs]
		// The client's side of a 1 MiB download: its request, a few
		// hundred ACKs, 40 to 100 bytes each.
		if c.conns != 2 || c.inPkts < 2*4 || c.inBytes < 2*100 || c.inBytes > 200<<10 || c.outPkts != 0 || c.outBytes != 0 {
			t.Errorf("%s: %+v\n%s", rs, c, list)
		}
	}
}
