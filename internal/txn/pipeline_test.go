package txn

import (
	"strings"
	"testing"

	"dhproxy/internal/acl"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
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
func (s *session) EditRequest(r *rules.Rule) bool {
	s.note("edit", r)
	return string(r.Name) != "too-big" // the stand-in for a rewrite that does not fit
}
func (s *session) EditResponse(r *rules.Rule) { s.note("edit", r) }

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
		{"allow ends the list", []string{"http-request set-header A 1", "http-request allow", "http-request set-header B 2"}, true, "edit:a", false},
		{"a condition skips", []string{"http-request set-header A 1 if { path /nope }", "http-request del-header B"}, true, "edit:b", false},
		{"a reply ends the phase", []string{"http-request track-sc0 src", "http-request deny", "http-request set-header A 1"}, true, "count@fe: answer:", true},
		{"redirect rules come after", []string{"redirect location /x", "http-request sc-inc-gpc0(0)"}, true, "count@fe: answer:", true},
		{"a failed rewrite ends the phase", []string{"http-request set-header too-big 1", "http-request set-header A 1"}, true, "edit:too-big", true},
		{"a body that does not come", []string{"http-request wait-for-body time 1s", "http-request set-header A 1"}, false, "body:", true},
	} {
		p := section(t, "fe", c.lines...)
		s := &session{request: newRequest(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), bodyCame: c.body}
		var st acl.State
		answered, _ := Request(s, &st, p)
		if got := strings.Join(s.log, " "); got != c.want || answered != c.answered {
			t.Errorf("%s: %q answered %v, want %q %v", c.name, got, answered, c.want, c.answered)
		}
	}
}

func TestResponsePipeline(t *testing.T) {
	be := section(t, "be", "http-response set-header A 1", "http-response allow", "http-response set-header B 1")
	fe := section(t, "fe", "http-response set-header C 1", "http-response deny", "http-response set-header D 1")
	s := &session{request: newRequest(t, "GET / HTTP/1.1\r\nHost: h\r\n\r\n")}
	var st acl.State
	r, timedOut := Response(s, &st, be, fe)
	if got := strings.Join(s.log, " "); got != "edit:a edit:c" || r == nil || r.Action != rules.Deny || timedOut {
		t.Errorf("backend then frontend: %q, %v, %v", got, r, timedOut)
	}
	// a listen section runs its list once
	s.log = nil
	if r, _ = Response(s, &st, be, be); strings.Join(s.log, " ") != "edit:a" || r != nil {
		t.Errorf("one section: %q, %v", s.log, r)
	}
	wait := section(t, "be", "http-response wait-for-body time 1s", "http-response set-header A 1")
	s.log = nil
	if _, timedOut = Response(s, &st, wait, wait); !timedOut || strings.Join(s.log, " ") != "body:" {
		t.Errorf("wait-for-body without a body: %q timed out %v", s.log, timedOut)
	}
	s.log = nil
	After(s, &st, section(t, "fe", "http-response set-header A 1", "http-response allow", "http-response set-header B 1").HTTPResponseRules)
	if got := strings.Join(s.log, " "); got != "edit:a" {
		t.Errorf("after-response: %q", got)
	}
}
