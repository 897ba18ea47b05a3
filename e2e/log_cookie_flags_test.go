package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestLogCookieFlagsAsHAProxy: the last two characters of the termination
// state (%tsc) tell what the persistence cookie did, as haproxy 2.6 logs
// them: the request's (N none, I invalid, V valid, D naming a DOWN server)
// and the response's (N none, I inserted, R rewritten, P passed on).
func TestLogCookieFlagsAsHAProxy(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("setcookie") != "" {
			w.Header().Set("Set-Cookie", "SRV=app; path=/")
		}
		w.Write([]byte("ok"))
	}))
	defer app.Close()
	appAddr := strings.TrimPrefix(app.URL, "http://")
	dead := freePort(t)
	requests := []struct{ path, cookie string }{
		{"/ins", ""}, {"/ins", "s1"}, {"/ins", "zz"}, {"/ins", "s2"},
		{"/rw?setcookie=1", ""}, {"/rw", ""}, {"/rw", "s1"},
		{"/pfx?setcookie=1", ""}, {"/pfx?setcookie=1", "s1~app"},
		{"/none", ""},
	}
	logs := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		logPort, nextLog := udpLog(t)
		fe := freePort(t)
		p := startBinary(t, path, logHead(logPort, "http", "timeout check 3s", `log-format "%HP %b/%s %tsc"`)+fmt.Sprintf(`frontend f
    bind 127.0.0.1:%d
    use_backend ins if { path_beg /ins }
    use_backend rw if { path_beg /rw }
    use_backend pfx if { path_beg /pfx }
    default_backend none
backend ins
    cookie SRV insert indirect nocache
    server s1 %s cookie s1
    server s2 127.0.0.1:%d cookie s2 check inter 100 fall 1
backend rw
    cookie SRV rewrite
    server s1 %s cookie s1
backend pfx
    cookie SRV prefix
    server s1 %s cookie s1
backend none
    server s1 %s
`, fe, appAddr, dead, appAddr, appAddr, appAddr), fe)
		time.Sleep(500 * time.Millisecond) // s2's check takes it DOWN
		for _, r := range requests {
			req, _ := http.NewRequest("GET", fmt.Sprintf("http://127.0.0.1:%d%s", fe, r.path), nil)
			if r.cookie != "" {
				req.Header.Set("Cookie", "SRV="+r.cookie)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		for len(logs[path]) < len(requests) {
			l := nextLog.line(t, fmt.Sprintf("%s, after %d lines", path, len(logs[path])))
			if strings.HasPrefix(l, "/") { // not the probes' lines
				logs[path] = append(logs[path], l)
			}
		}
		p.stop()
	}
	got, want := strings.Join(logs[bin], "\n"), strings.Join(logs[haproxyBin], "\n")
	if got != want {
		t.Errorf("dhproxy logged\n%s\nhaproxy\n%s", got, want)
	}
	if !strings.Contains(got, "/ins ins/s1 --NI") || !strings.Contains(got, "/rw rw/s1 --NR") {
		t.Errorf("cookie flags missing:\n%s", got)
	}
}
