package e2e

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Stick counters and rate limiting: the rate limiting idiom of HAProxy's
// documentation refuses the same request number in dhproxy and haproxy,
// and the table reads the same through the runtime API.

func TestTrackRateLimit(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	startProxy(t, "global\n    stats socket "+sock+" level admin\n"+rulesDefaults(port)+fmt.Sprintf(`
    stick-table type ip size 100k expire 30s store http_req_rate(10s),http_req_cnt,conn_cur,conn_cnt,gpc0,gpt0,http_err_cnt
    http-request track-sc0 src
    http-request sc-inc-gpc0(0) if { path /mark }
    http-request sc-set-gpt0(0) 7 if { path /mark }
    http-request deny deny_status 429 if { sc_http_req_rate(0) gt 10 }
    http-response set-header X-Rate %%[sc_http_req_rate(0)]
    http-response set-header X-Src-Cnt %%[src_http_req_cnt]
    http-response set-header X-Gpc0 %%[sc0_get_gpc0]
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)
	c, br := h1Dial(t, port)
	firstRefused, refused := 0, 0
	var rates []string
	for i := 1; i <= 15; i++ {
		path := "/x"
		if i == 3 {
			path = "/mark"
		}
		h1Write(t, c, "GET "+path+" HTTP/1.1\r\nHost: h.example\r\n\r\n")
		resp, _ := h1ReadResp(t, br, "GET")
		switch resp.StatusCode {
		case http.StatusTooManyRequests:
			refused++
			if firstRefused == 0 {
				firstRefused = i
			}
		case http.StatusOK:
			rates = append(rates, resp.Header.Get("X-Rate")+"/"+resp.Header.Get("X-Src-Cnt")+"/"+resp.Header.Get("X-Gpc0"))
		default:
			t.Fatalf("request %d: status %d", i, resp.StatusCode)
		}
	}
	if firstRefused != 11 || refused != 5 {
		t.Errorf("first refused request %d, %d refused; want 11 and 5", firstRefused, refused)
	}
	// src_http_req_cnt reads the table as the request left it: counted.
	want := "1/1/0 2/2/0 3/3/1 4/4/1 5/5/1 6/6/1 7/7/1 8/8/1 9/9/1 10/10/1"
	if got := strings.Join(rates, " "); got != want {
		t.Errorf("X-Rate/X-Src-Cnt/X-Gpc0 of the served requests:\n got %s\nwant %s", got, want)
	}
	c.Close()
	if got := cliCmd(t, sock, "show table"); got != "# table: fe, type: ip, size:102400, used:1\n\n" {
		t.Errorf("show table: %q", got)
	}
	masked := regexp.MustCompile(`^0x[0-9a-f]+: key=127\.0\.0\.1 use=(\d) exp=(\d+) (.*)\n\n$`)
	out := cliCmd(t, sock, "show table fe")
	head, entry, _ := strings.Cut(out, "\n")
	if head != "# table: fe, type: ip, size:102400, used:1" {
		t.Errorf("show table fe head: %q", head)
	}
	m := masked.FindStringSubmatch(entry)
	if m != nil && (m[1] != "0" || len(m[2]) != 5 || m[2] > "30000" || m[2] < "29000") {
		t.Errorf("show table fe: use=%s exp=%s, want 0 and just under 30000", m[1], m[2])
	}
	if m == nil {
		t.Fatalf("show table fe entry: %q", entry)
	}
	if m[3] != "gpt0=7 gpc0=1 conn_cnt=15 conn_cur=0 http_req_cnt=15 http_req_rate(10000)=15 http_err_cnt=5" {
		t.Errorf("show table fe data: %q", m[3])
	}
	if got := cliCmd(t, sock, "show table fe data.http_req_cnt gt 15"); got != "# table: fe, type: ip, size:102400, used:1\n\n" {
		t.Errorf("filtered out: %q", got)
	}
	if got := cliCmd(t, sock, "show table fe key 127.0.0.1"); !masked.MatchString(strings.SplitN(got, "\n", 2)[1]) {
		t.Errorf("by key: %q", got)
	}
	cliCmd(t, sock, "clear table fe key 127.0.0.1")
	if got := cliCmd(t, sock, "show table fe"); got != "# table: fe, type: ip, size:102400, used:0\n\n" {
		t.Errorf("after clear: %q", got)
	}
	// a cleared table lets the client in again
	if resp, _ := rulesGet(t, port, "/x"); resp.StatusCode != 200 {
		t.Errorf("after clear table: status %d", resp.StatusCode)
	}
}
