package stream

import (
	"bytes"
	"time"

	"dhproxy/internal/cache"
	"dhproxy/internal/http1"
	"dhproxy/internal/model"
)

// cookieMode is how "cookie NAME <mode>" persists clients on servers.
type cookieMode uint8

const (
	cookieRewrite cookieMode = iota // the server sets NAME; its value is replaced by the server's cookie
	cookieInsert                    // the proxy adds Set-Cookie: NAME=<server cookie>
	cookiePrefix                    // the server's NAME value gets "<server cookie>~" in front
)

// persistCookie is a backend's "cookie" line, ready for the request path.
type persistCookie struct {
	name     []byte
	nameStr  string // the same, for cookieValue
	mode     cookieMode
	indirect bool // insert: clients that already carry the cookie get no new one, servers never see it
	nocache  bool // insert: mark responses "Cache-Control: private"
	preserve bool // insert: a server that sets the cookie itself keeps it
	postOnly bool // insert: only into responses to POST requests
	// maxIdle and maxLife (seconds, 0 = unset): an inserted cookie carries
	// its last-seen and first-seen dates and is ignored once too old.
	maxIdle, maxLife int64
	attrs            []byte
	byValue          map[string]*Server
}

func newPersistCookie(c *model.Cookie, servers []*Server) *persistCookie {
	pc := &persistCookie{name: []byte(c.Name), nameStr: c.Name, byValue: map[string]*Server{},
		indirect: c.Indirect, nocache: c.NoCache, preserve: c.Preserve, postOnly: c.PostOnly,
		maxIdle: int64(c.MaxIdle / time.Second), maxLife: int64(c.MaxLife / time.Second)}
	switch c.Mode {
	case "insert":
		pc.mode = cookieInsert
	case "prefix":
		pc.mode = cookiePrefix
	}
	for _, a := range c.Attrs {
		pc.attrs = append(append(pc.attrs, "; "...), a...)
	}
	for _, s := range servers {
		if s.Conf.Cookie != "" {
			pc.byValue[s.Conf.Cookie] = s
		}
	}
	return pc
}

// cookieState is what the request told about persistence.
type cookieState struct {
	srv    *Server // server named by the client's cookie, if any and usable
	seen   bool    // the client sent a cookie naming a known server
	strip  bool    // the request's Cookie header must be rewritten
	setOut bool    // the response needs a Set-Cookie added or rewritten
	post   bool    // the request is a POST (for "postonly")
	safe   bool    // its method is GET, HEAD, OPTIONS or TRACE (for "nocache")
	ignore bool    // ignore-persist: the cookie assigns no server and none is set
	// direct is the server a use-server rule assigned: the cookie then
	// assigns none, and a response from direct gets no new cookie.
	direct *Server
	// logFlag is the log's request cookie flag: N none, I invalid, E
	// expired (maxidle), O too old (maxlife), V valid and used, D naming a
	// DOWN server, U not used (use-server chose).
	logFlag byte
	// Dates the client's cookie carried (Unix seconds, 0 = none), and the
	// time they were judged at.
	lastSeen, firstSeen, now int64
}

// findCookie looks for NAME in the Cookie headers of req: the first one,
// as HAProxy's persistence reads it.
func (pc *persistCookie) findCookie(req *http1.Request) (value []byte, found bool) {
	return cookieValue(req, pc.nameStr)
}

// cookieValue scans the Cookie headers of req for name and returns the
// first value.
func cookieValue(req *http1.Request, name string) (value []byte, found bool) {
	for i := range req.Headers {
		h := &req.Headers[i]
		if h.Kind != http1.KindCookie {
			continue
		}
		for rest := h.Value; len(rest) > 0; {
			var pair []byte
			if j := bytes.IndexByte(rest, ';'); j >= 0 {
				pair, rest = rest[:j], rest[j+1:]
			} else {
				pair, rest = rest, nil
			}
			pair = bytes.TrimLeft(pair, " \t")
			if len(pair) > len(name) && pair[len(name)] == '=' && string(pair[:len(name)]) == name {
				return bytes.TrimRight(pair[len(name)+1:], " \t"), true
			}
		}
	}
	return nil, false
}

// request decides persistence for req: which server its cookie names, and
// whether the Cookie header must change on its way to the server. direct
// is the server a use-server rule assigned (nil: none); force
// (force-persist) lets the cookie name a DOWN server.
func (pc *persistCookie) request(req *http1.Request, direct *Server, force bool) cookieState {
	st := cookieState{post: string(req.Method) == "POST", safe: !cache.Unsafe(req.Method), direct: direct, logFlag: 'N'}
	if pc.maxIdle > 0 || pc.maxLife > 0 {
		st.now = time.Now().Unix()
	}
	v, ok := pc.findCookie(req)
	if ok {
		key := v
		if pc.mode == cookiePrefix {
			if j := bytes.IndexByte(v, '~'); j >= 0 {
				key = v[:j]
			}
			st.strip = true
		} else if j := bytes.IndexByte(v, '|'); j >= 0 {
			key = v[:j]
			st.lastSeen, st.firstSeen = cookieDates(v[j+1:])
			if st.now == 0 {
				st.now = time.Now().Unix() // dates to judge even without maxidle/maxlife
			}
			if flag := pc.expiry(&st); flag != 0 {
				key = nil // as if there were no cookie: balance again
				st.lastSeen, st.firstSeen = 0, 0
				st.logFlag = flag
			}
		}
		if s := pc.byValue[string(key)]; len(key) > 0 && s != nil {
			st.seen = true
			switch {
			case direct != nil:
				st.logFlag = 'U'
			case force || s.Up():
				st.srv, st.logFlag = s, 'V'
			default:
				st.logFlag = 'D'
			}
		} else if len(key) > 0 {
			st.logFlag = 'I'
		}
		if pc.mode == cookieInsert && pc.indirect {
			st.strip = true
		}
	}
	return st
}

// responseFlag is the log's response cookie flag: I inserted, U the
// client's cookie sent again with new dates, R the server's rewritten, P
// the server's passed on, N none.
func (pc *persistCookie) responseFlag(s *httpSession, srv *Server, rewritten, inserted bool) byte {
	switch {
	case inserted && s.ck.srv == srv:
		return 'U'
	case inserted:
		return 'I'
	case rewritten:
		return 'R'
	case pc.serverSetsCookie(&s.resp):
		return 'P'
	}
	return 'N'
}

// cookieDates reads "<last>[|<first>]", the dates after the server's value
// in an inserted cookie: 5 characters of base64 each (see appendCookieDate).
// A missing or unreadable date is 0.
func cookieDates(v []byte) (last, first int64) {
	if len(v) >= 5 {
		last = b64ToDate(v[:5])
	}
	if j := bytes.IndexByte(v, '|'); j >= 0 && len(v)-j > 5 {
		first = b64ToDate(v[j+1 : j+6])
	}
	return last, first
}

// expiry tells whether the cookie's dates make it too old to honour, as
// the log's flag: 'O' older than maxlife, 'E' idle longer than maxidle (or
// dated more than a day ahead, a clock mistake that must not pin clients
// for long), 0 when it is not.
func (pc *persistCookie) expiry(st *cookieState) byte {
	const day = 86400
	if st.firstSeen != 0 && pc.maxLife > 0 && (st.now-st.firstSeen > pc.maxLife || st.firstSeen-st.now > day) {
		return 'O'
	}
	if st.lastSeen != 0 && pc.maxIdle > 0 && (st.now-st.lastSeen > pc.maxIdle || st.lastSeen-st.now > day) {
		return 'E'
	}
	return 0
}

// needsDates tells whether an insert-mode response must (re)send the
// cookie because of its dates: the last-seen date has passed, or the
// first-seen date is missing or must go.
func (pc *persistCookie) needsDates(st *cookieState) bool {
	return ((pc.maxIdle > 0 || st.lastSeen != 0) && (st.lastSeen == 0 || st.lastSeen < st.now)) ||
		(pc.maxLife > 0 && st.firstSeen == 0) ||
		(pc.maxLife == 0 && st.firstSeen != 0)
}

// appendInsertValue appends the value of an inserted cookie: the server's
// cookie, then with maxidle/maxlife "|<now>" and with maxlife "|<first>",
// the first-seen date the client brought or now for a new one.
func (pc *persistCookie) appendInsertValue(out []byte, srv *Server, st *cookieState) []byte {
	out = append(out, srv.Conf.Cookie...)
	if pc.maxIdle == 0 && pc.maxLife == 0 {
		return out
	}
	out = appendCookieDate(append(out, '|'), st.now)
	if pc.maxLife > 0 {
		first := st.firstSeen
		if first == 0 {
			first = st.now
		}
		out = appendCookieDate(append(out, '|'), first)
	}
	return out
}

const cookieB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// appendCookieDate writes a Unix date as HAProxy does in cookies: in
// 4-second units rounded up, 30 bits as 5 base64 digits, most significant
// first.
func appendCookieDate(out []byte, unix int64) []byte {
	v := (unix + 3) >> 2
	for shift := 24; shift >= 0; shift -= 6 {
		out = append(out, cookieB64[(v>>shift)&0x3f])
	}
	return out
}

// b64ToDate reads 5 base64 digits written by appendCookieDate back into
// Unix seconds; 0 when a digit is invalid or the value is 0.
func b64ToDate(d []byte) int64 {
	var v int64
	for _, c := range d {
		var x byte
		switch {
		case c >= 'A' && c <= 'Z':
			x = c - 'A'
		case c >= 'a' && c <= 'z':
			x = c - 'a' + 26
		case c >= '0' && c <= '9':
			x = c - '0' + 52
		case c == '+':
			x = 62
		case c == '/':
			x = 63
		default:
			return 0
		}
		v = v<<6 | int64(x)
	}
	return v << 2
}

// appendRequestCookie copies a Cookie header value with NAME removed
// (insert+indirect) or with its "<server>~" prefix removed (prefix mode).
// It returns false when nothing is left of the header.
func (pc *persistCookie) appendRequestCookie(out, value []byte) ([]byte, bool) {
	start := len(out)
	first := true
	for rest := value; len(rest) > 0; {
		var pair []byte
		if j := bytes.IndexByte(rest, ';'); j >= 0 {
			pair, rest = rest[:j], rest[j+1:]
		} else {
			pair, rest = rest, nil
		}
		pair = bytes.Trim(pair, " \t")
		if len(pair) > len(pc.name) && pair[len(pc.name)] == '=' && bytes.Equal(pair[:len(pc.name)], pc.name) {
			if pc.mode != cookiePrefix {
				continue
			}
			v := pair[len(pc.name)+1:]
			j := bytes.IndexByte(v, '~')
			if j < 0 {
				continue
			}
			if !first {
				out = append(out, "; "...)
			}
			out = append(append(append(out, pc.name...), '='), v[j+1:]...)
			first = false
			continue
		}
		if len(pair) == 0 {
			continue
		}
		if !first {
			out = append(out, "; "...)
		}
		out = append(out, pair...)
		first = false
	}
	return out, len(out) > start
}

// appendSetCookie rewrites a server's Set-Cookie value for NAME: rewrite
// mode replaces the value with the server's cookie, prefix mode puts the
// server's cookie and '~' in front. Other cookies pass unchanged.
func (pc *persistCookie) appendSetCookie(out, value []byte, srv *Server) []byte {
	n := len(pc.name)
	if len(value) <= n || value[n] != '=' || !bytes.Equal(value[:n], pc.name) || srv.Conf.Cookie == "" {
		return append(out, value...)
	}
	val := value[n+1:]
	attrs := []byte(nil)
	if j := bytes.IndexByte(val, ';'); j >= 0 {
		val, attrs = val[:j], val[j:]
	}
	out = append(append(out, pc.name...), '=')
	out = append(out, srv.Conf.Cookie...)
	if pc.mode == cookiePrefix {
		out = append(append(out, '~'), val...)
	}
	return append(out, attrs...)
}

// serverSetsCookie tells whether the response sets NAME itself.
func (pc *persistCookie) serverSetsCookie(resp *http1.Response) bool {
	n := len(pc.name)
	for i := range resp.Headers {
		h := &resp.Headers[i]
		if h.Kind == http1.KindSetCookie && len(h.Value) > n && h.Value[n] == '=' && bytes.Equal(h.Value[:n], pc.name) {
			return true
		}
	}
	return false
}
