package sample

import (
	"net/url"
	"strings"
	"testing"

	"dhproxy/internal/http1"
)

// FuzzCompile: any expression text compiles or fails with an error, and a
// compiled one evaluates without panicking.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"hdr(host),lower", `path,regsub("^/([a-z]+)/",/\1-,g)`, "str(a\\,b),field(-2,_,0)", "src,ipmask(24,64)", "url_param(x,;),concat(<,,>),bytes(1,2)", "req.cook(", "hdr(a)),", "int(1),div(0),mod(0)", "str(é),json(utf8s)", "int(-1),utime(%c%s%G%%%)", "str([::1]:x),port_only", "hdr_ip(x-forwarded-for,-1)", "str(a),sha2(512),url_enc", "req.hdrs,ltrim(h)", "srv_is_up(a/b)"} {
		f.Add(s)
	}
	txn := newTxn(f, testHead)
	f.Fuzz(func(t *testing.T, s string) {
		var c Compiler
		c.ReadFile = func(string) ([]byte, error) { return nil, nil }
		e, err := c.Compile(s, PhaseReq)
		if err != nil {
			return
		}
		var v Value
		var it Iter
		e.Eval(txn, &v)
		for e.Next(txn, &it, &v) {
		}
		txn.scratch = txn.scratch[:0]
	})
}

// FuzzRegex: any pattern compiles (on RE2 or the fallback) or fails with
// an error; a compiled one matches any subject without panicking, within
// its time bound, and reports offsets inside the subject.
func FuzzRegex(f *testing.F) {
	for _, s := range [][2]string{{`(\w+)-\1`, "ab-ab"}, {`^/api(?!/x)`, "/api/y"}, {`(?<=k=)\d+`, "k=1"}, {`^(?>a+)b`, "aab"}, {`a++`, "\xffaa"}, {`(é)\1`, "éé"}, {`(`, ""}, {`^(?=a)(\w+\s?)*$`, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pat, subject string) {
		re, err := CompileRegex(pat, len(subject)%2 == 1, len(subject)%3 != 0)
		if err != nil {
			return
		}
		m := re.FindSubmatchIndex([]byte(subject))
		if (m != nil) != re.Match([]byte(subject)) && re.Fallback == "" {
			t.Fatalf("%q on %q: Match and FindSubmatchIndex disagree", pat, subject)
		}
		checkOffsets(t, pat, subject, m)
		end := 0
		for _, m := range re.FindAllSubmatchIndex([]byte(subject)) {
			checkOffsets(t, pat, subject, m)
			if m[0] < end {
				t.Fatalf("%q on %q: matches overlap or go back at %v", pat, subject, m)
			}
			end = m[1]
		}
	})
}

func checkOffsets(t *testing.T, pat, subject string, m []int) {
	for i := 0; i+1 < len(m); i += 2 {
		if m[i] == -1 && m[i+1] == -1 {
			continue
		}
		if m[i] < 0 || m[i] > m[i+1] || m[i+1] > len(subject) {
			t.Fatalf("%q on %q: bad offsets %v", pat, subject, m)
		}
	}
}

// FuzzHeaderValueFetches: the fetches that parse header values
// (Authorization, cookies, integers, addresses) take any value without
// panicking, and each cookie they give is inside the header.
func FuzzHeaderValueFetches(f *testing.F) {
	for _, s := range []string{"Basic dXNlcjpwYTpzcw==", "bEaR  x y", "Basic eHk=", "a; b=1, c", `q="a,b"; x=1, s=9`, "1.5", "-", "10.0.0.1:80, ::1", "=;=,\"", "B"} {
		f.Add(s)
	}
	exprs := []string{"http_auth_type", "http_auth_user", "http_auth_pass", "http_auth_bearer", "http_auth_bearer(x)", "req.cook", "req.cook(b)",
		"req.cook_cnt", "req.cook_val(b)", "hdr_val(x)", "hdr_cnt", "req.fhdr_cnt", "req.hdrs_bin", "base32+src", "url32", "baseq", "urlp_val(a)",
		"res.cook", "res.cook(s)", "res.cook_cnt", "res.hdr_ip(x)", "shdr_val(x)", "res.hdrs_bin", "cookie(s)"}
	f.Fuzz(func(t *testing.T, val string) {
		if strings.ContainsAny(val, "\r\n\x00") {
			return
		}
		head := "GET /?a=" + url.QueryEscape(val) + " HTTP/1.1\r\nHost: " + val + "\r\nAuthorization: " + val + "\r\nx: " + val + "\r\nCookie: " + val + "\r\n\r\n"
		txn := &fakeTxn{}
		if _, err := http1.ParseRequest([]byte(head), &txn.req); err != nil {
			return
		}
		txn.resp = &http1.Response{}
		if _, err := http1.ParseResponse([]byte("HTTP/1.1 200 OK\r\nSet-Cookie: "+val+"\r\nx: "+val+"\r\n\r\n"), txn.resp); err != nil {
			return
		}
		for _, x := range exprs {
			for _, where := range []Phase{PhaseReq, PhaseRes} {
				var c Compiler
				e, err := c.Compile(x, where)
				if err != nil {
					continue
				}
				var v Value
				var it Iter
				if e.Eval(txn, &v) && strings.HasPrefix(x, "req.cook") && v.Type == TypeStr && !strings.Contains(val, string(v.Bytes)) {
					t.Fatalf("%s on %q gave %q, not in the header", x, val, v.Bytes)
				}
				for e.Next(txn, &it, &v) {
				}
				txn.scratch = txn.scratch[:0]
			}
		}
	})
}
