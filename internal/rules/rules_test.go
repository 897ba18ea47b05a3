package rules

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/acl"
	"dhproxy/internal/http1"
	"dhproxy/internal/logging/logformat"
	"dhproxy/internal/sample"
)

type txn struct {
	req     http1.Request
	scratch []byte
	vars    map[sample.Scope]*sample.Vars
}

func (f *txn) Src() netip.AddrPort       { return netip.MustParseAddrPort("10.1.2.3:4000") }
func (f *txn) Dst() netip.AddrPort       { return netip.AddrPort{} }
func (f *txn) FrontendName() []byte      { return []byte("fe") }
func (f *txn) BackendName() []byte       { return []byte("fe") }
func (f *txn) Request() *http1.Request   { return &f.req }
func (f *txn) Response() *http1.Response { return nil }
func (f *txn) Status() int               { return 0 }
func (f *txn) Vars(s sample.Scope) *sample.Vars {
	if f.vars == nil {
		f.vars = map[sample.Scope]*sample.Vars{}
	}
	if f.vars[s] == nil {
		f.vars[s] = &sample.Vars{}
	}
	return f.vars[s]
}
func (f *txn) Scratch() *[]byte                                         { return &f.scratch }
func (f *txn) UsableServers(b []byte) int                               { return 1 }
func (f *txn) ProxyState(sample.StateKey, []byte, []byte) (int64, bool) { return 0, false }
func (f *txn) ServerName() string                                       { return "" }
func (f *txn) SocketName() string                                       { return "" }

func newTxn(t *testing.T, head string) *txn {
	f := &txn{}
	if _, err := http1.ParseRequest([]byte(head), &f.req); err != nil {
		t.Fatal(err)
	}
	return f
}

func parse(t testing.TB, rule string, files map[string]string) (*Rule, error) {
	c := &sample.Compiler{ReadFile: func(n string) ([]byte, error) { return []byte(files[n]), nil }, LogVar: logformat.HeaderVar}
	var set acl.Set
	r, _, err := ParseHTTP(c, &set, strings.Fields(rule), false, "frontend http-request header rule")
	return r, err
}

// The expected replies are haproxy 2.6's, byte for byte.
func TestReplies(t *testing.T) {
	f := newTxn(t, "GET /v1/a?b=1 HTTP/1.1\r\nHost: h.example\r\n\r\n")
	for _, c := range []struct {
		rule, want string
	}{
		{"deny", "HTTP/1.1 403 Forbidden\r\ncontent-length: 93\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>403 Forbidden</h1>\nRequest forbidden by administrative rules.\n</body></html>\n"},
		{"deny deny_status 429", "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 117\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>429 Too Many Requests</h1>\nYou have sent too many requests in a given amount of time.\n</body></html>\n"},
		{"deny deny_status 400", "HTTP/1.1 400 Bad request\r\ncontent-length: 90\r\ncache-control: no-cache\r\ncontent-type: text/html\r\nconnection: close\r\n\r\n<html><body><h1>400 Bad request</h1>\nYour browser sent an invalid request.\n</body></html>\n"},
		{"tarpit", "HTTP/1.1 500 Internal Server Error\r\ncontent-length: 97\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>500 Internal Server Error</h1>\nAn internal server error occurred.\n</body></html>\n"},
		{"deny deny_status 200", "HTTP/1.1 200 OK\r\ncontent-length: 58\r\ncache-control: no-cache\r\ncontent-type: text/html\r\n\r\n<html><body><h1>200 OK</h1>\nService ready.\n</body></html>\n"},
		{"return", "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"},
		{"return status 404", "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"},
		{"return status 200 content-type text/plain string hi", "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nhi"},
		{"return status 201 content-type text/plain file /body.txt hdr X-A %[path]", "HTTP/1.1 201 Created\r\nx-a: /v1/a\r\ncontent-length: 11\r\ncontent-type: text/plain\r\n\r\nhello file\n"},
		{"return content-type text/plain lf-string a-%[hdr(host),upper]-b", "HTTP/1.1 200 OK\r\ncontent-length: 13\r\ncontent-type: text/plain\r\n\r\na-H.EXAMPLE-b"},
		{"return content-type text/plain lf-string %[src]:%[url_param(b)]", "HTTP/1.1 200 OK\r\ncontent-length: 10\r\ncontent-type: text/plain\r\n\r\n10.1.2.3:1"},
		{"redirect location /new", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /new\r\ncache-control: no-cache\r\n\r\n"},
		{"redirect location /new code 301", "HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /new\r\n\r\n"},
		{"redirect location /new code 308", "HTTP/1.1 308 Permanent Redirect\r\ncontent-length: 0\r\nlocation: /new\r\n\r\n"},
		{"redirect location /new code 307", "HTTP/1.1 307 Temporary Redirect\r\ncontent-length: 0\r\nlocation: /new\r\ncache-control: no-cache\r\n\r\n"},
		{"redirect location /new code 303", "HTTP/1.1 303 See Other\r\ncontent-length: 0\r\nlocation: /new\r\ncache-control: no-cache\r\n\r\n"},
		{"redirect prefix /pre", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /pre/v1/a?b=1\r\ncache-control: no-cache\r\n\r\n"},
		{"redirect prefix /pre drop-query", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /pre/v1/a\r\ncache-control: no-cache\r\n\r\n"},
		{"redirect prefix / drop-query append-slash", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /v1/a/\r\ncache-control: no-cache\r\n\r\n"},
		{"redirect scheme https", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: https://h.example/v1/a?b=1\r\ncache-control: no-cache\r\n\r\n"},
		{"redirect location /a code 302 set-cookie A=b", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /a\r\ncache-control: no-cache\r\nset-cookie: A=b; path=/;\r\n\r\n"},
		{"redirect location /a code 301 clear-cookie A=", "HTTP/1.1 301 Moved Permanently\r\ncontent-length: 0\r\nlocation: /a\r\nset-cookie: A=; path=/; Max-Age=0;\r\n\r\n"},
		{"redirect location /a clear-cookie A", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: /a\r\ncache-control: no-cache\r\nset-cookie: A; path=/; Max-Age=0;\r\n\r\n"},
		{"redirect location http://%[hdr(host)]/x%[path]", "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: http://h.example/x/v1/a\r\ncache-control: no-cache\r\n\r\n"},
	} {
		r, err := parse(t, c.rule, map[string]string{"/body.txt": "hello file\n"})
		if err != nil {
			t.Errorf("%s: %v", c.rule, err)
			continue
		}
		var v sample.Value
		var got []byte
		if r.Action == Redirect {
			got, _ = r.Redir.Append(nil, f, &v, &f.req)
		} else {
			got = r.Reply.Append(nil, f, &v, new([]byte), r.Reply.Close, false)
		}
		if string(got) != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.rule, got, c.want)
		}
	}
	// an empty location is sent as is (haproxy 2.6), unless ignore-empty
	// skips the rule
	r, _ := parse(t, "redirect location %[hdr(none)]", nil)
	var v sample.Value
	if out, ok := r.Redir.Append(nil, f, &v, &f.req); !ok || string(out) != "HTTP/1.1 302 Found\r\ncontent-length: 0\r\nlocation: \r\ncache-control: no-cache\r\n\r\n" {
		t.Errorf("empty location: %q, %v", out, ok)
	}
	r, _ = parse(t, "redirect location %[hdr(none)] ignore-empty", nil)
	if out, ok := r.Redir.Append([]byte("x"), f, &v, &f.req); ok || string(out) != "x" {
		t.Errorf("empty location with ignore-empty: %q, %v", out, ok)
	}
	// the redirect keyword's location is text, as in haproxy 2.6
	c := &sample.Compiler{}
	var set acl.Set
	r, _, err := ParseHTTP(c, &set, []string{"redirect", "location", "/x%[path]"}, false, RedirectKeyword)
	if err != nil {
		t.Fatal(err)
	}
	if out, _ := r.Redir.Append(nil, f, &v, &f.req); !strings.Contains(string(out), "location: /x%[path]\r\n") {
		t.Errorf("redirect keyword: %q", out)
	}
}

func TestParseErrors(t *testing.T) {
	for rule, want := range map[string]string{
		"":                                      "expects an action",
		"send-spoe-group e g":                   "'http-request send-spoe-group' is not supported by dhproxy yet; supported actions: allow, deny",
		"set-nice x":                            "'http-request set-nice': 'x' is not an integer (-1024..1024)",
		"set-priority-class":                    "'http-request set-priority-class' expects <expr>",
		"early-hint link":                       "'http-request early-hint' expects <name> <fmt>",
		"add-acl k":                             "expects the file name between parentheses: 'add-acl(<file>)'",
		"set-map(f) k":                          "'http-request set-map(f)' expects exactly 2 arguments",
		"auth realm":                            "'http-request auth' expects [realm <realm>]",
		"deny deny_status 418":                  "status code '418' not handled by default",
		"deny deny_status x":                    "must be between 200 and 599",
		"deny content-type text/plain":          "'content-type' and 'hdr' do not apply",
		"allow x":                               "expects no argument",
		"wait-for-body":                         "expects 'time <time> [at-least <bytes>]'",
		"wait-for-body time 1s at-most 3":       "expects 'time <time> [at-least <bytes>]'",
		"wait-for-body time 1x":                 "'1x' is not a time",
		"wait-for-body time 1s at-least 1q":     "'1q' is not a size",
		"return status 99":                      "between 200 and 599",
		"return string hi":                      "a content type must be defined",
		"return content-type a string x file y": "only one payload",
		"return errorfiles nope":                "unknown http-errors section 'nope'",
		"return status":                         "'status' expects a value",
		"return bogus 1":                        "unknown argument 'bogus'",
		"return hdr content-length %[path]":     "set by the reply itself",
		"redirect":                              "expects 'location', 'prefix' or 'scheme'",
		"redirect to /x":                        "not 'to'",
		"redirect location /x code 200":         "'code' expects 301, 302, 303, 307 or 308",
		"redirect location /x keep-query":       "haproxy 2.6 has no keep-query",
		"redirect location /x set-cookie":       "'set-cookie' expects a cookie name",
		"redirect location /x bogus":            "unknown option 'bogus'",
		"set-header X-A":                        "expects <name> <fmt>",
		"set-header Content-Length 5":           "may not change 'Content-Length'",
		"del-header transfer-encoding":          "may not change 'transfer-encoding'",
		"set-header X-A %zz":                    "no such log-format variable '%zz'",
		"set-header X-A %o":                     "'%o' has no meaning in a header format",
		"set-header X-A %{+Q":                   "missing '}'",
		"set-var-fmt(txn.x)":                    "expects <fmt>",
		"set-log-level":                         "expects <level>",
		"set-log-level loud":                    "'loud' is not a level; expects silent, emerg",
		"strict-mode":                           "expects {on|off}",
		"strict-mode yes":                       "expects 'on' or 'off', got 'yes'",
		"set-var-fmt(txn.x) %[nope]":            "unknown fetch method 'nope'",
		"set-header X-A %[nope]":                "unknown fetch method 'nope'",
		"set-header X-A %[path":                 "missing ']'",
		"set-header X-A %[status]":              "cannot be used in http-request rules",
		"replace-header X-A (a b":               "regex '(a' is invalid",
		"set-path":                              "expects <fmt>",
		"set-uri a b":                           "expects <fmt>",
		"set-status 200":                        "'http-request set-status' does not exist",
		"set-var(txn.x)":                        "expects <expr>",
		"set-var(txn.x":                         "missing ')'",
		"set-var(glob.x) str(a)":                "unknown variable scope 'glob'",
		"set-var(txn.x) nope":                   "unknown fetch method 'nope'",
		"unset-var(txn.x) a":                    "expects no argument",
		"replace-path ^/x":                      "expects <match-regex> <replace-fmt>",
		"replace-uri (a x":                      "regex '(a' is invalid",
		"deny if nope":                          "error detected while parsing an 'http-request deny' condition : no such ACL : 'nope'",
		"deny if":                               "missing condition",
	} {
		_, err := parse(t, rule, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", rule, err, want)
		}
	}
	c := &sample.Compiler{}
	var set acl.Set
	for rule, want := range map[string]string{
		"tarpit":                    "'http-response tarpit' does not exist",
		"redirect prefix /x":        "only 'location' redirects are possible on a response",
		"redirect location %[path]": "cannot be used in http-response rules",
		"set-path /x":               "does not exist",
		"replace-path a b":          "does not exist",
		"set-status":                "expects <status> [reason <str>]",
		"set-status 1000":           "between 100 and 999",
		"set-status 200 why x":      "expects <status> [reason <str>]",
		"auth":                      "'http-response auth' does not exist",
		"set-header X %[url]":       "cannot be used in http-response rules",
	} {
		_, _, err := ParseHTTP(c, &set, strings.Fields(rule), true, "x")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("http-response %q: error %v, want %q", rule, err, want)
		}
	}
}

func TestParseAfterResponse(t *testing.T) {
	c := &sample.Compiler{}
	var set acl.Set
	for rule, want := range map[string]string{
		"deny":                "'http-after-response deny' is not supported by dhproxy yet",
		"redirect location /": "'http-after-response redirect' is not supported",
		"set-header X":        "'http-after-response set-header' expects <name> <fmt>",
		"set-status 99":       "between 100 and 999",
	} {
		_, _, err := ParseAfterResponse(c, &set, strings.Fields(rule), "x")
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("http-after-response %q: error %v, want %q", rule, err, want)
		}
	}
	r, _, err := ParseAfterResponse(c, &set, strings.Fields("set-header X-A %[status] if { status 200 }"), "x")
	if err != nil || r.Action != SetHeader || r.Cond == nil {
		t.Errorf("set-header: %+v, %v", r, err)
	}
}

func TestFormat(t *testing.T) {
	f := newTxn(t, "GET /a?b=1 HTTP/1.1\r\nHost: h.example\r\n\r\n")
	c := &sample.Compiler{}
	for text, want := range map[string]string{
		"plain":                      "plain",
		"100%%":                      "100%",
		"%[src]-%[path]":             "10.1.2.3-/a",
		"%[hdr(none)]x":              "x",
		"%[str(a]b)]":                "a]b",
		"<%[url_param(b),add(41)]>":  "<42>",
		"%[req.hdr(host),upper] end": "H.EXAMPLE end",
	} {
		fm, err := c.CompileFormat(text, sample.PhaseReq)
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		var v sample.Value
		if got := string(fm.Append(f, &v, nil)); got != want {
			t.Errorf("%s = %q, want %q", text, got, want)
		}
	}
}

func TestReplyToHEAD(t *testing.T) {
	f := newTxn(t, "HEAD / HTTP/1.1\r\nHost: h\r\n\r\n")
	r, _ := parse(t, "return status 200 content-type text/plain string hi", nil)
	var v sample.Value
	got := string(r.Reply.Append(nil, f, &v, new([]byte), true, true))
	if want := "HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestSetStatusReason(t *testing.T) {
	c := &sample.Compiler{}
	var set acl.Set
	for line, want := range map[string]string{"set-status 404": "Not Found", "set-status 299": "Other", "set-status 200 reason Fine": "Fine"} {
		r, _, err := ParseHTTP(c, &set, strings.Fields(line), true, "x")
		if err != nil || string(r.Reason) != want {
			t.Errorf("%s: reason %q, %v; want %q", line, r.Reason, err, want)
		}
	}
}

func TestWaitForBodyParse(t *testing.T) {
	for rule, want := range map[string]Rule{
		"wait-for-body time 1s":                            {Action: WaitForBody, Wait: time.Second},
		"wait-for-body time 250 at-least 1k":               {Action: WaitForBody, Wait: 250 * time.Millisecond, Int: 1024},
		"wait-for-body time 2m at-least 10 if { path /x }": {Action: WaitForBody, Wait: 2 * time.Minute, Int: 10},
	} {
		r, err := parse(t, rule, nil)
		if err != nil {
			t.Fatalf("%s: %v", rule, err)
		}
		if r.Action != want.Action || r.Wait != want.Wait || r.Int != want.Int {
			t.Errorf("%s: got %v %v %v", rule, r.Action, r.Wait, r.Int)
		}
	}
}

func TestDelHeaderMatch(t *testing.T) {
	names := []string{"X-Foo", "x-foo-bar", "X-BAR-FOO", "Content-Length", "Transfer-Encoding", "xfoo"}
	for rule, want := range map[string]string{
		"del-header x-foo":                   "X-Foo",
		"del-header X-FOO -m str":            "X-Foo",
		"del-header x-foo -m beg":            "X-Foo x-foo-bar",
		"del-header -FOO -m end":             "X-Foo X-BAR-FOO",
		"del-header foo -m sub":              "X-Foo x-foo-bar X-BAR-FOO xfoo",
		"del-header ^x-(foo|bar)$ -m reg":    "X-Foo",
		"del-header ^X-FOO$ -m reg":          "", // the regex sees the lower-case name
		"del-header e -m sub":                "", // the framing headers stay
		"del-header ^(content|trans) -m reg": "",
	} {
		r, err := parse(t, rule, nil)
		if err != nil {
			t.Errorf("%s: %v", rule, err)
			continue
		}
		var deleted []string
		var scratch []byte
		for _, n := range names {
			if r.DeletesHeader([]byte(n), &scratch) {
				deleted = append(deleted, n)
			}
		}
		if got := strings.Join(deleted, " "); got != want {
			t.Errorf("%s deletes %q, want %q", rule, got, want)
		}
	}
	for rule, want := range map[string]string{
		"del-header x -m bogus":            "the methods are str, beg, end, sub and reg",
		"del-header x -m":                  "expects <name> [-m <method>]",
		"del-header ( -m reg":              "regex '(' is invalid",
		"del-header content-length -m str": "may not change 'content-length'",
	} {
		if _, err := parse(t, rule, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", rule, err, want)
		}
	}
}

func TestSetLogLevel(t *testing.T) {
	for rule, want := range map[string]int64{"set-log-level silent": -1, "set-log-level emerg": 0, "set-log-level err": 3, "set-log-level debug if TRUE": 7} {
		r, err := parse(t, rule, nil)
		if err != nil || r.Action != SetLogLevel || r.Int != want {
			t.Errorf("%s: %+v, %v; want level %d", rule, r, err, want)
		}
	}
}

func TestStrictMode(t *testing.T) {
	for rule, want := range map[string]int64{"strict-mode on": 1, "strict-mode off": 0, "strict-mode off if TRUE": 0} {
		r, err := parse(t, rule, nil)
		if err != nil || r.Action != StrictMode || r.Int != want {
			t.Errorf("%s: %+v, %v; want %d", rule, r, err, want)
		}
	}
}

func TestResponseWaitForBody(t *testing.T) {
	c := &sample.Compiler{}
	var set acl.Set
	r, _, err := ParseHTTP(c, &set, []string{"wait-for-body", "time", "2s", "at-least", "1k"}, true, "frontend http-response header rule")
	if err != nil || r.Action != WaitForBody || r.Wait != 2*time.Second || r.Int != 1024 {
		t.Fatalf("%+v, %v", r, err)
	}
	if _, err := c.Compile("res.body_len", sample.PhaseReq); err == nil {
		t.Error("res.body_len compiled for http-request rules")
	}
}

// The stick counter actions with haproxy 2.6's array forms: the element
// index comes first; a missing or bad index is refused as haproxy
// refuses it, an index past the table's array is only known at run time.
// haproxy 2.6.12 takes "sc-set-gpt(1,0)" without its value as 0, but
// reads the "if" of a condition there as the value's fetch and fails.
func TestParseArrayCounterActions(t *testing.T) {
	c := &sample.Compiler{}
	for _, tc := range []struct {
		line     string
		action   Action
		sc, idx  int
		constant int64
		cond     bool // a condition follows the words
		err      bool
	}{
		{line: "sc-inc-gpc(1,2)", action: IncGPC, sc: 2, idx: 1},
		{line: "sc-inc-gpc(150,0)", action: IncGPC, idx: 150},
		{line: "sc-set-gpt(3,1) 42", action: SetGPT, sc: 1, idx: 3, constant: 42},
		{line: "sc-set-gpt(0,0) int(5)", action: SetGPT},
		{line: "sc-inc-gpc0(1)", action: IncGPC0, sc: 1},
		{line: "sc-inc-gpc(x,0)", err: true},
		{line: "sc-inc-gpc(1)", err: true},
		{line: "sc-set-gpt(1,3) 4", err: true},
		{line: "sc-inc-gpc(1,0) 5", err: true},
		{line: "sc-set-gpt(1,0)", action: SetGPT, idx: 1},
		{line: "sc-set-gpt0(2)", action: SetGPT0, sc: 2},
		{line: "sc-set-gpt(1,0) if", cond: true, err: true},
	} {
		words := strings.Fields(tc.line)
		if tc.cond {
			words = words[:len(words)-1]
		}
		r, err := ParseTrack(c, words, tc.cond, sample.PhaseReq, "'"+tc.line+"'")
		if tc.err {
			if err == nil {
				t.Errorf("%s: accepted", tc.line)
			}
			continue
		}
		if err != nil || r.Action != tc.action || r.SC != tc.sc || r.Idx != tc.idx || r.Int != tc.constant {
			t.Errorf("%s: %+v %v", tc.line, r, err)
		}
	}
}

func TestParseSilentDrop(t *testing.T) {
	c := &sample.Compiler{}
	var set acl.Set
	r, _, err := ParseHTTP(c, &set, strings.Fields("silent-drop if { path /x }"), false, "t")
	if err != nil || r.Action != SilentDrop || r.Cond == nil {
		t.Fatalf("%+v %v", r, err)
	}
	for _, line := range []string{"silent-drop now"} {
		if _, _, err := ParseHTTP(c, &set, strings.Fields(line), false, "t"); err == nil {
			t.Errorf("%q accepted", line)
		}
	}
	if r, _, err := ParseHTTP(c, &set, []string{"silent-drop"}, true, "t"); err != nil || r.Action != SilentDrop {
		t.Errorf("http-response silent-drop: %+v %v", r, err)
	}
}

// set-mark and set-tos values read as haproxy's strtoul reads them
// (haproxy 2.6.12 -c takes each accepted one below).
func TestParseSockOptValue(t *testing.T) {
	for in, want := range map[string]int64{"16": 16, "0x20": 32, "010": 8, "-1": 0xffffffff, "+1": 1, "4294967296": 0, "300": 300} {
		if got, err := ParseSockOptValue("set-mark", in); err != nil || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"abc", "", "-", "1x", "+-1", "--1"} {
		if _, err := ParseSockOptValue("set-tos", in); err == nil {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestParseRejectAndSetTimeout(t *testing.T) {
	parse := func(line string) *Rule {
		t.Helper()
		r, _, err := ParseHTTP(&sample.Compiler{}, &acl.Set{}, strings.Fields(line), false, "backend http-request header rule")
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		return r
	}
	if r := parse("reject if { path /x }"); r.Action != Reject || r.Cond == nil {
		t.Errorf("reject: %+v", r)
	}
	if r := parse("set-timeout tunnel 2s"); r.Action != SetTimeout || r.Idx != TimeoutTunnel || r.Wait != 2*time.Second || r.Expr != nil {
		t.Errorf("set-timeout tunnel 2s: %+v", r)
	}
	if r := parse("set-timeout server 150"); r.Idx != TimeoutServer || r.Wait != 150*time.Millisecond {
		t.Errorf("set-timeout server 150: %+v", r)
	}
	if r := parse("set-timeout server req.hdr(x)"); r.Idx != TimeoutServer || r.Wait != 0 || r.Expr == nil {
		t.Errorf("set-timeout server <expr>: %+v", r)
	}
}
