package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// csvHeader26 is the "show stat" header of haproxy 2.6 up to the "-" that
// ends the static fields (the extra module counters after it vary).
var csvHeader26 = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,"

// adminSocketHead starts a config whose stats socket at sock takes admin
// commands, with the HTTP defaults the CLI tests share.
func adminSocketHead(sock string) string {
	return fmt.Sprintf("global\n    stats socket %s level admin", sock) + defaultsSection("http", "1s", "5s", "5s")
}

// cliCmd sends one command line to the runtime API's unix socket and
// returns the reply (the server closes after a non-interactive command).
func cliCmd(t *testing.T, sock, line string) string {
	t.Helper()
	// haproxy may create its stats socket after its TCP listeners accept:
	// a socket not there yet is waited for, briefly.
	c, err := net.DialTimeout("unix", sock, 2*time.Second)
	for deadline := time.Now().Add(3 * time.Second); err != nil && (errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED)) && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		c, err = net.DialTimeout("unix", sock, 2*time.Second)
	}
	if err != nil {
		t.Fatalf("stats socket: %v", err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, line+"\n"); err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("stats socket %q: %v", line, err)
	}
	return string(out)
}

// statRows parses "show stat" into rows keyed "px/sv", checking the header.
func statRows(t *testing.T, out string) (map[string][]string, []string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || !strings.HasPrefix(lines[0], csvHeader26) {
		t.Fatalf("show stat header is not haproxy 2.6's:\n%s", out)
	}
	names := strings.Split(strings.TrimPrefix(lines[0], "# "), ",")
	rows := map[string][]string{}
	for _, l := range lines[1:] {
		f := strings.Split(l, ",")
		if len(f) < 104 {
			t.Fatalf("row with %d fields, want at least 104: %q", len(f), l)
		}
		rows[f[0]+"/"+f[1]] = f
	}
	return rows, names
}

func field(t *testing.T, rows map[string][]string, names []string, row, col string) string {
	t.Helper()
	r, ok := rows[row]
	if !ok {
		t.Fatalf("no row %s", row)
	}
	for i, n := range names {
		if n == col {
			return r[i]
		}
	}
	t.Fatalf("no column %s", col)
	return ""
}

// waitField polls "show stat" until row's col equals want.
func waitField(t *testing.T, sock, row, col, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rows, names := statRows(t, cliCmd(t, sock, "show stat"))
		got := field(t, rows, names, row, col)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s = %q, want %q", row, col, got, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestStatsSocketPageAndMetrics(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "admin.sock")
	p1, _ := startHTTPBackend(t, "s1")
	p2, stop2 := startHTTPBackend(t, "s2")
	fe, st := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`global
    stats socket %s mode 600 level admin
    stats timeout 30s`, sock) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request use-service prometheus-exporter if { path /metrics }
    default_backend be
backend be
    balance roundrobin
    option httpchk GET /health
    # fall 1 with inter 100 alone would bound each check by 100 ms: one
    # stall of a loaded machine would take both servers down mid-test.
    timeout check 3s
    server s1 127.0.0.1:%d check inter 100 rise 1 fall 1
    server s2 127.0.0.1:%d check inter 100 rise 1 fall 1
listen stats
    bind 127.0.0.1:%d
    stats enable
    stats uri /st
    stats realm Ops
    stats auth admin:secret
    stats refresh 5s
`, fe, p1, p2, st)
	proxy := startProxy(t, cfg, fe, st)
	base := fmt.Sprintf("http://127.0.0.1:%d/", fe)

	waitField(t, sock, "be/s1", "check_status", "L7OK")
	waitField(t, sock, "be/s2", "check_status", "L7OK")
	seen := map[string]int{}
	for i := 0; i < 6; i++ {
		body, err := curl(t, base)
		if err != nil {
			t.Fatal(err)
		}
		seen[body]++
	}
	if seen["s1"] != 3 || seen["s2"] != 3 {
		t.Fatalf("roundrobin answers %v, want 3 each", seen)
	}

	rows, names := statRows(t, cliCmd(t, sock, "show stat"))
	for _, c := range []struct{ row, col, want string }{
		{"fe/FRONTEND", "status", "OPEN"},
		{"fe/FRONTEND", "type", "0"},
		{"fe/FRONTEND", "hrsp_2xx", "6"},
		{"fe/FRONTEND", "mode", "http"},
		{"be/BACKEND", "type", "1"},
		{"be/BACKEND", "status", "UP"},
		{"be/BACKEND", "stot", "6"},
		{"be/BACKEND", "act", "2"},
		{"be/BACKEND", "algo", "roundrobin"},
		{"be/s1", "type", "2"},
		{"be/s1", "status", "UP"},
		{"be/s1", "stot", "3"},
		{"be/s1", "hrsp_2xx", "3"},
		{"be/s2", "stot", "3"},
		{"be/s1", "addr", fmt.Sprintf("127.0.0.1:%d", p1)},
		{"be/s1", "check_code", "200"},
	} {
		if got := field(t, rows, names, c.row, c.col); got != c.want {
			t.Errorf("%s %s = %q, want %q", c.row, c.col, got, c.want)
		}
	}
	// haproxy also counts the harness's port probe (a connection closed
	// without a request) in the frontend's req_tot.
	if n, _ := strconv.Atoi(field(t, rows, names, "fe/FRONTEND", "req_tot")); n < 6 || n > 7 {
		t.Errorf("fe req_tot = %d, want 6 requests (7 with the probe)", n)
	}
	if field(t, rows, names, "fe/FRONTEND", "bin") == "0" || field(t, rows, names, "be/s1", "bout") == "0" {
		t.Errorf("bytes not counted: fe bin %s, s1 bout %s", field(t, rows, names, "fe/FRONTEND", "bin"), field(t, rows, names, "be/s1", "bout"))
	}

	// Runtime API: errors worded as haproxy, then maintenance avoids s1.
	if got := cliCmd(t, sock, "disable server be/nope"); got != "No such server.\n\n" {
		t.Errorf("disable unknown server: %q", got)
	}
	if got := cliCmd(t, sock, "get weight nope/s1"); got != "No such backend.\n\n" {
		t.Errorf("get weight unknown backend: %q", got)
	}
	if got := cliCmd(t, sock, "set server be/s1 state bogus"); !strings.HasPrefix(got, "'set server <srv> state' expects 'ready', 'drain' and 'maint'.") {
		t.Errorf("set server state bogus: %q", got)
	}
	if got := cliCmd(t, sock, "get weight be/s1"); got != "1 (initial 1)\n\n" {
		t.Errorf("get weight: %q", got)
	}
	// Two commands on one line: each reply ends with an empty line.
	if got := cliCmd(t, sock, "disable server be/s1; show servers state be"); !strings.HasPrefix(got, "\n1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ") {
		t.Errorf("disable; show servers state: %q", got)
	}
	waitField(t, sock, "be/s1", "status", "MAINT")
	for i := 0; i < 4; i++ {
		if body, err := curl(t, base); err != nil || body != "s2" {
			t.Fatalf("with s1 in maintenance got %q, %v", body, err)
		}
	}
	servers := cliCmd(t, sock, "show servers state be")
	if !regexp.MustCompile(`(?m)^\d+ be 1 s1 127\.0\.0\.1 0 1 1 1 `).MatchString(servers) {
		t.Errorf("show servers state: s1 not stopped with admin state 1:\n%s", servers)
	}
	cliCmd(t, sock, "enable server be/s1")
	waitField(t, sock, "be/s1", "status", "UP")

	// The stats page: Basic auth with the realm, then the rows' colours.
	page := fmt.Sprintf("http://127.0.0.1:%d/st", st)
	hdrs, _ := curl(t, "-o", "/dev/null", "-D", "-", page)
	if !strings.Contains(hdrs, " 401 ") || !strings.Contains(strings.ToLower(hdrs), `www-authenticate: basic realm="ops"`) {
		t.Errorf("stats page without credentials:\n%s", hdrs)
	}
	if body, _ := curl(t, "-u", "admin:wrong", page); !strings.Contains(body, "401") {
		t.Errorf("wrong password accepted: %.200s", body)
	}
	rowClass := regexp.MustCompile(`<tr class="([a-z_]+)"><td class=ac><a name="be/s2"`)
	html, err := curl(t, "-u", "admin:secret", page)
	if err != nil {
		t.Fatal(err)
	}
	if m := rowClass.FindStringSubmatch(html); m == nil || m[1] != "active_up" {
		t.Errorf("s2 row class %v, want active_up", m)
	}
	csv, err := curl(t, "-u", "admin:secret", page+";csv")
	if err != nil || !strings.HasPrefix(csv, csvHeader26) {
		t.Errorf("%s;csv: %v\n%.300s", page, err, csv)
	}

	js, err := curl(t, "-u", "admin:secret", page+";json")
	var rowsJSON [][]struct {
		ObjType string `json:"objType"`
		Field   struct {
			Pos  int    `json:"pos"`
			Name string `json:"name"`
		} `json:"field"`
		Value struct {
			Type  string `json:"type"`
			Value any    `json:"value"`
		} `json:"value"`
	}
	if err != nil || json.Unmarshal([]byte(js), &rowsJSON) != nil || len(rowsJSON) < 4 {
		t.Errorf("%s;json: %v\n%.300s", page, err, js)
	} else if f := rowsJSON[0][0]; f.ObjType != "Frontend" || f.Field.Name != "pxname" || f.Value.Value != "fe" {
		t.Errorf("%s;json first field: %+v", page, f)
	}

	// A backend that stops: its row goes DOWN and red on the page.
	stop2()
	waitField(t, sock, "be/s2", "status", "DOWN")
	html, _ = curl(t, "-u", "admin:secret", page)
	if m := rowClass.FindStringSubmatch(html); m == nil || m[1] != "active_down" {
		t.Errorf("stopped s2 row class %v, want active_down", m)
	}
	if !strings.Contains(html, ".active_down") || !strings.Contains(html, "#ff9090") {
		t.Errorf("page lacks the active_down colour")
	}

	// Prometheus exporter, from the same counters.
	metrics, err := curl(t, base+"metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`haproxy_frontend_http_requests_total{proxy="fe"} `,
		`haproxy_server_status{proxy="be",server="s2",state="DOWN"} 1`,
		`haproxy_server_status{proxy="be",server="s1",state="UP"} 1`,
		`haproxy_backend_active_servers{proxy="be"} 1`,
		"# TYPE haproxy_process_uptime_seconds gauge",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if !regexp.MustCompile(`(?m)^haproxy_server_sessions_total\{proxy="be",server="s1"\} ([3-9]|\d\d)$`).MatchString(metrics) {
		t.Errorf("/metrics: s1 sessions_total missing or below 3")
	}

	// show info, through socat when installed (as operators do).
	info := cliCmd(t, sock, "show info")
	if path, err := exec.LookPath("socat"); err == nil {
		cmd := exec.Command(path, "unix-connect:"+sock, "-")
		cmd.Stdin = strings.NewReader("show info\n")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("socat: %v", err)
		}
		info = string(out)
	}
	sc := bufio.NewScanner(strings.NewReader(info))
	var keys []string
	for sc.Scan() {
		if k, _, ok := strings.Cut(sc.Text(), ": "); ok {
			keys = append(keys, k)
		}
	}
	want := []string{"Name", "Version", "Release_date", "Nbthread", "Nbproc", "Process_num", "Pid", "Uptime", "Uptime_sec"}
	if len(keys) < len(want) || strings.Join(keys[:len(want)], " ") != strings.Join(want, " ") {
		t.Errorf("show info keys start %v, want %v", keys, want)
	}
	if !strings.Contains(info, fmt.Sprintf("Pid: %d\n", proxy.cmd.Process.Pid)) {
		t.Errorf("show info Pid is not the process's")
	}
}

// TestStatsShowLVS: the virtual servers run by "dhproxy lvs run" appear in
// the runtime API's "show lvs" and on the stats page.
func TestStatsShowLVS(t *testing.T) {
	if strings.Contains(filepath.Base(bin), "haproxy") {
		t.Skip("virtual servers are dhproxy's (haproxy has no show lvs)")
	}
	dir := t.TempDir()
	lvsSock, apiSock := filepath.Join(dir, "lvs.sock"), filepath.Join(dir, "api.sock")
	real, _ := startHTTPBackend(t, "r1")
	vport, fe, st := freePort(t), freePort(t), freePort(t)
	conf := filepath.Join(dir, "keepalived.conf")
	os.WriteFile(conf, []byte(fmt.Sprintf(`virtual_server 127.0.0.1 %d {
    delay_loop 1
    lb_algo rr
    lb_kind NAT
    protocol TCP
    real_server 127.0.0.1 %d {
        TCP_CHECK {
            connect_timeout 1
        }
    }
}
`, vport, real)), 0o644)
	lvsProc := &proc{done: make(chan struct{})}
	lvsProc.cmd = exec.Command(bin, "lvs", "run", "-S", lvsSock, "-datapath", "userspace", conf)
	lvsProc.cmd.Stdout, lvsProc.cmd.Stderr = &lvsProc.stdout, &lvsProc.stderr
	if err := lvsProc.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { lvsProc.err = lvsProc.cmd.Wait(); close(lvsProc.done) }()
	t.Cleanup(lvsProc.stop)
	lvsWaitLog(t, lvsProc, "virtual servers running", 10*time.Second)

	t.Setenv("DHPROXY_LVS_SOCKET", lvsSock)
	startProxy(t, fmt.Sprintf(`global
    stats socket %s`, apiSock)+defaultsSection("http", "1s", "5s", "5s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d
listen stats
    bind 127.0.0.1:%d
    stats enable
`, fe, real, st), fe, st)
	want := fmt.Sprintf("TCP  127.0.0.1:%d rr\n  -> 127.0.0.1:%-18d Masq    1 ", vport, real)
	if got := cliCmd(t, apiSock, "show lvs"); !strings.Contains(got, want) {
		t.Errorf("show lvs:\n%s\nwant it to contain %q", got, want)
	}
	page, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/haproxy?stats", st))
	if err != nil || !strings.Contains(page, "Virtual servers (LVS)") || !strings.Contains(page, fmt.Sprintf("127.0.0.1:%d rr", vport)) {
		t.Errorf("stats page lacks the virtual servers (%v)", err)
	}
}
