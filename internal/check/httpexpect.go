package check

import (
	"bytes"
	"errors"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"

	"dhproxy/internal/model"
)

// httpResponse is what the "http-check expect" rules of one request judge.
type httpResponse struct {
	code    int
	reason  string
	headers [][2]string // name, value (trimmed), in order
	body    []byte
}

// needBody tells whether an expect rule from i on, before the next send,
// looks at the body, which is then read to its end.
func (rs *ruleset) needBody(i int) bool {
	for _, r := range rs.rules[i:] {
		if r.kind != ruleExpectHTTPRule {
			break
		}
		if m := r.x.match; m == "string" || m == "rstring" {
			return true
		}
	}
	return false
}

// readHTTPResponse reads a response head, skipping interim 1xx ones, and
// with withBody its body up to its Content-Length, the server's close or a
// full buffer. A nil response comes with the failure result.
func readHTTPResponse(conn net.Conn, in *[]byte, withBody bool) (*httpResponse, Result) {
	buf := *in
	if cap(buf) == 0 {
		buf = make([]byte, 0, readBufSize)
	}
	defer func() { *in = buf }()
	for {
		head, used, st := parseResponseHead(buf)
		switch {
		case st == headInvalid:
			return nil, Result{Status: StatusL7RSP}
		case st == headComplete && head.code < 200:
			// Interim responses (100 Continue...) precede the real one.
			buf = append(buf[:0], buf[used:]...)
			continue
		case st == headComplete:
			resp := &httpResponse{code: head.code, reason: head.reason, headers: headerList(buf[:used])}
			if withBody {
				resp.body = readBody(conn, &buf, used, resp.contentLength(), resp.chunked())
			}
			return resp, Result{}
		}
		if len(buf) == cap(buf) {
			return nil, Result{Status: StatusL7RSP} // head larger than the buffer
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && n == 0 {
			return nil, ioFailure(err)
		}
	}
}

// readBody reads after the head at used until cl bytes (-1: until close),
// the end of a chunked body, a full buffer or a failed read, and returns
// the body, dechunked as HAProxy's expect rules see it.
func readBody(conn net.Conn, bufp *[]byte, used int, cl int, chunked bool) []byte {
	buf := *bufp
	for len(buf) < cap(buf) {
		if body := buf[used:]; (cl >= 0 && !chunked && len(body) >= cl) || (chunked && chunkedDone(body)) {
			break
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && (n == 0 || errors.Is(err, io.EOF)) {
			break
		}
	}
	*bufp = buf
	body := buf[used:]
	switch {
	case chunked:
		return dechunk(body)
	case cl >= 0 && len(body) > cl:
		return body[:cl]
	}
	return body
}

// chunkedDone tells whether a chunked body's last chunk and trailer section
// have arrived.
func chunkedDone(b []byte) bool {
	_, done := dechunkState(b)
	return done
}

// dechunk returns the data of the complete chunks of b.
func dechunk(b []byte) []byte {
	data, _ := dechunkState(b)
	return data
}

func dechunkState(b []byte) (data []byte, done bool) {
	for {
		line, rest, ok := bytes.Cut(b, []byte("\n"))
		if !ok {
			return data, false
		}
		size, _, _ := bytes.Cut(bytes.TrimSpace(line), []byte(";"))
		n, err := strconv.ParseUint(string(size), 16, 31)
		if err != nil {
			return data, true // not chunked after all: judge what came
		}
		if n == 0 {
			return data, bytes.Contains(rest, []byte("\n")) // the trailers' empty line
		}
		if uint64(len(rest)) < n {
			return append(data, rest...), false
		}
		data = append(data, rest[:n]...)
		b = bytes.TrimPrefix(bytes.TrimPrefix(rest[n:], []byte("\r")), []byte("\n"))
	}
}

// contentLength is the response's Content-Length, -1 if none.
func (r *httpResponse) contentLength() int {
	for _, kv := range r.headers {
		if strings.EqualFold(kv[0], "content-length") {
			if n, err := strconv.Atoi(kv[1]); err == nil && n >= 0 {
				return n
			}
		}
	}
	return -1
}

// chunked tells whether the body comes in chunks.
func (r *httpResponse) chunked() bool {
	for _, kv := range r.headers {
		if strings.EqualFold(kv[0], "transfer-encoding") && strings.Contains(strings.ToLower(kv[1]), "chunked") {
			return true
		}
	}
	return false
}

// expectHTTPRule judges a response as HAProxy's tcpcheck_eval_expect_http:
// a status rule fails with "Layer7 wrong status" and the reason phrase, a
// body rule with "Layer7 invalid response" and HAProxy's fixed infos.
func expectHTTPRule(resp *httpResponse, r rule) (Result, bool) {
	x := r.x
	var match bool
	st, info := x.errStatus, ""
	switch x.match {
	case "hdr", "fhdr":
		match = hdrMatches(resp.headers, x.hdr)
		if st == StatusUnknown {
			st = StatusL7STS
		}
		info = resp.reason
	case "status", "rstatus":
		if x.match == "status" {
			for _, c := range x.codes {
				if resp.code >= c[0] && resp.code <= c[1] {
					match = true
					break
				}
			}
		} else {
			match = x.re.MatchString(strconv.Itoa(resp.code))
		}
		if st == StatusUnknown {
			st = StatusL7STS
		}
		info = resp.reason
	default:
		if st == StatusUnknown {
			st = StatusL7RSP
		}
		if len(resp.body) == 0 {
			info = "HTTP content check could not find a response body"
			if x.onError != "" {
				info = x.onError
			}
			return Result{Status: st, Code: resp.code, Info: withComment(info, r.comment)}, true
		}
		if x.match == "string" {
			match = bytes.Contains(resp.body, x.data)
		} else {
			match = x.re.Match(resp.body)
		}
		info = "HTTP content check did not match"
		if x.inverse {
			info = "HTTP check matched unwanted content"
		}
	}
	if match != x.inverse {
		return Result{}, false
	}
	if x.onError != "" {
		info = x.onError
	}
	return Result{Status: st, Code: resp.code, Info: withComment(info, r.comment)}, true
}

func withComment(info, comment string) string {
	if comment == "" {
		return info
	}
	return info + " comment: " + comment
}

// headerList returns the header fields of a response head.
func headerList(head []byte) [][2]string {
	var out [][2]string
	lines := bytes.Split(head, []byte("\n"))
	for _, l := range lines[1:] {
		name, val, ok := bytes.Cut(bytes.TrimSuffix(l, []byte("\r")), []byte(":"))
		if ok && len(name) > 0 {
			out = append(out, [2]string{string(name), string(bytes.Trim(val, " \t"))})
		}
	}
	return out
}

// hdrMatches tells whether a header matches "hdr"/"fhdr": its name by the
// name method (without case), then, when a value pattern is given, its
// value (each comma-separated element for "hdr", the whole for "fhdr").
func hdrMatches(headers [][2]string, h *model.HdrMatch) bool {
	for _, kv := range headers {
		if !matchBy(h.NameMeth, h.NameRe, strings.ToLower(kv[0]), strings.ToLower(h.Name)) {
			continue
		}
		if !h.HasValue {
			return true
		}
		values := []string{kv[1]}
		if !h.Full {
			values = strings.Split(kv[1], ",")
		}
		for _, v := range values {
			if matchBy(h.ValueMeth, h.ValueRe, strings.Trim(v, " \t"), h.Value) {
				return true
			}
		}
	}
	return false
}

func matchBy(meth string, re *regexp.Regexp, s, pat string) bool {
	switch meth {
	case "beg":
		return strings.HasPrefix(s, pat)
	case "end":
		return strings.HasSuffix(s, pat)
	case "sub":
		return strings.Contains(s, pat)
	case "reg":
		return re.MatchString(s)
	}
	return s == pat
}
