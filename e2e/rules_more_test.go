package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// More of HAProxy's rule language: log-format variables in header
// formats, set-var-fmt, proc variables, ... Each test passes against
// haproxy 2.6 too (DHPROXY_BIN).

// rulesGetOn sends a GET on an open connection and returns the response
// body.
func rulesGetOn(t *testing.T, port int, path string, hdrs ...string) (string, int) {
	t.Helper()
	c, br := h1Dial(t, port)
	req := "GET " + path + " HTTP/1.1\r\nHost: test.example\r\n" + strings.Join(append(hdrs, ""), "\r\n") + "\r\n"
	h1Write(t, c, req)
	_, body := h1ReadResp(t, br, "GET")
	return body, c.LocalAddr().(*net.TCPAddr).Port
}

func TestRulesLogFormatVariables(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    http-request set-header X-Client-IP %%ci
    http-request set-header X-Req %%[src]:%%cp
    http-request set-header X-Fe "%%f %%fi:%%fp %%HM %%HP %%HQ %%HV"
    http-request set-header X-Quoted %%{+Q}ci
    http-request set-var-fmt(txn.who) "%%ci-%%[path]"
    http-request set-header X-Who %%[var(txn.who)]
    http-request set-var(proc.last) path if { path_beg /set }
    http-request set-header X-Last %%[var(proc.last)]
    http-request return status 200 content-type text/plain lf-string "ci=%%ci b=%%b s=%%s r=%%r miss=%%[req.hdr(nope)] q=%%{+Q}[path] st=%%ST\n" if { path_beg /ret }
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)
	body, cport := rulesGetOn(t, port, "/a/b?x=1")
	for _, want := range []string{
		"x-client-ip: 127.0.0.1\n",
		fmt.Sprintf("x-req: 127.0.0.1:%d\n", cport),
		fmt.Sprintf("x-fe: fe 127.0.0.1:%d GET /a/b ?x=1 HTTP/1.1\n", port),
		"x-quoted: \"127.0.0.1\"\n",
		"x-who: 127.0.0.1-/a/b\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the server did not see %q; it saw:\n%s", want, body)
		}
	}
	if strings.Contains(body, "x-last: /") {
		t.Errorf("proc.last is set before any request set it:\n%s", body)
	}
	// a process variable is shared by every connection
	rulesGetOn(t, port, "/set/one")
	if body, _ = rulesGetOn(t, port, "/other"); !strings.Contains(body, "x-last: /set/one\n") {
		t.Errorf("another connection did not see proc.last:\n%s", body)
	}
	body, _ = rulesGetOn(t, port, "/ret?y")
	if want := "ci=127.0.0.1 b=fe s=<NOSRV> r=GET /ret?y HTTP/1.1 miss= q=/ret st=200\n"; body != want {
		t.Errorf("lf-string gave %q, want %q", body, want)
	}
}

func TestRulesDelHeaderMatchAndRedirectEmpty(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    http-request del-header x-drop- -m beg
    http-request del-header -secret -m end
    http-request del-header ^x-(a|b)$ -m reg
    http-request redirect location %%[req.hdr(x-to)] if { path /empty }
    http-request redirect location %%[req.hdr(x-to)] ignore-empty if { path /ignored }
    redirect location /kw%%[path] if { path /keyword }
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)
	_, body := rulesGet(t, port, "/h", "X-Drop-One: 1", "x-drop-two: 2", "X-Dropped: 3", "X-Api-Secret: 4", "X-A: 5", "X-Ab: 6")
	for _, gone := range []string{"x-drop-one", "x-drop-two", "x-api-secret", "x-a:"} {
		if strings.Contains(body, gone) {
			t.Errorf("%s reached the server:\n%s", gone, body)
		}
	}
	for _, kept := range []string{"x-dropped: 3", "x-ab: 6"} {
		if !strings.Contains(body, kept) {
			t.Errorf("%s did not reach the server:\n%s", kept, body)
		}
	}
	// an empty location is sent as is; with ignore-empty the rule is skipped
	resp, _ := rulesGet(t, port, "/empty")
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "" || len(resp.Header.Values("Location")) != 1 {
		t.Errorf("/empty: %d %v", resp.StatusCode, resp.Header)
	}
	resp, body = rulesGet(t, port, "/ignored")
	if resp.StatusCode != 200 || !strings.HasPrefix(body, "GET /ignored") {
		t.Errorf("/ignored: %d %q", resp.StatusCode, body)
	}
	resp, _ = rulesGet(t, port, "/ignored", "X-To: /there")
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/there" {
		t.Errorf("/ignored with X-To: %d %v", resp.StatusCode, resp.Header)
	}
	// the redirect keyword's location is text in haproxy 2.6
	resp, _ = rulesGet(t, port, "/keyword")
	if resp.StatusCode != 302 || resp.Header.Get("Location") != "/kw%[path]" {
		t.Errorf("/keyword: %d %v", resp.StatusCode, resp.Header)
	}
}

// set-log-level: the request's line is sent at the rule's level, or not
// at all (silent). The format has %ST: haproxy sends a line whose fields
// are all known when the request arrives before its rules run.
func TestRulesSetLogLevel(t *testing.T) {
	be := rulesBackend(t, "app")
	logPort, next := udpLog(t)
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`
defaults
    mode http
    log 127.0.0.1:%d local0
    log-format "marker %%HP %%ST"
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d
    http-request set-log-level silent if { path /quiet }
    http-request set-log-level err if { path /err }
    http-request set-var(txn.p) path
    http-response set-log-level notice if { var(txn.p) -m str /resp }
    default_backend be
backend be
    server s 127.0.0.1:%d
`, logPort, port, be), port)
	for _, p := range []string{"/quiet", "/err", "/resp", "/normal"} {
		rulesGetOn(t, port, p)
	}
	got := map[string]string{}
	note := func(msg string) {
		if i := strings.Index(msg, "marker "); i >= 0 && strings.HasPrefix(msg, "<") {
			path, _, _ := strings.Cut(msg[i+len("marker "):], " ")
			got[path] = msg[:strings.IndexByte(msg, '>')+1]
		}
	}
	// Each request's line is sent as its transaction ends, which can come
	// after the next request was answered: wait for all the expected ones,
	// then a moment more for a /quiet line that must not come.
	for got["/err"] == "" || got["/resp"] == "" || got["/normal"] == "" {
		note(next.line(t, fmt.Sprintf("syslog lines so far %v", got)))
	}
	for _, msg := range next.rest(300 * time.Millisecond) {
		note(msg)
	}
	// local0 is facility 16: priority 128 + the level
	for path, want := range map[string]string{"/err": "<131>", "/resp": "<133>", "/normal": "<134>"} {
		if got[path] != want {
			t.Errorf("%s logged with priority %q, want %q (all: %v)", path, got[path], want, got)
		}
	}
	if pri, ok := got["/quiet"]; ok {
		t.Errorf("/quiet was logged (%s)", pri)
	}
}

// normalize-uri (experimental in haproxy 2.6: the global section must
// expose it), the normalizers run in a chain; a strict one answers 400.
func TestRulesNormalizeURI(t *testing.T) {
	port, strictPort := freePort(t), freePort(t)
	cfg := `
global
    expose-experimental-directives` + defaultsSection("http", "5s", "30s", "30s") + fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    http-request normalize-uri path-merge-slashes
    http-request normalize-uri path-strip-dot
    http-request normalize-uri path-strip-dotdot
    http-request normalize-uri percent-decode-unreserved
    http-request normalize-uri percent-to-uppercase
    http-request normalize-uri query-sort-by-name
    http-request return status 200 content-type text/plain lf-string "%%[url] %%[path]"
frontend strict
    bind 127.0.0.1:%d
    http-request normalize-uri percent-decode-unreserved strict
    http-request normalize-uri path-strip-dotdot full
    http-request return status 200 content-type text/plain lf-string "%%[url]"
`, port, strictPort)
	startProxy(t, cfg, port, strictPort)
	for in, want := range map[string]string{
		"//a/./b/../c//d?z=1&y=%7e":       "/a/c/d?y=~&z=1 /a/c/d",
		"/../../x/%2e%2e/y":               "/../../x/../y /../../x/../y",
		"/%aa/%41?b&a":                    "/%AA/A?a&b /%AA/A",
		"http://h.example//p/./q?b=1&a=2": "http://h.example/p/q?a=2&b=1 /p/q",
		"/a/b/..":                         "/a/ /a/",
	} {
		c, br := h1Dial(t, port)
		h1Write(t, c, "GET "+in+" HTTP/1.1\r\nHost: h.example\r\n\r\n")
		if _, body := h1ReadResp(t, br, "GET"); body != want {
			t.Errorf("%s became %q, want %q", in, body, want)
		}
	}
	for in, want := range map[string]int{"/x/%2e%2e/../../y": 200, "/a%2": 400, "/%zz": 400} {
		c, br := h1Dial(t, strictPort)
		h1Write(t, c, "GET "+in+" HTTP/1.1\r\nHost: h.example\r\n\r\n")
		resp, body := h1ReadResp(t, br, "GET")
		if resp.StatusCode != want || want == 200 && body != "/y" {
			t.Errorf("strict %s: %d %q, want %d", in, resp.StatusCode, body, want)
		}
	}
	// without the global line, the action is refused as haproxy refuses it
	_, stderr, code := runCheck(t, strings.Replace(cfg, "expose-experimental-directives", "", 1))
	if code == 0 || !strings.Contains(stderr, "'normalize-uri' action is experimental, must be allowed via a global 'expose-experimental-directives'") {
		t.Errorf("check without expose-experimental-directives: exit %d, %s", code, stderr)
	}
}

// capture cookie: the first cookie (and Set-Cookie) whose name starts
// with the name, as %CC and %CS in httplog, httplog clf and log-format.
func TestCaptureCookie(t *testing.T) {
	be, _ := h1StartBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Set-Cookie", "OTHER=1")
		w.Header().Add("Set-Cookie", "SESSION=srv123456789; path=/")
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "ok")
	}))
	logPort, next := udpLogExact(t)
	p1, p2, p3 := freePort(t), freePort(t), freePort(t)
	const caps = `
    capture cookie SESS len 12
    capture request header Host len 20
    capture response header Content-Type len 20
    default_backend be`
	startProxy(t, logHead(logPort, "http", "option dontlognull")+fmt.Sprintf(`frontend fe1
    bind 127.0.0.1:%d
    option httplog`+caps+`
frontend fe2
    bind 127.0.0.1:%d
    option httplog clf`+caps+`
frontend fe3
    bind 127.0.0.1:%d
    log-format "fe3 CC=%%CC CS=%%CS qCC=%%{+Q}CC %%HP"`+caps+`
backend be
    server s 127.0.0.1:%d
`, p1, p2, p3, be), p1, p2, p3)
	for _, p := range []int{p1, p2, p3} {
		rulesGetOn(t, p, "/a", "Cookie: A=1; SESSION=abcdefghijklmnop; SESS=x")
	}
	rulesGetOn(t, p3, "/none", "Cookie: A=1")
	want := []string{
		" 200 161 SESSION=abcd SESSION=srv1 ---- ",
		`"SESSION=abcd" "SESSION=srv1" "test.example" "text/plain"` + "\x00",
		"fe3 CC=SESSION=abcd CS=SESSION=srv1 qCC=\"SESSION=abcd\" /a",
		`fe3 CC=- CS=SESSION=srv1 qCC="" /none`,
	}
	var lines []string
	for len(lines) < len(want) {
		lines = append(lines, next.line(t, fmt.Sprintf("log lines so far %q", lines)))
	}
	all := strings.Join(lines, "\x00\n") + "\x00" // \x00 marks the ends of lines
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no log line has %q; lines:\n%s", w, all)
		}
	}
}

// tcp-request content rules in mode http run on each request, before the
// http-request rules, with HTTP fetches; accept ends them, reject closes
// the connection without an answer.
func TestRulesTCPContentInHTTPMode(t *testing.T) {
	logPort, next := udpLog(t)
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`
defaults
    mode http
    log 127.0.0.1:%d format raw local0
    option httplog
    option dontlognull
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend fe
    bind 127.0.0.1:%d
    tcp-request content set-var(txn.a) path
    tcp-request content set-var(sess.n) var(sess.n),add(1) if { var(sess.n) -m found }
    tcp-request content set-var(sess.n) int(1) if !{ var(sess.n) -m found }
    tcp-request content reject if { path /x }
    tcp-request content accept if { path /acc }
    tcp-request content set-var(txn.after) str(yes)
    http-request return status 200 content-type text/plain lf-string "a=%%[var(txn.a)] n=%%[var(sess.n)] after=%%[var(txn.after)]"
`, logPort, port), port)
	c, br := h1Dial(t, port)
	for _, w := range [][2]string{{"/one", "a=/one n=1 after=yes"}, {"/two", "a=/two n=2 after=yes"}, {"/acc", "a=/acc n=3 after="}} {
		h1Write(t, c, "GET "+w[0]+" HTTP/1.1\r\nHost: h\r\n\r\n")
		if _, body := h1ReadResp(t, br, "GET"); body != w[1] {
			t.Errorf("%s: %q, want %q", w[0], body, w[1])
		}
	}
	h1Write(t, c, "GET /x HTTP/1.1\r\nHost: h\r\n\r\n")
	if n, err := br.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Errorf("/x: the connection was not closed without an answer (%d bytes, %v)", n, err)
	}
	for {
		if line := next.line(t, "the rejected request's"); strings.Contains(line, "PR--") {
			if !strings.Contains(line, ` fe fe/<NOSRV> -1/-1/-1/-1/0 -1 0 - - PR-- `) || !strings.HasSuffix(line, ` "<BADREQ>"`) {
				t.Errorf("log line of the rejected request: %s", line)
			}
			break
		}
	}
}

// The abuse-blocking idiom and the fetches that write: sc-inc-gpc0 marks
// a client, later requests are denied while sc0_get_gpc0 > 0;
// src_inc_gpc0 / sc0_clr_gpc0 answer the new / cleared value; server
// failures (5xx but 501 and 505) count in http_fail_cnt/_rate.
func TestRulesStickGPCAndFailures(t *testing.T) {
	be, _ := startHTTPBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    stick-table type ip size 1k expire 1m store gpc0,gpc0_rate(10s),http_fail_cnt,http_fail_rate(10s)
    http-request track-sc0 src
    http-request deny deny_status 429 if { sc0_get_gpc0 gt 0 }
    http-request return status 200 content-type text/plain lf-string "inc=%%[src_inc_gpc0] clr=%%[sc0_clr_gpc0]" if { path /both }
    http-request return status 200 content-type text/plain lf-string "fail=%%[sc0_http_fail_cnt] rate=%%[sc_http_fail_rate(0)] gpc=%%[sc0_get_gpc0] gpcrate=%%[sc0_gpc0_rate]" if { path /stats }
    http-request sc-inc-gpc0(0) if { path /mark }
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)
	c, br := h1Dial(t, port)
	get := func(path string) (int, string) {
		t.Helper()
		h1Write(t, c, "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n")
		resp, body := h1ReadResp(t, br, "GET")
		return resp.StatusCode, body
	}
	for _, p := range []string{"/?status=500", "/?status=501", "/?status=503", "/?status=404"} {
		get(p)
	}
	for _, w := range [][3]string{
		{"/stats", "200", "fail=2 rate=2 gpc=0 gpcrate=0"},
		{"/both", "200", "inc=1 clr=1"},
		{"/stats", "200", "fail=2 rate=2 gpc=0 gpcrate=1"},
		{"/mark", "200", "app"},
		{"/stats", "429", ""},
	} {
		code, body := get(w[0])
		if fmt.Sprint(code) != w[1] || w[1] == "200" && body != w[2] {
			t.Errorf("%s: %d %q, want %s %q", w[0], code, body, w[1], w[2])
		}
		if code == 429 {
			break
		}
	}
}

// A chunked request body is read before the rules as a Content-Length
// one is (option http-buffer-request, wait-for-body): req.body* see it
// decoded; one that does not come in time gets haproxy's 408.
func TestRulesChunkedRequestBody(t *testing.T) {
	port, port2 := freePort(t), freePort(t)
	startProxy(t, defaultsSection("http", "5s", "30s", "30s", "timeout http-request 1s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    option http-buffer-request
    http-request return status 200 content-type text/plain lf-string "body=[%%[req.body]] len=%%[req.body_len] size=%%[req.body_size] p=%%[req.body_param(b)]"
frontend fe2
    bind 127.0.0.1:%d
    http-request wait-for-body time 1s at-least 4
    http-request return status 200 content-type text/plain lf-string "body=[%%[req.body]] len=%%[req.body_len]"
`, port, port2), port, port2)
	for _, c := range []struct {
		port       int
		body, want string
		status     int
	}{
		{port, "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", "body=[abcde] len=5 size=5 p=", 200},
		{port, "5;ext=1\r\na=1&b\r\n4\r\n=2&c\r\n0\r\nX-T: 1\r\n\r\n", "body=[a=1&b=2&c] len=9 size=9 p=2", 200},
		{port, "3\r\nabc\r\n", "", 408},
		{port2, "3\r\nabc\r\n2\r\nde\r\n", "body=[abcde] len=5", 200},
		{port2, "3\r\nabc\r\n", "", 408},
	} {
		conn, br := h1Dial(t, c.port)
		h1Write(t, conn, "POST /p HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"+c.body)
		resp, body := h1ReadResp(t, br, "POST")
		if resp.StatusCode != c.status || c.status == 200 && body != c.want {
			t.Errorf("%q: %d %q, want %d %q", c.body, resp.StatusCode, body, c.status, c.want)
		}
	}
}

// A chunked body read before the rules still reaches the server whole.
func TestRulesChunkedBodyBufferedIsForwarded(t *testing.T) {
	be, _ := startHTTPBackend(t, "app")
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    option http-buffer-request
    http-request deny if { req.body -m sub evil }
    default_backend be
backend be
    server s 127.0.0.1:%d
`, be), port)
	conn, br := h1Dial(t, port)
	h1Write(t, conn, "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n4\r\ngood\r\n5\r\n-body\r\n0\r\n\r\n")
	if resp, body := h1ReadResp(t, br, "POST"); resp.StatusCode != 200 || body != "good-body" {
		t.Errorf("forwarded: %d %q", resp.StatusCode, body)
	}
	h1Write(t, conn, "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nev\r\n2\r\nil\r\n0\r\n\r\n")
	if resp, _ := h1ReadResp(t, br, "POST"); resp.StatusCode != 403 {
		t.Errorf("a body holding 'evil' across chunks: %d, want 403", resp.StatusCode)
	}
}

// http-response wait-for-body: res.body* read the response body (decoded
// when chunked); one that does not come in time gets haproxy's 504.
func TestRulesResponseWaitForBody(t *testing.T) {
	be, _ := h1StartBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		switch r.URL.Path {
		case "/slow":
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "abc")
			w.(http.Flusher).Flush()
			select {
			case <-time.After(3 * time.Second):
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, "defghij")
		case "/chunk":
			io.WriteString(w, "abc")
			w.(http.Flusher).Flush()
			time.Sleep(100 * time.Millisecond)
			io.WriteString(w, "de")
		default:
			io.WriteString(w, "hello")
		}
	}))
	port := freePort(t)
	startProxy(t, rulesDefaults(port)+fmt.Sprintf(`
    default_backend be
backend be
    http-response wait-for-body time 1s
    http-response set-header X-Body "%%[res.body] len=%%[res.body_len] size=%%[res.body_size]"
    server s 127.0.0.1:%d
`, be), port)
	for _, c := range [][3]string{
		{"/fast", "200", "hello len=5 size=5"},
		{"/chunk", "200", "abcde len=5 size=5"},
		{"/slow", "504", ""},
	} {
		resp, body := rulesGet(t, port, c[0])
		if fmt.Sprint(resp.StatusCode) != c[1] || c[1] == "200" && (resp.Header.Get("X-Body") != c[2] || !strings.HasPrefix(c[2], body)) {
			t.Errorf("%s: %d X-Body %q body %q, want %s %q", c[0], resp.StatusCode, resp.Header.Get("X-Body"), body, c[1], c[2])
		}
	}
}

// tcp-request content set-var-fmt, in mode tcp (%[expr] only) and in
// mode http (log-format variables too).
func TestRulesTCPContentSetVarFmt(t *testing.T) {
	a, b := sniServer(t, "a.example"), sniServer(t, "b.example")
	port, hport := freePort(t), freePort(t)
	startProxy(t, fmt.Sprintf(`
defaults
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend fe
    mode tcp
    bind 127.0.0.1:%d
    tcp-request inspect-delay 5s
    tcp-request content set-var-fmt(txn.be) "be_%%[req.ssl_sni,lower,field(1,.)]"
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend %%[var(txn.be)]
    default_backend be_a
backend be_a
    mode tcp
    server a 127.0.0.1:%d
backend be_b
    mode tcp
    server b 127.0.0.1:%d
frontend fh
    mode http
    bind 127.0.0.1:%d
    tcp-request content set-var-fmt(txn.who) "%%ci %%[path]"
    http-request return status 200 content-type text/plain lf-string "%%[var(txn.who)]"
`, port, a, b, hport), port, hport)
	for _, c := range []struct{ sni, want string }{{"B.example", "b.example"}, {"a.example", "a.example"}} {
		if body, _ := sniGet(t, port, c.sni); body != c.want {
			t.Errorf("SNI %q: %q, want %q", c.sni, body, c.want)
		}
	}
	if body, _ := rulesGetOn(t, hport, "/p"); body != "127.0.0.1 /p" {
		t.Errorf("mode http: %q", body)
	}
}

// A connection that brings no request logs no capture fields, as haproxy
// logs it (httplog and httplog clf).
func TestCapturesWithoutRequest(t *testing.T) {
	logPort, next := udpLogExact(t)
	p1, p2 := freePort(t), freePort(t)
	const caps = `
    capture request header Host len 20
    capture response header Content-Type len 20
    http-request return status 200`
	startProxy(t, logHead(logPort, "http")+fmt.Sprintf(`frontend fe1
    bind 127.0.0.1:%d
    option httplog`+caps+`
frontend fe2
    bind 127.0.0.1:%d
    option httplog clf`+caps+`
`, p1, p2), p1, p2)
	seen := map[string]bool{}
	for len(seen) < 2 {
		line := next.line(t, fmt.Sprintf("lines of connections without request, seen %v", seen))
		switch {
		case strings.Contains(line, " fe1 ") && strings.HasSuffix(line, `"<BADREQ>"`):
			seen["fe1"] = true
			if !strings.HasSuffix(line, ` 0/0 "<BADREQ>"`) {
				t.Errorf("httplog line of a connection without request: %s", line)
			}
		case strings.Contains(line, `"fe2"`) && strings.Contains(line, `"<BADREQ>"`):
			seen["fe2"] = true
			if !strings.HasSuffix(line, ` 0 0 "" "" `) {
				t.Errorf("clf line of a connection without request: %q", line)
			}
		}
	}
}

// A negated condition on a sample that may still change waits for more
// data, as haproxy's (an undecided term stays undecided under '!').
func TestTCPContentNegatedConditionWaits(t *testing.T) {
	a, b := sniServer(t, "a.example"), sniServer(t, "b.example")
	port := freePort(t)
	startProxy(t, defaultsSection("tcp", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    tcp-request inspect-delay 5s
    tcp-request content accept if !{ req.ssl_hello_type 1 }
    tcp-request content set-var(txn.host) req.ssl_sni,lower,field(1,.)
    tcp-request content accept
    use_backend be_%%[var(txn.host)]
    default_backend be_a
backend be_a
    server a 127.0.0.1:%d
backend be_b
    server b 127.0.0.1:%d
`, port, a, b), port)
	for _, c := range []struct{ sni, want string }{{"B.example", "b.example"}, {"a.example", "a.example"}} {
		if body, _ := sniGet(t, port, c.sni); body != c.want {
			t.Errorf("SNI %q: %q, want %q", c.sni, body, c.want)
		}
	}
}
