package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestOriginalToAsHAProxy: "option originalto" gives the servers the
// address the client connected to, compared with haproxy 2.6 through
// binds on several loopback addresses: either section's option adds it,
// the backend's header name wins, both sections' "except" apply (the
// last one given), an IPv4 client of a dual-stack bind is reported (and
// matched) in its IPv6 form, http-request set-dst changes it, and the
// client's own X-Original-To stays.
func TestOriginalToAsHAProxy(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var names []string
		for k := range r.Header {
			if strings.HasPrefix(k, "X-") {
				names = append(names, k)
			}
		}
		slices.Sort(names)
		for _, k := range names {
			fmt.Fprintf(w, "%s: %s; ", k, strings.Join(r.Header[k], " | "))
		}
	}))
	defer app.Close()
	appAddr := strings.TrimPrefix(app.URL, "http://")
	ipv6 := true
	if l, err := net.Listen("tcp6", "[::1]:0"); err != nil {
		ipv6 = false
	} else {
		l.Close()
	}
	p1, p2, p3 := freePort(t), freePort(t), freePort(t)
	v6bind := ""
	if ipv6 {
		v6bind = fmt.Sprintf("    bind [::1]:%d\n", p1)
	}
	cfg := fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend f1
    bind 127.0.0.1:%[1]d
    bind 127.0.0.2:%[1]d
%[5]s    option originalto except 127.0.0.2 header X-FE
    use_backend plain if { path_beg /plain }
    default_backend named
backend named
    option originalto header X-BE except ::1
    server s1 %[4]s
backend plain
    server s1 %[4]s
frontend f2
    bind :::%[2]d v4v6
    default_backend excepts
backend excepts
    option originalto except ::1 except 127.0.0.1
    server s1 %[4]s
defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    option originalto header X-Def except 127.0.0.3
frontend f3
    bind 127.0.0.1:%[3]d
    bind 127.0.0.3:%[3]d
    option forwardfor
    http-request set-dst str(10.1.2.3) if { path_beg /setdst }
    default_backend inherited
backend inherited
    server s1 %[4]s
`, p1, p2, p3, appAddr, v6bind)
	urls := []string{
		fmt.Sprintf("http://127.0.0.1:%d/plain", p1),
		fmt.Sprintf("http://127.0.0.2:%d/plain", p1),
		fmt.Sprintf("http://127.0.0.1:%d/", p1),
		fmt.Sprintf("http://127.0.0.2:%d/", p1),
		fmt.Sprintf("http://127.0.0.1:%d/", p2),
		fmt.Sprintf("http://127.0.0.1:%d/", p3),
		fmt.Sprintf("http://127.0.0.3:%d/", p3),
		fmt.Sprintf("http://127.0.0.1:%d/setdst", p3),
		fmt.Sprintf("http://127.0.0.3:%d/setdst", p3),
	}
	if ipv6 {
		urls = append(urls,
			fmt.Sprintf("http://[::1]:%d/plain", p1),
			fmt.Sprintf("http://[::1]:%d/", p1),
			fmt.Sprintf("http://[::1]:%d/", p2))
	}
	got := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		p := startBinary(t, path, cfg, p1)
		waitPort(t, p3, 5*time.Second)
		for _, u := range urls {
			req, _ := http.NewRequest("GET", u, nil)
			req.Header.Set("X-Original-To", "client")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %s: %v", path, u, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			got[path] = append(got[path], u+" -> "+string(b))
		}
		p.stopChecked(t, path)
	}
	h, d := strings.Join(got[haproxyBin], "\n"), strings.Join(got[bin], "\n")
	if h != d {
		t.Errorf("dhproxy:\n%s\nhaproxy:\n%s", d, h)
	}
	for _, want := range []string{
		fmt.Sprintf("127.0.0.1:%d/plain -> X-Fe: 127.0.0.1; X-Original-To: client; ", p1),
		fmt.Sprintf("127.0.0.2:%d/plain -> X-Original-To: client; ", p1),
		fmt.Sprintf("127.0.0.1:%d/ -> X-Be: 127.0.0.1; X-Original-To: client; ", p1),
		fmt.Sprintf("127.0.0.1:%d/ -> X-Original-To: client | ::ffff:127.0.0.1; ", p2),
		fmt.Sprintf("127.0.0.3:%d/setdst -> X-Def: 10.1.2.3; X-Forwarded-For: 127.0.0.1; X-Original-To: client; ", p3),
	} {
		if !strings.Contains(d, want) {
			t.Errorf("dhproxy: missing %q in\n%s", want, d)
		}
	}
}

// TestOriginalToCheckCacheConfigErrors: the arguments haproxy refuses are
// errors naming the line.
func TestOriginalToCheckCacheConfigErrors(t *testing.T) {
	comparesWithHAProxy(t)
	for _, c := range []struct{ line, want string }{
		{"option originalto except", "'option originalto except' expects <address>[/mask]"},
		{"option originalto except nowhere", "'option originalto except nowhere'"},
		{"option originalto header", "'option originalto header' expects <header_name>"},
		{"option originalto if-none", "does not know 'if-none'"},
		{"no option originalto", "negation/default is not supported for option 'originalto'"},
		{"option checkcache now", "'option checkcache' takes no argument"},
	} {
		cfg := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nbackend b\n    " + c.line + "\n    server s1 127.0.0.1:1\n"
		_, stderr, code := runCheck(t, cfg)
		if code == 0 || !strings.Contains(stderr, ":7]") || !strings.Contains(stderr, c.want) {
			t.Errorf("%q: exit %d, stderr:\n%s", c.line, code, stderr)
		}
	}
	cfg := "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\n    option checkcache\n    option originalto except 10.0.0.0/255.0.0.0 header X-Dst\nbackend b\n    no option checkcache\n    server s1 127.0.0.1:1\n"
	if _, stderr, code := runCheck(t, cfg); code != 0 {
		t.Errorf("valid options: exit %d, stderr:\n%s", code, stderr)
	}
}
