package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cfgPath is the configuration's path as last_rule_file gives it.
var cfgPath = regexp.MustCompile(`[^ "=]*/haproxy\.cfg`)

// TestFetchesSessionAsHAProxy: dst_conn (the socket's open connections),
// fc_http_major and bc_http_major, sc_trackers and its forms, table_cnt,
// table_avl, src_updt_conn_cnt and last_rule_file/last_rule_line give what
// haproxy 2.6 gives, on the same requests.
func TestFetchesSessionAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	answers := map[string][]string{}
	var order []string
	for _, path := range []string{haproxyBin, bin} {
		bePort, _ := startHTTPBackend(t, "srv")
		fePort, h2Port := freePort(t), freePort(t)
		startBinary(t, path, defaultsSection("http", "1s", "5s", "5s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h2
    timeout tarpit 50ms
    stick-table type ip size 10 store http_req_cnt
    http-request return status 200 content-type text/plain lf-string "dc=%%[dst_conn]" if { path /dc }
    http-request return status 200 content-type text/plain lf-string "tk=%%[src,table_trackers(fe)]" if { path /tk }
    http-request track-sc0 src
    http-request track-sc1 src table counted if { path /f2 }
    http-request return status 200 content-type text/plain lf-string "dc=%%[dst_conn] fm=%%[fc_http_major] tr=%%[sc0_trackers] tr0=%%[sc_trackers(0)] trc=%%[sc0_trackers(counted)] tr1=%%[sc1_trackers] cnt=%%[table_cnt] avl=%%[table_avl] cntc=%%[table_cnt(counted)] avlc=%%[table_avl(counted)] u=%%[src_updt_conn_cnt(counted)] lf=%%[last_rule_line]" if { path_beg /f }
    http-request deny if { path /deny }
    http-request tarpit if { path /tarpit }
    http-request redirect location /x if { path /redir }
    http-request auth if { path /auth }
    http-request allow if { path /allow }
    http-request set-header x-a 1
    http-after-response set-header x-last "%%[last_rule_file]:%%[last_rule_line]"
    default_backend be

backend be
    http-response set-header x-bm %%[bc_http_major]
    http-response set-header x-fm %%[fc_http_major]
    server s1 127.0.0.1:%d

backend counted
    stick-table type ip size 20 store conn_cnt
`, fePort, h2Port, bePort), fePort)
		waitPort(t, h2Port, 5*time.Second)
		var got []string
		order = order[:0]
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		get := func(p string) {
			order = append(order, p)
			resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", fePort, p))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got = append(got, fmt.Sprintf("%d %s last=%s bm=%s fm=%s", resp.StatusCode, strings.TrimSpace(string(body)),
				cfgPath.ReplaceAllString(resp.Header.Get("x-last"), "CFG"), resp.Header.Get("x-bm"), resp.Header.Get("x-fm")))
		}
		// what a fetch settles to: dst_conn once the connections of the
		// readiness probes are gone, the trackers of src once the
		// transactions that tracked it have ended
		settle := func(p, want string) {
			t.Helper()
			for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d%s", fePort, p))
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if string(body) == want {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s: %s stays %s, want %s", path, p, body, want)
				}
			}
		}
		settle("/dc", "dc=1")
		get("/f")
		get("/f")
		get("/f2")
		// a second connection on the socket: dst_conn counts both
		idle, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fePort))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(idle, "GET /allow HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(idle), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		// Both haproxy and dhproxy end the transaction's tracker only
		// after its response went out: the client may read it before
		// (haproxy then answers tr=2 about one time in ten). The count
		// compared is the one of the idle connection, not of that race.
		settle("/tk", "tk=1")
		get("/f")
		idle.Close()
		settle("/dc", "dc=1")
		get("/f")
		get("/deny")
		get("/tarpit")
		get("/redir")
		get("/auth")
		get("/allow")
		get("/other")
		out, err := curl(t, "--http2-prior-knowledge", "-D", "-", fmt.Sprintf("http://127.0.0.1:%d/h2", h2Port))
		if err != nil {
			t.Fatal(err)
		}
		order = append(order, "h2 /h2")
		var heads []string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "x-bm") || strings.HasPrefix(l, "x-fm") || strings.HasPrefix(l, "x-last") {
				heads = append(heads, cfgPath.ReplaceAllString(strings.TrimSpace(l), "CFG"))
			}
		}
		got = append(got, strings.Join(heads, " "))
		// the /h2 connection may still count on the socket: wait for its end
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			if out, _ := curl(t, "--http2-prior-knowledge", fmt.Sprintf("http://127.0.0.1:%d/dc", h2Port)); out == "dc=1" {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("%s: h2 /dc stays %s, want dc=1", path, out)
			}
		}
		out, _ = curl(t, "--http2-prior-knowledge", fmt.Sprintf("http://127.0.0.1:%d/f", h2Port))
		order = append(order, "h2 /f")
		got = append(got, out)
		answers[path] = got
	}
	for i, p := range order {
		if got, want := answers[bin][i], answers[haproxyBin][i]; got != want {
			t.Errorf("%s: got\n%s\nhaproxy answers\n%s", p, got, want)
		}
	}
}

// TestLogFetchesAsHAProxy: last_rule_file/last_rule_line, dst_conn,
// fc_http_major, bc_http_major, prio_class and prio_offset in a
// log-format give the log line haproxy 2.6 writes.
func TestLogFetchesAsHAProxy(t *testing.T) {
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("no haproxy to compare with:", err)
	}
	logs := map[string]string{}
	paths := []string{"/deny", "/allow", "/ret", "/prio", "/nothing", "/tcpacc"}
	for _, path := range []string{haproxyBin, bin} {
		bePort, _ := startHTTPBackend(t, "srv")
		fePort := freePort(t)
		p := startBinary(t, path, `
global
    log stdout format raw local0`+defaultsSection("http", "1s", "5s", "5s", "log global")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    log-format "%%{+Q}r lf=%%[last_rule_file] ll=%%[last_rule_line] dc=%%[dst_conn] fm=%%[fc_http_major] bm=%%[bc_http_major] pc=%%[prio_class] po=%%[prio_offset]"
    tcp-request inspect-delay 1s
    tcp-request content accept if { path /tcpacc }
    http-request deny if { path /deny }
    http-request allow if { path /allow }
    http-request return status 200 content-type text/plain string ok if { path /ret }
    http-request set-priority-class int(5) if { path /prio }
    http-request set-priority-offset int(-7) if { path /prio }
    default_backend be

backend be
    server s1 127.0.0.1:%d
`, fePort, bePort), fePort)
		for _, u := range paths {
			if _, err := curl(t, "-o", "/dev/null", fmt.Sprintf("http://127.0.0.1:%d%s", fePort, u)); err != nil {
				t.Fatal(err)
			}
		}
		var lines []string
		for deadline := time.Now().Add(5 * time.Second); len(lines) < len(paths) && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			lines = lines[:0]
			for _, l := range strings.Split(p.Stdout(), "\n") {
				if strings.HasPrefix(l, `"GET`) {
					lines = append(lines, cfgPath.ReplaceAllString(l, "CFG"))
				}
			}
		}
		logs[path] = strings.Join(lines, "\n")
	}
	if got, want := logs[bin], logs[haproxyBin]; got != want || !strings.Contains(got, "ll=") {
		t.Errorf("log lines\n%s\nhaproxy writes\n%s", got, want)
	}
}
