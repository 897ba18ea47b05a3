package e2e

import (
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestLogFormat: a log-format line with HAProxy's %-variables, flags and
// %[expr] (request headers reach the line through variables: haproxy
// refuses header fetches there) reads the same from dhproxy and haproxy 2.6, field by field, the
// time-dependent ones masked. Lines arrive over UDP syslog (format raw).
func TestLogFormat(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	logPort, next := udpLogExact(t)
	const format = `%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r ` +
		`%HM %HU %HP %HPO %HQ %HV %f %fi:%fp %{+Q}[var(txn.host)] %[method,lower]:%[status] %{+X}ci:%{+X}cp %{+Q}b %ts %U %Tt %ms %{+Q}ID x%%y %[var(txn.nothing)] %{+E}[var(txn.esc)]`
	startProxy(t, logHead(logPort, "http")+fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    log-format "%s"
    http-request set-var(txn.host) req.hdr(host)
    http-request set-var(txn.esc) req.hdr(x-esc)
    http-request deny if { path /deny }
    default_backend be
backend be
    server s 127.0.0.1:%d
`, port, strings.ReplaceAll(format, `"`, `\"`), be), port)
	c, br := h1Dial(t, port)
	cport := c.LocalAddr().(*net.TCPAddr).Port
	for _, req := range []string{
		"GET /a/b?x=1&y=2 HTTP/1.1\r\nHost: h.example\r\nX-Esc: a\"b]c\r\n\r\n",
		"GET http://h.example/abs/p?q HTTP/1.1\r\nHost: h.example\r\n\r\n",
		"GET /deny HTTP/1.1\r\nHost: h.example\r\n\r\n",
	} {
		h1Write(t, c, req)
		h1ReadResp(t, br, "GET")
	}
	c.Close()
	cp := strconv.Itoa(cport)
	hexPort := fmt.Sprintf("%04X", cport)
	// The harness's readiness probe comes first: a connection without
	// a request.
	want := []string{
		`127.0.0.1:P [DATE] fe fe/<NOSRV> -1/-1/-1/-1/0 400 0 - - CR-- 1/1/0/0/0 0/0 "<BADREQ>" <BADREQ> <BADREQ> <BADREQ> <BADREQ> <BADREQ> <BADREQ> fe 127.0.0.1:` + strconv.Itoa(port) +
			` "" -:- 7F000001:HEX "fe" CR 0 T MS "" x%y - -`,
		`127.0.0.1:` + cp + ` [DATE] fe be/s T/0/T/T/T 200 B - - ---- 1/1/0/0/0 0/0 "GET /a/b?x=1&y=2 HTTP/1.1" GET /a/b?x=1&y=2 /a/b /a/b ?x=1&y=2 HTTP/1.1 fe 127.0.0.1:` + strconv.Itoa(port) +
			` "h.example" get:- 7F000001:` + hexPort + ` "be" -- U T MS "" x%y - a\"b\]c`,
		`127.0.0.1:` + cp + ` [DATE] fe be/s T/0/T/T/T 200 B - - ---- 1/1/0/0/0 0/0 "GET http://h.example/abs/p?q HTTP/1.1" GET http://h.example/abs/p?q http://h.example/abs/p /abs/p ?q HTTP/1.1 fe 127.0.0.1:` + strconv.Itoa(port) +
			` "h.example" get:- 7F000001:` + hexPort + ` "be" -- U T MS "" x%y - -`,
		`127.0.0.1:` + cp + ` [DATE] fe fe/<NOSRV> T/-1/-1/-1/T 403 B - - PR-- 1/1/0/0/0 0/0 "GET /deny HTTP/1.1" GET /deny /deny /deny  HTTP/1.1 fe 127.0.0.1:` + strconv.Itoa(port) +
			` "h.example" get:- 7F000001:` + hexPort + ` "fe" PR U T MS "" x%y - -`,
	}
	mask := []struct {
		re   *regexp.Regexp
		with string
	}{
		{regexp.MustCompile(`\[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d\.\d{3}\]`), "[DATE]"},
		{regexp.MustCompile(` \d+/0/\d+/\d+/\d+ 200 \d+ `), " T/0/T/T/T 200 B "},
		{regexp.MustCompile(` \d+/-1/-1/-1/\d+ 403 \d+ `), " T/-1/-1/-1/T 403 B "},
		{regexp.MustCompile(` (--|PR) \d+ \d+ \d{3} "" `), " $1 U T MS \"\" "},
		{regexp.MustCompile(` CR 0 \d+ \d{3} "" `), " CR 0 T MS \"\" "},
	}
	var lines []string
	for i := range want {
		lines = append(lines, next.line(t, fmt.Sprintf("log line %d", i+1)))
	}
	// The probe is logged when the proxy sees it close, which may be after
	// the first request: compare it first wherever it came.
	for i, l := range lines {
		if strings.Contains(l, `"<BADREQ>"`) {
			lines = append([]string{l}, append(lines[:i:i], lines[i+1:]...)...)
			break
		}
	}
	for i, w := range want {
		line := lines[i]
		got := line
		if i == 0 {
			got = regexp.MustCompile(`^127\.0\.0\.1:\d+ `).ReplaceAllString(got, "127.0.0.1:P ")
			got = regexp.MustCompile(`7F000001:[0-9A-F]{4} `).ReplaceAllString(got, "7F000001:HEX ")
		}
		// the probe may still be open when the test's client connects
		got = regexp.MustCompile(` (CR--|----) [12]/[12]/0/0/0 `).ReplaceAllString(got, " $1 1/1/0/0/0 ")
		for _, m := range mask {
			got = m.re.ReplaceAllString(got, m.with)
		}
		if got != w {
			t.Errorf("log line %d:\n line %s\n  got %s\n want %s", i+1, line, got, w)
		}
	}
}

// TestUniqueID: unique-id-format (HAProxy's documented example) gives each
// request an id, sent to the server in unique-id-header, readable with the
// unique-id fetch and logged as %ID.
func TestUniqueID(t *testing.T) {
	be := rulesBackend(t, "app")
	port := freePort(t)
	logPort, next := udpLogExact(t)
	startProxy(t, logHead(logPort, "http", "option dontlognull")+fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    unique-id-format %%{+X}o\ %%ci:%%cp_%%fi:%%fp_%%Ts_%%rt:%%pid
    unique-id-header X-Unique-ID
    log-format "id=%%ID %%{+Q}ID"
    http-response set-header X-Id %%[unique-id]
    default_backend be
backend be
    server s 127.0.0.1:%d
`, port, be), port)
	c, br := h1Dial(t, port)
	cp := fmt.Sprintf("%04X", c.LocalAddr().(*net.TCPAddr).Port)
	fp := fmt.Sprintf("%04X", port)
	shape := regexp.MustCompile(`^7F000001:` + cp + `_7F000001:` + fp + `_[0-9A-F]{8}_[0-9A-F]{4}:[0-9A-F]{4}$`)
	var ids []string
	for i := 0; i < 2; i++ {
		h1Write(t, c, "GET /u HTTP/1.1\r\nHost: h.example\r\n\r\n")
		resp, body := h1ReadResp(t, br, "GET")
		id := resp.Header.Get("X-Id")
		if !shape.MatchString(id) {
			t.Fatalf("unique id %q does not have the format's shape", id)
		}
		if !strings.Contains(body, "x-unique-id: "+id+"\n") {
			t.Errorf("the server did not receive X-Unique-ID %s:\n%s", id, body)
		}
		ids = append(ids, id)
	}
	if ids[0] == ids[1] {
		t.Errorf("two requests got the same id %s", ids[0])
	}
	for _, id := range ids {
		if got, want := next.line(t, "id="+id), "id="+id+` "`+id+`"`; got != want {
			t.Errorf("log line %q, want %q", got, want)
		}
	}
}

// TestCaptures: header captures, declared slots and capture rules appear
// in httplog's {..} fields, in %hrl/%hsl and through capture.req.hdr, as
// haproxy 2.6 writes them.
func TestCaptures(t *testing.T) {
	be := rulesBackend(t, "app")
	port, port2 := freePort(t), freePort(t)
	logPort, next := udpLogExact(t)
	const caps = `
    capture request header Host len 20
    capture request header User-Agent len 5
    declare capture request len 8
    http-request capture path len 4
    http-request capture req.hdr(x-a) id 2
    capture response header Content-Type len 30
    declare capture response len 10
    http-response capture res.hdr(x-backend) id 1
    default_backend be`
	startProxy(t, logHead(logPort, "http", "option dontlognull")+fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    option httplog`+caps+`
frontend fe2
    bind 127.0.0.1:%d
    log-format "%%ft %%hr %%hs %%hrl %%hsl %%{+Q}hrl %%[capture.req.hdr(3)] %%[capture.res.hdr(1)]"`+caps+`
backend be
    server s 127.0.0.1:%d
`, port, port2, be), port, port2)
	for _, p := range []int{port, port2} {
		c, br := h1Dial(t, p)
		h1Write(t, c, "GET /path/long HTTP/1.1\r\nHost: h.example\r\nUser-Agent: curl/8\r\nX-A: a|b{c}#\r\n\r\n")
		h1ReadResp(t, br, "GET")
		c.Close()
	}
	want := map[string]string{
		"fe":  `{h.example|curl/|a#7Cb#7Bc#7D#23|/pat} {text/plain|app} "GET /path/long HTTP/1.1"`,
		"fe2": `fe2 {h.example|curl/|a#7Cb#7Bc#7D#23|/pat} {text/plain|app} h.example curl/ a#7Cb#7Bc#7D#23 /pat text/plain app "h.example" "curl/" "a#7Cb#7Bc#7D#23" "/pat" /pat app`,
	}
	for range want {
		line := next.line(t, "a capture line")
		if strings.HasPrefix(line, "fe2 ") {
			if line != want["fe2"] {
				t.Errorf("log-format line:\n got %s\nwant %s", line, want["fe2"])
			}
			continue
		}
		if !strings.HasSuffix(line, " "+want["fe"]) {
			t.Errorf("httplog line:\n got %s\nwant it to end with %s", line, want["fe"])
		}
	}
}
