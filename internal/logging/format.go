package logging

import (
	"net/netip"
	"strconv"
	"time"
)

// reqLineMax is HAProxy's tune.http.logurilen default (1024) minus its NUL:
// the request line kept for %r is cut to this many bytes before encoding.
const reqLineMax = 1023

const (
	noSrv  = "<NOSRV>"
	badReq = "<BADREQ>"
)

// FormatHTTP appends the "option httplog" line (no syslog header):
//
//	%ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq %hr %hs %{+Q}r
//
// Without captures %CC and %CS print "-" and %hr/%hs print nothing;
// HAProxy then emits a single space before %r because consecutive
// separators collapse.
func FormatHTTP(dst []byte, e *Entry) []byte {
	dst = appendClient(dst, e)
	dst = append(dst, " ["...)
	dst = appendDate(dst, e.ReqStart)
	dst = append(dst, "] "...)
	dst = append(dst, e.Frontend...)
	dst = appendTransport(dst, e)
	dst = append(dst, ' ')
	dst = appendBackendServer(dst, e, '/')
	dst = append(dst, ' ')
	dst = appendMs(dst, e.TR)
	dst = append(dst, '/')
	dst = appendMs(dst, e.Tw)
	dst = append(dst, '/')
	dst = appendMs(dst, e.Tc)
	dst = append(dst, '/')
	dst = appendMs(dst, e.Tr)
	dst = append(dst, '/')
	dst = appendMs(asap(dst, e), e.Ta)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(asap(dst, e), e.BytesOut, 10)
	for _, ck := range [2][]byte{e.CookieReq, e.CookieRes} {
		dst = append(dst, ' ')
		if len(ck) == 0 {
			dst = append(dst, '-')
		}
		dst = append(dst, ck...)
	}
	dst = append(dst, ' ')
	dst = appendTerm(dst, e, 4)
	dst = append(dst, ' ')
	dst = appendCounters(dst, e, '/')
	dst = append(dst, ' ')
	for _, caps := range [2][][]byte{e.ReqCaps, e.ResCaps} {
		if len(caps) > 0 {
			dst = appendCaptures(dst, caps, false)
			dst = append(dst, ' ')
		}
	}
	dst = appendQuotedRequest(dst, e)
	return dst
}

// FormatTCP appends the "option tcplog" line:
//
//	%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
//
// HAProxy 2.6 prints %Tw in TCP mode as t_queue - t_request where
// t_request is -1 (no request phase), so the value shown is one more than
// the time from accept to leaving the queue: a stream that never waited
// logs "1/". Entry.Tw holds the real duration and the +1 is added here.
func FormatTCP(dst []byte, e *Entry) []byte {
	dst = appendClient(dst, e)
	dst = append(dst, " ["...)
	dst = appendDate(dst, e.Accept)
	dst = append(dst, "] "...)
	dst = append(dst, e.Frontend...)
	dst = appendTransport(dst, e)
	dst = append(dst, ' ')
	dst = appendBackendServer(dst, e, '/')
	dst = append(dst, ' ')
	if e.Tw < 0 {
		dst = append(dst, "-1"...)
	} else {
		dst = strconv.AppendInt(dst, e.Tw.Milliseconds()+1, 10)
	}
	dst = append(dst, '/')
	dst = appendMs(dst, e.Tc)
	dst = append(dst, '/')
	dst = appendMs(asap(dst, e), e.Tt)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(asap(dst, e), e.BytesOut, 10)
	dst = append(dst, ' ')
	dst = appendTerm(dst, e, 2)
	dst = append(dst, ' ')
	dst = appendCounters(dst, e, '/')
	return dst
}

// FormatCLF appends the "option httplog clf" line (Apache's common log
// format followed by HAProxy's fields):
//
//	%{+Q}o %{-Q}ci - - [%trg] %r %ST %B "" "" %cp %ms %ft %b %s %TR %Tw %Tc %Tr %Ta %tsc %ac %fc %bc %sc %rc %sq %bq %CC %CS %hrl %hsl
//
// With "+Q" every text field is quoted and an absent one prints "", and
// the empty %hrl/%hsl leave one trailing space, exactly as HAProxy does.
func FormatCLF(dst []byte, e *Entry) []byte {
	dst = appendIP(dst, e.ClientIP)
	dst = append(dst, " - - ["...)
	dst = appendDateGMT(dst, e.ReqStart)
	dst = append(dst, "] "...)
	dst = appendQuotedRequest(dst, e)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(e.Status), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(asap(dst, e), e.BytesOut, 10)
	dst = append(dst, ` "" "" `...)
	dst = strconv.AppendInt(dst, int64(e.ClientPort), 10)
	dst = append(dst, ' ')
	dst = append3(dst, e.Accept.Nanosecond()/1e6)
	dst = append(dst, " \""...)
	dst = append(dst, e.Frontend...)
	dst = appendTransport(dst, e)
	dst = append(dst, "\" "...)
	dst = appendBackendServer(dst, e, 0)
	for i, d := range [...]time.Duration{e.TR, e.Tw, e.Tc, e.Tr, e.Ta} {
		dst = append(dst, ' ')
		if i == 4 {
			dst = asap(dst, e)
		}
		dst = appendMs(dst, d)
	}
	dst = append(dst, ' ')
	dst = appendTerm(dst, e, 4)
	dst = append(dst, ' ')
	dst = appendCounters(dst, e, ' ')
	for _, ck := range [2][]byte{e.CookieReq, e.CookieRes} {
		dst = append(append(append(dst, ` "`...), ck...), '"')
	}
	// %hrl %hsl: each capture quoted; without any, the separator stays
	dst = append(dst, ' ')
	first := true
	for _, caps := range [2][][]byte{e.ReqCaps, e.ResCaps} {
		for _, c := range caps {
			if !first {
				dst = append(dst, ' ')
			}
			first = false
			dst = appendHdrEncoded(append(dst, '"'), c)
			dst = append(dst, '"')
		}
	}
	return dst
}

// FormatDefault appends the line HAProxy logs at accept time for a
// frontend with log targets but neither httplog nor tcplog:
// "Connect from <ci>:<cp> to <fi>:<fp> (<frontend>/<HTTP|TCP>)", or
// "Connect to unix:<listener id> (...)" for a unix socket client.
func FormatDefault(dst []byte, e *Entry) []byte {
	mode := "TCP"
	if e.HTTP {
		mode = "HTTP"
	}
	if !e.ClientIP.IsValid() {
		dst = append(dst, "Connect to unix:"...)
		dst = strconv.AppendInt(dst, int64(e.ClientPort), 10)
	} else {
		dst = append(dst, "Connect from "...)
		dst = e.ClientIP.AppendTo(dst)
		dst = append(dst, ':')
		dst = strconv.AppendInt(dst, int64(e.ClientPort), 10)
		dst = append(dst, " to "...)
		if e.FrontendIP.IsValid() {
			dst = e.FrontendIP.AppendTo(dst)
			dst = append(dst, ':')
			dst = strconv.AppendInt(dst, int64(e.FrontendPort), 10)
		} else {
			dst = append(dst, "undetermined address:0"...) // getsockname() failed
		}
	}
	dst = append(dst, " ("...)
	dst = append(dst, e.Frontend...)
	dst = append(dst, '/')
	dst = append(dst, mode...)
	dst = append(dst, ')')
	return dst
}

func appendIP(dst []byte, ip netip.Addr) []byte {
	if !ip.IsValid() {
		return append(dst, "unix"...) // addr_to_str() of an AF_UNIX peer
	}
	return ip.AppendTo(dst)
}

func appendClient(dst []byte, e *Entry) []byte {
	dst = appendIP(dst, e.ClientIP)
	dst = append(dst, ':')
	return strconv.AppendInt(dst, int64(e.ClientPort), 10)
}

// appendBackendServer writes "b/s", or `"b" "s"` (CLF's quoted fields) when
// sep is 0.
func appendBackendServer(dst []byte, e *Entry, sep byte) []byte {
	be := e.Backend
	if be == "" {
		be = e.Frontend
	}
	srv := e.Server
	if srv == "" {
		srv = noSrv
	}
	if sep == 0 {
		dst = append(dst, '"')
		dst = append(dst, be...)
		dst = append(dst, `" "`...)
		dst = append(dst, srv...)
		return append(dst, '"')
	}
	dst = append(dst, be...)
	dst = append(dst, sep)
	return append(dst, srv...)
}

func appendTerm(dst []byte, e *Entry, n int) []byte {
	for _, c := range e.Term[:n] {
		if c == 0 {
			c = '-'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendCounters writes %ac %fc %bc %sc %rc %sq %bq; httplog and tcplog
// group them as "a/b/c/d/e f/g", CLF separates all with spaces.
func appendCounters(dst []byte, e *Entry, sep byte) []byte {
	for i, n := range [...]int{e.ActConn, e.FeConn, e.BeConn, e.SrvConn} {
		if i > 0 {
			dst = append(dst, sep)
		}
		dst = strconv.AppendInt(dst, int64(n), 10)
	}
	dst = append(dst, sep)
	if e.Redispatched {
		dst = append(dst, '+')
	}
	dst = strconv.AppendInt(dst, int64(e.Retries), 10)
	dst = append(dst, ' ')
	dst = strconv.AppendInt(dst, int64(e.SrvQueue), 10)
	dst = append(dst, sep)
	return strconv.AppendInt(dst, int64(e.BeQueue), 10)
}

// asap writes the '+' that "option logasap" puts before %Ta, %Tt and %B.
func asap(dst []byte, e *Entry) []byte {
	if e.ASAP {
		return append(dst, '+')
	}
	return dst
}

func appendMs(dst []byte, d time.Duration) []byte {
	if d < 0 {
		return append(dst, "-1"...)
	}
	return strconv.AppendInt(dst, d.Milliseconds(), 10)
}

// appendQuotedRequest writes %{+Q}r: the request line as HAProxy stored it
// (method, URI and version joined by spaces and cut to 1023 bytes), with
// control bytes, bytes >= 127, '"' and '#' written as "#XX".
func appendQuotedRequest(dst []byte, e *Entry) []byte {
	dst = append(dst, '"')
	if e.Method == nil {
		dst = append(dst, badReq...)
		return append(dst, '"')
	}
	budget := reqLineMax
	dst, budget = appendEncoded(dst, e.Method, budget)
	dst, budget = appendEncoded(dst, sp, budget)
	dst, budget = appendEncoded(dst, e.URI, budget)
	dst, budget = appendEncoded(dst, sp, budget)
	dst, _ = appendEncodedString(dst, e.Proto, budget)
	return append(dst, '"')
}

var sp = []byte{' '}

const hexDigits = "0123456789ABCDEF"

// needsEscape is HAProxy's url_encode_map.
func needsEscape(c byte) bool { return c < 32 || c >= 127 || c == '"' || c == '#' }

func appendEncoded(dst, s []byte, budget int) ([]byte, int) {
	if len(s) > budget {
		s = s[:budget]
	}
	for _, c := range s {
		if needsEscape(c) {
			dst = append(dst, '#', hexDigits[c>>4], hexDigits[c&15])
		} else {
			dst = append(dst, c)
		}
	}
	return dst, budget - len(s)
}

func appendEncodedString(dst []byte, s string, budget int) ([]byte, int) {
	if len(s) > budget {
		s = s[:budget]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if needsEscape(c) {
			dst = append(dst, '#', hexDigits[c>>4], hexDigits[c&15])
		} else {
			dst = append(dst, c)
		}
	}
	return dst, budget - len(s)
}

var months = [12]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// appendDate writes HAProxy's date2str_log in local time:
// "06/Feb/2009:12:14:14.655".
func appendDate(dst []byte, t time.Time) []byte {
	t = t.Local()
	dst = appendDayTime(dst, t)
	dst = append(dst, '.')
	return append3(dst, t.Nanosecond()/1e6)
}

// appendDateGMT writes HAProxy's gmt2str_log: "06/Feb/2009:12:14:14 +0000".
func appendDateGMT(dst []byte, t time.Time) []byte {
	return append(appendDayTime(dst, t.UTC()), " +0000"...)
}

// appendDayTime writes "06/Feb/2009:12:14:14", t in the zone it carries.
func appendDayTime(dst []byte, t time.Time) []byte {
	y, mo, d := t.Date()
	h, mi, s := t.Clock()
	dst = append2(dst, d)
	dst = append(dst, '/')
	dst = append(dst, months[mo-1]...)
	dst = append(dst, '/')
	dst = append4(dst, y)
	dst = append(dst, ':')
	return appendClock(dst, h, mi, s)
}

// appendClock writes "12:14:14".
func appendClock(dst []byte, h, mi, s int) []byte {
	dst = append2(dst, h)
	dst = append(dst, ':')
	dst = append2(dst, mi)
	dst = append(dst, ':')
	return append2(dst, s)
}

func append2(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/10%10), byte('0'+n%10))
}

func append3(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

func append4(dst []byte, n int) []byte {
	return append(dst, byte('0'+n/1000%10), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

// FormatConnError writes HAProxy's line for a connection that ended
// before a stream started (a failed TLS handshake):
// "127.0.0.1:41234 [06/Feb/2009:12:14:14.655] fe/1: SSL handshake failure".
func FormatConnError(dst []byte, e *Entry, bind, msg string) []byte {
	dst = appendClient(dst, e)
	dst = append(dst, " ["...)
	dst = appendDate(dst, e.Accept)
	dst = append(dst, "] "...)
	dst = append(dst, e.Frontend...)
	dst = append(dst, '/')
	dst = append(dst, bind...)
	dst = append(dst, ": "...)
	return append(dst, msg...)
}

// appendTransport writes the '~' HAProxy's %ft puts after the frontend's
// name when the client connection is TLS.
func appendTransport(dst []byte, e *Entry) []byte {
	if e.TLS {
		dst = append(dst, '~')
	}
	return dst
}
