package check

import (
	"testing"

	"dhproxy/internal/model"
)

// Requests as haproxy 2.6 sends them for the same "option httpchk" lines
// (captured from a raw listener).
func TestHTTPChkRequest(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{nil, "OPTIONS / HTTP/1.0\r\n\r\n"},
		{[]string{"/z"}, "OPTIONS /z HTTP/1.0\r\n\r\n"},
		{[]string{"HEAD", "/w"}, "HEAD /w HTTP/1.0\r\n\r\n"},
		{[]string{"GET", "/x", "HTTP/1.1"}, "GET /x HTTP/1.1\r\nconnection: close\r\n\r\n"},
		{[]string{"GET", "/z", "HTTP/1.0\r\nHost: h"}, "GET /z HTTP/1.0\r\nhost: h\r\n\r\n"},
		{[]string{"GET", "/y", "HTTP/1.1\r\nHost: www.example.com"}, "GET /y HTTP/1.1\r\nhost: www.example.com\r\nconnection: close\r\n\r\n"},
		{[]string{"POST", "/y", "HTTP/1.1\r\nHost: www.example.com\r\nX-Foo: Bar\r\n\r\nhello"},
			"POST /y HTTP/1.1\r\nhost: www.example.com\r\nx-foo: Bar\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello"},
	}
	for _, c := range cases {
		if got := string(httpRequest(httpSendFromOption(c.args), "")); got != c.want {
			t.Errorf("%q:\ngot  %q\nwant %q", c.args, got, c.want)
		}
	}
}

func TestCompile(t *testing.T) {
	if rs := compile(nil, false); len(rs.rules) != 1 || rs.rules[0].kind != ruleConnect {
		t.Errorf("default check: %+v", rs.rules)
	}
	be := &model.Proxy{Options: map[string]bool{"httpchk": false}}
	if rs := compile(be, false); len(rs.rules) != 1 {
		t.Errorf("no option httpchk: %+v", rs.rules)
	}
	be.Options["httpchk"] = true
	if rs := compile(be, false); len(rs.rules) != 3 || rs.rules[2].kind != ruleExpectHTTPRule {
		t.Errorf("option httpchk: %+v", rs.rules)
	}
}

func TestParseResponseHead(t *testing.T) {
	cases := []struct {
		in     string
		st     headState
		code   int
		reason string
	}{
		{"HTTP/1.1 200 OK\r\n\r\n", headComplete, 200, "OK"},
		{"HTTP/1.0 404 Not Found\r\nServer: x\r\n\r\nbody", headComplete, 404, "Not Found"},
		{"HTTP/1.1 503\r\n\r\n", headComplete, 503, ""},
		{"HTTP/1.1 200 OK\nA: b\n\n", headComplete, 200, "OK"},
		{"HTTP/1.1 200 OK\r\nContent-Le", headIncomplete, 0, ""},
		{"HTT", headIncomplete, 0, ""},
		{"", headIncomplete, 0, ""},
		{"garbage", headInvalid, 0, ""},
		{"HTTP/1.1 2000 OK\r\n\r\n", headInvalid, 0, ""},
		{"HTTP/1.1 abc OK\r\n\r\n", headInvalid, 0, ""},
		{"HTTP/1.1 099 x\r\n\r\n", headInvalid, 0, ""},
		{"HTTP/1.1 200 OK\r\nno colon\r\n\r\n", headInvalid, 0, ""},
		{"HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n", headInvalid, 0, ""},
		{"ICY 200 OK\r\n\r\n", headInvalid, 0, ""},
	}
	for _, c := range cases {
		h, used, st := parseResponseHead([]byte(c.in))
		if st != c.st || (st == headComplete && (h.code != c.code || h.reason != c.reason)) {
			t.Errorf("%q: state %d code %d reason %q, want %d %d %q", c.in, st, h.code, h.reason, c.st, c.code, c.reason)
		}
		if st == headComplete && (used <= 0 || used > len(c.in)) {
			t.Errorf("%q: used %d", c.in, used)
		}
	}
}

func FuzzParseResponseHead(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.0 500 Internal Server Error\r\nA: b\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 200 OK\nX:\n\n",
		"garbage\r\n\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		h, used, st := parseResponseHead(b)
		switch st {
		case headComplete:
			if used <= 0 || used > len(b) || h.code < 100 || h.code > 999 {
				t.Fatalf("complete head with used=%d code=%d", used, h.code)
			}
		case headIncomplete, headInvalid:
			if used != 0 {
				t.Fatalf("state %d with used=%d", st, used)
			}
		default:
			t.Fatalf("state %d", st)
		}
	})
}
