package sample

import (
	"net/netip"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/http1"
)

// fakeTxn is a transaction over a parsed request (and response).
type fakeTxn struct {
	src, dst netip.AddrPort
	req      http1.Request
	resp     *http1.Response
	scratch  []byte
	vars     [numScopes]Vars
}

func (f *fakeTxn) Src() netip.AddrPort       { return f.src }
func (f *fakeTxn) Dst() netip.AddrPort       { return f.dst }
func (f *fakeTxn) FrontendName() []byte      { return []byte("fe_main") }
func (f *fakeTxn) BackendName() []byte       { return []byte("be_app") }
func (f *fakeTxn) Request() *http1.Request   { return &f.req }
func (f *fakeTxn) Response() *http1.Response { return f.resp }
func (f *fakeTxn) Status() int               { return f.resp.Status }
func (f *fakeTxn) Vars(s Scope) *Vars        { return &f.vars[s] }
func (f *fakeTxn) Scratch() *[]byte          { return &f.scratch }
func (f *fakeTxn) UsableServers(b []byte) int {
	return map[string]int{"": 2, "be_app": 2, "other": 0}[string(b)] - map[bool]int{true: 1}[string(b) == "nope"]
}

// ProxyState answers from a fixed table: backend be_app (the current
// one, id 3, 5 sessions in the last second) with server s1 up, serving 2,
// and s2 down; frontend id 1, reached on socket 7 named "web".
func (f *fakeTxn) ServerName() string { return "s1" }
func (f *fakeTxn) SocketName() string { return "web" }

func (f *fakeTxn) ProxyState(key StateKey, be, srv []byte) (int64, bool) {
	switch key {
	case StateFrontendID, StateFirstRequest:
		return 1, true
	case StateServerID, StateSocketID:
		return 7, true
	case StateStopping:
		return 0, true
	}
	if len(be) > 0 && string(be) != "be_app" {
		return 0, false
	}
	switch key {
	case StateBackendID:
		return 3, true
	case StateBackendSessRate:
		return 5, true
	case StateBackendConn, StateServerConn:
		if key == StateServerConn && string(srv) != "s1" {
			return 0, string(srv) == "s2"
		}
		return 2, true
	case StateQueue, StateAvgQueue, StateServerQueue:
		return 0, true
	case StateConnSlots:
		return -1, true
	case StateServerUp:
		switch string(srv) {
		case "s1":
			return 1, true
		case "s2":
			return 0, true
		}
	}
	return 0, false
}

func newTxn(t testing.TB, head string) *fakeTxn {
	t.Helper()
	f := &fakeTxn{
		src: netip.MustParseAddrPort("192.168.1.20:40000"),
		dst: netip.MustParseAddrPort("10.0.0.1:80"),
	}
	if _, err := http1.ParseRequest([]byte(head), &f.req); err != nil {
		t.Fatalf("parse request: %v", err)
	}
	return f
}

const testHead = "GET http://www.example.com/static/img/logo.PNG?x=1&lang=fr&empty=&flag HTTP/1.1\r\n" +
	"Host: WWW.Example.com\r\n" +
	"X-Forwarded-For: 1.1.1.1, 2.2.2.2\r\n" +
	"X-Forwarded-For: 3.3.3.3\r\n" +
	"X-List: \"a,b\", c\r\n" +
	"Cookie: SID=abc; lang=en\r\n" +
	"Cookie: SID=last\r\n" +
	"User-Agent: curl/8.0\r\n" +
	"\r\n"

func evalString(t *testing.T, f *fakeTxn, expr string, where Phase) (string, Type, bool) {
	t.Helper()
	var c Compiler
	e, err := c.Compile(expr, where)
	if err != nil {
		t.Fatalf("Compile(%q): %v", expr, err)
	}
	var v Value
	if !e.Eval(f, &v) {
		return "", 0, false
	}
	switch v.Type {
	case TypeInt, TypeBool:
		if !Cast(&v, TypeStr, &f.scratch) {
			t.Fatalf("%q: cannot cast %v to str", expr, v)
		}
		return string(v.Bytes), e.Out, true
	case TypeIP:
		return v.IP.String(), e.Out, true
	}
	return string(v.Bytes), e.Out, true
}

func TestFetchesAndConverters(t *testing.T) {
	t.Setenv("DHPROXY_TEST_ENV", "from-env")
	for _, c := range []struct {
		expr string
		want string // "<none>": the sample does not exist
	}{
		{"src", "192.168.1.20"},
		{"src_port", "40000"},
		{"dst", "10.0.0.1"},
		{"dst_port", "80"},
		{"fe_name", "fe_main"},
		{"be_name", "be_app"},
		{"nbsrv", "2"},
		{"nbsrv(other)", "0"},
		{"method", "GET"},
		{"url", "http://www.example.com/static/img/logo.PNG?x=1&lang=fr&empty=&flag"},
		{"path", "/static/img/logo.PNG"},
		{"pathq", "/static/img/logo.PNG?x=1&lang=fr&empty=&flag"},
		{"query", "x=1&lang=fr&empty=&flag"},
		{"url_param(lang)", "fr"},
		{"urlp(empty)", ""},
		{"urlp(flag)", "<none>"},
		{"urlp(nope)", "<none>"},
		{"urlp(x,;)", "<none>"},
		{"base", "WWW.Example.com/static/img/logo.PNG"},
		{"hdr(host)", "WWW.Example.com"},
		{"req.hdr(x-forwarded-for)", "3.3.3.3"},
		{"hdr(x-forwarded-for,1)", "1.1.1.1"},
		{"hdr(x-forwarded-for,2)", "2.2.2.2"},
		{"hdr(x-forwarded-for,-2)", "2.2.2.2"},
		{"hdr(x-forwarded-for,4)", "<none>"},
		{"hdr(x-list,1)", "\"a,b\""},
		{"hdr(x-list,2)", "c"},
		{"hdr(x-list)", "c"},
		{"hdr_cnt(x-list)", "2"},
		// names in any case, well-known (found by their Kind) or not
		{"hdr(HOST)", "WWW.Example.com"},
		{"hdr_cnt(X-Forwarded-FOR)", "3"},
		{"hdr(user-AGENT)", "curl/8.0"},
		{"req.fhdr(x-forwarded-for,1)", "1.1.1.1, 2.2.2.2"},
		{"req.fhdr(x-forwarded-for)", "3.3.3.3"},
		{"hdr(absent)", "<none>"},
		{"hdr_cnt(x-forwarded-for)", "3"},
		{"hdr_cnt(absent)", "0"},
		{"req.ver", "1.1"},
		{"req.cook(SID)", "last"},
		{"cook(lang)", "en"},
		{"cook(nope)", "<none>"},
		{"str(hello)", "hello"},
		{"str('a,b)c')", "a,b)c"},
		{"int(-42)", "-42"},
		{"bool(true)", "1"},
		{"always_true", "1"},
		{"always_false", "0"},
		{"env(DHPROXY_TEST_ENV)", "from-env"},
		{"env(DHPROXY_TEST_UNSET_ENV)", "<none>"},

		{"hdr(host),lower", "www.example.com"},
		{"hdr(host),upper", "WWW.EXAMPLE.COM"},
		{"path,length", "20"},
		{"path,field(2,/)", "static"},
		{"path,field(1,/)", ""},
		{"path,field(-1,/)", "logo.PNG"},
		{"path,field(2,/,2)", "static/img"},
		{"path,field(3,/,0)", "img/logo.PNG"},
		{"path,field(-2,/,2)", "static/img"},
		// configuration.txt's examples (every expected value of this table
		// was checked against haproxy 2.6 through an http-request return
		// lf-string, src/dst aside)
		{"str(f1_f2_f3__f5),field(4,_)", ""},
		{"str(f1_f2_f3__f5),field(5,_)", "f5"},
		{"str(f1_f2_f3__f5),field(2,_,0)", "f2_f3__f5"},
		{"str(f1_f2_f3__f5),field(2,_,2)", "f2_f3"},
		{"str(f1_f2_f3__f5),field(-2,_,3)", "f2_f3_"},
		{"str(f1_f2_f3__f5),field(-3,_,0)", "f1_f2_f3"},
		{"str(f1_f2_f3__f5),word(4,_)", "f5"},
		{"str(f1_f2_f3__f5),word(2,_,0)", "f2_f3__f5"},
		{"str(f1_f2_f3__f5),word(3,_,2)", "f3__f5"},
		{"str(f1_f2_f3__f5),word(-2,_,3)", "f1_f2_f3"},
		{"str(f1_f2_f3__f5),word(-3,_,0)", "f1_f2"},
		{"str(/f1/f2/f3/f4),word(1,/)", "f1"},
		{"str(/f1////f2/f3/f4),word(1,/)", "f1"},
		{"path,field(9,/)", ""},
		{"str(//a//b/),word(1,/)", "a"},
		{"str(//a//b/),word(2,/)", "b"},
		{"str(//a//b/),word(-1,/)", "b"},
		{"str(a.b.c),word(-2,.,2)", "a.b"},
		{"str(abcdef),bytes(2)", "cdef"},
		{"str(abcdef),bytes(2,3)", "cde"},
		{"str(abcdef),bytes(9)", ""},
		{"path,regsub(/,_)", "_static/img/logo.PNG"},
		{"path,regsub(/,_,g)", "_static_img_logo.PNG"},
		{"path,regsub(png$,jpg,i)", "/static/img/logo.jpg"},
		{`path,regsub("^/([a-z]+)/",/\1-,)`, "/static-img/logo.PNG"},
		{`path,regsub("(?<=/)([a-z])",X,g)`, "/Xtatic/Xmg/Xogo.PNG"}, // look-behind: the fallback
		{`str(aaxbb),regsub("(\w)\1",<\1>,g)`, "<a>x<b>"},
		// later matches see the whole value, as haproxy 2.6 (REG_NOTBOL)
		{"str(aaa),regsub(^a,X,g)", "Xaa"},
		{"str(abc),regsub(^,>,g)", ">abc"},
		{"str(abc),regsub(x*,-,g)", "-a-b-c-"},
		{"str(aXbX),regsub(X,,g)", "ab"},
		{`str(XaXb),regsub("(?<=X)[a-z]",Y,g)`, "XYXY"},
		{`str(abb),regsub("(?!x)b*",-,g)`, "-a--"}, // the fallback matches haproxy here, RE2 gives "-a-"
		{"src,ipmask(24)", "192.168.1.0"},
		{"src,ipmask(255.255.0.0)", "192.168.0.0"},
		{"str(abc),base64", "YWJj"},
		{"str(abc),hex", "616263"},
		{"str(\xff),hex", "FF"},
		{"str(abc),crc32", "891568578"},
		{"str(abc),djb2", "193485963"},
		{"str(abc),sdbm", "807794786"},
		{"str(abc),wt6", "2483038440"},
		{"str(abc),crc32(1)", "930845320"},
		{"str(mid),concat(<,,>)", "mid<>"},
		{"int(7),add(3)", "10"},
		{"int(7),sub(10)", "-3"},
		{"int(7),mul(6)", "42"},
		{"int(7),div(2)", "3"},
		{"int(7),div(0)", "9223372036854775807"},
		{"int(7),mod(4)", "3"},
		{"int(7),neg", "-7"},
		{"int(0),not", "1"},
		{"int(5),bool", "1"},
		{"str(12abc),add(1)", "13"},
		{"hdr_cnt(x-forwarded-for),mul(2),add(1)", "7"},
		{"int(3232235777),ipmask(16)", "192.168.0.0"},
		{"ssl_fc", "0"},
		{"str(aGVsbG8=),b64dec", "hello"},
		{"str(@@@),b64dec", "<none>"},
		{"str(/a%20b+c?x=1+2%2F),url_dec", "/a b+c?x=1 2/"},
		{"str(a+b),url_dec(1)", "a b"},
		{"str(a+b),url_dec", "a+b"},
		{"str(a%2),url_dec", "<none>"},
		{"str(a%zz),url_dec", "<none>"},
	} {
		f := newTxn(t, testHead)
		got, _, ok := evalString(t, f, c.expr, PhaseReq)
		if !ok {
			got = "<none>"
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
}

func TestResponseFetches(t *testing.T) {
	f := newTxn(t, testHead)
	f.resp = &http1.Response{}
	if _, err := http1.ParseResponse([]byte("HTTP/1.0 404 Not Found\r\nSet-Cookie: a=1\r\nVary: x, y\r\n\r\n"), f.resp); err != nil {
		t.Fatal(err)
	}
	for expr, want := range map[string]string{
		"status":            "404",
		"res.ver":           "1.0",
		"res.hdr(vary)":     "y",
		"shdr(vary,1)":      "x",
		"res.fhdr(vary)":    "x, y",
		"res.hdr_cnt(vary)": "2",
		"src":               "192.168.1.20",
	} {
		if got, _, _ := evalString(t, f, expr, PhaseRes); got != want {
			t.Errorf("%s = %q, want %q", expr, got, want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		expr  string
		where Phase
		err   string
	}{
		{"status", PhaseReq, "sample fetch 'status' cannot be used in http-request rules: it needs the HTTP response"},
		{"req.hdr(host)", PhaseRes, "cannot be used in http-response rules"},
		{"path", PhaseConn, "cannot be used in tcp-request connection rules"},
		{"pth", PhaseReq, "unknown fetch method 'pth' (dhproxy supports the ones docs/rules.md lists); did you mean 'path'?"},
		{"path,lowr", PhaseReq, "unknown converter 'lowr'"},
		{"hdr", PhaseReq, "expects at least 1 argument"},
		{"hdr(host,x)", PhaseReq, "must be an integer"},
		{"hdr(host", PhaseReq, "missing closing ')'"},
		{"hdr(host)x", PhaseReq, "unexpected 'x'"},
		{"path,", PhaseReq, "missing converter name"},
		{"src(1)", PhaseReq, "takes at most 0"},
		{"src,lower", PhaseReq, ""}, // an address is castable to a string
		{"method,add(1)", PhaseReq, "cannot be applied"},
		{`path,regsub("(a",x)`, PhaseReq, "regex '(a' is invalid"},
		{"path,regsub(a,b,z)", PhaseReq, "unknown flag"},
		{"path,field(0,/)", PhaseReq, "must not be 0"},
		{"int(1),add(glob.x)", PhaseReq, "unknown variable scope 'glob'"},
		{"int(1),add(x)", PhaseReq, "neither an integer nor a variable"},
		{"path,concat(a,nope.b)", PhaseReq, "unknown variable scope 'nope'"},
		{"var(txn)", PhaseReq, "not a variable name"},
		{"var(txn.a-b)", PhaseReq, "not permitted in a variable name"},
		{"path,set-var(txn.p)", PhaseReq, ""},
		{"bool(maybe)", PhaseReq, "not a boolean"},
		{"src,ipmask(33)", PhaseReq, "not an IPv4 mask"},
		{"p@th", PhaseReq, "invalid character"},
	} {
		var comp Compiler
		_, err := comp.Compile(c.expr, c.where)
		if c.err == "" {
			if err != nil {
				t.Errorf("Compile(%q): %v", c.expr, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("Compile(%q) error %v, want one containing %q", c.expr, err, c.err)
		}
	}
}

func TestIterate(t *testing.T) {
	f := newTxn(t, testHead)
	var c Compiler
	for expr, want := range map[string]string{
		"hdr(x-forwarded-for)":      "1.1.1.1|2.2.2.2|3.3.3.3",
		"hdr(x-forwarded-for,1)":    "1.1.1.1",
		"req.fhdr(x-forwarded-for)": "1.1.1.1, 2.2.2.2|3.3.3.3",
		"req.cook(SID),upper":       "ABC|LAST",
		"path":                      "/static/img/logo.PNG",
		"hdr(absent)":               "",
	} {
		e, err := c.Compile(expr, PhaseReq)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		var it Iter
		var v Value
		for e.Next(f, &it, &v) {
			got = append(got, string(v.Bytes))
		}
		if strings.Join(got, "|") != want {
			t.Errorf("%s iterates %q, want %q", expr, got, want)
		}
	}
}

func TestEvalAllocs(t *testing.T) {
	f := newTxn(t, testHead)
	var c Compiler
	var exprs []*Expr
	for _, s := range []string{"path", "hdr(host),lower", "req.cook(SID)", "src", "url_param(lang)", "base,crc32", "hdr_cnt(x-forwarded-for)", "path,field(2,/)", "req.cook_cnt(SID)", "req.cook_val(lang)", "req.hdrs", "str(abc),json,url_enc", "int(1700000000),utime(%d/%b/%Y:%H:%M:%S %z %p)", "str(a),sha2,hex", "hdr_ip(x-forwarded-for)"} {
		e, err := c.Compile(s, PhaseReq)
		if err != nil {
			t.Fatal(err)
		}
		exprs = append(exprs, e)
	}
	f.scratch = make([]byte, 0, 1024)
	// The value lives outside the loop, as it lives in the transaction: a
	// Value passed to the registered functions escapes.
	var v Value
	n := testing.AllocsPerRun(100, func() {
		f.scratch = f.scratch[:0]
		for _, e := range exprs {
			e.Eval(f, &v)
		}
	})
	if n != 0 {
		t.Errorf("%v allocations per evaluation, want 0", n)
	}
}

func TestCompilerCachesFiles(t *testing.T) {
	var c Compiler
	reads := 0
	c.ReadFile = func(string) ([]byte, error) { reads++; return nil, os.ErrNotExist }
	for range 2 {
		c.Cached("k", func() (any, error) { c.Read("x"); return 1, nil })
	}
	if reads != 1 {
		t.Errorf("file read %d times, want once", reads)
	}
}

func TestVolatileFetches(t *testing.T) {
	f := newTxn(t, testHead)
	now := time.Now().Unix()
	if got, _, _ := evalString(t, f, "date(10)", PhaseReq); got != strconv.FormatInt(now+10, 10) && got != strconv.FormatInt(now+11, 10) {
		t.Errorf("date(10) = %s, now is %d", got, now)
	}
	for range 50 {
		if got, _, _ := evalString(t, f, "rand(5)", PhaseReq); len(got) != 1 || got[0] < '0' || got[0] > '4' {
			t.Fatalf("rand(5) = %s", got)
		}
	}
	u, _, _ := evalString(t, f, "uuid", PhaseReq)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(u) {
		t.Errorf("uuid = %s", u)
	}
	if u2, _, _ := evalString(t, f, "uuid(4)", PhaseReq); u2 == u {
		t.Error("two uuids are equal")
	}
}

func TestVariables(t *testing.T) {
	f := newTxn(t, testHead)
	var c Compiler
	eval := func(expr string) string {
		t.Helper()
		e, err := c.Compile(expr, PhaseReq)
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		var v Value
		if !e.Eval(f, &v) {
			return "<none>"
		}
		Cast(&v, TypeStr, &f.scratch)
		return string(v.Bytes)
	}
	for _, c := range []struct{ expr, want string }{
		{"var(txn.a)", "<none>"},
		{"var(txn.a,dflt)", "dflt"},
		{"path,set-var(txn.a),length", "20"},
		{"var(txn.a)", "/static/img/logo.PNG"},
		{"var(sess.a)", "<none>"}, // another scope
		{"int(40),set-var(req.n)", "40"},
		{"int(2),add(req.n)", "42"},
		{"int(2),mul(req.n),sub(req.n)", "40"},
		{"str(x),concat(<,txn.a,>)", "x</static/img/logo.PNG>"},
		{"str(x),concat(,req.n)", "x40"},
		{"str(x),concat(-,txn.none,-)", "x--"},
		{"int(1),add(txn.none)", "<none>"},
		{"int(1),unset-var(txn.a)", "1"},
		{"var(txn.a)", "<none>"},
	} {
		if got := eval(c.expr); got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	// a stored value is a copy: the scratch it came from may be reused
	eval("str(keep),upper,set-var(txn.k)")
	for i := range f.scratch {
		f.scratch[i] = 'z'
	}
	if got := eval("var(txn.k)"); got != "KEEP" {
		t.Errorf("the variable changed with the scratch: %q", got)
	}
}

// A variable set on every request of a long connection reuses its buffer.
func TestVarsDoNotGrow(t *testing.T) {
	var vs Vars
	v := Value{Type: TypeStr, Bytes: []byte("some value")}
	vs.Set(0, &v)
	n := testing.AllocsPerRun(100, func() { vs.Set(0, &v) })
	if n != 0 {
		t.Errorf("%v allocations per Set of a same-sized value", n)
	}
	// the stored copy does not alias the source
	v.Bytes[0] = 'X'
	if got, _ := vs.Get(0); string(got.Bytes) != "some value" {
		t.Errorf("stored %q", got.Bytes)
	}
}
