package txn

import (
	"net/netip"
	"strings"
	"testing"

	"dhproxy/internal/acl"
	"dhproxy/internal/http1"
	"dhproxy/internal/logging/logformat"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// request is a transaction over a parsed request, with its own workspace.
type request struct {
	Work
	req  http1.Request
	resp http1.Response
	vars [3]sample.Vars
}

func (f *request) Src() netip.AddrPort       { return netip.MustParseAddrPort("10.1.2.3:4000") }
func (f *request) Dst() netip.AddrPort       { return netip.AddrPort{} }
func (f *request) FrontendName() []byte      { return []byte("fe") }
func (f *request) BackendName() []byte       { return []byte("fe") }
func (f *request) Request() *http1.Request   { return &f.req }
func (f *request) Response() *http1.Response { return &f.resp }
func (f *request) Status() int               { return 0 }
func (f *request) Vars(s sample.Scope) *sample.Vars {
	if int(s) < len(f.vars) {
		return &f.vars[s]
	}
	return nil
}
func (f *request) Scratch() *[]byte                                         { return &f.Work.Scratch }
func (f *request) UsableServers([]byte) int                                 { return 1 }
func (f *request) ProxyState(sample.StateKey, []byte, []byte) (int64, bool) { return 0, false }
func (f *request) ServerName() string                                       { return "" }
func (f *request) SocketName() string                                       { return "" }

func newRequest(t *testing.T, head string) *request {
	f := &request{}
	if _, err := http1.ParseRequest([]byte(head), &f.req); err != nil {
		t.Fatal(err)
	}
	return f
}

// compiler is shared by the rules of a test, as a configuration's: it
// numbers variable names.
var compiler = &sample.Compiler{LogVar: logformat.HeaderVar}

func rule(t *testing.T, line string) *rules.Rule {
	t.Helper()
	c := compiler
	var set acl.Set
	r, _, err := rules.ParseHTTP(c, &set, strings.Fields(line), false, "frontend http-request rule")
	if err != nil {
		t.Fatalf("%s: %v", line, err)
	}
	return r
}

// headers writes a header list as "name: value" lines.
func headers(hs []http1.Header) string {
	var b strings.Builder
	for _, h := range hs {
		b.WriteString(string(h.Name) + ": " + string(h.Value) + "\n")
	}
	return b.String()
}

func TestEditHeaders(t *testing.T) {
	const head = "GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nAccept: text/html, image/png ,text/plain\r\nx-a: 2\r\n\r\n"
	for _, c := range []struct{ rule, want string }{
		{"set-header X-A %[src]", "Host: h\nAccept: text/html, image/png ,text/plain\nx-a: 10.1.2.3\n"},
		{"add-header X-B b", "Host: h\nX-A: 1\nAccept: text/html, image/png ,text/plain\nx-a: 2\nx-b: b\n"},
		{"del-header x-a", "Host: h\nAccept: text/html, image/png ,text/plain\n"},
		{"del-header X- -m beg", "Host: h\nAccept: text/html, image/png ,text/plain\n"},
		{`replace-header X-A ^(\d)$ <\1>`, "Host: h\nX-A: <1>\nAccept: text/html, image/png ,text/plain\nx-a: <2>\n"},
		{`replace-value Accept ^image/(.*)$ img-\1`, "Host: h\nX-A: 1\nAccept: text/html, img-png,text/plain\nx-a: 2\n"},
		{`set-header X-A %[req.hdr(x-a,1)]-new`, "Host: h\nAccept: text/html, image/png ,text/plain\nx-a: 1-new\n"},
	} {
		f := newRequest(t, head)
		got := headers(f.EditHeaders(f, f.req.Headers, rule(t, c.rule)))
		if got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.rule, got, c.want)
		}
	}
}

func TestEditTarget(t *testing.T) {
	for _, c := range []struct{ uri, rule, want string }{
		{"/a/b?x=1", "set-path /new", "/new?x=1"},
		{"/a/b?x=1", "set-pathq /p?q", "/p?q"},
		{"/a/b?x=1", "set-query y=2", "/a/b?y=2"},
		{"/a/b", "set-query %[str()]", "/a/b"},
		{"/a/b?x=1", "set-uri /u", "/u"},
		{"http://h.example/a?x", "set-path /z", "http://h.example/z?x"},
		{"/api/v1/x?y", `replace-path ^/api/(v\d)/(.*)$ /\2/\1`, "/x/v1?y"},
		{"/api/v1/x?y", `replace-pathq ^/api/(.*)$ /\1&z`, "/v1/x?y&z"},
		{"/a", `replace-uri ^/b(.*) /c\1`, "/a"}, // no match: unchanged
	} {
		f := newRequest(t, "GET "+c.uri+" HTTP/1.1\r\nHost: h.example\r\n\r\n")
		edited := f.EditTarget(f, &f.req, rule(t, c.rule))
		if got := string(f.req.URI); got != c.want || edited != (c.uri != c.want || !strings.HasPrefix(c.rule, "replace")) {
			t.Errorf("%s on %s: %q (edited %v), want %q", c.rule, c.uri, got, edited, c.want)
		}
	}
}

func TestSetMethodAndVar(t *testing.T) {
	f := newRequest(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")
	if !f.SetMethod(f, &f.req, rule(t, "set-method PUT")) || string(f.req.Method) != "PUT" {
		t.Errorf("set-method: %q", f.req.Method)
	}
	if f.SetMethod(f, &f.req, rule(t, "set-method %[str()]")) || string(f.req.Method) != "PUT" {
		t.Errorf("an empty set-method changed the method: %q", f.req.Method)
	}
	f.SetVar(f, rule(t, "set-var(txn.a) src"))
	f.SetVar(f, rule(t, "set-var-fmt(txn.b) <%[var(txn.a)]>"))
	var v sample.Value
	e, err := compiler.Compile("var(txn.b)", sample.PhaseReq)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Eval(f, &v) || string(v.Bytes) != "<10.1.2.3>" {
		t.Errorf("set-var-fmt: %q", v.Bytes)
	}
	f.SetVar(f, rule(t, "unset-var(txn.b)"))
	if e.Eval(f, &v) {
		t.Errorf("unset-var left %q", v.Bytes)
	}
}

// Edits allocate nothing once the workspace has grown (a regex match's
// indexes aside: Go's regexp returns them in a new slice).
func TestEditsDoNotAllocate(t *testing.T) {
	f := newRequest(t, "GET /a/b?x=1 HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\r\n")
	set, path := rule(t, "set-header X-B %[src]"), rule(t, "set-path /z%[path]")
	hs := make([]http1.Header, 0, 8)
	uri := []byte("/a/b?x=1")
	run := func() {
		f.Work.Reset()
		hs = append(hs[:0], f.req.Headers...)
		hs = f.EditHeaders(f, hs, set)
		f.req.URI = uri[:len(uri):len(uri)]
		f.EditTarget(f, &f.req, path)
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocations per edit run", n)
	}
}

// A new transaction forgets the last one's variables and values but keeps
// the buffers' capacity.
func TestStateReset(t *testing.T) {
	var st State
	st.Buf = append(st.Buf, "value"...)
	st.UID = append(st.UID, "id"...)
	st.Denied = true
	var v sample.Value
	v.SetStr([]byte("x"))
	st.VarsOf(sample.ScopeTxn).Set(0, &v)
	capBuf := cap(st.Buf)
	st.Reset()
	if len(st.Buf) != 0 || cap(st.Buf) != capBuf || len(st.UID) != 0 || st.Denied {
		t.Errorf("after Reset: buf %q (cap %d, was %d), uid %q, denied %v", st.Buf, cap(st.Buf), capBuf, st.UID, st.Denied)
	}
	if _, ok := st.VarsOf(sample.ScopeTxn).Get(0); ok {
		t.Error("a txn variable outlived the transaction")
	}
	if st.VarsOf(sample.ScopeSess) != nil || st.VarsOf(sample.ScopeProc) != nil {
		t.Error("sess and proc variables are not the transaction's")
	}
}

// add-acl, set-map, del-acl and del-map edit the file the ACLs and maps
// loaded, with keys and values built from log-format strings; an edit
// that finds the file as wanted allocates nothing.
func TestEditPatternFile(t *testing.T) {
	c := &sample.Compiler{LogVar: logformat.HeaderVar, ReadFile: func(string) ([]byte, error) { return []byte("a.example 1\n"), nil }}
	parse := func(line string) *rules.Rule {
		var set acl.Set
		r, _, err := rules.ParseHTTP(c, &set, strings.Fields(line), false, "frontend http-request rule")
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return r
	}
	lookup, err := c.Compile("req.hdr(host),map_str_int(/m.map,0)", sample.PhaseReq)
	if err != nil {
		t.Fatal(err)
	}
	set, del := parse("set-map(/m.map) %[req.hdr(host)] %[req.hdr(x-n)]"), parse("del-map(/m.map) %[req.hdr(host)]")
	add := parse("add-acl(/m.map) %[req.hdr(host)]")
	for _, r := range []*rules.Rule{set, del, add} {
		r.PatRef = acl.Loaded(c, r.PatFile)
	}
	f := newRequest(t, "GET / HTTP/1.1\r\nHost: b.example\r\nX-N: 42\r\n\r\n")
	get := func() int64 {
		var v sample.Value
		f.Reset()
		if !lookup.Eval(f, &v) {
			return -1
		}
		return v.Int
	}
	f.EditPatternFile(f, set)
	if n := get(); n != 42 {
		t.Errorf("after set-map: %d", n)
	}
	f.req.Headers[1].Value = []byte("x")
	f.EditPatternFile(f, set) // map_str_int refuses "x": nothing changes
	if n := get(); n != 42 {
		t.Errorf("after a refused set-map: %d", n)
	}
	f.req.Headers[1].Value = []byte("42")
	if a := testing.AllocsPerRun(100, func() { f.Reset(); f.EditPatternFile(f, set) }); a != 0 {
		t.Errorf("a set-map finding its entry allocates %.0f times", a)
	}
	f.EditPatternFile(f, del)
	if n := get(); n != 0 {
		t.Errorf("after del-map: %d", n)
	}
	f.EditPatternFile(f, add) // no value: map_str_int refuses it
	if n := get(); n != 0 || len(set.PatRef.Entries()) != 1 {
		t.Errorf("after add-acl on an int map: %d, %d entries", n, len(set.PatRef.Entries()))
	}
	unbound := parse("del-acl(/other.lst) %[req.hdr(host)]")
	f.EditPatternFile(f, unbound) // no file loaded: nothing to do
}
