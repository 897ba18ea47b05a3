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
// "connection: close" so the server ends the exchange.

// compile returns the ruleset a backend's check options select.
func compile(be *model.Proxy) *ruleset {
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
	case "", "httpchk": // "" for backends built without the model's parser
		if be.Options["httpchk"] {
			return &ruleset{rules: []rule{
				{kind: ruleConnect},
				{kind: ruleSend, data: httpchkRequest(be.HTTPChk)},
				{kind: ruleExpectHTTP},
			}}
		}
	}
	// Options not implemented yet (ssl-hello-chk...) run a plain connect.
	return &ruleset{rules: []rule{{kind: ruleConnect}}}
}

// httpchkRequest builds the request from the "option httpchk" arguments.
func httpchkRequest(args []string) []byte {
	meth, uri, ver := "OPTIONS", "/", "HTTP/1.0"
	switch {
	case len(args) == 1:
		uri = args[0]
	case len(args) >= 2:
		meth, uri = args[0], args[1]
		if len(args) >= 3 {
			ver = args[2]
		}
	}
	var hdrs []string
	var body string
	if v, rest, found := strings.Cut(ver, "\r\n"); found {
		ver = v
		hdrBlock, b, _ := strings.Cut(rest, "\r\n\r\n")
		body = b
		for _, l := range strings.Split(hdrBlock, "\r\n") {
			name, val, ok := strings.Cut(l, ":")
			if !ok || name == "" {
				continue
			}
			hdrs = append(hdrs, strings.ToLower(strings.TrimSpace(name))+": "+strings.TrimSpace(val))
		}
	}
	var b bytes.Buffer
	b.WriteString(meth + " " + uri + " " + ver + "\r\n")
	for _, h := range hdrs {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		b.WriteString("content-length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	if ver == "HTTP/1.1" {
		b.WriteString("connection: close\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return b.Bytes()
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
