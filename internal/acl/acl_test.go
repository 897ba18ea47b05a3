package acl

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/http1"
	"dhproxy/internal/sample"
)

type txn struct {
	src     netip.AddrPort
	req     http1.Request
	resp    *http1.Response
	scratch []byte
}

func (f *txn) Src() netip.AddrPort                                      { return f.src }
func (f *txn) Dst() netip.AddrPort                                      { return netip.MustParseAddrPort("10.0.0.1:8080") }
func (f *txn) FrontendName() []byte                                     { return []byte("fe") }
func (f *txn) BackendName() []byte                                      { return []byte("be") }
func (f *txn) Request() *http1.Request                                  { return &f.req }
func (f *txn) Response() *http1.Response                                { return f.resp }
func (f *txn) Status() int                                              { return f.resp.Status }
func (f *txn) Vars(sample.Scope) *sample.Vars                           { return nil }
func (f *txn) Scratch() *[]byte                                         { return &f.scratch }
func (f *txn) UsableServers(b []byte) int                               { return 3 }
func (f *txn) ProxyState(sample.StateKey, []byte, []byte) (int64, bool) { return 0, false }
func (f *txn) ServerName() string                                       { return "" }
func (f *txn) SocketName() string                                       { return "" }

func newTxn(t testing.TB, head string) *txn {
	t.Helper()
	f := &txn{src: netip.MustParseAddrPort("192.168.10.7:5555")}
	if _, err := http1.ParseRequest([]byte(head), &f.req); err != nil {
		t.Fatal(err)
	}
	return f
}

const head = "POST /static/js/App.JS?id=42&lang=fr HTTP/1.1\r\n" +
	"Host: Shop.Example.com:8080\r\n" +
	"X-Num: 17\r\n" +
	"X-Multi: a, b\r\n" +
	"X-Multi: c\r\n" +
	"Cookie: sid=xyz; theme=dark\r\n" +
	"Content-Length: 0\r\n" +
	"\r\n"

// files served to the compiler instead of the disk
var files = map[string]string{
	"/p/paths.lst": "# static prefixes\n/static/\n\n  /images/  \n/assets/\n",
	"/p/nets.lst":  "10.0.0.0/8\n192.168.10.0/24\n",
	"/p/bad.lst":   "10.0.0.0/8\nnot-an-ip\n",
	"/p/hosts.map": "# host backend\nshop.example.com be_shop\napi.example.com\tbe_api\n",
	"/p/beg.map":   "/static/ static\n/static/js/ js\n/ root\n",
	"/p/nets.map":  "192.168.0.0/16 lan\n192.168.10.0/24 office\n",
	"/p/ints.map":  "0:9 small\n10:99 medium\n",
	"/p/ports.map": "shop 8081\n",
	"/p/reg.map":   "^/(?!static) other\n^/(\\w+)/(?=js/) under_js\n",
}

func compiler() *sample.Compiler {
	return &sample.Compiler{ReadFile: func(name string) ([]byte, error) {
		if d, ok := files[name]; ok {
			return []byte(d), nil
		}
		return nil, os.ErrNotExist
	}}
}

// The expected values of TestMatchMethods and TestMaps were checked
// against haproxy 2.6 (each ACL setting a header, echoed by an
// http-request return lf-string).
func TestMatchMethods(t *testing.T) {
	for _, c := range []struct {
		acl  string
		want bool
	}{
		// str
		{"path /static/js/App.JS", true},
		{"path /static/js/app.js", false},
		{"path -i /STATIC/JS/APP.JS", true},
		{"method POST", true},
		{"method GET HEAD", false},
		{"hdr(host) -i shop.example.com:8080", true},
		{"hdr(x-multi) b", true}, // every value of every occurrence
		{"hdr(x-multi,1) b", false},
		{"src,ipmask(16) -m str 192.168.0.0", true},
		// bin: hex patterns against the sample's bytes
		{"method -m bin 504f5354", true},
		{"method -m bin 504F5354 474554", true},
		{"method -m bin 706f7374", false},
		{"path,bytes(0,3) -m bin 2f7374", true},
		// beg / end / sub / dir / dom
		{"path_beg /static/ /images/", true},
		{"path_beg /stat", true},
		{"path_beg /images/", false},
		{"path -m beg /static/js", true},
		{"path_end .js .css", false},
		{"path_end -i .js .css", true},
		{"url_end lang=fr", true},
		{"path_sub js/A", true},
		{"path_sub -i JS/a", true},
		{"path_dir js", true},
		{"path_dir static/js", true},
		{"path_dir stat", false},
		{"hdr_dom(host) -i example", true},
		{"hdr_dom(host) -i exam", false},
		{"hdr_beg(host) -i shop.", true},
		{"base_beg Shop.Example.com:8080/static", true},
		// reg
		{"path_reg ^/static/.*\\.JS$", true},
		{"path_reg -i ^/STATIC/", true},
		{"path -m reg ^/api/", false},
		{"path -m reg ^/(?!static)", false}, // look-ahead: the backtracking fallback
		{"path -m reg -i ^/(?=STATIC)", true},
		{`path -m reg ^/(?<d>\w+)/\w+/\w+\.\k<d>$`, false}, // back-reference to a named group
		{`str(js/js) -m reg ^(?<w>\w+)/\k<w>$`, true},
		// len
		{"path_len 17", true},
		{"path_len gt 20", false},
		{"hdr(host) -m len 20:30", true},
		// int, with operators and ranges
		{"hdr_val(x-num) 17", true},
		{"hdr_val(x-num) gt 16", true},
		{"hdr_val(x-num) gt 17", false},
		{"hdr_val(x-num) ge 17", true},
		{"hdr_val(x-num) lt 17", false},
		{"hdr_val(x-num) le 17", true},
		{"hdr_val(x-num) eq 18", false},
		{"hdr_val(x-num) 10:20", true},
		{"hdr_val(x-num) :16", false},
		{"hdr_val(x-num) 18:", false},
		{"hdr_cnt(x-multi) 3", true},
		{"urlp_val(id) 42", true},
		{"nbsrv gt 2", true},
		{"dst_port 8080", true},
		// ip
		{"src 192.168.10.0/24", true},
		{"src 192.168.10.7", true},
		{"src 10.0.0.0/8 ::1", false},
		{"src 192.168.0.0/255.255.0.0", true},
		{"hdr_ip(x-num) 17.0.0.0/8", false},
		// found, bool
		{"hdr(x-num) -m found", true},
		{"hdr(x-none) -m found", false},
		{"cook(sid) -m found", true},
		{"always_true", true},
		{"always_false", false},
		{"int(0) -m bool", false},
		{"int(2) -m bool", true},
		// converters before matching
		{"hdr(host),lower,field(1,:) shop.example.com", true},
		{"path,word(1,/) static", true},
		// files
		{"path_beg -f /p/paths.lst", true},
		{"src -f /p/nets.lst", true},
		{"hdr(host),lower,field(1,:) -M -f /p/hosts.map", true},
		{"-- /x", false}, // fetch '--' does not exist: checked in the error table
	} {
		if strings.HasPrefix(c.acl, "--") {
			continue
		}
		f := newTxn(t, head)
		var s Set
		comp := compiler()
		if err := s.Declare(comp, append([]string{"a"}, strings.Fields(c.acl)...)); err != nil {
			t.Errorf("acl %s: %v", c.acl, err)
			continue
		}
		cond, _, err := s.ParseCond(comp, []string{"if", "a"}, sample.PhaseReq, "http-request deny")
		if err != nil {
			t.Fatal(err)
		}
		var st State
		if got := cond.Match(f, &st); got != c.want {
			t.Errorf("acl %s = %v, want %v", c.acl, got, c.want)
		}
	}
}

func TestConditions(t *testing.T) {
	decl := []string{
		"is_static path_beg /static/",
		"is_api path_beg /api/",
		"is_post method POST",
		"from_lan src 192.168.0.0/16",
		"from_lan src 10.0.0.0/8", // same name: ORed
		"status_ok status 200",
	}
	for _, c := range []struct {
		cond string
		want bool
	}{
		{"if is_static", true},
		{"unless is_static", false},
		{"if is_static is_post", true},
		{"if is_static !is_post", false},
		{"if is_static ! is_post", false},
		{"if is_api || is_post", true},
		{"if is_api or is_static is_post", true},
		{"if is_api || !is_static", false},
		{"if is_api || { path_end .JS } from_lan", true},
		{"if { src 127.0.0.1 } || { hdr(host) -i shop.example.com:8080 }", true},
		{"if !{ path_beg /static/ }", false},
		{"if from_lan", true},
		{"if TRUE", true},
		{"if FALSE", false},
		{"if HTTP", true},
		{"if HTTP_1.1 METH_POST", true},
		{"if HTTP_1.0", false},
		{"if METH_GET", false},
		{"if LOCALHOST", false},
		{"if HTTP_URL_SLASH !HTTP_URL_ABS", true},
		{"if HTTP_CONTENT", false},
		{"if WAIT_END", true},
		{"if status_ok", false},              // never matches in http-request
		{"if !status_ok is_static", true},    // so its negation always does
		{"unless status_ok || is_api", true}, // nothing true: unless applies
	} {
		f := newTxn(t, head)
		var s Set
		comp := compiler()
		for _, d := range decl {
			if err := s.Declare(comp, strings.Fields(d)); err != nil {
				t.Fatal(err)
			}
		}
		cond, _, err := s.ParseCond(comp, strings.Fields(c.cond), sample.PhaseReq, "http-request deny")
		if err != nil {
			t.Errorf("%s: %v", c.cond, err)
			continue
		}
		var st State
		if got := cond.Match(f, &st); got != c.want {
			t.Errorf("%s = %v, want %v", c.cond, got, c.want)
		}
	}
}

func TestErrors(t *testing.T) {
	for _, c := range []struct {
		words, err string
	}{
		{"if nope", "no such ACL : 'nope'"},
		{"if { path_xx /a }", "unknown fetch method 'path_xx'"},
		{"if { path -m reg (a }", "regex '(a' is invalid"},
		// unnamed groups capture nothing in ACL patterns, as in HAProxy
		{"if { path -m reg (a)\\1 }", "regex '(a)\\1' is invalid"},
		{"if { path -m nope x }", "unknown matching method 'nope'"},
		{"if { path -x y }", "unknown ACL flag '-x'"},
		{"if { src not-an-ip }", "not an IPv4 or IPv6 address"},
		{"if { src -f /p/bad.lst }", "/p/bad.lst:2: 'not-an-ip'"},
		{"if { path -f /p/missing.lst }", "failed to open pattern file </p/missing.lst>"},
		{"if { hdr_val(x) gt }", "operator 'gt' expects a value"},
		{"if { hdr_val(x) abc }", "not an integer or a range"},
		{"if { path -m found /x }", "takes no pattern"},
		{"if { path -m bin 4g }", "not a hexadecimal string"},
		{"if { path -m bin 474 }", "not a hexadecimal string"},
		{"if { path", "missing '}'"},
		{"if", "missing condition"},
		{"when x", "expects 'if' or 'unless'"},
		{"if TRUE ||", "missing term"},
		{"if || a", "must follow a term"},
		{"if !", "'!' must be followed"},
		{"if { path_beg -m end /x }", "conflicts"},
		{"if { var(txn.x) a }", "matching method must be specified first (using '-m') when using a sample fetch of this type ('var')"},
	} {
		var s Set
		_, _, err := s.ParseCond(compiler(), strings.Fields(c.words), sample.PhaseReq, "http-request deny")
		if err == nil || !strings.Contains(err.Error(), c.err) {
			t.Errorf("%s: error %v, want one containing %q", c.words, err, c.err)
		}
	}
	var s Set
	if err := s.Declare(compiler(), []string{"b@d", "path", "/"}); err == nil || !strings.Contains(err.Error(), "not permitted in ACL name") {
		t.Errorf("bad ACL name: %v", err)
	}
	if err := s.Declare(compiler(), []string{"x"}); err == nil {
		t.Error("acl without fetch accepted")
	}
}

func TestPhaseWarnings(t *testing.T) {
	var s Set
	comp := compiler()
	s.Declare(comp, strings.Fields("ok status 200"))
	s.Declare(comp, strings.Fields("mixed status 200"))
	s.Declare(comp, strings.Fields("mixed path /"))
	for cond, want := range map[string]string{
		"if ok":                      "acl 'ok' will never match because it only involves keywords that are incompatible with 'frontend http-request header rule'",
		"if mixed":                   "acl 'mixed' involves keywords 'status' which is incompatible with 'frontend http-request header rule'",
		"if { status 200 }":          "anonymous acl will never match",
		"if { path / } TRUE":         "",
		"if { res.hdr(x) -m found }": "anonymous acl will never match",
		// haproxy ignores layer 6 fetches in HTTP rules too
		"if REQ_CONTENT": "acl 'REQ_CONTENT' will never match",
		"if RDP_COOKIE":  "acl 'RDP_COOKIE' will never match",
	} {
		_, w, err := s.ParseCond(comp, strings.Fields(cond), sample.PhaseReq, "frontend http-request header rule")
		if err != nil {
			t.Fatal(err)
		}
		got := strings.Join(w, "\n")
		if want == "" && got != "" || !strings.Contains(got, want) {
			t.Errorf("%s: warnings %q, want %q", cond, got, want)
		}
	}
}

func TestMaps(t *testing.T) {
	for _, c := range []struct {
		expr, want string
	}{
		{"hdr(host),lower,field(1,:),map(/p/hosts.map)", "be_shop"},
		{"str(API.example.com),lower,map_str(/p/hosts.map,be_default)", "be_api"},
		{"str(other),map(/p/hosts.map,be_default)", "be_default"},
		{"str(other),map(/p/hosts.map)", "<none>"},
		{"path,map_beg(/p/beg.map)", "js"}, // the longest prefix
		{"str(/x),map_beg(/p/beg.map)", "root"},
		{"src,map_ip(/p/nets.map)", "office"}, // longest prefix
		{"str(192.168.99.1),map_ip(/p/nets.map,wan)", "lan"},
		{"int(42),map_int(/p/ints.map)", "medium"},
		{"str(shop),map_str_int(/p/ports.map),add(1)", "8082"},
		{"path,map_end(/p/beg.map,none)", "none"},
		{"path,map_sub(/p/beg.map,none)", "static"},
		{"path,map_reg(/p/beg.map,none)", "static"},
		{"path,map_reg(/p/reg.map,none)", "under_js"}, // look-ahead in a map file
	} {
		f := newTxn(t, head)
		e, err := compiler().Compile(c.expr, sample.PhaseReq)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		var v sample.Value
		got := "<none>"
		if e.Eval(f, &v) {
			sample.Cast(&v, sample.TypeStr, &f.scratch)
			got = string(v.Bytes)
		}
		if got != c.want {
			t.Errorf("%s = %q, want %q", c.expr, got, c.want)
		}
	}
	for expr, want := range map[string]string{
		"str(a),map(/p/missing.map)":         "failed to open map file </p/missing.map>",
		"str(a),map_str_int(/p/hosts.map)":   "/p/hosts.map:2: 'be_shop' is not an integer",
		"str(a),map_ip(/p/hosts.map)":        "/p/hosts.map:2: 'shop.example.com' is not an IPv4 or IPv6",
		"str(a),map_str_int(/p/ports.map,x)": "default value: 'x' is not an integer",
	} {
		_, err := compiler().Compile(expr, sample.PhaseReq)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", expr, err, want)
		}
	}
}

func TestMapFileReadOnce(t *testing.T) {
	reads := 0
	c := &sample.Compiler{ReadFile: func(name string) ([]byte, error) { reads++; return []byte(files[name]), nil }}
	for range 3 {
		if _, err := c.Compile("str(x),map(/p/hosts.map,d)", sample.PhaseReq); err != nil {
			t.Fatal(err)
		}
	}
	if reads != 1 {
		t.Errorf("map file read %d times, want 1", reads)
	}
}

// A long pattern file costs about what one pattern does for the hashed
// methods: a lookup does not walk the list.
func TestManyPatternsAllocFree(t *testing.T) {
	var b strings.Builder
	for i := range 10000 {
		b.WriteString("/p")
		b.WriteString(strings.Repeat("x", i%50))
		b.WriteString("/\n")
	}
	files["/p/many.lst"] = b.String()
	var s Set
	comp := compiler()
	s.Declare(comp, strings.Fields("m path_beg -f /p/many.lst"))
	s.Declare(comp, strings.Fields("m2 hdr(host) -i -f /p/many.lst"))
	cond, _, err := s.ParseCond(comp, strings.Fields("if m || m2 || { src -f /p/nets.lst }"), sample.PhaseReq, "x")
	if err != nil {
		t.Fatal(err)
	}
	f := newTxn(t, head)
	f.scratch = make([]byte, 0, 4096)
	var st State
	n := testing.AllocsPerRun(100, func() {
		f.scratch = f.scratch[:0]
		cond.Match(f, &st)
	})
	if n != 0 {
		t.Errorf("%v allocations per condition, want 0", n)
	}
}

// A pattern that makes backtracking engines take exponential time runs in
// linear time under RE2: 100 KB of subject costs milliseconds.
func TestPathologicalRegexIsLinear(t *testing.T) {
	big := strings.Repeat("a", 100<<10) + "!"
	head := "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + big + "\r\n\r\n"
	f := &txn{}
	if _, err := http1.ParseRequest([]byte(head), &f.req); err != nil {
		t.Fatal(err)
	}
	var s Set
	comp := compiler()
	if err := s.Declare(comp, []string{"evil", "hdr(x-big)", "-m", "reg", "(a+)+$"}); err != nil {
		t.Fatal(err)
	}
	cond, _, err := s.ParseCond(comp, []string{"if", "evil"}, sample.PhaseReq, "x")
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var st State
	if cond.Match(f, &st) {
		t.Error("(a+)+$ matched a subject ending with '!'")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

// req.ssl_ver's patterns are versions MAJOR.MINOR (worth MAJOR*65536+MINOR),
// as HAProxy's pat_parse_dotted_ver reads them; "-m int" keeps numbers.
func TestDottedVersionPatterns(t *testing.T) {
	const tls10, tls12 = 3<<16 | 1, 3<<16 | 3
	for _, c := range []struct {
		pat  []string
		v    int64
		want bool
	}{
		{[]string{"3.3"}, tls12, true},
		{[]string{"3.3"}, tls10, false},
		{[]string{"3.0:3.2"}, tls10, true},
		{[]string{"3.0:3.2"}, tls12, false},
		{[]string{":3.2"}, tls10, true},
		{[]string{"3.3:"}, tls12, true},
		{[]string{"ge", "3.3"}, tls12, true},
		{[]string{"lt", "3.3"}, tls10, true},
		{[]string{"lt", "3.3"}, tls12, false},
		{[]string{"3"}, 3 << 16, true},
	} {
		p, err := ParsePart(compiler(), append([]string{"req.ssl_ver"}, c.pat...))
		if err != nil {
			t.Errorf("%v: %v", c.pat, err)
			continue
		}
		v := sample.Value{}
		v.SetInt(c.v)
		if _, got := p.Pats.Lookup(&txn{}, &v); got != c.want {
			t.Errorf("req.ssl_ver %v on %#x: %v, want %v", c.pat, c.v, got, c.want)
		}
	}
	for _, bad := range [][]string{{"req.ssl_ver", "3.x"}, {"req.ssl_ver", "65536.0"}, {"req.ssl_ver", "-m", "int", "3.3"}} {
		if _, err := ParsePart(compiler(), bad); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
	if _, err := ParsePart(compiler(), []string{"req_ssl_ver", "-m", "int", "196611"}); err != nil {
		t.Errorf("-m int: %v", err)
	}
}
