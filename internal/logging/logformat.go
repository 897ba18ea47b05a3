package logging

import (
	"bytes"
	"net/netip"
	"os"
	"strconv"
	"time"

	"dhproxy/internal/http1"
	"dhproxy/internal/logging/logformat"
	"dhproxy/internal/sample"
)

// Custom "log-format" lines (formats compiled by logformat): HAProxy's
// %-variables read from the Entry, %[expr] from the transaction. A
// separator is written once after any field, as HAProxy writes it.

// lfNode is a format node with the writers of its field.
type lfNode logformat.Node

var (
	hostname, _ = os.Hostname()
	pidText     = strconv.Itoa(os.Getpid())
)

// AppendFormat writes the log-format line of f for e.
func AppendFormat(dst []byte, f *logformat.Format, e *Entry) []byte {
	lastSep := true
	for i := range f.Nodes {
		n := (*lfNode)(&f.Nodes[i])
		if n.Kind == logformat.Sep {
			if !lastSep {
				dst = append(dst, ' ')
				lastSep = true
			}
			continue
		}
		dst = n.append(dst, e)
		switch n.Kind {
		case logformat.CaptReq, logformat.CaptReqL:
			// without captures nothing is written, and HAProxy then
			// writes a single separator around them
			lastSep = lastSep && len(e.ReqCaps) == 0
		case logformat.CaptRes, logformat.CaptResL:
			lastSep = lastSep && len(e.ResCaps) == 0
		default:
			lastSep = false // even a field that wrote nothing (an empty %HQ)
		}
	}
	return dst
}

// AppendVar writes the %-variable of a header format (compiled by
// logformat.HeaderVar) for e, an entry describing the transaction so far.
func AppendVar(dst []byte, lv sample.LogVar, e *Entry) []byte {
	n := lfNode{Kind: logformat.Kind(lv.Kind), Flags: logformat.Flags(lv.Flags)}
	return n.append(dst, e)
}

// field writes a text field: quoted with +Q, escaped with +E, "-" (or ""
// when quoted) when absent.
func (n *lfNode) field(dst []byte, s []byte) []byte {
	if len(s) == 0 && n.Flags&logformat.HTTPValue != 0 {
		return dst
	}
	q := n.Flags&logformat.Quote != 0
	if q {
		dst = append(dst, '"')
	}
	if len(s) == 0 {
		if !q {
			dst = append(dst, '-')
		}
	} else if n.Flags&logformat.Escape != 0 {
		for _, c := range s {
			if c == '"' || c == '\\' || c == ']' {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
		}
	} else {
		dst = append(dst, s...)
	}
	if q {
		dst = append(dst, '"')
	}
	return dst
}

func (n *lfNode) textString(dst []byte, s string) []byte {
	if s == "" && n.Flags&logformat.HTTPValue != 0 {
		return dst
	}
	q := n.Flags&logformat.Quote != 0
	if q {
		dst = append(dst, '"')
	}
	if s == "" {
		if !q {
			dst = append(dst, '-')
		}
	} else {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if n.Flags&logformat.Escape != 0 && (c == '"' || c == '\\' || c == ']') {
				dst = append(dst, '\\')
			}
			dst = append(dst, c)
		}
	}
	if q {
		dst = append(dst, '"')
	}
	return dst
}

// appendAddr writes the address of %ci, %fi, %bi or %si: eight hex digits
// for an IPv4 address with the X flag, else its text, quoted with Q.
func (n *lfNode) appendAddr(dst []byte, ip netip.Addr) []byte {
	if n.Flags&logformat.Hex != 0 && ip.Is4() {
		for _, c := range ip.As4() {
			dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
		}
		return dst
	}
	q := n.Flags&logformat.Quote != 0
	if q {
		dst = append(dst, '"')
	}
	dst = appendIP(dst, ip)
	if q {
		dst = append(dst, '"')
	}
	return dst
}

func (n *lfNode) append(dst []byte, e *Entry) []byte {
	switch n.Kind {
	case logformat.Text:
		return append(dst, n.Text...)
	case logformat.Expr:
		if e.Txn == nil || !n.Expr.Eval(e.Txn, e.V) || !sample.Cast(e.V, sample.TypeStr, e.Txn.Scratch()) {
			return n.field(dst, nil)
		}
		return n.field(dst, e.V.Bytes)
	case logformat.CI, logformat.FI:
		ip := e.ClientIP
		if n.Kind == logformat.FI {
			ip = e.FrontendIP
		}
		return n.appendAddr(dst, ip)
	case logformat.BI, logformat.SI:
		a, unix := e.BackendAddr, e.BackendUnix
		if n.Kind == logformat.SI {
			a, unix = e.ServerAddr, e.ServerUnix
		}
		if !a.IsValid() {
			if unix {
				return n.field(dst, unixWord)
			}
			if n.Flags&logformat.Hex != 0 {
				return append(dst, '-')
			}
			return n.field(dst, nil)
		}
		return n.appendAddr(dst, a.Addr())
	case logformat.BP, logformat.SP:
		// a port is a number: never quoted, but "" when absent and quoted
		a, unix := e.BackendAddr, e.BackendUnix
		if n.Kind == logformat.SP {
			a, unix = e.ServerAddr, e.ServerUnix
		}
		switch {
		case !a.IsValid() && unix:
			return append(dst, '0')
		case !a.IsValid() && n.Flags&logformat.Hex != 0:
			return append(dst, '-')
		case !a.IsValid():
			return n.field(dst, nil)
		case n.Flags&logformat.Hex != 0:
			return appendHex(dst, uint64(a.Port()), 4)
		}
		return strconv.AppendInt(dst, int64(a.Port()), 10)
	case logformat.SSLCipher:
		return n.field(dst, e.SSLCipher)
	case logformat.SSLVer:
		return n.field(dst, e.SSLVersion)
	case logformat.Tu:
		if e.Tt < 0 {
			return append(dst, "-1"...)
		}
		return strconv.AppendInt(dst, e.Tt.Milliseconds()-max(e.idle(), 0).Milliseconds(), 10)
	case logformat.CP, logformat.FP:
		p := e.ClientPort
		if n.Kind == logformat.FP {
			p = e.FrontendPort
		}
		if n.Flags&logformat.Hex != 0 {
			return appendHex(dst, uint64(p), 4)
		}
		return strconv.AppendInt(dst, int64(p), 10)
	case logformat.Date:
		return appendDate(dst, e.Accept)
	case logformat.DateReq:
		return appendDate(dst, e.ReqStart)
	case logformat.DateReqG:
		return appendDateGMT(dst, e.ReqStart)
	case logformat.DateReqL:
		return appendDateLocal(dst, e.ReqStart)
	case logformat.DateG:
		return appendDateGMT(dst, e.Accept)
	case logformat.DateL:
		return appendDateLocal(dst, e.Accept)
	case logformat.Timestamp:
		if n.Flags&logformat.Hex != 0 {
			return appendHex(dst, uint64(e.Accept.Unix()), 8)
		}
		return strconv.AppendInt(dst, e.Accept.Unix(), 10)
	case logformat.Ta:
		return appendMs(asap(dst, e), e.Ta)
	case logformat.Tc:
		return appendMs(dst, e.Tc)
	case logformat.Td:
		if e.Tr < 0 || e.Tc < 0 || e.Tw < 0 || e.TR < 0 || e.Tt < 0 {
			return append(dst, "-1"...)
		}
		return appendMs(dst, e.Tt-e.idle()-e.TR-e.Tw-e.Tc-e.Tr)
	case logformat.Th:
		return append(dst, '0') // no TLS handshake
	case logformat.Ti:
		return appendMs(dst, e.idle())
	case logformat.Tq:
		if e.TR < 0 {
			return append(dst, "-1"...)
		}
		return appendMs(dst, e.idle()+e.TR)
	case logformat.TR:
		return appendMs(dst, e.TR)
	case logformat.Tr:
		return appendMs(dst, e.Tr)
	case logformat.Tt:
		return appendMs(asap(dst, e), e.Tt)
	case logformat.Tw:
		return appendMs(dst, e.Tw)
	case logformat.BytesOut:
		return strconv.AppendInt(asap(dst, e), e.BytesOut, 10)
	case logformat.BytesIn:
		return strconv.AppendInt(dst, e.BytesIn, 10)
	case logformat.Status:
		return strconv.AppendInt(dst, int64(e.Status), 10)
	case logformat.CookieReq:
		return n.field(dst, e.CookieReq)
	case logformat.CookieRes:
		return n.field(dst, e.CookieRes)
	case logformat.Absent:
		return n.field(dst, nil)
	case logformat.UniqueID:
		return n.field(dst, e.UniqueID)
	case logformat.Hostname:
		return n.textString(dst, hostname)
	case logformat.Method, logformat.URI, logformat.Path, logformat.PathOnly, logformat.Query, logformat.Version:
		if e.Method == nil {
			return n.textString(dst, badReq)
		}
	}
	switch n.Kind {
	case logformat.Method:
		return n.field(dst, e.Method)
	case logformat.URI:
		return n.field(dst, e.URI)
	case logformat.Path, logformat.PathOnly, logformat.Query:
		u := e.URI
		path, query := u, []byte(nil)
		if q := bytes.IndexByte(u, '?'); q >= 0 {
			path, query = u[:q], u[q:]
		}
		switch n.Kind {
		case logformat.Query:
			if len(query) == 0 && n.Flags&logformat.Quote == 0 {
				return dst // HAProxy writes nothing, not "-"
			}
			return n.field(dst, query)
		case logformat.PathOnly:
			path = http1.PathQuery(path)
		}
		return n.field(dst, path)
	case logformat.Version:
		return n.textString(dst, e.Proto)
	case logformat.ActConn:
		return strconv.AppendInt(dst, int64(e.ActConn), 10)
	case logformat.FeConn:
		return strconv.AppendInt(dst, int64(e.FeConn), 10)
	case logformat.BeConn:
		return strconv.AppendInt(dst, int64(e.BeConn), 10)
	case logformat.SrvConn:
		return strconv.AppendInt(dst, int64(e.SrvConn), 10)
	case logformat.Retries:
		if e.Redispatched {
			dst = append(dst, '+')
		}
		return strconv.AppendInt(dst, int64(e.Retries), 10)
	case logformat.SrvQueue:
		return strconv.AppendInt(dst, int64(e.SrvQueue), 10)
	case logformat.BeQueue:
		return strconv.AppendInt(dst, int64(e.BeQueue), 10)
	case logformat.Backend:
		if e.Backend == "" {
			return n.textString(dst, e.Frontend)
		}
		return n.textString(dst, e.Backend)
	case logformat.Server:
		if e.Server == "" {
			return n.textString(dst, noSrv)
		}
		return n.textString(dst, e.Server)
	case logformat.Frontend:
		return n.textString(dst, e.Frontend)
	case logformat.FrontendT:
		if e.TLS {
			return n.textString(dst, e.Frontend+"~")
		}
		return n.textString(dst, e.Frontend)
	case logformat.Request:
		if e.Method == nil {
			return n.textString(dst, badReq)
		}
		q := n.Flags&logformat.Quote != 0
		if q {
			return appendQuotedRequest(dst, e)
		}
		budget := reqLineMax
		dst, budget = appendEncoded(dst, e.Method, budget)
		dst, budget = appendEncoded(dst, sp, budget)
		dst, budget = appendEncoded(dst, e.URI, budget)
		dst, budget = appendEncoded(dst, sp, budget)
		dst, _ = appendEncodedString(dst, e.Proto, budget)
		return dst
	case logformat.TermState:
		return appendTerm(dst, e, 2)
	case logformat.TermStateC:
		return appendTerm(dst, e, 4)
	case logformat.CaptReq, logformat.CaptRes:
		caps := e.ReqCaps
		if n.Kind == logformat.CaptRes {
			caps = e.ResCaps
		}
		return appendCaptures(dst, caps, n.Flags&logformat.Quote != 0)
	case logformat.CaptReqL, logformat.CaptResL:
		caps := e.ReqCaps
		if n.Kind == logformat.CaptResL {
			caps = e.ResCaps
		}
		for i, c := range caps {
			if i > 0 {
				dst = append(dst, ' ')
			}
			q := n.Flags&logformat.Quote != 0
			if q {
				dst = append(dst, '"')
			}
			if c != nil {
				dst = appendHdrEncoded(dst, c)
			} else if !q {
				dst = append(dst, '-')
			}
			if q {
				dst = append(dst, '"')
			}
		}
		return dst
	case logformat.Ms:
		return append3(dst, e.Accept.Nanosecond()/1e6)
	case logformat.Pid:
		if n.Flags&logformat.Hex != 0 {
			return appendHex(dst, uint64(os.Getpid()), 4)
		}
		return append(dst, pidText...)
	case logformat.ReqCounter:
		if n.Flags&logformat.Hex != 0 {
			return appendHex(dst, uint64(e.ReqID), 4)
		}
		return strconv.AppendInt(dst, e.ReqID, 10)
	case logformat.LogCounter:
		return strconv.AppendInt(dst, e.LogCount, 10)
	}
	return dst
}

// idle is Ti: from the accept to the request's first byte (no handshake).
func (e *Entry) idle() time.Duration {
	if e.Accept.IsZero() || e.ReqStart.IsZero() {
		return 0
	}
	return e.ReqStart.Sub(e.Accept)
}

// appendDateLocal writes HAProxy's localdate2str_log: "06/Feb/2009:12:14:14 +0100".
func appendDateLocal(dst []byte, t time.Time) []byte {
	t = t.Local()
	dst = appendDayTime(dst, t)
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	dst = append(dst, ' ', sign)
	dst = append2(dst, off/3600)
	return append2(dst, off/60%60)
}

// appendCaptures writes %hr/%hs: "{v1|v2}", nothing without slots.
func appendCaptures(dst []byte, caps [][]byte, quote bool) []byte {
	if len(caps) == 0 {
		return dst
	}
	dst = append(dst, '{')
	for i, c := range caps {
		if i > 0 {
			dst = append(dst, '|')
		}
		if quote {
			dst = append(dst, '"')
		}
		dst = appendHdrEncoded(dst, c)
		if quote {
			dst = append(dst, '"')
		}
	}
	return append(dst, '}')
}

// appendHdrEncoded writes a captured value with HAProxy's hdr_encode_map:
// control bytes, bytes >= 127 and '"', '#', '{', '|', '}' as "#XX".
func appendHdrEncoded(dst, s []byte) []byte {
	for _, c := range s {
		if c < 32 || c >= 127 || c == '"' || c == '#' || c == '{' || c == '|' || c == '}' {
			dst = append(dst, '#', hexDigits[c>>4], hexDigits[c&15])
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}

// appendHex writes v in upper-case hex, at least width digits (printf's
// "%0<width>X") without going through fmt, which allocates.
func appendHex(dst []byte, v uint64, width int) []byte {
	var b [16]byte
	i := len(b)
	for v != 0 || len(b)-i < width {
		i--
		b[i] = hexDigits[v&15]
		v >>= 4
	}
	return append(dst, b[i:]...)
}

var unixWord = []byte("unix")
