package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCheckCacheAsHAProxy: "option checkcache" blocks the responses that a
// shared cache could keep with their Set-Cookie, compared with haproxy 2.6
// on a matrix of responses: what the client gets (haproxy 2.6 answers
// with the error page of the response's own status, its "200 OK / Service
// ready." page for a 200, not the 502 its manual promises), the log's
// status and termination state, the alert sent to the backend's logs, the
// denied responses counters, and "cookie insert nocache"'s Cache-Control.
func TestCheckCacheAsHAProxy(t *testing.T) {
	comparesWithHAProxy(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, h := range r.URL.Query()["h"] {
			k, v, _ := strings.Cut(h, ":")
			w.Header().Add(k, v)
		}
		st := 200
		if s := r.URL.Query().Get("s"); s != "" {
			st, _ = strconv.Atoi(s)
		}
		w.WriteHeader(st)
		w.Write([]byte("from the server\n"))
	}))
	defer app.Close()
	appAddr := strings.TrimPrefix(app.URL, "http://")
	const sc, fresh = "h=Set-Cookie:a=1", "h=Cache-Control:max-age=60"
	requests := []struct{ method, uri string }{
		{"GET", "/c?" + sc},
		{"GET", "/c?" + sc + "&" + fresh},
		{"GET", "/c?" + sc + "&h=Expires:0"},
		{"GET", "/c?" + sc + "&h=ETag:%22x%22"},
		{"GET", "/c?" + sc + "&h=Last-Modified:Thu,%2001%20Jan%201970%2000:00:00%20GMT"},
		{"GET", "/c?" + sc + "&h=Cache-Control:public"},
		{"GET", "/c?" + sc + "&h=Cache-Control:private,%20max-age=60"},
		{"GET", "/c?" + sc + "&h=Cache-Control:private,%20public,%20max-age=60"},
		{"GET", "/c?" + sc + "&h=Cache-Control:max-age=0,%20s-maxage=60"},
		{"GET", "/c?" + sc + "&h=Cache-Control:no-cache=%22set-cookie%22,%20max-age=60"},
		{"GET", "/c?" + sc + "&h=Cache-Control:private,%20no-cache=%22a,public,b%22,%20max-age=60"},
		{"GET", "/c?" + sc + "&h=Cache-Control:PRIVATE&" + fresh},
		{"GET", "/c?" + sc + "&" + fresh + "&h=Pragma:no-cache"},
		{"GET", "/c?" + sc + "&" + fresh + "&h=Pragma:no-cache,%20foo"},
		{"GET", "/c?" + sc + "&" + fresh + "&h=Vary:*"},
		{"GET", "/c?h=Set-Cookie2:a=1&" + fresh},
		{"GET", "/c?" + fresh},
		{"GET", "/c?s=203&" + sc + "&" + fresh},
		{"GET", "/c?s=204&" + sc + "&" + fresh},
		{"GET", "/c?s=404&" + sc + "&" + fresh},
		{"GET", "/c?s=410&" + sc + "&" + fresh},
		{"GET", "/c?s=302&" + sc + "&" + fresh},
		{"GET", "/c?s=302&" + sc + "&" + fresh + "&h=Cache-Control:public"},
		{"GET", "/c?s=500&" + sc + "&" + fresh},
		{"HEAD", "/c?" + sc + "&" + fresh},
		{"OPTIONS", "/c?" + sc + "&" + fresh},
		{"POST", "/c?" + sc + "&" + fresh},
		{"POST", "/c?" + sc + "&" + fresh + "&h=Cache-Control:public"},
		{"GET", "/add?" + fresh},
		{"GET", "/del?" + sc + "&" + fresh},
		{"GET", "/setstatus?" + sc + "&" + fresh},
		{"GET", "/insnc?" + sc + "&" + fresh},
		{"GET", "/insnc?" + sc + "&h=ETag:%22x%22"},
		{"GET", "/insnc?" + sc},
		{"POST", "/insnc?" + fresh},
		{"GET", "/insnc?s=302&" + fresh},
		{"GET", "/insnc?h=Cache-Control:max-age=0,%20s-maxage=60"},
		{"GET", "/insnc?h=Cache-Control:public"},
		{"GET", "/ins?" + fresh},
		{"GET", "/ins?" + sc + "&" + fresh},
		{"GET", "/off?" + sc + "&" + fresh},
	}
	out := map[string][]string{}
	alerts := map[string]map[string]int{haproxyBin: {}, bin: {}}
	for _, path := range []string{haproxyBin, bin} {
		logPort, nextLog := udpLog(t)
		fe, stats := freePort(t), freePort(t)
		// (%ci: a format without a field haproxy waits for does not log
		// the blocked responses)
		p := startBinary(t, path, logHead(logPort, "http", "option checkcache", `log-format "%HM %HU %ST %tsc %ci"`)+fmt.Sprintf(`frontend f
    bind 127.0.0.1:%d
    # (the path is no longer there for the response rules)
    http-request set-var(txn.path) path
    http-response del-header Set-Cookie if { var(txn.path) -m beg /del }
    use_backend insnc if { path_beg /insnc }
    use_backend ins if { path_beg /ins }
    use_backend off if { path_beg /off }
    default_backend cc
backend cc
    http-response add-header Set-Cookie b=2 if { var(txn.path) -m beg /add }
    http-response set-status 302 if { var(txn.path) -m beg /setstatus }
    server s1 %s
backend ins
    cookie SRV insert
    server s1 %[2]s cookie s1
backend insnc
    cookie SRV insert nocache
    server s1 %[2]s cookie s1
backend off
    no option checkcache
    server s1 %[2]s
listen stats
    bind 127.0.0.1:%d
    no log
    stats enable
    stats uri /stats
`, fe, appAddr, stats), fe)
		waitPort(t, stats, 5*time.Second)
		for _, r := range requests {
			req, _ := http.NewRequest(r.method, fmt.Sprintf("http://127.0.0.1:%d%s", fe, r.uri), nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %s %s: %v", path, r.method, r.uri, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out[path] = append(out[path], fmt.Sprintf("%s %s -> %d cache-control %q %q", r.method, r.uri, resp.StatusCode,
				resp.Header.Values("Cache-Control"), firstLines(string(body), 2)))
		}
		// the log lines, with the alerts each blocked response raises first
		for seen := 0; seen < len(requests); {
			l := nextLog.line(t, fmt.Sprintf("%s, after %d lines\n%s", path, seen, strings.Join(out[path], "\n")))
			if strings.HasPrefix(l, "<BADREQ>") {
				continue // the readiness probe's connection
			}
			if strings.HasPrefix(l, "Blocking") {
				// sent on their own (the order among the access lines
				// may differ)
				alerts[path][l]++
				continue
			}
			seen++
			out[path] = append(out[path], "log: "+l)
		}
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/stats;csv", stats))
		if err != nil {
			t.Fatal(err)
		}
		csv, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		for _, line := range strings.Split(string(csv), "\n") {
			if f := strings.Split(line, ","); len(f) > 11 && (f[0] == "f" || f[0] == "cc" || f[0] == "ins") {
				out[path] = append(out[path], "dresp "+f[0]+"/"+f[1]+" "+f[11])
			}
		}
		p.stopChecked(t, path)
	}
	for path, a := range alerts {
		for l, n := range a {
			out[path] = append(out[path], fmt.Sprintf("%d x %s", n, l))
		}
		slices.Sort(out[path][len(out[path])-len(a):])
	}
	got, want := strings.Join(out[bin], "\n"), strings.Join(out[haproxyBin], "\n")
	if got != want {
		t.Errorf("dhproxy:\n%s\nhaproxy:\n%s", got, want)
	}
	for _, w := range []string{
		"GET /c?" + sc + "&" + fresh + " -> 200 cache-control [\"no-cache\"] \"<html><body><h1>200 OK</h1>\\nService ready.\"",
		"log: GET /c?s=203&" + sc + "&" + fresh + " 203 PH-- 127.0.0.1",
		"18 x Blocking cacheable cookie in response from instance cc, server s1.",
		"dresp cc/BACKEND 18",
	} {
		if !strings.Contains(got, w) {
			t.Errorf("dhproxy: missing %q", w)
		}
	}
}

// firstLines is s up to its n-th line.
func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}
