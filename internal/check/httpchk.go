package check

import (
	"bytes"
	"strconv"
	"strings"

	"dhproxy/internal/model"
)

// "option httpchk [<method>] [<uri>] [<version>]": one argument is the URI,
// the defaults are OPTIONS, / and HTTP/1.0. The old trick of hiding headers
// and a body after the version ("HTTP/1.1\r\nHost:\ www") still works, as
// in HAProxy 2.6, which turns them into real headers. HTTP/1.1 requests get
// "connection: close" so the server ends the exchange. "http-check send"
// overrides the parts it sets; "http-check expect" rules replace the
// default "status 200-399"; "http-check connect" starts another sequence.

// compile returns the ruleset a backend's check options select;
// sendProxy is the server's check-send-proxy.
func compile(be *model.Proxy, sendProxy bool) *ruleset {
	rs := compileKind(be)
	if sendProxy && len(rs.rules) > 0 && rs.rules[0].kind == ruleConnect && (!rs.userTCP || rs.rules[0].implicit) {
		rs.rules[0].sendProxy = true
	}
	if sendProxy {
		rs.noPure = true // the header must reach the server
	}
	return rs
}

func compileKind(be *model.Proxy) *ruleset {
	if be == nil {
		return &ruleset{rules: []rule{{kind: ruleConnect}}}
	}
	switch be.Check.Kind {
	case "mysql-check":
		return mysqlRules(be.Check)
	case "pgsql-check":
		return pgsqlRules(be.Check.PgSQLUser)
	case "redis-check":
		return redisRules()
	case "smtpchk":
		return smtpRules(be.Check)
	case "ldap-check":
		return ldapRules()
	case "tcp-check":
		return tcpCheckRules(be.Check.TCPCheckRules())
	case "ssl-hello-chk":
		return sslHelloRules()
	case "", "httpchk": // "" for backends built without the model's parser
		if be.Options["httpchk"] {
			return httpCheckRules(be)
		}
	}
	// Options not implemented (external-check, spop-check) run a plain connect.
	return &ruleset{rules: []rule{{kind: ruleConnect}}}
}

// httpCheckRules compiles "option httpchk" with the "http-check" rules.
func httpCheckRules(be *model.Proxy) *ruleset {
	rs := &ruleset{http: true, disableOn404: be.Check.DisableOn404, sendState: be.Check.SendState, noPure: true}
	opt := httpSendFromOption(be.HTTPChk)
	rules := be.Check.HTTPCheckRules()
	if len(rules) == 0 || rules[0].Action != model.ActConnect {
		rs.rules = append(rs.rules, rule{kind: ruleConnect, implicit: true, hasStep: true})
	}
	sent := false
	for i, mr := range rules {
		r := userRule(mr)
		switch mr.Action {
		case model.ActSend:
			h := *mr.HTTP
			if !sent {
				h = mergeHTTPSend(opt, h)
			}
			sent = true
			r.kind, r.data, r.http = ruleSend, httpRequest(h, ""), &h
		case model.ActExpect:
			if !sent {
				// The request of "option httpchk" goes before the first
				// expect when no "http-check send" does.
				rs.rules = append(rs.rules, rule{kind: ruleSend, data: httpRequest(opt, ""), http: &opt})
				sent = true
			}
			r.kind, r.x = ruleExpectHTTPRule, userExpectOf(mr.Expect)
		case model.ActConnect:
			if i > 0 {
				sent = true // a later sequence sends its own request
			}
		}
		rs.rules = append(rs.rules, r)
	}
	if !sent {
		rs.rules = append(rs.rules, rule{kind: ruleSend, data: httpRequest(opt, ""), http: &opt})
	}
	if rs.rules[len(rs.rules)-1].kind == ruleSend {
		rs.rules = append(rs.rules, rule{kind: ruleExpectHTTPRule, x: &userExpect{match: "status", codes: [][2]int{{200, 399}}, minRecv: -1}})
	}
	return rs
}

// mergeHTTPSend applies the parts of an "http-check send" to the request of
// "option httpchk"; headers, when given, replace the option's.
func mergeHTTPSend(opt, h model.HTTPSend) model.HTTPSend {
	if h.Meth == "" {
		h.Meth = opt.Meth
	}
	if h.URI == "" {
		h.URI = opt.URI
	}
	if h.Ver == "" {
		h.Ver = opt.Ver
	}
	if len(h.Hdrs) == 0 {
		h.Hdrs = opt.Hdrs
	}
	if h.Body == "" {
		h.Body = opt.Body
	}
	return h
}

// httpSendFromOption reads the "option httpchk" arguments, with the headers
// and body hidden after the version.
func httpSendFromOption(args []string) model.HTTPSend {
	var h model.HTTPSend
	switch {
	case len(args) == 1:
		h.URI = args[0]
	case len(args) >= 2:
		h.Meth, h.URI = args[0], args[1]
		if len(args) >= 3 {
			h.Ver = args[2]
		}
	}
	if v, rest, found := strings.Cut(h.Ver, "\r\n"); found {
		h.Ver = v
		hdrBlock, b, _ := strings.Cut(rest, "\r\n\r\n")
		h.Body = b
		for _, l := range strings.Split(hdrBlock, "\r\n") {
			name, val, ok := strings.Cut(l, ":")
			if !ok || name == "" {
				continue
			}
			h.Hdrs = append(h.Hdrs, [2]string{strings.TrimSpace(name), strings.TrimSpace(val)})
		}
	}
	return h
}

// httpRequest writes a check request as HAProxy 2.6 puts it on the wire:
// lower-case header names, the server's state when "http-check send-state"
// asks for it, the body's length, and "connection: close" on HTTP/1.1
// unless a Connection header was given.
func httpRequest(h model.HTTPSend, state string) []byte {
	meth, uri, ver := or2(h.Meth, "OPTIONS"), or2(h.URI, "/"), or2(h.Ver, "HTTP/1.0")
	var b bytes.Buffer
	b.WriteString(meth + " " + uri + " " + ver + "\r\n")
	conn := false
	for _, kv := range h.Hdrs {
		name := strings.ToLower(kv[0])
		conn = conn || name == "connection"
		b.WriteString(name + ": " + kv[1] + "\r\n")
	}
	if state != "" {
		b.WriteString("x-haproxy-server-state: " + state + "\r\n")
	}
	if h.Body != "" {
		b.WriteString("content-length: " + strconv.Itoa(len(h.Body)) + "\r\n")
	}
	if ver == "HTTP/1.1" && !conn {
		b.WriteString("connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(h.Body)
	return b.Bytes()
}

func or2(s, def string) string {
	if s != "" {
		return s
	}
	return def
}

type headState uint8

const (
	headIncomplete headState = iota
	headComplete
	headInvalid
)

type responseHead struct {
	code   int
	reason string
}

// parseResponseHead parses an HTTP/1 status line and checks the header
// lines that follow, up to the empty line. It returns how many bytes the
// head used. Bare LF line ends are accepted, like HAProxy's parser does.
func parseResponseHead(b []byte) (responseHead, int, headState) {
	var h responseHead
	pos := 0
	for line := 0; ; line++ {
		i := bytes.IndexByte(b[pos:], '\n')
		if i < 0 {
			if line == 0 && !plausibleStatusPrefix(b) {
				return h, 0, headInvalid
			}
			return h, 0, headIncomplete
		}
		l := b[pos : pos+i]
		pos += i + 1
		l = bytes.TrimSuffix(l, []byte("\r"))
		if line == 0 {
			var ok bool
			if h, ok = parseStatusLine(l); !ok {
				return h, 0, headInvalid
			}
			continue
		}
		if len(l) == 0 {
			return h, pos, headComplete
		}
		if !validHeaderLine(l) {
			return h, 0, headInvalid
		}
	}
}

// plausibleStatusPrefix rejects garbage before a whole line has arrived, so
// that a server sending endless junk fails fast.
func plausibleStatusPrefix(b []byte) bool {
	const p = "HTTP/"
	n := min(len(b), len(p))
	return string(b[:n]) == p[:n]
}

// parseStatusLine accepts "HTTP/x.y NNN[ reason]".
func parseStatusLine(l []byte) (responseHead, bool) {
	var h responseHead
	if len(l) < 12 || string(l[:5]) != "HTTP/" || !isDigit(l[5]) || l[6] != '.' || !isDigit(l[7]) || l[8] != ' ' {
		return h, false
	}
	c := l[9:12]
	if !isDigit(c[0]) || !isDigit(c[1]) || !isDigit(c[2]) || c[0] == '0' {
		return h, false
	}
	h.code = int(c[0]-'0')*100 + int(c[1]-'0')*10 + int(c[2]-'0')
	rest := l[12:]
	if len(rest) > 0 {
		if rest[0] != ' ' {
			return h, false
		}
		h.reason = string(bytes.TrimSpace(rest[1:]))
	}
	return h, true
}

// validHeaderLine wants a token, a colon and anything printable after it.
func validHeaderLine(l []byte) bool {
	i := bytes.IndexByte(l, ':')
	if i <= 0 {
		return false
	}
	for _, c := range l[:i] {
		if !isTokenChar(c) {
			return false
		}
	}
	return true
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isTokenChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', isDigit(c):
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}
