package rules

import (
	"strconv"

	"dhproxy/internal/sample"
)

// HAProxy's default error messages (its http_err_msgs): the statuses
// "deny_status" and "return" may use without an errorfile.
var defaultErrors = map[int]struct{ Reason, Text string }{
	200: {"OK", "Service ready."},
	400: {"Bad request", "Your browser sent an invalid request."},
	401: {"Unauthorized", "You need a valid user and password to access this content."},
	403: {"Forbidden", "Request forbidden by administrative rules."},
	404: {"Not Found", "The resource could not be found."},
	405: {"Method Not Allowed", "A request was made of a resource using a request method not supported by that resource"},
	407: {"Unauthorized", "You need a valid user and password to access this content."},
	408: {"Request Time-out", "Your browser didn't send a complete request in time."},
	410: {"Gone", "The resource is no longer available and will not be available again."},
	413: {"Payload Too Large", "The request entity exceeds the maximum allowed."},
	425: {"Too Early", "Your browser sent early data."},
	429: {"Too Many Requests", "You have sent too many requests in a given amount of time."},
	500: {"Internal Server Error", "An internal server error occurred."},
	501: {"Not Implemented", ".The server does not support the functionality required to fulfill the request."},
	502: {"Bad Gateway", "The server returned an invalid or incomplete response."},
	503: {"Service Unavailable", "No server is available to handle this request."},
	504: {"Gateway Time-out", "The server didn't respond in time."},
}

// DefaultError returns HAProxy's reason and text for a status that has a
// default error message.
func DefaultError(status int) (reason, text string, ok bool) {
	e, ok := defaultErrors[status]
	return e.Reason, e.Text, ok
}

// ErrorBody is the HTML body of a default error message.
func ErrorBody(status int) string {
	e := defaultErrors[status]
	return "<html><body><h1>" + strconv.Itoa(status) + " " + e.Reason + "</h1>\n" + e.Text + "\n</body></html>\n"
}

// reasons are the reason phrases of the statuses a "return" may send.
var reasons = map[int]string{
	100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created", 202: "Accepted",
	203: "Non-Authoritative Information", 204: "No Content", 205: "Reset Content", 206: "Partial Content",
	300: "Multiple Choices", 301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
	307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request", 401: "Unauthorized",
	402: "Payment Required", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
	406: "Not Acceptable", 407: "Proxy Authentication Required", 408: "Request Timeout", 409: "Conflict",
	410: "Gone", 411: "Length Required", 412: "Precondition Failed", 413: "Payload Too Large",
	414: "URI Too Long", 415: "Unsupported Media Type", 416: "Range Not Satisfiable",
	417: "Expectation Failed", 418: "I'm a teapot", 421: "Misdirected Request", 422: "Unprocessable Entity",
	425: "Too Early", 426: "Upgrade Required", 428: "Precondition Required", 429: "Too Many Requests",
	431: "Request Header Fields Too Large", 451: "Unavailable For Legal Reasons",
	500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
	504: "Gateway Timeout", 505: "HTTP Version Not Supported",
}

// Reason is HAProxy's reason phrase for status ("Other" when unknown).
func Reason(status int) string {
	if r, ok := reasons[status]; ok {
		return r
	}
	return "Other"
}

// Reply is a response the proxy writes itself (deny, return): the
// status line, headers from "hdr" (formats, before content-length), fixed
// header lines after content-length, and the body.
type Reply struct {
	Status  int
	Line    []byte // "HTTP/1.1 403 Forbidden\r\n"
	Hdrs    []ReplyHeader
	Tail    []byte // "cache-control: no-cache\r\ncontent-type: text/html\r\n"
	Body    []byte
	BodyFmt *sample.Format // lf-string
	// Close: HAProxy closes the connection after this reply (its 400 and
	// 408 pages say "connection: close").
	Close bool
	// Raw: Line and Tail are the whole head (an errorfile, an errorloc):
	// no content-length is added. HTTP10: the status line is HTTP/1.0,
	// which needs "connection: keep-alive" to keep the connection, and
	// no "connection: close" to end it.
	Raw, HTTP10 bool
	// Dynamic: the proxy's errorfile for Status replaces this reply
	// when there is one (deny_status, default-errorfiles, monitor-uri).
	Dynamic bool
	// Extra are header lines sent after the page's own, also when an
	// errorfile replaces it (the WWW-Authenticate of http-request auth).
	Extra []byte
	// LogExtra is what HAProxy's log counts besides what is sent (an
	// errorfile's Connection and TE fields).
	LogExtra int
}

// ReplyHeader is one "hdr <name> <fmt>" of a return rule.
type ReplyHeader struct {
	Name  []byte
	Value *sample.Format
}

// ErrorReply is HAProxy's default page for status, as deny and
// monitor-uri answer it.
func ErrorReply(status int) *Reply {
	reason, _, _ := DefaultError(status)
	r := &Reply{
		Status:  status,
		Line:    []byte("HTTP/1.1 " + strconv.Itoa(status) + " " + reason + "\r\n"),
		Tail:    []byte("cache-control: no-cache\r\ncontent-type: text/html\r\n"),
		Body:    []byte(ErrorBody(status)),
		Close:   status == 400 || status == 408,
		Dynamic: true,
	}
	if r.Close {
		// haproxy's message holds that field, which its log counts
		r.LogExtra = len("connection") + len("close")
	}
	return r
}

// Append writes the reply after dst; close adds "connection: close" (the
// connection ends after it); head leaves the body out (a HEAD request)
// but keeps its length. An lf-string body is built in buf, which must be
// neither dst nor the transaction's scratch (its samples write there).
func (r *Reply) Append(dst []byte, t sample.Txn, v *sample.Value, buf *[]byte, close, head bool) []byte {
	return r.AppendExtra(dst, r.Extra, t, v, buf, close, head)
}

// AppendExtra is Append with the header lines extra after the reply's
// own (another reply's Extra, when this one is the errorfile replacing it).
func (r *Reply) AppendExtra(dst, extra []byte, t sample.Txn, v *sample.Value, buf *[]byte, close, head bool) []byte {
	dst = append(dst, r.Line...)
	if r.Raw {
		dst = append(dst, r.Tail...)
		dst = append(dst, extra...)
		switch {
		case close && !r.HTTP10:
			dst = append(dst, "connection: close\r\n"...)
		case !close && r.HTTP10:
			dst = append(dst, "connection: keep-alive\r\n"...)
		}
		dst = append(dst, "\r\n"...)
		if head {
			return dst
		}
		return append(dst, r.Body...)
	}
	for _, h := range r.Hdrs {
		dst = append(dst, h.Name...)
		dst = append(dst, ": "...)
		dst = h.Value.Append(t, v, dst)
		dst = append(dst, "\r\n"...)
	}
	body := r.Body
	if r.BodyFmt != nil {
		start := len(*buf)
		*buf = r.BodyFmt.Append(t, v, *buf)
		body = (*buf)[start:]
	}
	dst = append(dst, "content-length: "...)
	dst = strconv.AppendInt(dst, int64(len(body)), 10)
	dst = append(dst, "\r\n"...)
	dst = append(dst, r.Tail...)
	dst = append(dst, extra...)
	if close {
		dst = append(dst, "connection: close\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	if head {
		return dst
	}
	return append(dst, body...)
}

// AuthReply is HAProxy's 401 page (or the proxy's errorfile 401) asking
// for Basic credentials for realm (http-request auth).
func AuthReply(realm string) *Reply {
	r := ErrorReply(401)
	r.Extra = []byte("www-authenticate: Basic realm=\"" + realm + "\"\r\n")
	return r
}
