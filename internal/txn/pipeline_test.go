package txn

import (
	"strings"
	"testing"

	"dhproxy/internal/acl"
	"dhproxy/internal/http1"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// session records what the rule lists ask of the connection side.
type session struct {
	*request
	log       []string
	bodyCame  bool
	normalize bool
}

func (s *session) note(what string, r *rules.Rule) {
	s.log = append(s.log, what+":"+string(r.Name))
}
func (s *session) Answer(r *rules.Rule) (bool, bool) {
	s.note("answer", r)
	return true, true
}
func (s *session) Count(p *model.Proxy, r *rules.Rule, response bool) { s.note("count@"+p.Name, r) }
func (s *session) Capture(r *rules.Rule, response bool)               { s.note("capture", r) }
func (s *session) WaitForBody(r *rules.Rule, response bool) bool {
	s.note("body", r)
	return s.bodyCame
}
func (s *session) NormalizeURI(r *rules.Rule) bool {
	s.note("normalize", r)
	return s.normalize
}
func (s *session) HeaderRewritten(r *rules.Rule) bool {
	return string(r.Name) != "too-big" // the stand-in for a rewrite that does not fit
}
func (s *session) ConnAction(r *rules.Rule)    { s.note("conn", r) }
func (s *session) DoResolve(r *rules.Rule)     { s.note("resolve", r) }
func (s *session) RejectRequest(silent bool)   { s.log = append(s.log, "reject") }
func (s *session) RejectResponse(bool)         { s.log = append(s.log, "reject") }
func (s *session) ResponseContent() sample.Txn { return s }
func (s *session) EarlyHints(head []byte)      { s.log = append(s.log, string(head)) }
func (s *session) CacheUse(_ *model.Proxy, r *rules.Rule) {
	s.log = append(s.log, "cache-use "+r.CacheName)
}
func (s *session) CacheStore(r *rules.Rule) { s.log = append(s.log, "cache-store "+r.CacheName) }

// result is what the rule lists did: the session's log, then the names
// of the headers left in hs.
func (s *session) result(hs []http1.Header) string {
	out := strings.Join(s.log, " ") + " |"
	for _, h := range hs {
		out += " " + strings.ToLower(string(h.Name))
	}
	return out
}

// section compiles rule lines (one per element, "http-request ..." or
// "http-response ...") into a proxy named name.
func section(t *testing.T, name string, lines ...string) *model.Proxy {
	t.Helper()
	p := &model.Proxy{Name: name}
	for _, l := range lines {
		kw, rest, _ := strings.Cut(l, " ")
		var set acl.Set
		words, where := strings.Fields(rest), "x"
		if kw == "redirect" {
			words, where = strings.Fields(l), rules.RedirectKeyword
		}
		r, _, err := rules.ParseHTTP(compiler, &set, words, kw == "http-response", where)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		switch kw {
		case "http-request":
			p.HTTPRequestRules = append(p.HTTPRequestRules, r)
		case "http-response":
			p.HTTPResponseRules = append(p.HTTPResponseRules, r)
		case "redirect":
			p.RedirectRules = append(p.RedirectRules, r)
		}
	}
	return p
}

func TestRequestPipeline(t *testing.T) {
	for _, c := range []struct {
		name     string
		lines    []string
		body     bool
		want     string
		answered bool
	}{
		{"allow ends the list", []string{"http-request set-header A 1", "http-request allow", "http-request set-header B 2"}, true, " | host a", false},
		{"a condition skips", []string{"http-request set-header A 1 if { path /nope }", "http-request del-header Host"}, true, " |", false},
		{"a reply ends the phase", []string{"http-request track-sc0 src", "http-request deny", "http-request set-header A 1"}, true, "count@fe: answer: | host", true},
		{"redirect rules come after", []string{"redirect location /x", "http-request sc-inc-gpc0(0)"}, true, "count@fe: answer: | host", true},
		{"a failed rewrite ends the phase", []string{"http-request set-header too-big 1", "http-request set-header A 1"}, true, " | host too-big", true},
		{"a body that does not come", []string{"http-request wait-for-body time 1s", "http-request set-header A 1"}, false, "body: | host", true},
		{"connection actions", []string{"http-request set-log-level err", "http-request set-header A 1"}, true, "conn: | host a", false},
		{"do-resolve goes to the session", []string{"http-request do-resolve(txn.ip,dns,ipv4) str(a.example)", "http-request set-header A 1"}, true, "resolve: | host a", false},
	} {
		p := section(t, "fe", c.lines...)
		s := &session{request: newRequest(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), bodyCame: c.body}
		var st State
		answered, _ := st.Request(s, p)
		if got := s.result(s.req.Headers); got != c.want || answered != c.answered {
			t.Errorf("%s: %q answered %v, want %q %v", c.name, got, answered, c.want, c.answered)
		}
		// the serializer rebuilds the head when a header rule ran
		if edited := strings.Contains(strings.Join(c.lines, " "), "-header") && (!c.answered || strings.Contains(c.name, "rewrite")); st.Edited.RequestHeaders != edited {
			t.Errorf("%s: headers edited %v, want %v", c.name, st.Edited.RequestHeaders, edited)
		}
	}
}

func TestResponsePipeline(t *testing.T) {
	be := section(t, "be", "http-response set-header A 1", "http-response allow", "http-response set-header B 1")
	fe := section(t, "fe", "http-response set-header C 1", "http-response deny", "http-response set-header D 1")
	newSession := func() *session {
		s := &session{request: newRequest(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")}
		if _, err := http1.ParseResponse([]byte("HTTP/1.1 200 OK\r\n\r\n"), &s.resp); err != nil {
			t.Fatal(err)
		}
		return s
	}
	s := newSession()
	var st State
	r, end := st.Response(s, be, fe)
	if got := s.result(s.resp.Headers); got != " | a c" || r == nil || r.Action != rules.Deny || end != Forward || !st.Edited.Response {
		t.Errorf("backend then frontend: %q, %v, %v", got, r, end)
	}
	// a listen section runs its list once
	s = newSession()
	if r, _ = st.Response(s, be, be); s.result(s.resp.Headers) != " | a" || r != nil {
		t.Errorf("one section: %q, %v", s.result(s.resp.Headers), r)
	}
	wait := section(t, "be", "http-response wait-for-body time 1s", "http-response set-header A 1")
	s = newSession()
	if _, end = st.Response(s, wait, wait); end != TimedOut || s.result(s.resp.Headers) != "body: |" {
		t.Errorf("wait-for-body without a body: %q ended %v", s.result(s.resp.Headers), end)
	}
	s = newSession()
	st = State{}
	status := section(t, "fe", "http-response set-status 299 reason Fine", "http-response set-header A 1", "http-response allow", "http-response set-header B 1")
	status.HTTPAfterResponseRules = status.HTTPResponseRules
	st.AfterResponse(s, nil, status)
	if got := s.result(s.resp.Headers); got != " | a" || st.Edited.Status != 299 || string(st.Edited.Reason) != "Fine" {
		t.Errorf("after-response: %q, status %d %q", got, st.Edited.Status, st.Edited.Reason)
	}
	// http-after-response capture goes to the session's response slots,
	// in the list's order
	s = newSession()
	capt := section(t, "fe", "http-response set-header A 1")
	capt.HTTPAfterResponseRules = []*rules.Rule{{Action: rules.Capture, Name: []byte("slot0")}, capt.HTTPResponseRules[0]}
	st.AfterResponse(s, nil, capt)
	if got := s.result(s.resp.Headers); got != "capture:slot0 | a" {
		t.Errorf("after-response capture: %q", got)
	}
}

// tcp-response content rules in mode http end the response phases before
// any http-response rule: close closes the server connection, reject and
// silent-drop both ends.
func TestResponseContentEndings(t *testing.T) {
	for _, c := range []struct {
		rule model.TCPRule
		end  Ending
		log  string
	}{
		{model.TCPRule{Close: true}, ServerClosed, " |"},
		{model.TCPRule{Reject: true}, Rejected, "reject |"},
		{model.TCPRule{Reject: true, Silent: true}, Rejected, "reject |"},
		{model.TCPRule{}, Forward, " | a"}, // accept
	} {
		be := section(t, "be", "http-response set-header A 1")
		be.TCPResponse.Content = []model.TCPRule{c.rule}
		s := &session{request: newRequest(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")}
		if _, err := http1.ParseResponse([]byte("HTTP/1.1 200 OK\r\n\r\n"), &s.resp); err != nil {
			t.Fatal(err)
		}
		var st State
		if _, end := st.Response(s, be, be); end != c.end || s.result(s.resp.Headers) != c.log {
			t.Errorf("%+v: ended %v, %q; want %v, %q", c.rule, end, s.result(s.resp.Headers), c.end, c.log)
		}
	}
}

// early-hint rules in a row make one 103, but one with a condition starts
// its own, as haproxy 2.6.12 groups them (checked with a raw client); an
// HTTP/1.0 client gets none.
func TestEarlyHintGroups(t *testing.T) {
	const h = "HTTP/1.1 103 Early Hints\r\n"
	for _, c := range []struct {
		lines []string
		want  []string
	}{
		{[]string{"a", "b"}, []string{h + "l: a\r\nl: b\r\n\r\n"}},
		{[]string{"a if TRUE", "b if TRUE"}, []string{h + "l: a\r\n\r\n", h + "l: b\r\n\r\n"}},
		{[]string{"a if TRUE", "b"}, []string{h + "l: a\r\nl: b\r\n\r\n"}},
		{[]string{"a", "b if TRUE"}, []string{h + "l: a\r\n\r\n", h + "l: b\r\n\r\n"}},
		{[]string{"a", "b if FALSE", "c"}, []string{h + "l: a\r\n\r\n", h + "l: c\r\n\r\n"}},
		{[]string{"a if FALSE", "b", "c if FALSE"}, []string{h + "l: b\r\n\r\n"}},
		{[]string{"a", "SET", "%[path]"}, []string{h + "l: a\r\n\r\n", h + "l: /x\r\n\r\n"}},
	} {
		var lines []string
		for _, l := range c.lines {
			if l == "SET" {
				lines = append(lines, "http-request set-var(txn.x) str(1)")
				continue
			}
			v, cond, _ := strings.Cut(l, " ")
			lines = append(lines, "http-request early-hint L "+v+" "+cond)
		}
		p := section(t, "fe", lines...)
		for _, version := range []string{"1.1", "1.0"} {
			s := &session{request: newRequest(t, "GET /x HTTP/"+version+"\r\nHost: h\r\n\r\n")}
			var st State
			st.Request(s, p)
			want := c.want
			if version == "1.0" {
				want = nil
			}
			if strings.Join(s.log, "|") != strings.Join(want, "|") {
				t.Errorf("%q over HTTP/%s: sent %q, want %q", c.lines, version, s.log, want)
			}
		}
	}
}

// The rule that ends a list is noted for last_rule_file/line: allow,
// deny, an http-request redirect rule, but not the redirect keyword; the
// rules that go on are not.
func TestLastRule(t *testing.T) {
	for _, c := range []struct {
		lines []string
		want  int // the line (index+1) noted; 0: none
	}{
		{[]string{"http-request set-header A 1", "http-request allow", "http-request deny"}, 2},
		{[]string{"http-request set-header A 1", "http-request deny"}, 2},
		{[]string{"http-request deny if FALSE", "http-request return status 200"}, 2},
		{[]string{"http-request redirect location /x", "http-request deny"}, 1},
		{[]string{"http-request set-header A 1", "redirect location /x"}, 0},
		{[]string{"http-request set-var(txn.a) str(1)"}, 0},
	} {
		p := section(t, "fe", c.lines...)
		for i, r := range p.HTTPRequestRules {
			r.Pos.File, r.Pos.Line = "h.cfg", i+1
		}
		for i, r := range p.RedirectRules {
			r.Pos.File, r.Pos.Line = "h.cfg", 10+i
		}
		s := &session{request: newRequest(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")}
		var st State
		st.Request(s, p)
		got := 0
		if st.LastRule != nil {
			got = st.LastRule.Line
		}
		if got != c.want {
			t.Errorf("%q: last rule %d, want %d", c.lines, got, c.want)
		}
		st.Reset()
		if st.LastRule != nil {
			t.Error("Reset kept the last rule")
		}
	}
}

// set-priority-class and set-priority-offset, from http-request rules and
// from tcp-request content rules in mode http, kept within haproxy's
// bounds; set-nice changes nothing.
func TestSetPriority(t *testing.T) {
	p := section(t, "fe", "http-request set-priority-offset int(-999999)", "http-request set-nice 5", "http-request set-priority-class int(3) if FALSE")
	e, err := compiler.Compile("int(9999)", sample.PhaseReq)
	if err != nil {
		t.Fatal(err)
	}
	p.TCPRequest.Content = []model.TCPRule{{Act: &rules.Rule{Action: rules.PrioClass, Expr: e}, HTTP: true},
		{Act: &rules.Rule{Action: rules.SetNice}, HTTP: true}}
	s := &session{request: newRequest(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")}
	var st State
	if answered, _ := st.requestRules(s, p); answered || st.PrioClass != 2047 || st.PrioOffset != -524287 || len(s.log) != 0 {
		t.Errorf("answered %v, class %d, offset %d, log %q", answered, st.PrioClass, st.PrioOffset, s.log)
	}
}
