package sample

import (
	"net/netip"
	"strings"
	"testing"

	"dhproxy/internal/http1"
)

// The values are haproxy 2.6.12's for the same requests and responses,
// read through 'http-request return lf-string "%[expr]"' and
// 'http-response set-header' (binary ones through ",hex").
func TestHTTPFetchesMore(t *testing.T) {
	req1 := "GET /p/q?x=1 HTTP/1.1\r\nHost: Ex.com:80,b\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nX: 12abc, 7\r\nx: -3\r\n" +
		"Authorization: Basic dXNlcjpwYTpzcw==\r\nCookie: a=1; b=2; a=3\r\nx-tok: Bearer  zz\r\n\r\n"
	req2 := "GET /p?y HTTP/1.0\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\nAuthorization: Bearer abc.def\r\n\r\n"
	resp := "HTTP/1.1 200 OK\r\nX-N: 5x, 6\r\nx-n: -2\r\nX-IP: 10.0.0.1:80, ::1\r\nSet-Cookie: s=1; Path=/\r\n" +
		"Set-Cookie: t=2; s=9\r\ncontent-length: 2\r\nConnection: close\r\ncontent-type: text/plain\r\n\r\n"
	for _, c := range []struct {
		head, expr string
		phase      Phase
		want       string
	}{
		{req1, "base32", PhaseReq, "3774396407"},
		{req1, "base32+src,hex", PhaseReq, "E0F8B7F77F000001"},
		{req1, "baseq", PhaseReq, "Ex.com:80/p/q?x=1"},
		{req1, "url32", PhaseReq, "3760649432"},
		{req1, "url32+src,hex", PhaseReq, "E026F4D87F000001"},
		{req1, "capture.req.method", PhaseReq, "GET"},
		{req1, "capture.req.uri", PhaseReq, "/p/q?x=1"},
		{req1, "capture.req.ver", PhaseReq, "HTTP/1.1"},
		{req1, "req.fhdr_cnt", PhaseReq, "8"},
		{req1, "req.fhdr_cnt(x)", PhaseReq, "2"},
		{req1, "req.hdr_val(x)", PhaseReq, "-3"},
		{req1, "hdr_val(x,1)", PhaseReq, "12"},
		{req1, "req.hdr_val", PhaseReq, "<none>"},
		{req1, "http_auth_type", PhaseReq, "Basic"},
		{req1, "http_auth_user", PhaseReq, "user"},
		{req1, "http_auth_pass", PhaseReq, "pa:ss"},
		{req1, "http_auth_bearer", PhaseReq, "<none>"},
		{req1, "http_auth_bearer(x-tok)", PhaseReq, "zz"},
		{req1, "cookie(a)", PhaseReq, "3"},
		{req1, "cookie", PhaseReq, "1"},
		{req1, "req_ver", PhaseReq, "1.1"},
		{req1, "req.hdrs_bin,hex", PhaseReq, "04686F73740B45782E636F6D3A38302C620A757365722D6167656E740B6375726C2F372E38382E3106616363657074032A2F2A0178" +
			"0831326162632C20370178022D330D617574686F72697A6174696F6E1642617369632064584E6C636A70775954707A63773D3D06636F6F6B69650D61" +
			"3D313B20623D323B20613D3305782D746F6B0A42656172657220207A7A0000"},
		{req2, "base32", PhaseReq, "543366309"},
		{req2, "base32+src,hex", PhaseReq, "20631CA57F000001"},
		{req2, "url32", PhaseReq, "1784109017"},
		{req2, "baseq", PhaseReq, "/p?y"},
		{req2, "capture.req.ver", PhaseReq, "HTTP/1.0"},
		{req2, "req.fhdr_cnt", PhaseReq, "3"},
		{req2, "http_auth_type", PhaseReq, "Bearer"},
		{req2, "http_auth_user", PhaseReq, "<none>"},
		{req2, "http_auth_bearer", PhaseReq, "abc.def"},
		{req2, "cookie", PhaseReq, "<none>"},
		{req2, "req_ver", PhaseReq, "1.0"},
		{req2, "capture.req.method", PhaseRes, "GET"},
		{req2, "capture.req.uri", PhaseRes, "/p?y"},
		{req2, "res.fhdr_cnt", PhaseRes, "7"},
		{req2, "res.fhdr_cnt(x-n)", PhaseRes, "2"},
		{req2, "res.hdr_val(x-n)", PhaseRes, "-2"},
		{req2, "shdr_val(x-n,1)", PhaseRes, "5"},
		{req2, "res.hdr_ip(x-ip)", PhaseRes, "::1"},
		{req2, "shdr_ip(x-ip,1)", PhaseRes, "10.0.0.1"},
		{req2, "res.hdr_names", PhaseRes, "x-n,x-n,x-ip,set-cookie,set-cookie,content-length,content-type"},
		{req2, "res.hdr_names(;)", PhaseRes, "x-n;x-n;x-ip;set-cookie;set-cookie;content-length;content-type"},
		{req2, "resp_ver", PhaseRes, "1.1"},
		{req2, "capture.res.ver", PhaseRes, "HTTP/1.1"},
		{req2, "cookie(s)", PhaseRes, "1"},
		{req2, "cookie", PhaseRes, "1"},
		{req2, "hdr(x-n)", PhaseRes, "-2"},
		{req2, "hdr(x-n,1)", PhaseRes, "5x"},
		{req1, "hdr(x)", PhaseReq, "-3"},
		{req2, "res.hdrs_bin,hex", PhaseRes, "03782D6E0535782C203603782D6E022D3204782D69701031302E302E302E313A38302C203A3A310A7365742D636F6F6B69650B" +
			"733D313B20506174683D2F0A7365742D636F6F6B696508743D323B20733D390E636F6E74656E742D6C656E67746801320C636F6E74656E742D747970650A" +
			"746578742F706C61696E0000"},
		{req2, "res.hdrs", PhaseRes, "x-n: 5x, 6\r\nx-n: -2\r\nx-ip: 10.0.0.1:80, ::1\r\nset-cookie: s=1; Path=/\r\nset-cookie: t=2; s=9\r\n" +
			"content-length: 2\r\ncontent-type: text/plain\r\n\r\n"},
	} {
		f := newTxn(t, c.head)
		f.src = netip.MustParseAddrPort("127.0.0.1:40000")
		f.resp = &http1.Response{}
		if _, err := http1.ParseResponse([]byte(resp), f.resp); err != nil {
			t.Fatal(err)
		}
		got, _, ok := evalString(t, f, c.expr, c.phase)
		if !ok {
			got = "<none>"
		}
		if got != c.want {
			t.Errorf("%s (%s) = %q, want %q", c.expr, strings.SplitN(c.head, "\r\n", 2)[0], got, c.want)
		}
	}
}

// The Authorization header as haproxy 2.6.12 reads it: the first value
// of the first header, the scheme compared over its own length, Basic
// credentials that must decode and hold a colon.
func TestHTTPAuthFetches(t *testing.T) {
	for _, c := range []struct {
		authz []string
		want  string // type user pass bearer bearer(authorization)
	}{
		{[]string{"basic dXNlcjpwYTpzcw=="}, "Basic user pa:ss - -"},
		{[]string{"Digest abc", "Basic eDp5"}, "- - - - -"},
		{[]string{"BEARER   x y"}, "Bearer - - x y x y"},
		{[]string{"Basic eDp5, Basic eTp6"}, "Basic x y - -"},
		{[]string{"Basic !!!!"}, "- - - - -"},
		{[]string{"Basic eHk="}, "- - - - -"},
		{[]string{"Basic"}, "- - - - -"},
		{[]string{"bas eDp5"}, "Basic x y - -"},
		{[]string{"B abc"}, "- - - - -"}, // Basic first, which does not decode
		{[]string{"Bear x"}, "Bearer - - x -"},
		{nil, "- - - - -"},
	} {
		head := "GET / HTTP/1.1\r\nHost: a\r\n"
		for _, a := range c.authz {
			head += "Authorization: " + a + "\r\n"
		}
		f := newTxn(t, head+"\r\n")
		var got []string
		for _, e := range []string{"http_auth_type", "http_auth_user", "http_auth_pass", "http_auth_bearer", "http_auth_bearer(authorization)"} {
			s, _, ok := evalString(t, f, e, PhaseReq)
			if !ok {
				s = "-"
			}
			got = append(got, s)
		}
		if g := strings.Join(got, " "); g != c.want {
			t.Errorf("%q: %q, want %q", c.authz, g, c.want)
		}
	}
}

// hdr_val reads a value as haproxy's strl2ic does.
func TestStrl2ic(t *testing.T) {
	for in, want := range map[string]int32{"12abc": 12, "-3": -3, "abc": 0, "": 0, "1.5": 85, "+5": -45, "4294967297": 1, "-": 0} {
		if got := strl2ic([]byte(in)); got != want {
			t.Errorf("strl2ic(%q) = %d, want %d", in, got, want)
		}
	}
}

// The phases haproxy 2.6 refuses, and the fetches dhproxy cannot answer.
func TestHTTPFetchesMorePlaces(t *testing.T) {
	var c Compiler
	for _, x := range []struct {
		expr  string
		phase Phase
		err   string
	}{
		{"base32+src", PhaseRes, "cannot be used in http-response rules"},
		{"req_ver", PhaseRes, "cannot be used in http-response rules"},
		{"resp_ver", PhaseReq, "cannot be used in http-request rules"},
		{"shdr_val(x)", PhaseReq, "cannot be used in http-request rules"},
		{"res.cache_hit", PhaseRes, "not supported by dhproxy: dhproxy has no HTTP cache"},
		{"ssl_fc_session_id", PhaseReq, "not supported by dhproxy: Go's crypto/tls"},
		{"set-cookie(x)", PhaseRes, "haproxy 2.6 does not accept it either"},
	} {
		if _, err := c.Compile(x.expr, x.phase); err == nil || !strings.Contains(err.Error(), x.err) {
			t.Errorf("%s in %s: %v, want %q", x.expr, PhaseWord(x.phase), err, x.err)
		}
	}
	for _, ok := range []struct {
		expr  string
		phase Phase
	}{{"cookie(a)", PhaseRes}, {"capture.req.uri", PhaseRes}, {"capture.req.ver", PhaseRes}, {"ssl_fc_npn", PhaseReq}} {
		if _, err := c.Compile(ok.expr, ok.phase); err != nil {
			t.Errorf("%s in %s: %v", ok.expr, PhaseWord(ok.phase), err)
		}
	}
}

// urlp_val, req_proto_http and hdr_cnt without a name, as haproxy 2.6.12
// answers them.
func TestURLPValAndCounts(t *testing.T) {
	for _, c := range []struct{ head, expr, want string }{
		{"GET /?a=12x&b=-4;c HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nAccept: */*\r\nX: 1,2\r\nY: 3\r\nConnection: close\r\n\r\n", "urlp_val(a)", "12"},
		{"GET /?a=12x&b=-4;c HTTP/1.1\r\nHost: h\r\n\r\n", "urlp_val(b)", "-4"},
		{"GET /?a=1.5&b= HTTP/1.1\r\nHost: h\r\n\r\n", "urlp_val(a)", "85"},
		{"GET /?a=1.5&b= HTTP/1.1\r\nHost: h\r\n\r\n", "urlp_val(b)", "0"},
		{"GET /?a=1 HTTP/1.1\r\nHost: h\r\n\r\n", "urlp_val(z)", "<none>"},
		{"GET / HTTP/1.1\r\nHost: h\r\n\r\n", "req_proto_http", "1"},
		{"GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nAccept: */*\r\nX: 1,2\r\nY: 3\r\nConnection: close\r\n\r\n", "req.hdr_cnt", "6"},
		{"GET / HTTP/1.1\r\nHost: h\r\nUser-Agent: u\r\nAccept: */*\r\n\r\n", "hdr_cnt", "3"},
		{"GET / HTTP/1.1\r\nHost: h\r\nX: 1,2\r\n\r\n", "hdr_cnt(x)", "2"},
	} {
		got, _, ok := evalString(t, newTxn(t, c.head), c.expr, PhaseReq)
		if !ok {
			got = "<none>"
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
}

// Cookie and Set-Cookie headers are lists for haproxy 2.6.12: a comma
// (outside quotes) ends a cookie as a semicolon does, and starts a new
// Set-Cookie; a pair without '=' is no cookie.
func TestCookieCommas(t *testing.T) {
	f := newTxn(t, "GET / HTTP/1.1\r\nHost: h\r\nCookie: a; b=1, c\r\n\r\n")
	f.resp = &http1.Response{}
	if _, err := http1.ParseResponse([]byte("HTTP/1.1 200 OK\r\nSet-Cookie: s=1; Path=/; Expires=Wed, 21 Oct 2015 07:28:00 GMT\r\n"+
		"Set-Cookie: t=2, s=9\r\nSet-Cookie: q=\"a,b\"; x=1\r\n\r\n"), f.resp); err != nil {
		t.Fatal(err)
	}
	g := newTxn(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	g.resp = &http1.Response{}
	if _, err := http1.ParseResponse([]byte("HTTP/1.1 200 OK\r\nSet-Cookie: a; b=1, c\r\nSet-Cookie: d=4\r\n\r\n"), g.resp); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		f     *fakeTxn
		expr  string
		phase Phase
		want  string
	}{
		{f, "req.cook_cnt", PhaseReq, "1"},
		{f, "req.cook", PhaseReq, "1"},
		{f, "req.cook(b)", PhaseReq, "1"},
		{f, "req.cook(a)", PhaseReq, "<none>"},
		{f, "res.cook(s)", PhaseRes, "9"},
		{f, "res.cook", PhaseRes, "1"},
		{f, "res.cook_cnt(s)", PhaseRes, "2"},
		{f, "res.cook_cnt", PhaseRes, "7"},
		{f, "res.cook_val(s)", PhaseRes, "9"},
		{f, "res.cook(Wed)", PhaseRes, "<none>"},
		{f, "cookie(s)", PhaseRes, "9"},
		{f, "res.cook(q)", PhaseRes, "\"a,b\""},
		{g, "res.cook_cnt", PhaseRes, "2"},
		{g, "res.cook", PhaseRes, "1"},
	} {
		got, _, ok := evalString(t, c.f, c.expr, c.phase)
		if !ok {
			got = "<none>"
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
}

// A fetch said to be absent is not registered too.
func TestAbsentFetchesAreAbsent(t *testing.T) {
	for n := range absentFetches {
		if LookupFetch(n) != nil {
			t.Errorf("%s is registered and listed as absent", n)
		}
	}
}
