package stream

import (
	"bytes"

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
	mode     cookieMode
	indirect bool // insert: clients that already carry the cookie get no new one, servers never see it
	nocache  bool // insert: mark responses "Cache-Control: private"
	preserve bool // insert: a server that sets the cookie itself keeps it
	attrs    []byte
	byValue  map[string]*Server
}

func newPersistCookie(c *model.Cookie, servers []*Server) *persistCookie {
	pc := &persistCookie{name: []byte(c.Name), byValue: map[string]*Server{},
		indirect: c.Indirect, nocache: c.NoCache, preserve: c.Preserve}
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
}

// findCookie looks for NAME in the Cookie headers of req.
func (pc *persistCookie) findCookie(req *http1.Request) (value []byte, found bool) {
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
			if len(pair) > len(pc.name) && pair[len(pc.name)] == '=' && bytes.Equal(pair[:len(pc.name)], pc.name) {
				return bytes.TrimRight(pair[len(pc.name)+1:], " \t"), true
			}
		}
	}
	return nil, false
}

// request decides persistence for req: which server its cookie names, and
// whether the Cookie header must change on its way to the server.
func (pc *persistCookie) request(req *http1.Request) cookieState {
	var st cookieState
	v, ok := pc.findCookie(req)
	if ok {
		key := v
		if pc.mode == cookiePrefix {
			if j := bytes.IndexByte(v, '~'); j >= 0 {
				key = v[:j]
			}
			st.strip = true
		}
		if s := pc.byValue[string(key)]; s != nil {
			st.seen = true
			if s.up.Load() {
				st.srv = s
			}
		}
		if pc.mode == cookieInsert && pc.indirect {
			st.strip = true
		}
	}
	return st
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
