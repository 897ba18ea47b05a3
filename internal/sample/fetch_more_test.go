package sample

import (
	"strings"
	"testing"

	"dhproxy/internal/http1"
)

// The values were compared with haproxy 2.6.12 through
// 'http-request return lf-string "%[expr]"' (req.hdrs by its length: the
// log-format layer prints CR LF as %0D%0A), the response ones through
// http-response set-header.
func TestMoreFetches(t *testing.T) {
	head := "GET /x HTTP/1.1\r\nHost: www.example.com:8080\r\nX-IP: 10.1.2.3\r\nCookie: a=1; b=2; a=3\r\n" +
		"cookie: b=7x\r\nX-Ip6: ::ffff:1.2.3.4\r\nX-Port: 10.0.0.9:80, bad, ::1\r\nConnection: close\r\n\r\n"
	f := newTxn(t, head)
	f.resp = &http1.Response{}
	if _, err := http1.ParseResponse([]byte("HTTP/1.1 200 OK\r\nSet-Cookie: sid=42; Path=/; a=9\r\nSet-Cookie: lang=fr\r\nset-cookie: sid=43x\r\n\r\n"), f.resp); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		expr  string
		phase Phase
		want  string
	}{
		{"req.cook_cnt(a)", PhaseReq, "2"},
		{"req.cook_cnt", PhaseReq, "4"},
		{"cook_cnt(b)", PhaseReq, "2"},
		{"req.cook_cnt(zz)", PhaseReq, "0"},
		{"req.cook_val(a)", PhaseReq, "3"},
		{"cook_val(b)", PhaseReq, "7"},
		{"req.cook_val(zz)", PhaseReq, "<none>"},
		{"req.hdrs", PhaseReq, "host: www.example.com:8080\r\nx-ip: 10.1.2.3\r\ncookie: a=1; b=2; a=3\r\ncookie: b=7x\r\nx-ip6: ::ffff:1.2.3.4\r\nx-port: 10.0.0.9:80, bad, ::1\r\n\r\n"},
		{"req.hdr_names", PhaseReq, "host,x-ip,cookie,cookie,x-ip6,x-port"},
		{"req.hdr_names(;)", PhaseReq, "host;x-ip;cookie;cookie;x-ip6;x-port"},
		{"hdr_ip(x-ip)", PhaseReq, "10.1.2.3"},
		{"req.hdr_ip(x-ip6)", PhaseReq, "::ffff:1.2.3.4"},
		{"hdr_ip(x-port,1)", PhaseReq, "10.0.0.9"},
		{"hdr_ip(x-port,2)", PhaseReq, "<none>"},
		{"hdr_ip(x-port)", PhaseReq, "::1"},
		{"url_ip", PhaseReq, "<none>"}, // no absolute URI
		{"url_port", PhaseReq, "<none>"},
		{"res.cook(sid)", PhaseRes, "43x"},
		{"scook(lang)", PhaseRes, "fr"},
		{"res.cook(a)", PhaseRes, "<none>"}, // an attribute, not a cookie
		{"res.cook_cnt(sid)", PhaseRes, "2"},
		{"scook_cnt", PhaseRes, "5"}, // haproxy counts the attributes too without a name
		{"res.cook", PhaseRes, "42"}, // and answers the first cookie
		{"scook(lang)", PhaseRes, "fr"},
		{"res.cook_val(sid)", PhaseRes, "43"},
		{"scook_val(none)", PhaseRes, "<none>"},
	} {
		got, _, ok := evalString(t, f, c.expr, c.phase)
		if !ok {
			got = "<none>"
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	for _, c := range []struct{ uri, host, ip, port string }{
		{"http://10.9.8.7:81/x", "10.9.8.7:81", "10.9.8.7", "81"},
		{"http://10.9.8.7/x", "10.9.8.7", "10.9.8.7", "80"},
		{"http://a.b:82/", "a.b:82", "<none>", "<none>"}, // haproxy reads only addresses
		{"http://[::1]:82/", "[::1]:82", "<none>", "<none>"},
	} {
		g := newTxn(t, "GET "+c.uri+" HTTP/1.1\r\nHost: "+c.host+"\r\n\r\n")
		for expr, want := range map[string]string{"url_ip": c.ip, "url_port": c.port} {
			got, _, ok := evalString(t, g, expr, PhaseReq)
			if !ok {
				got = "<none>"
			}
			if got != want {
				t.Errorf("%s: %s = %q, want %q", c.uri, expr, got, want)
			}
		}
	}
	// an ACL sees every Set-Cookie value of that name
	var comp Compiler
	e, err := comp.Compile("res.cook(sid)", PhaseRes)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var it Iter
	var v Value
	for e.Next(f, &it, &v) {
		got = append(got, string(v.Bytes))
	}
	if strings.Join(got, "|") != "42|43x" {
		t.Errorf("res.cook(sid) iterates %q", got)
	}
}

// The state fetches ask the stream (here the fake's table) with the
// parsed backend and server names.
func TestStateFetches(t *testing.T) {
	f := newTxn(t, testHead)
	for expr, want := range map[string]string{
		"fe_id":                "1",
		"be_id":                "3",
		"be_conn":              "2",
		"be_conn(be_app)":      "2",
		"be_conn(nope)":        "<none>",
		"queue(be_app)":        "0",
		"avg_queue":            "0",
		"connslots(be_app)":    "-1",
		"srv_is_up(be_app/s1)": "1",
		"srv_is_up(s2)":        "0",
		"srv_is_up(be_app/s9)": "<none>",
		"srv_conn(be_app/s1)":  "2",
		"srv_queue(s1)":        "0",
		"srv_is_up(nope/s1)":   "<none>",
		"http_first_req":       "1",
		"stopping":             "0",
		"so_id":                "7",
		"so_name":              "web",
		"be_sess_rate":         "5",
		"be_sess_rate(be_app)": "5",
		"be_sess_rate(nope)":   "<none>",
	} {
		got, _, ok := evalString(t, f, expr, PhaseReq)
		if !ok {
			got = "<none>"
		}
		if got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
	for expr, want := range map[string]string{"srv_name": "s1", "srv_id": "7"} {
		if got, _, _ := evalString(t, f, expr, PhaseRes); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
	var c Compiler
	if _, err := c.Compile("srv_name", PhaseReq); err == nil || !strings.Contains(err.Error(), "needs the server that answered") {
		t.Errorf("srv_name in a request rule: %v", err)
	}
	if _, err := c.Compile("srv_is_up(be/)", PhaseReq); err == nil || !strings.Contains(err.Error(), "expects [<backend>/]<server>") {
		t.Errorf("srv_is_up(be/): %v", err)
	}
}

// Constant fetches are parsed once at load time: a bad constant is a
// configuration error, as in haproxy 2.6 (compared with haproxy -c).
func TestConstantFetches(t *testing.T) {
	f := newTxn(t, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	for expr, want := range map[string]string{
		"ipv4(10.1.2.3)":            "10.1.2.3",
		"ipv6(::ffff:1.2.3.4)":      "::ffff:1.2.3.4",
		"ipv6(2001:db8::1)":         "2001:db8::1",
		"bin(414243),hex":           "414243",
		"bin(414243),length":        "3",
		"proc":                      "1",
		"thread":                    "0",
		"ipv4(127.0.0.1),ipmask(8)": "127.0.0.0",
	} {
		if got, _, ok := evalString(t, f, expr, PhaseReq); !ok || got != want {
			t.Errorf("%s = %q %v, want %q", expr, got, ok, want)
		}
	}
	var c Compiler
	for expr, want := range map[string]string{
		"ipv4(::1)":     "is not an IPv4 address",
		"ipv4(1.2.3)":   "is not an IP address",
		"ipv6(1.2.3.4)": "is not an IPv6 address",
		"bin(41424)":    "is not an even number of hexadecimal digits",
		"bin(zz)":       "is not an even number of hexadecimal digits",
	} {
		if _, err := c.Compile(expr, PhaseReq); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error saying %q", expr, err, want)
		}
	}
}

// fc_rtt's unit is ms or us; anything else is refused at load time.
func TestRTTUnit(t *testing.T) {
	var c Compiler
	for expr, ok := range map[string]bool{"fc_rtt": true, "fc_rtt(ms)": true, "fc_rttvar(us)": true, "fc_rtt(s)": false} {
		if _, err := c.Compile(expr, PhaseReq); (err == nil) != ok {
			t.Errorf("%s: %v", expr, err)
		}
	}
}
