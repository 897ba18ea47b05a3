package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
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
    http-request return status 404 if { path /r404 }
    http-request deny deny_status 500 if { path /d500 }
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
		switch i {
		case 3:
			path = "/mark"
		case 4:
			path = "/r404" // the proxy's own 404: no error for haproxy
		case 5:
			path = "/d500" // a deny: an error, whatever its status
		}
		h1Write(t, c, "GET "+path+" HTTP/1.1\r\nHost: h.example\r\n\r\n")
		resp, _ := h1ReadResp(t, br, "GET")
		switch resp.StatusCode {
		case http.StatusTooManyRequests:
			refused++
			if firstRefused == 0 {
				firstRefused = i
			}
		case http.StatusNotFound, http.StatusInternalServerError:
			rates = append(rates, strconv.Itoa(resp.StatusCode))
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
	want := "1/1/0 2/2/0 3/3/1 404 500 6/6/1 7/7/1 8/8/1 9/9/1 10/10/1"
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
	if m[3] != "gpt0=7 gpc0=1 conn_cnt=15 conn_cur=0 http_req_cnt=15 http_req_rate(10000)=15 http_err_cnt=6" {
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

// TestTrackConnection: tcp-request connection trackers last the whole
// connection: conn_cur limits concurrent connections, and each request on
// a tracked connection counts.
func TestTrackConnection(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	startProxy(t, "global\n    stats socket "+sock+" level admin\n"+rulesDefaults(port)+fmt.Sprintf(`
    stick-table type ip size 1k expire 30s store conn_cur,conn_cnt,conn_rate(10s),sess_cnt,http_req_cnt,http_req_rate(10s)
    tcp-request connection track-sc1 src
    http-request deny deny_status 429 if { sc1_conn_cur gt 2 }
    http-response set-header X-Conn %%[sc_conn_cur(1)]/%%[sc1_http_req_cnt]/%%[sc1_conn_rate]
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)
	// The clients come from 127.0.0.2: 127.0.0.1 is the harness's probe,
	// which both count as a connection, a session and a (bad) request.
	var got []string
	for i := 0; i < 3; i++ {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
		c, err := d.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		for j := 0; j < 2; j++ {
			h1Write(t, c, "GET /x HTTP/1.1\r\nHost: h.example\r\n\r\n")
			resp, _ := h1ReadResp(t, br, "GET")
			got = append(got, fmt.Sprintf("%d:%s", resp.StatusCode, resp.Header.Get("X-Conn")))
		}
	}
	want := "200:1/1/1 200:1/2/1 200:2/3/2 200:2/4/2 429: 429:"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("status:conn_cur/http_req_cnt/conn_rate\n got %s\nwant %s", g, want)
	}
	out := regexp.MustCompile(`0x[0-9a-f]+: `).ReplaceAllString(cliCmd(t, sock, "show table fe"), "")
	out = regexp.MustCompile(` exp=\d+`).ReplaceAllString(out, "")
	want = "# table: fe, type: ip, size:1024, used:2\n" +
		"key=127.0.0.1 use=0 conn_cnt=1 conn_rate(10000)=1 conn_cur=0 sess_cnt=1 http_req_cnt=1 http_req_rate(10000)=1\n" +
		"key=127.0.0.2 use=3 conn_cnt=3 conn_rate(10000)=3 conn_cur=3 sess_cnt=3 http_req_cnt=6 http_req_rate(10000)=6\n\n"
	if out != want {
		t.Errorf("show table fe:\n%s\nwant\n%s", out, want)
	}
}
