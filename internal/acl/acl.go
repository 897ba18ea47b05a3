package acl

import (
	"fmt"
	"strings"
	"sync/atomic"

	"dhproxy/internal/sample"
)

// Part is one ACL expression with its patterns: an "acl NAME ..." line or
// the body of an anonymous "{ ... }".
type Part struct {
	Expr *sample.Expr
	Pats *Patterns
	live atomic.Pointer[Patterns] // with pattern files: Pats and their entries (ref.go)
	// phases is Expr.Fetch.Phases, kept here: ACL.match reads it for
	// every part, and the two pointers to it were cache misses there.
	phases sample.Phase
}

// ACL is a named ACL: every "acl" line with its name adds a part, and the
// ACL matches when any part does.
type ACL struct {
	Name  string
	Parts []*Part
}

// suffixes are HAProxy's derived ACL keywords (configuration.txt 7.3):
// FETCH_SUFFIX is FETCH with the suffix's match method.
var suffixes = map[string]Method{
	"beg": MatchBeg, "dir": MatchDir, "dom": MatchDom, "end": MatchEnd,
	"len": MatchLen, "reg": MatchReg, "sub": MatchSub, "val": MatchInt, "ip": MatchIP,
}

// derived lists, per fetch, the suffixes HAProxy defines for it.
var derived = map[string]string{
	"base": "beg dir dom end len reg sub",
	"cook": "beg dir dom end len reg sub val",
	"hdr":  "beg dir dom end len reg sub val ip",
	"shdr": "beg dir dom end len reg sub val ip",
	"path": "beg dir dom end len reg sub",
	"url":  "beg dir dom end len reg sub",
	"urlp": "beg dir dom end len reg sub val",
}

// resolveDerived splits a derived keyword ("hdr_beg(host)") into the
// fetch expression ("hdr(host)") and its method.
func resolveDerived(expr string) (string, Method, bool) {
	name, rest := expr, ""
	if i := strings.IndexAny(expr, "(,"); i >= 0 {
		name, rest = expr[:i], expr[i:]
	}
	i := strings.LastIndexByte(name, '_')
	if i < 0 {
		return "", 0, false
	}
	base, suf := name[:i], name[i+1:]
	list, ok := derived[base]
	if !ok || !strings.Contains(" "+list+" ", " "+suf+" ") {
		return "", 0, false
	}
	return base + rest, suffixes[suf], true
}

// ParsePart compiles "FETCH[,conv...] [flags] [-m method] [values...]"
// (the words after "acl NAME", or inside "{ }"). Pattern files are read
// through c; errors in them name the file and line.
func ParsePart(c *sample.Compiler, words []string) (*Part, error) {
	if len(words) == 0 {
		return nil, fmt.Errorf("missing fetch method")
	}
	exprText := words[0]
	method := Method(0)
	e, err := c.Compile(exprText, 0)
	if err != nil {
		if d, m, ok := resolveDerived(exprText); ok {
			e, err = c.Compile(d, 0)
			method = m
		}
		if err != nil {
			return nil, fmt.Errorf("%v in ACL expression '%s'", err, exprText)
		}
	}
	var files []string
	icase, mapFile := false, false
	args := words[1:]
flags:
	for len(args) > 0 && len(args[0]) > 1 && args[0][0] == '-' {
		f := args[0]
		args = args[1:]
		switch f {
		case "-i":
			icase = true
		case "-n":
			// no DNS resolution: dhproxy never resolves names in patterns
		case "-M":
			mapFile = true
		case "--":
			break flags
		case "-f", "-m", "-u":
			if len(args) == 0 {
				return nil, fmt.Errorf("'%s' expects an argument", f)
			}
			v := args[0]
			args = args[1:]
			switch f {
			case "-f":
				files = append(files, v)
			case "-m":
				m, ok := methodNames[v]
				if !ok {
					return nil, fmt.Errorf("unknown matching method '%s'; dhproxy knows found, bool, int, ip, str, beg, end, sub, dir, dom, reg, len", v)
				}
				if method != 0 && method != m {
					return nil, fmt.Errorf("'-m %s' conflicts with the method implied by '%s'", v, exprText)
				}
				method = m
			}
		default:
			return nil, fmt.Errorf("unknown ACL flag '%s' (a pattern starting with '-' needs '--' before it)", f)
		}
	}
	if method == 0 && e.Out == sample.TypeAny {
		// a variable's type is only known at run time: haproxy asks for a method
		return nil, fmt.Errorf("matching method must be specified first (using '-m') when using a sample fetch of this type ('%s')", e.Fetch.Name)
	}
	dotted := false
	if method == 0 {
		method = defaultMethod(e.Out)
		dotted = dottedVersionFetches[e.Fetch.Name]
	}
	p := &Part{Expr: e, Pats: newPatterns(c, method, icase), phases: e.Fetch.Phases}
	p.Pats.dotted = dotted
	if (method == MatchFound || method == MatchBool) && (len(args) > 0 || len(files) > 0) {
		return nil, fmt.Errorf("'-m %s' takes no pattern, got '%s'", methodName(method), strings.Join(args, " "))
	}
	op := ""
	for _, a := range args {
		if (method == MatchInt || method == MatchLen) && op == "" {
			switch a {
			case "eq", "ge", "gt", "le", "lt":
				op = a
				continue
			}
		}
		if err := p.Pats.Add(a, op); err != nil {
			return nil, err
		}
		op = ""
	}
	if op != "" {
		return nil, fmt.Errorf("operator '%s' expects a value after it", op)
	}
	if len(files) > 0 {
		if err := p.useFiles(c, files, args, mapFile); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// useFiles makes the part's patterns its inline ones plus the entries of
// its pattern files, recompiled whenever the runtime API edits a file.
func (p *Part) useFiles(c *sample.Compiler, files, inline []string, mapFile bool) error {
	static := p.Pats
	refs := make([]*Ref, len(files))
	for i, f := range files {
		r, err := refFor(c, f, mapFile)
		if err != nil {
			return fmt.Errorf("failed to open pattern file <%s>: %v", f, err)
		}
		refs[i] = r
	}
	// A file's matcher gathers the entries of all the part's files: the
	// files other than the edited one are read as they are now.
	build := func(edited *Ref, es []RefEntry) error {
		pats := newPatterns(c, static.method, static.icase)
		pats.dotted = static.dotted
		op := ""
		for _, a := range inline {
			if (pats.method == MatchInt || pats.method == MatchLen) && op == "" && strings.Contains(" eq ge gt le lt ", " "+a+" ") {
				op = a
				continue
			}
			pats.Add(a, op) // compiled once already
			op = ""
		}
		for _, r := range refs {
			cur := es
			if r != edited {
				cur = r.entries // editMu is held
			}
			for _, e := range cur {
				if err := pats.Add(e.Key, ""); err != nil {
					return fmt.Errorf("%s: %v", e.where(r.File), err)
				}
			}
		}
		p.live.Store(pats)
		return nil
	}
	for _, r := range refs {
		if err := r.use(func(es []RefEntry) error { return build(r, es) }); err != nil {
			return err
		}
	}
	return nil
}

// State is what evaluating a condition needs besides the transaction: it
// lives in the transaction so that evaluation allocates nothing.
type State struct {
	v  sample.Value
	it sample.Iter
}

// match tells whether any value of the part's fetch matches a pattern.
func (p *Part) match(t sample.Txn, st *State) bool {
	st.it = sample.Iter{}
	pats := p.Pats
	if l := p.live.Load(); l != nil {
		pats = l
	}
	for p.Expr.Next(t, &st.it, &st.v) {
		if _, ok := pats.Lookup(t, &st.v); ok {
			return true
		}
	}
	return false
}

// match tells whether any of the ACL's parts usable in phase matches.
func (a *ACL) match(t sample.Txn, st *State, phase sample.Phase) bool {
	for _, p := range a.Parts {
		if p.phases&phase != 0 && p.match(t, st) {
			return true
		}
	}
	return false
}

// predefined are HAProxy's built-in ACLs (configuration.txt 7.4).
var predefined = map[string][]string{
	"FALSE":          {"always_false"},
	"TRUE":           {"always_true"},
	"HTTP":           {"req.proto_http"},
	"HTTP_1.0":       {"req.ver", "1.0"},
	"HTTP_1.1":       {"req.ver", "1.1"},
	"HTTP_2.0":       {"req.ver", "2.0"},
	"HTTP_CONTENT":   {"hdr_val(content-length)", "gt", "0"},
	"HTTP_URL_ABS":   {"url_reg", "^[^/:]*://"},
	"HTTP_URL_SLASH": {"url_beg", "/"},
	"HTTP_URL_STAR":  {"url", "*"},
	"LOCALHOST":      {"src", "127.0.0.1/8", "::1"},
	"METH_CONNECT":   {"method", "CONNECT"},
	"METH_DELETE":    {"method", "DELETE"},
	"METH_GET":       {"method", "GET", "HEAD"},
	"METH_HEAD":      {"method", "HEAD"},
	"METH_OPTIONS":   {"method", "OPTIONS"},
	"METH_POST":      {"method", "POST"},
	"METH_PUT":       {"method", "PUT"},
	"METH_TRACE":     {"method", "TRACE"},
	"WAIT_END":       {"wait_end"},
	"REQ_CONTENT":    {"req.len", "gt", "0"},
	"RDP_COOKIE":     {"req.rdp_cookie_cnt", "gt", "0"},
}

// Set is the named ACLs of one proxy section.
type Set struct {
	byName map[string]*ACL
	pre    map[string]*ACL // predefined ACLs compiled on first use
}

// Declare adds an "acl NAME ..." line (words after "acl").
func (s *Set) Declare(c *sample.Compiler, words []string) error {
	if len(words) < 2 {
		return fmt.Errorf("'acl' expects an ACL name and a fetch method, as in 'acl <name> <fetch> [flags] [values]'")
	}
	name := words[0]
	for _, ch := range name {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '.' || ch == ':') {
			return fmt.Errorf("character '%c' is not permitted in ACL name '%s'", ch, name)
		}
	}
	p, err := ParsePart(c, words[1:])
	if err != nil {
		return fmt.Errorf("error detected while parsing ACL '%s' : %v", name, err)
	}
	if s.byName == nil {
		s.byName = map[string]*ACL{}
	}
	a := s.byName[name]
	if a == nil {
		a = &ACL{Name: name}
		s.byName[name] = a
	}
	a.Parts = append(a.Parts, p)
	return nil
}

// lookup returns the named ACL: a declared one, else a predefined one.
func (s *Set) lookup(c *sample.Compiler, name string) (*ACL, error) {
	if a := s.byName[name]; a != nil {
		return a, nil
	}
	if a := s.pre[name]; a != nil {
		return a, nil
	}
	def, ok := predefined[name]
	if !ok {
		return nil, fmt.Errorf("no such ACL : '%s'", name)
	}
	p, err := ParsePart(c, def)
	if err != nil {
		return nil, fmt.Errorf("predefined ACL '%s' is not supported by dhproxy yet: %v", name, err)
	}
	a := &ACL{Name: name, Parts: []*Part{p}}
	if s.pre == nil {
		s.pre = map[string]*ACL{}
	}
	s.pre[name] = a
	return a, nil
}
