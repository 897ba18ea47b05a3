package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// Rules: ACLs, use_backend conditions, http-request and http-response
// actions. Each test passes against haproxy 2.6 too (DHPROXY_BIN).

// rulesBackend answers with its name and, in the body, the request line
// and headers it received; it sends a few headers for http-response rules
// to rewrite.
func rulesBackend(t *testing.T, name string) int {
	port, _ := h1StartBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		h := w.Header()
		h.Set("X-Backend", name)
		h.Set("X-Internal", "secret")
		h.Set("Content-Type", "text/plain")
		var lines []string
		for k, vs := range r.Header {
			for _, v := range vs {
				lines = append(lines, strings.ToLower(k)+": "+v)
			}
		}
		sort.Strings(lines)
		fmt.Fprintf(w, "%s %s\n%s\n", r.Method, r.RequestURI, strings.Join(lines, "\n"))
	}))
	return port
}

func rulesGet(t *testing.T, port int, path string, hdrs ...string) (*http.Response, string) {
	t.Helper()
	c, br := h1Dial(t, port)
	req := "GET " + path + " HTTP/1.1\r\nHost: test.example\r\n"
	for _, h := range hdrs {
		if strings.HasPrefix(strings.ToLower(h), "host:") {
			req = strings.Replace(req, "Host: test.example\r\n", "", 1)
		}
		req += h + "\r\n"
	}
	h1Write(t, c, req+"\r\n")
	return h1ReadResp(t, br, "GET")
}

func rulesDefaults(port int) string {
	return defaultsSection("http", "5s", "30s", "30s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
`, port)
}

func TestRulesStaticDynamicSplit(t *testing.T) {
	static, dynamic := rulesBackend(t, "static"), rulesBackend(t, "dynamic")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    acl is_static path_beg -i /static/ /images/
    acl is_static path_end .css .js .png
    use_backend be_static if is_static
    default_backend be_dynamic
backend be_static
    server s 127.0.0.1:%d
backend be_dynamic
    server d 127.0.0.1:%d
`, static, dynamic), port)
	for path, want := range map[string]string{
		"/static/app.html": "static",
		"/STATIC/x":        "static",
		"/images/logo":     "static",
		"/site.css":        "static",
		"/lib/app.js?v=3":  "static",
		"/app.jsp":         "dynamic",
		"/":                "dynamic",
		"/api/static/":     "dynamic",
		"/cart?file=a.png": "dynamic",
	} {
		resp, _ := rulesGet(t, port, path)
		if got := resp.Header.Get("X-Backend"); got != want {
			t.Errorf("%s went to %q, want %q", path, got, want)
		}
	}
}

func TestRulesHostRouting(t *testing.T) {
	shop, api, other, def := rulesBackend(t, "shop"), rulesBackend(t, "api"), rulesBackend(t, "other"), rulesBackend(t, "default")
	port := freePort(t)
	mapFile := filepath.Join(t.TempDir(), "hosts.map")
	os.WriteFile(mapFile, []byte("# host to backend\nshop.example be_shop\napi.example\tbe_api\n"), 0o644)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    use_backend be_other if { hdr(host) -i other.example }
    use_backend %%[req.hdr(host),lower,map(%s,be_default)]
    default_backend be_default
backend be_shop
    server s 127.0.0.1:%d
backend be_api
    server s 127.0.0.1:%d
backend be_other
    server s 127.0.0.1:%d
backend be_default
    server s 127.0.0.1:%d
`, mapFile, shop, api, other, def), port)
	for host, want := range map[string]string{
		"shop.example":  "shop",
		"SHOP.Example":  "shop",
		"api.example":   "api",
		"OTHER.example": "other",
		"unknown.test":  "default",
	} {
		resp, _ := rulesGet(t, port, "/", "Host: "+host)
		if got := resp.Header.Get("X-Backend"); got != want {
			t.Errorf("Host %s went to %q, want %q", host, got, want)
		}
	}
}

// rulesRaw sends raw requests on one connection and returns each raw
// response head and body as the proxy wrote them.
func rulesRaw(t *testing.T, port int, paths ...string) []string {
	t.Helper()
	c, br := h1Dial(t, port)
	var out []string
	for _, p := range paths {
		h1Write(t, c, "GET "+p+" HTTP/1.1\r\nHost: h.example\r\n\r\n")
		head, err := h1ReadHead(br)
		if err != nil {
			t.Fatalf("%s: reading head: %v", p, err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(head)), nil)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		body := make([]byte, resp.ContentLength)
		if _, err := io.ReadFull(br, body); err != nil {
			t.Fatalf("%s: body: %v", p, err)
		}
		out = append(out, head+string(body))
	}
	return out
}

func TestRulesDenyReturnRedirect(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	startProxy(t, "global\n    stats socket "+sock+" level admin\n"+rulesDefaults(port)+fmt.Sprintf(`
    acl admin path_beg /admin
    http-request deny if admin !{ src 10.0.0.0/8 }
    http-request deny deny_status 429 if { path /slow-down }
    http-request return status 200 content-type text/plain string "hi there" if { path /hello }
    http-request return status 404 if { path /nothing }
    http-request return status 201 content-type "text/plain; charset=utf-8" lf-string "you asked %%[path]" hdr X-A "%%[req.hdr(host)]" if { path_beg /lf }
    http-request redirect location /new code 301 if { path /old }
    http-request redirect prefix /v2 if { path_beg /v1/ }
    http-request redirect scheme https drop-query if { path /secure }
    redirect location /moved if { path /kw }
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)
	got := rulesRaw(t, port, "/admin/x", "/slow-down", "/hello", "/nothing", "/lf/x", "/old", "/v1/a?b=1", "/secure?x=1", "/kw", "/pass")
	want := []string{
		"HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n",
		"HTTP/1.1 429 Too Many Requests\r\ncontent-length: 117\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n",
		"HTTP/1.1 200 OK\r\ncontent-length: 8\r\ncontent-type: text/plain\r\n\r\nhi there",
		"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
		"HTTP/1.1 201 Created\r\nx-a: h.example\r\ncontent-length: 15\r\ncontent-type: text/plain; charset=utf-8\r\n\r\nyou asked /lf/x",
		"HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /new\r\n\r\n",
		"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /v2/v1/a?b=1\r\ncache-control: no-cache\r\n\r\n",
		"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://h.example/secure\r\ncache-control: no-cache\r\n\r\n",
		"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /moved\r\ncache-control: no-cache\r\n\r\n",
	}
	for i, w := range want {
		if got[i] != w {
			t.Errorf("response %d:\n got %q\nwant %q", i, got[i], w)
		}
	}
	// denied and intercepted requests are counted as haproxy counts them
	stat := cliCmd(t, sock, "show stat")
	cols := strings.Split(strings.TrimPrefix(strings.SplitN(stat, "\n", 2)[0], "# "), ",")
	for _, line := range strings.Split(stat, "\n") {
		if !strings.HasPrefix(line, "fe,FRONTEND,") {
			continue
		}
		vals := strings.Split(line, ",")
		for i, c := range cols {
			if want := map[string]string{"dreq": "2", "intercepted": "7"}[c]; want != "" && vals[i] != want {
				t.Errorf("frontend %s = %s, want %s", c, vals[i], want)
			}
		}
	}
	// the last request, after all these answers on the same connection,
	// reached the server
	if !strings.Contains(got[len(got)-1], "x-backend: app") && !strings.Contains(got[len(got)-1], "X-Backend: app") {
		t.Errorf("request after the rule answers: %q", got[len(got)-1])
	}
}

func TestRulesHeaderRewrite(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    http-request set-header X-Client %%[src]
    http-request add-header X-Tag one
    http-request add-header X-Tag two if { path_beg /two }
    http-request del-header X-Secret
    http-request set-header X-Host-Lower %%[req.hdr(host),lower]
    http-request replace-header X-Session ^id=([a-z]+);.*$ sid=\1
    http-request set-path /app%%[path] if { path_beg /api }
    http-request replace-path ^/old/(.*) /new/\1
    http-request set-query lang=%%[url_param(l)] if { path_beg /new/ }
    http-request set-method PUT if { path_beg /put }
    http-request replace-uri ^/uri/([a-z]+)$ /u?name=\1
    default_backend be
backend be
    http-request set-header X-Backend-Rule %%[be_name]
    http-response set-header X-Via proxy
    http-response del-header X-Internal
    server s 127.0.0.1:%d
`, be), port)
	resp, body := rulesGet(t, port, "/two?q=1", "Host: Test.EXAMPLE", "X-Secret: s3cr3t", "X-Session: id=abc; other=1")
	for _, want := range []string{
		"GET /two?q=1\n",
		"x-client: 127.0.0.1",
		"x-tag: one",
		"x-tag: two",
		"x-host-lower: test.example",
		"x-session: sid=abc",
		"x-backend-rule: be",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the server did not see %q; it saw:\n%s", want, body)
		}
	}
	if strings.Contains(body, "x-secret") {
		t.Errorf("X-Secret reached the server:\n%s", body)
	}
	if resp.Header.Get("X-Via") != "proxy" || resp.Header.Get("X-Internal") != "" || resp.Header.Get("X-Backend") != "app" {
		t.Errorf("response headers: %v", resp.Header)
	}
	for path, want := range map[string]string{
		"/api/users?id=7":   "GET /app/api/users?id=7",
		"/old/a/b?l=fr&x=1": "GET /new/a/b?lang=fr",
		"/put/x":            "PUT /put/x",
		"/uri/abc":          "GET /u?name=abc",
		"/uri/ABC":          "GET /uri/ABC",
	} {
		_, body = rulesGet(t, port, path)
		if got := strings.SplitN(body, "\n", 2)[0]; got != want {
			t.Errorf("%s: the server saw %q, want %q", path, got, want)
		}
	}
}

func TestRulesResponseHeaders(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    http-response set-header X-Frontend seen
    http-response set-header X-Status %%[status] if { status 200 }
    http-response set-header Cache-Control no-store if { res.hdr(content-type) -m beg text/ }
    http-response del-header X-Internal
    http-response add-header X-Never x if { status 500 }
    default_backend be
backend be
    http-response set-header X-Backend renamed
    server s 127.0.0.1:%d
`, be), port)
	resp, _ := rulesGet(t, port, "/")
	for k, want := range map[string]string{
		"X-Frontend":    "seen",
		"X-Status":      "200",
		"Cache-Control": "no-store",
		"X-Internal":    "",
		"X-Never":       "",
		"X-Backend":     "renamed",
	} {
		if got := strings.Join(resp.Header.Values(k), ","); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

// Replies to HEAD requests carry no body; an HTTP/1.0 client without
// keep-alive gets "connection: close" and the connection ends, as with
// haproxy.
func TestRulesHEADAndHTTP10(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    http-request deny if { path /deny }
    http-request return status 200 content-type text/plain string "hi there" if { path /ret }
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)
	c, _ := h1Dial(t, port)
	h1Write(t, c, "HEAD /deny HTTP/1.1\r\nHost: h\r\n\r\nHEAD /ret HTTP/1.1\r\nHost: h\r\n\r\nGET /deny HTTP/1.0\r\nHost: h\r\n\r\n")
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatalf("reading until the proxy closes: %v (got %q)", err, got)
	}
	want := "HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n" +
		"HTTP/1.1 200 OK\r\ncontent-length: 8\r\ncontent-type: text/plain\r\n\r\n" +
		"HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n" +
		"<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n"
	if string(got) != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestRulesSetStatusReplaceValue(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    http-request replace-value X-List ^a([0-9]+)$ A\1
    http-response set-status 299 reason "Very OK" if { status 200 } { res.hdr(x-backend) app }
    http-response set-status 298 reason "Also OK" if { status 299 }
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)
	c, br := h1Dial(t, port)
	var body []byte
	// a later rule sees the status an earlier one set
	for path, want := range map[string]string{"/": "HTTP/1.1 298 Also OK"} {
		h1Write(t, c, "GET "+path+" HTTP/1.1\r\nHost: h\r\nX-List: a1, b2,a3 , \"a4,a5\"\r\n\r\n")
		head, err := h1ReadHead(br)
		if err != nil {
			t.Fatal(err)
		}
		if line := strings.SplitN(head, "\r\n", 2)[0]; line != want {
			t.Errorf("%s: status line %q, want %q", path, line, want)
		}
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(head)), nil)
		if err != nil {
			t.Fatal(err)
		}
		body = make([]byte, resp.ContentLength)
		io.ReadFull(br, body)
	}
	// a replaced element loses the blanks before its comma
	if !strings.Contains(string(body), "x-list: A1, b2,A3, \"a4,a5\"") {
		t.Errorf("replace-value: the server saw\n%s", body)
	}
}

func TestRulesMonitorURI(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	logs := "global\n    log stdout format raw local0\n" + strings.Replace(rulesDefaults(port), "    mode http\n", "    mode http\n    log global\n    option httplog\n", 1)
	p := startProxy(t, logs+fmt.Sprintf(`
    monitor-uri /health
    monitor fail if { hdr(x-fail) 1 }
    http-request deny if { path /health }
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)
	c, br := h1Dial(t, port)
	for _, r := range []struct{ req, status string }{
		{"GET /health HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 200 OK"},
		{"GET /health HTTP/1.1\r\nHost: h\r\nX-Fail: 1\r\n\r\n", "HTTP/1.1 503 Service Unavailable"},
		{"GET http://h/health HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 200 OK"},
		{"GET /health?x HTTP/1.1\r\nHost: h\r\n\r\n", "HTTP/1.1 403 Forbidden"}, // not the monitor URI: the rules run
	} {
		h1Write(t, c, r.req)
		resp, body := h1ReadResp(t, br, "GET")
		if got := resp.Proto + " " + resp.Status; got != r.status {
			t.Errorf("%q: %s, want %s", r.req, got, r.status)
		}
		if r.status == "HTTP/1.1 200 OK" && body != "<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n" {
			t.Errorf("monitor body %q", body)
		}
	}
	// Only the denied request is logged, with haproxy's size, backend
	// and termination state; monitor requests are not.
	deny := regexp.MustCompile(` fe fe/<NOSRV> \d+/-1/-1/-1/\d+ 403 192 - - PR-- .* "GET /health\?x HTTP/1.1"`)
	deadline := time.Now().Add(10 * time.Second)
	for !deny.MatchString(p.Stdout()) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line for the denied request; stdout:\n%s", p.Stdout())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if strings.Contains(p.Stdout(), "/health HTTP/1.1") {
		t.Errorf("a monitor request was logged:\n%s", p.Stdout())
	}
}

// Variables carry request data to the response rules and across the
// requests of a connection.
func TestRulesVariables(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    http-request set-var(txn.host) req.hdr(host),lower
    http-request set-var(req.early) str(gone)
    http-request set-var(sess.count) var(sess.count,0),add(1)
    http-request set-var(txn.path_len) path,length
    http-request set-header X-Count %%[var(sess.count)]
    http-request set-header X-Tagged %%[path,concat(<,txn.host,>)]
    http-response set-header X-Host %%[var(txn.host)]
    http-response set-header X-Req [%%[var(req.early)]]
    http-response set-header X-Double %%[var(txn.path_len),mul(2)]
    http-response set-header X-Sum %%[int(1),add(txn.path_len)]
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)
	c, br := h1Dial(t, port)
	for i, want := range []string{"1", "2", "3"} {
		h1Write(t, c, "GET /abc HTTP/1.1\r\nHost: WWW.Example\r\n\r\n")
		resp, body := h1ReadResp(t, br, "GET")
		for k, v := range map[string]string{"X-Host": "www.example", "X-Req": "[]", "X-Double": "8", "X-Sum": "5"} {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("request %d: %s = %q, want %q", i, k, got, v)
			}
		}
		if !strings.Contains(body, "x-count: "+want+"\n") || !strings.Contains(body, "x-tagged: /abc<www.example>\n") {
			t.Errorf("request %d: the server saw\n%s", i, body)
		}
	}
}

// tcp-request connection rules close rejected connections before any
// byte is read, in both modes, and count them in dcon.
func TestRulesTCPRequestConnection(t *testing.T) {
	be := rulesBackend(t, "app")
	httpPort, tcpPort := freePort(t), freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	startProxy(t, fmt.Sprintf(`
global
    stats socket %s level admin
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    mode http
    bind 127.0.0.1:%d
    acl blocked src 127.0.0.2 127.0.0.3
    tcp-request connection accept if { src 127.0.0.3 }
    tcp-request connection reject if blocked
    default_backend be
frontend fe_tcp
    mode tcp
    bind 127.0.0.1:%d
    tcp-request connection reject unless { src 127.0.0.1 }
    default_backend be_tcp
backend be
    mode http
    server s 127.0.0.1:%d
backend be_tcp
    mode tcp
    server s 127.0.0.1:%d
`, sock, httpPort, tcpPort, be, be), httpPort, tcpPort)
	get := func(port int, src string) bool {
		t.Helper()
		d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
		c, err := d.Dial("tcp", h1Addr(port))
		if err != nil {
			return false // haproxy may reset before the handshake ends
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
		reply, _ := io.ReadAll(c)
		return strings.HasPrefix(string(reply), "HTTP/1.1 200")
	}
	for _, c := range []struct {
		port   int
		src    string
		served bool
	}{
		{httpPort, "127.0.0.1", true},
		{httpPort, "127.0.0.2", false},
		{httpPort, "127.0.0.3", true}, // accepted by the first rule
		{tcpPort, "127.0.0.1", true},
		{tcpPort, "127.0.0.4", false},
	} {
		if got := get(c.port, c.src); got != c.served {
			t.Errorf("port %d from %s: served %v, want %v", c.port, c.src, got, c.served)
		}
	}
	stat := cliCmd(t, sock, "show stat")
	cols := strings.Split(strings.TrimPrefix(strings.SplitN(stat, "\n", 2)[0], "# "), ",")
	want := map[string]string{"fe,FRONTEND,": "1", "fe_tcp,FRONTEND,": "1"}
	for _, line := range strings.Split(stat, "\n") {
		for prefix, dcon := range want {
			if strings.HasPrefix(line, prefix) {
				vals := strings.Split(line, ",")
				for i, c := range cols {
					if c == "dcon" && vals[i] != dcon {
						t.Errorf("%s dcon = %s, want %s", prefix, vals[i], dcon)
					}
				}
			}
		}
	}
}

func TestRulesSetSrcAndRedirectCookies(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    http-request set-src hdr(x-real-ip) if { hdr(x-real-ip) -m found }
    http-request return status 200 content-type text/plain lf-string "src=%%[src]" if { path /src }
    http-request redirect location /a set-cookie A=b if { path /c1 }
    http-request redirect location /a code 301 clear-cookie A= if { path /c2 }
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)
	c, br := h1Dial(t, port)
	// set-src lasts one request; what is not an address changes nothing
	for _, r := range []struct{ hdr, want string }{
		{"X-Real-IP: 10.9.8.7\r\n", "src=10.9.8.7"},
		{"", "src=127.0.0.1"},
		{"X-Real-IP: bogus\r\n", "src=127.0.0.1"},
	} {
		h1Write(t, c, "GET /src HTTP/1.1\r\nHost: h\r\n"+r.hdr+"\r\n")
		if _, body := h1ReadResp(t, br, "GET"); body != r.want {
			t.Errorf("%q: %q, want %q", r.hdr, body, r.want)
		}
	}
	got := rulesRaw(t, port, "/c1", "/c2")
	for i, want := range []string{
		"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /a\r\ncache-control: no-cache\r\nset-cookie: A=b; path=/;\r\n\r\n",
		"HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /a\r\nset-cookie: A=; path=/; Max-Age=0;\r\n\r\n",
	} {
		if got[i] != want {
			t.Errorf("redirect %d:\n got %q\nwant %q", i, got[i], want)
		}
	}
}

// tarpit holds the client for "timeout tarpit", then answers 500 (or
// its deny_status), logged PT.
func TestRulesTarpit(t *testing.T) {
	port := freePort(t)
	logs := "global\n    log stdout format raw local0\n" + strings.Replace(rulesDefaults(port), "    mode http\n", "    mode http\n    log global\n    option httplog\n    timeout tarpit 400ms\n", 1)
	p := startProxy(t, logs+`
    http-request tarpit if { path /tp }
    http-request tarpit deny_status 403 if { path /tp403 }
`, port)
	c, br := h1Dial(t, port)
	for path, status := range map[string]int{"/tp": 500, "/tp403": 403} {
		start := time.Now()
		h1Write(t, c, "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, _ := h1ReadResp(t, br, "GET")
		if d := time.Since(start); d < 350*time.Millisecond || d > 3*time.Second {
			t.Errorf("%s answered after %v, want the 400ms tarpit", path, d)
		}
		if resp.StatusCode != status {
			t.Errorf("%s: status %d, want %d", path, resp.StatusCode, status)
		}
	}
	re := regexp.MustCompile(` fe fe/<NOSRV> .* 500 208 - - PT-- .*"GET /tp HTTP/1.1"`)
	deadline := time.Now().Add(10 * time.Second)
	for !re.MatchString(p.Stdout()) {
		if time.Now().After(deadline) {
			t.Fatalf("no PT log line; stdout:\n%s", p.Stdout())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A pattern RE2 cannot run (a look-ahead) goes to the backtracking
// fallback; written to backtrack catastrophically, on a 100 KB header it
// gives up after its time bound (no match: the request is forwarded)
// while another client is served meanwhile. haproxy (PCRE2) gives up on
// its match limit with the same outcome.
func TestRulesRegexFallbackCannotStall(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`
global
    tune.bufsize 262144
`)+rulesDefaults(port)+fmt.Sprintf(`
    http-request deny deny_status 403 if { hdr(x-big) -m reg ^(?=a)(\w+\s?)*$ }
    http-request deny deny_status 403 if { hdr(x-word) -m reg ^(?<w>\w+)-\k<w>$ }
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)

	// the fallback matches where it should
	if resp, _ := rulesGet(t, port, "/", "X-Word: ab-ab"); resp.StatusCode != 403 {
		t.Errorf("back-reference: status %d, want 403", resp.StatusCode)
	}
	if resp, _ := rulesGet(t, port, "/", "X-Word: ab-cd"); resp.StatusCode != 200 {
		t.Errorf("back-reference: status %d, want 200", resp.StatusCode)
	}

	big := strings.Repeat("a", 100<<10) + "!"
	done := make(chan int, 4)
	for range 4 { // several at once, as an attacker would send them
		go func() {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
			if err != nil {
				done <- 0
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(c, "GET /big HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\nConnection: close\r\n\r\n", big)
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				done <- 0
				return
			}
			resp.Body.Close()
			done <- resp.StatusCode
		}()
	}
	time.Sleep(20 * time.Millisecond) // let the big requests reach the proxy
	for i := range 5 {
		start := time.Now()
		resp, _ := rulesGet(t, port, fmt.Sprintf("/small%d", i))
		if d := time.Since(start); resp.StatusCode != 200 || d > time.Second {
			t.Errorf("small request %d: status %d after %v while the big ones run", i, resp.StatusCode, d)
		}
	}
	for range 4 {
		if code := <-done; code != 200 {
			t.Errorf("big request: status %d, want 200 (a match that gives up counts as no match)", code)
		}
	}
}

// A named defaults section's rules run before the inheriting section's
// own; its ACLs are its own; an allow there ends the whole list.
func TestRulesNamedDefaults(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`
defaults base
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    acl is_admin path_beg /admin
    http-request allow if { path /open }
    http-request deny deny_status 403 if is_admin
    http-request set-header X-Order def
    http-response set-header X-Def-Res yes
    http-response set-header X-Res-Order def
frontend fe from base
    bind 127.0.0.1:%d
    http-request add-header X-Order fe
    http-request deny deny_status 404 if { path /open }
    http-response add-header X-Res-Order fe
    default_backend be
defaults plain
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
backend be from plain
    server s 127.0.0.1:%d
`, port, be), port)
	if resp, _ := rulesGet(t, port, "/admin/x"); resp.StatusCode != 403 {
		t.Errorf("/admin/x: status %d, want 403 from the defaults' rule", resp.StatusCode)
	}
	resp, body := rulesGet(t, port, "/x")
	if resp.StatusCode != 200 || !strings.Contains(body, "x-order: def\nx-order: fe\n") {
		t.Errorf("/x: status %d, the backend saw:\n%s", resp.StatusCode, body)
	}
	if got := resp.Header.Values("X-Res-Order"); strings.Join(got, ",") != "def,fe" || resp.Header.Get("X-Def-Res") != "yes" {
		t.Errorf("/x: response headers %v", resp.Header)
	}
	// allow in the defaults' rules skips the frontend's deny too
	if resp, body := rulesGet(t, port, "/open"); resp.StatusCode != 200 || strings.Contains(body, "x-order") {
		t.Errorf("/open: status %d, the backend saw:\n%s", resp.StatusCode, body)
	}
}

// Proxy and server state fetches read the stats' counters.
func TestRulesStateFetches(t *testing.T) {
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+`
    http-request return status 200 content-type text/plain lf-string "%[http_first_req] %[stopping]" if { path /first }
    http-request return status 200 content-type text/plain lf-string "%[fe_id] %[be_conn(be)] %[queue(be)] %[avg_queue(be)] %[connslots(be)] %[srv_is_up(be/s1)] %[srv_conn(be/s1)] %[srv_queue(be/s1)] %[connslots(other)]" if { path /fe }
    default_backend be
backend other
    server o1 127.0.0.1:2 maxconn 5 maxqueue 3
    server o2 127.0.0.1:3 maxconn 7 maxqueue 2
backend be
    http-request return status 200 content-type text/plain lf-string "%[fe_id] %[be_id] %[be_conn] %[queue] %[avg_queue] %[connslots] %[srv_is_up(s1)] %[srv_conn(s1)] %[be_conn(other)] %[srv_is_up(other/o1)]"
    server s1 127.0.0.1:1
`, port)
	for path, want := range map[string]string{"/fe": "1 0 0 0 -1 1 0 0 17", "/be": "1 3 1 0 0 -1 1 0 0 1"} {
		if _, body := rulesGet(t, port, path); body != want {
			t.Errorf("%s: %q, want %q", path, body, want)
		}
	}
	// http_first_req: the first request of each connection only
	c, br := h1Dial(t, port)
	for i, want := range []string{"1 0", "0 0", "0 0"} {
		h1Write(t, c, "GET /first HTTP/1.1\r\nHost: x\r\n\r\n")
		if _, body := h1ReadResp(t, br, "GET"); body != want {
			t.Errorf("request %d on one connection: %q, want %q", i+1, body, want)
		}
	}
}

// srv_name and srv_id name the server that answered.
func TestRulesServerName(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    http-response set-header X-Srv "%%[srv_name] %%[srv_id]"
    default_backend be
backend be
    http-response set-header X-Srv-Be %%[srv_name]
    server web1 127.0.0.1:%d id 7
`, be), port)
	resp, _ := rulesGet(t, port, "/")
	if got := resp.Header.Get("X-Srv") + "|" + resp.Header.Get("X-Srv-Be"); got != "web1 7|web1" {
		t.Errorf("X-Srv|X-Srv-Be = %q, want %q", got, "web1 7|web1")
	}
}

// A sample carrying CR LF (a url_dec'ed parameter) is escaped in a header
// value as haproxy escapes it, instead of splitting the header in two.
func TestRulesHeaderValueEscapes(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    http-request set-header X-A %%[url_param(x),url_dec]
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)
	_, body := rulesGet(t, port, "/?x=a%0d%0aEvil:%201%09t")
	if !strings.Contains(body, "x-a: a%0D%0AEvil: 1\tt\n") || strings.Contains(body, "evil:") {
		t.Errorf("the backend saw:\n%s", body)
	}
}
