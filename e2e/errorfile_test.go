package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Error pages: errorfile, errorloc302, http-errors sections with
// errorfiles, http-error. Passes against haproxy 2.6 too (DHPROXY_BIN).

// rawExchange sends reqs on one connection and returns every byte the
// proxy wrote, then "<EOF>" when it closed the connection or "<open>"
// when it kept it open (nothing more for 300 ms).
func rawExchange(t *testing.T, port int, reqs ...string) string {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, r := range reqs {
		if _, err := c.Write([]byte(r)); err != nil {
			t.Fatal(err)
		}
	}
	var out []byte
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			return string(out) + "<open>"
		}
		if err != nil {
			return string(out) + "<EOF>"
		}
	}
}

func get(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n" }

func TestErrorFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fe403 := write("403.http", "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 8\r\nConnection: keep-alive\r\nX-Page: Custom\r\n\r\nno way!\n")
	gone410 := write("410.http", "HTTP/1.1 410 Gone\r\nContent-Length: 5\r\nConnection: close\r\n\r\ngone\n")
	old500 := write("500.http", "HTTP/1.0 500 Oops\r\nContent-Length: 4\r\n\r\nold\n")
	mon200 := write("200.http", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-Mon: 1\r\n\r\nup\n")
	down503 := write("503.http", "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/html\r\nCache-Control: no-cache\r\n\r\n<p>down</p>\n")
	sect503 := write("s503.http", "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nbusy!\n")
	port := freePort(t)
	p := startProxy(t, fmt.Sprintf(`
global
    log stdout format raw local0
defaults
    mode http
    log global
    option httplog
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    errorfile 503 %s
http-errors site
    errorfile 503 %s
frontend fe
    bind 127.0.0.1:%d
    errorfile 403 %s
    errorfile 410 %s
    errorfile 200 %s
    errorfile 500 %s
    monitor-uri /health
    errorloc302 429 http://example.com/slow?x=1
    http-error status 404 content-type text/plain string "not here"
    http-request deny if { path /deny }
    http-request deny deny_status 429 if { path /slow }
    http-request deny deny_status 410 if { path /gone }
    http-request deny deny_status 500 if { path /old }
    http-request return status 404 default-errorfiles if { path /nf }
    use_backend be_site if { path_beg /site }
    default_backend be_down
backend be_down
    server s 127.0.0.1:1 disabled
backend be_site
    errorfiles site
    server s 127.0.0.1:1 disabled
`, down503, sect503, port, fe403, gone410, mon200, old500), port)
	for _, c := range []struct {
		name string
		reqs []string
		want string
	}{
		{"frontend errorfile on deny, connection kept", []string{get("/deny"), get("/deny")},
			"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 8\r\nx-page: Custom\r\n\r\nno way!\n" +
				"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 8\r\nx-page: Custom\r\n\r\nno way!\n<open>"},
		{"an errorfile saying connection: close closes", []string{get("/gone"), get("/gone")},
			"HTTP/1.1 410 Gone\r\ncontent-length: 5\r\nconnection: close\r\n\r\ngone\n<EOF>"},
		{"an HTTP/1.0 errorfile with a length keeps the connection", []string{get("/old"), get("/old")},
			"HTTP/1.0 500 Oops\r\ncontent-length: 4\r\nconnection: keep-alive\r\n\r\nold\n" +
				"HTTP/1.0 500 Oops\r\ncontent-length: 4\r\nconnection: keep-alive\r\n\r\nold\n<open>"},
		{"monitor-uri answers errorfile 200", []string{get("/health")},
			"HTTP/1.1 200 OK\r\ncontent-length: 3\r\nx-mon: 1\r\n\r\nup\n<open>"},
		{"HEAD: the errorfile without its body", []string{"HEAD /deny HTTP/1.1\r\nHost: h\r\n\r\n"},
			"HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 8\r\nx-page: Custom\r\n\r\n<open>"},
		{"errorloc302 on deny_status", []string{get("/slow")},
			"HTTP/1.1 302 Found\r\ncache-control: no-cache\r\ncontent-length: 0\r\nlocation: http://example.com/slow?x=1\r\n\r\n<open>"},
		{"http-error on return default-errorfiles", []string{get("/nf")},
			"HTTP/1.1 404 Not Found\r\ncontent-length: 8\r\ncontent-type: text/plain\r\n\r\nnot here<open>"},
		{"errorfile 503 without content-length: no server up", []string{get("/x")},
			"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/html\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n<p>down</p>\n<EOF>"},
		{"the backend's errorfiles win, connection kept", []string{get("/site"), get("/site/2")},
			"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 6\r\n\r\nbusy!\n" +
				"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\ncontent-length: 6\r\n\r\nbusy!\n<open>"},
	} {
		if got := rawExchange(t, port, c.reqs...); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	// logged with haproxy's status and sizes (an errorfile's dropped
	// Connection field counts, an errorloc logs the error's status)
	for _, re := range []string{
		` fe fe/<NOSRV> \d+/-1/-1/-1/\d+ 403 118 - - PR-- .* "GET /deny HTTP/1.1"`,
		` fe fe/<NOSRV> \d+/-1/-1/-1/\d+ 410 71 - - PR-- .* "GET /gone HTTP/1.1"`,
		` fe fe/<NOSRV> \d+/-1/-1/-1/\d+ 403 110 - - PR-- .* "HEAD /deny HTTP/1.1"`,
		` fe fe/<NOSRV> \d+/-1/-1/-1/\d+ 429 108 - - PR-- .* "GET /slow HTTP/1.1"`,
		` fe fe/<NOSRV> \d+/-1/-1/-1/\d+ 404 86 - - LR-- .* "GET /nf HTTP/1.1"`,
		` fe be_down/<NOSRV> \d+/-1/-1/-1/\d+ 503 105 - - SC-- .* "GET /x HTTP/1.1"`,
		` fe be_site/<NOSRV> \d+/-1/-1/-1/\d+ 503 94 - - SC-- .* "GET /site HTTP/1.1"`,
	} {
		waitLog(t, p, re)
	}
}

func TestErrorFileChecks(t *testing.T) {
	dir := t.TempDir()
	chunked := filepath.Join(dir, "chunked.http")
	os.WriteFile(chunked, []byte("HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"), 0o644)
	short := filepath.Join(dir, "short.http")
	os.WriteFile(short, []byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 10\r\n\r\nshort"), 0o644)
	for _, c := range []struct{ line, want string }{
		{"errorfile 418 " + short, "status code '418' not handled"},
		{"errorfile 503 " + chunked, "chunk-encoded payload not supported"},
		{"errorfile 503 " + short, "payload size does not match the announced content-length (5 != 10)"},
		{"errorfile 503 " + filepath.Join(dir, "none.http"), "error opening file"},
		{"errorloc 499 /x", "status code '499' not handled"},
		{"http-error status 404 string x", "a content type must be defined when non-empty payload is configured"},
	} {
		_, stderr, code := runCheck(t, "defaults\n    mode http\n    timeout connect 1s\n    timeout client 1s\n    timeout server 1s\nfrontend fe\n    bind 127.0.0.1:1\n    "+c.line+"\n")
		if code == 0 || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, ":8]") {
			t.Errorf("%s: exit %d, stderr %q; want an error at line 8 with %q", c.line, code, stderr, c.want)
		}
	}
}

// http-response deny, return and redirect replace the server's response;
// http-after-response rules run on every response, the proxy's own too.
func TestResponseRepliesAndAfterResponse(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	sock := filepath.Join(t.TempDir(), "stats.sock")
	logs := "global\n    log stdout format raw local0\n    stats socket " + sock + " level admin\n" + strings.Replace(rulesDefaults(port), "    mode http\n", "    mode http\n    log global\n    option httplog\n", 1)
	p := startProxy(t, logs+fmt.Sprintf(`
    http-request set-var(txn.p) path
    http-request deny if { path /reqdeny }
    http-response deny if { var(txn.p) -m str /deny }
    http-response deny deny_status 403 if { var(txn.p) -m str /deny403 }
    http-response return status 201 content-type text/plain string "replaced" if { var(txn.p) -m str /ret }
    http-response redirect location /elsewhere code 302 if { var(txn.p) -m str /redir }
    http-after-response set-header X-After "%%[status]"
    http-after-response add-header X-Add a
    http-after-response del-header X-Internal
    http-after-response set-status 299 if { var(txn.p) -m str /ss }
    use_backend down if { path /down }
    default_backend be
backend down
    http-after-response set-header X-Down yes
    server s 127.0.0.1:1 disabled
backend be
    http-after-response replace-header X-Backend (.*) be-\1
    server s 127.0.0.1:%d
`, be), port)
	const page502 = "<html><body><h1>502 Bad Gateway</h1>\nThe server returned an invalid or incomplete response.\n</body></html>\n"
	const page403 = "<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n"
	for _, c := range []struct {
		name string
		reqs []string
		want string
	}{
		{"deny: 502, connection kept", []string{get("/deny"), get("/deny")},
			"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nx-after: 502\r\nx-add: a\r\n\r\n" + page502 +
				"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nx-after: 502\r\nx-add: a\r\n\r\n" + page502 + "<open>"},
		{"deny_status 403", []string{get("/deny403")},
			"HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nx-after: 403\r\nx-add: a\r\n\r\n" + page403 + "<open>"},
		{"return", []string{get("/ret")},
			"HTTP/1.1 201 Created\r\ncontent-length: 8\r\ncontent-type: text/plain\r\nx-after: 201\r\nx-add: a\r\n\r\nreplaced<open>"},
		{"redirect", []string{get("/redir")},
			"HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /elsewhere\r\ncache-control: no-cache\r\nx-after: 302\r\nx-add: a\r\n\r\n<open>"},
		{"no server: the backend's rules, then the frontend's", []string{get("/down")},
			"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 107\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nx-down: yes\r\nx-after: 503\r\nx-add: a\r\n\r\n<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n<open>"},
		{"a request that cannot be parsed: the raw page, no rule", []string{"GET / HTTP/1.1\r\nHost: h\r\nBad Header\r\n\r\n"},
			"HTTP/1.1 400 Bad request\r\nContent-length: 90\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Type: text/html\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n<EOF>"},
		{"http-request deny: after-response rules of the frontend", []string{get("/reqdeny")},
			"HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nx-after: 403\r\nx-add: a\r\n\r\n" + page403 + "<open>"},
	} {
		if got := rawExchange(t, port, c.reqs...); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
	// logged as haproxy logs them: no response time, the server's
	// response and the reply counted, PH for deny, LH for the others
	for _, re := range []string{
		` fe be/s \d+/\d+/\d+/-1/\d+ 502 369 - - PH-- .* "GET /deny HTTP/1.1"`,
		` fe be/s \d+/\d+/\d+/-1/\d+ 201 243 - - LH-- .* "GET /ret HTTP/1.1"`,
		` fe be/s \d+/\d+/\d+/-1/\d+ 302 252 - - LH-- .* "GET /redir HTTP/1.1"`,
		` fe down/<NOSRV> \d+/-1/-1/-1/\d+ 503 242 - - SC-- .* "GET /down HTTP/1.1"`,
	} {
		waitLog(t, p, re)
	}
	// denied responses are counted on the frontend, backend and server
	stat := cliCmd(t, sock, "show stat")
	cols := strings.Split(strings.TrimPrefix(strings.SplitN(stat, "\n", 2)[0], "# "), ",")
	for _, line := range strings.Split(stat, "\n") {
		vals := strings.Split(line, ",")
		if len(vals) < 2 || !map[string]bool{"fe,FRONTEND": true, "be,BACKEND": true, "be,s": true}[vals[0]+","+vals[1]] {
			continue
		}
		for i, c := range cols {
			if want := map[string]string{"dresp": "3"}[c]; want != "" && vals[i] != want {
				t.Errorf("%s/%s %s = %s, want %s", vals[0], vals[1], c, vals[i], want)
			}
		}
	}
	// a server's response: backend rules, then the frontend's
	resp, _ := rulesGet(t, port, "/ss")
	if resp.StatusCode != 299 || resp.Header.Get("X-After") != "200" || resp.Header.Get("X-Add") != "a" ||
		resp.Header.Get("X-Internal") != "" || resp.Header.Get("X-Backend") != "be-app" {
		t.Errorf("server response: %d %v", resp.StatusCode, resp.Header)
	}
}

// waitLog waits for a line of p's standard output matching re.
func waitLog(t *testing.T, p *proc, re string) {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for !rx.MatchString(p.Stdout()) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line matching %s; stdout:\n%s", re, p.Stdout())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
