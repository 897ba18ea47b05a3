package sample

import (
	"strings"
	"testing"
	"time"
)

// Every value here was compared with haproxy 2.6.12 through
// 'http-request return lf-string "%[expr]"' (TZ=Europe/Paris).
func TestMoreConverters(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	defer func(l *time.Location) { time.Local = l }(time.Local)
	time.Local = paris
	head := "GET / HTTP/1.1\r\nHost: www.example.com:8080\r\nX-C: a\tb\"c\\d/e\r\n" +
		"X-U: é\xc3\xa9x\r\nX-4: a\xf0\x9f\x98\x80b\r\nX-O: a\xc0\xa9b\r\nX-Ip6: ::ffff:1.2.3.4\r\n\r\n"
	f := newTxn(t, head)
	var c Compiler
	eval := func(expr string) string {
		t.Helper()
		e, err := c.Compile(expr, PhaseReq)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		var v Value
		if !e.Eval(f, &v) || !Cast(&v, TypeStr, &f.scratch) {
			return "<none>"
		}
		return string(v.Bytes)
	}
	eval("str(abc),set-var(txn.a)")
	eval("str(abz),set-var(txn.z)")
	for _, c := range []struct{ expr, want string }{
		{"str(x),json", "x"},
		{"req.hdr(x-c),json", `a\tb\"c\\d\/e`},
		{"str(é),json", `\u00c3\u00a9`},
		{"str(é),json(ascii)", `\u00c3\u00a9`},
		{"req.hdr(x-u),json(utf8)", `\u00e9\u00e9x`},
		{"req.hdr(x-u),json(utf8ps)", `\u00e9\u00e9x`},
		{"req.hdr(x-4),json(utf8)", "<none>"}, // beyond \uFFFF
		{"req.hdr(x-4),json(utf8s)", "ab"},
		{"req.hdr(x-o),json(utf8)", "<none>"}, // overlong
		{"req.hdr(x-o),json(utf8p)", "a)b"},
		{"req.hdr(x-o),json(utf8s)", "ab"},
		{"int(5),even", "0"},
		{"int(5),odd", "1"},
		{"int(-5),odd", "1"},
		{"int(12),and(10)", "8"},
		{"int(7),and(-1)", "7"},
		{"int(12),or(3)", "15"},
		{"int(12),xor(10)", "6"},
		{"int(12),cpl", "-13"},
		{"int(0),cpl", "-1"},
		{"str(a b&c=d/é?~*!:;@+#[]),url_enc", "a%20b%26c%3Dd%2F%C3%A9%3F~%2A%21%3A%3B%40%2B%23%5B%5D"},
		{"str(abc),url_enc(query)", "abc"},
		{"str(abc),sha1,hex", "A9993E364706816ABA3E25717850C26C9CD0D89D"},
		{"str(),sha1,hex", "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709"},
		{"str(abc),sha2,hex", "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"},
		{"str(abc),sha2(224),hex", "23097D223405D8228642A477BDA255B32AADBCE4BDA0B3F7E36C9DA7"},
		{"str(abc),sha2(384),hex", "CB00753F45A35E8BB5A03D699AC65007272C32AB0EDED1631A8B605A43FF5BED8086072BA1E7CC2358BAECA134C825A7"},
		{"str(abc),sha2(512),hex", "DDAF35A193617ABACC417349AE20413112E6FA4E89A97EA20A9EEEE64B55D39A2192992A274FC1A836BA3C23A3FEEBBD454D4423643CE80E2A9AC94FA54CA49F"},
		{"str(x),sha2(256),base64", "LXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE="},
		{"str(xxabcxx),ltrim(x)", "abcxx"},
		{"str(xxabcxx),rtrim(x)", "xxabc"},
		{"str(xyabcyx),ltrim(xy)", "abcyx"},
		{"req.hdr(host),port_only", "8080"},
		{"req.hdr(host),host_only", "www.example.com"},
		{"str([::1]:80),port_only", "80"},
		{"str([::1]:80),host_only", "[::1]"},
		{"str([::1]),port_only", "0"},
		{"str([::1]),host_only", "[::1]"},
		{"str(www.example.com),port_only", "0"},
		{"str(a:b),port_only", "50"}, // haproxy reads any byte as a digit
		{"str(a:),port_only", "0"},
		{"str(a:),host_only", "a"},
		{"str(::1),host_only", ":"},
		{"str(x:0080),port_only", "80"},
		{"str(abd),strcmp(txn.a)", "1"},
		{"str(abc),strcmp(txn.a)", "0"},
		{"str(ab),strcmp(txn.a)", "-1"},
		{"str(abcde),strcmp(txn.a)", "1"},
		{"str(aba),strcmp(txn.z)", "-25"},
		{"str(x),strcmp(txn.nope)", "<none>"},
		{"str(abc),secure_memcmp(txn.a)", "1"},
		{"str(abd),secure_memcmp(txn.a)", "0"},
		{"str(ab),secure_memcmp(txn.a)", "0"},
		{"str(x),secure_memcmp(txn.nope)", "<none>"},
		{"int(0),utime(%Y-%m-%d %H:%M:%S)", "1970-01-01 00:00:00"},
		{"int(1700000000),utime(%Y-%m-%d %H:%M:%S %a %A %b %B %j %e %y %p %I %Z %z %s %u %w %C %D %F %T %R %%)",
			"2023-11-14 22:13:20 Tue Tuesday Nov November 318 14 23 PM 10 GMT +0000 1699996400 2 2 20 11/14/23 2023-11-14 22:13:20 22:13 %"},
		{"int(1700000000),ltime(%Y-%m-%d %H:%M:%S %Z %z)", "2023-11-14 23:13:20 CET +0100"},
		{"int(1700000000),ltime(%H,3600)", "00"},
		{"int(1700000000),utime(%d/%b/%Y:%H:%M:%S %z)", "14/Nov/2023:22:13:20 +0000"},
		{"int(1700000000),utime(%c|%x|%X|%r|%h|%k|%l|%P|%U|%W|%V|%G|%g|%t|%Q|%E)", "Tue Nov 14 22:13:20 2023|11/14/23|22:13:20|10:13:20 PM|Nov|22|10|pm|46|46|46|2023|23|\t|%Q|%E"},
		{"int(1704067200),utime(%U %W %V %G %j %u %w)", "00 01 01 2024 001 1 1"},
		{"int(1704585600),utime(%U %W %V %G %j)", "01 01 01 2024 007"},
		{"int(1700000000),utime(%)", "%"},
		{"hdr(x-ip6),ipmask(24,64)", "1.2.3.0"},
		{"str(::1),ipmask(24,64)", "::"},
		{"str(abc),ipmask(24)", "<none>"},
	} {
		if got := eval(c.expr); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	for expr, want := range map[string]string{
		"str(a),sha2(100)":     "unsupported number of bits",
		"str(a),json(latin1)":  "unexpected input code type 'latin1'",
		"str(a),url_enc(path)": "only 'query' exists",
		"str(a),strcmp(x)":     "variable",
		"str(a),ltrim":         "expects at least 1 argument",
		"int(1),utime":         "expects at least 1 argument",
	} {
		if _, err := c.Compile(expr, PhaseReq); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", expr, err, want)
		}
	}
}
