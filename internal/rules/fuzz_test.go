package rules

import (
	"strings"
	"testing"

	"dhproxy/internal/acl"
	"dhproxy/internal/sample"
)

// FuzzParseHTTP: any rule line compiles or fails with an error; a compiled
// one produces its reply or edit value without panicking.
func FuzzParseHTTP(f *testing.F) {
	for _, s := range []string{
		"return status 201 content-type text/plain lf-string %[path]:%[src] hdr X-A %[req.hdr(host),lower]",
		"redirect prefix / drop-query append-slash code 308 if { path_beg /a } || !TRUE",
		"set-header X-A %[hdr(x),regsub(a,b,g)]%%x",
		"replace-header X-S ^id=([a-z]+) sid=\\1", "deny deny_status 429 unless LOCALHOST",
		"set-path /x%[path]", "set-header X %[", "return hdr",
		"track-sc0 src table t if { sc_http_req_rate(0) gt 10 }", "sc-set-gpt0(1) hdr(x),length", "sc-inc-gpc0(2)", "track-sc9 src",
		"sc-inc-gpc(1,2)", "sc-set-gpt(99,0) int(3)", "set-mark 0x10 if TRUE", "set-tos -1", "set-mark", "silent-drop", "sc-inc-gpc(x,0)", "sc-inc-gpc(-1,0)", "sc-set-gpt(1,0)", "sc-inc-gpc(1,0,2)",
		"deny deny_status 503 errorfile f", "return status 404 default-errorfiles",
		"return status 503 errorfile f hdr a b", "deny content-type text/plain lf-file f",
		"auth realm \"x y\"", "return errorfiles nope",
		"add-acl(f) %[src]", "set-map(f) %[src] %[req.hdr(v)]", "del-map() k", "del-acl(f", "set-map(f) k",
		"early-hint link </a>;rel=preload", "early-hint link", "set-priority-class int(9999)",
		"set-priority-offset req.hdr(x)", "wait-for-handshake", "set-nice -2000", "set-nice x",
	} {
		f.Add(s, false)
	}
	// a response rule's hdr() before any response exists (found by the fuzzer)
	f.Add("set-header 0 %[hdr()]", true)
	f.Fuzz(func(t *testing.T, line string, response bool) {
		tx := &txn{}
		tx.req.URI = []byte("/a?b=1")
		c := &sample.Compiler{ReadFile: func(string) ([]byte, error) { return []byte("x"), nil }}
		var set acl.Set
		r, _, err := ParseHTTP(c, &set, strings.Fields(line), response, "fuzz")
		if err != nil {
			return
		}
		var v sample.Value
		var st acl.State
		r.Cond.Match(tx, &st)
		switch {
		case r.Reply != nil:
			r.Reply.Append(nil, tx, &v, new([]byte), true, false)
		case r.Redir != nil:
			r.Redir.Append(nil, tx, &v, &tx.req)
		case r.Value != nil:
			r.Value.Append(tx, &v, nil)
		}
	})
}
