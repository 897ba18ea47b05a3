package http1

import (
	"errors"
	"testing"
)

const pre = "POST / HTTP/1.1\r\nHost: x\r\n"

type badCase struct {
	name   string
	in     string
	status int
}

// Requests that must be refused; most are published smuggling vectors.
var badRequests = []badCase{
	// CL / TE conflicts
	{"CL.TE", pre + "Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG", 400},
	{"TE.CL", pre + "Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n8\r\nSMUGGLED\r\n0\r\n\r\n", 400},
	{"CL.TE with zero CL", pre + "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	{"TE.TE second line not chunked", pre + "Transfer-Encoding: chunked\r\nTransfer-encoding: x\r\n\r\n", 400},
	{"TE.TE unknown then chunked", pre + "Transfer-Encoding: x\r\nTransfer-Encoding: chunked\r\n\r\n", 422},
	{"TE.TE chunked twice in one line", pre + "Transfer-Encoding: chunked, chunked\r\n\r\n", 400},
	{"TE.TE chunked twice in two lines", pre + "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	{"TE chunked then identity", pre + "Transfer-Encoding: chunked, identity\r\n\r\n", 400},
	{"TE identity", pre + "Transfer-Encoding: identity\r\n\r\n", 400},
	{"TE gzip, chunked", pre + "Transfer-Encoding: gzip, chunked\r\n\r\n", 422},
	{"TE xchunked", pre + "Transfer-Encoding: xchunked\r\n\r\n", 400},
	{"TE chunkedx", pre + "Transfer-Encoding: chunkedx\r\n\r\n", 400},
	{"TE quoted chunked", pre + "Transfer-Encoding: \"chunked\"\r\n\r\n", 400},
	{"TE chunked with parameter", pre + "Transfer-Encoding: chunked;q=1\r\n\r\n", 400},
	{"TE chunked with inner space", pre + "Transfer-Encoding: chun ked\r\n\r\n", 400},
	{"TE trailing vertical tab", pre + "Transfer-Encoding: chunked\x0b\r\n\r\n", 400},
	{"TE leading form feed", pre + "Transfer-Encoding: \x0cchunked\r\n\r\n", 400},
	{"TE NUL", pre + "Transfer-Encoding: chunked\x00\r\n\r\n", 400},
	{"TE space before colon", pre + "Transfer-Encoding : chunked\r\n\r\n", 400},
	{"TE tab before colon", pre + "Transfer-Encoding\t: chunked\r\n\r\n", 400},
	{"TE obs-fold value", pre + "Transfer-Encoding:\r\n chunked\r\n\r\n", 400},
	{"TE leading space on first header", "POST / HTTP/1.1\r\n Transfer-Encoding: chunked\r\nHost: x\r\n\r\n", 400},
	{"TE empty", pre + "Transfer-Encoding: \r\n\r\n", 400},
	{"TE empty element first", pre + "Transfer-Encoding: ,chunked\r\n\r\n", 400},
	{"TE empty element last", pre + "Transfer-Encoding: chunked,\r\n\r\n", 400},
	{"TE in HTTP/1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", 400},
	{"TE with bare LF line end", pre + "Transfer-Encoding: chunked\n\r\n", 400},

	// Content-Length
	{"CL duplicate different", pre + "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400},
	{"CL list different", pre + "Content-Length: 5, 6\r\n\r\n", 400},
	{"CL plus sign", pre + "Content-Length: +5\r\n\r\n", 400},
	{"CL negative", pre + "Content-Length: -1\r\n\r\n", 400},
	{"CL hex", pre + "Content-Length: 0x10\r\n\r\n", 400},
	{"CL inner space", pre + "Content-Length: 5 5\r\n\r\n", 400},
	{"CL leading space and inner space", pre + "Content-Length:  5 5\r\n\r\n", 400},
	{"CL empty", pre + "Content-Length:\r\n\r\n", 400},
	{"CL empty element", pre + "Content-Length: 5,,5\r\n\r\n", 400},
	{"CL trailing comma", pre + "Content-Length: 5,\r\n\r\n", 400},
	{"CL leading comma", pre + "Content-Length: ,5\r\n\r\n", 400},
	{"CL exponent", pre + "Content-Length: 1e3\r\n\r\n", 400},
	{"CL decimal", pre + "Content-Length: 5.0\r\n\r\n", 400},
	{"CL overflow int64", pre + "Content-Length: 9223372036854775808\r\n\r\n", 400},
	{"CL overflow long", pre + "Content-Length: 99999999999999999999999\r\n\r\n", 400},
	{"CL non-ASCII digit", pre + "Content-Length: \xd9\xa5\r\n\r\n", 400},
	{"CL space before colon", pre + "Content-Length : 5\r\n\r\n", 400},
	{"CL obs-fold", pre + "Content-Length: 5\r\n 6\r\n\r\n", 400},
	{"CL vertical tab", pre + "Content-Length: 5\x0b\r\n\r\n", 400},

	// line endings and control bytes
	{"bare LF everywhere", "GET / HTTP/1.1\nHost: x\n\n", 400},
	{"bare LF after request line", "GET / HTTP/1.1\nHost: x\r\n\r\n", 400},
	{"bare LF header line", "GET / HTTP/1.1\r\nHost: x\nX: y\r\n\r\n", 400},
	{"bare LF final line", "GET / HTTP/1.1\r\nHost: x\r\n\n", 400},
	{"bare LF leading line", "\nGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"bare CR leading line", "\rGET / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"bare CR in request line", "GET / HTTP/1.1\rHost: x\r\n\r\n", 400},
	{"bare CR in value", "GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n", 400},
	{"bare CR final line", "GET / HTTP/1.1\r\nHost: x\r\n\rX", 400},
	{"CR CR LF", "GET / HTTP/1.1\r\nHost: x\r\r\n\r\n", 400},
	{"NUL in value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n", 400},
	{"NUL in name", "GET / HTTP/1.1\r\nHost: x\r\nX\x00: ab\r\n\r\n", 400},
	{"NUL in URI", "GET /a\x00b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"NUL in method", "GE\x00T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"DEL in value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n", 400},
	{"ESC in value", "GET / HTTP/1.1\r\nHost: x\r\nX: a\x1bb\r\n\r\n", 400},
	{"DEL in URI", "GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"non-ASCII in URI", "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n", 400},

	// header names
	{"empty header name", "GET / HTTP/1.1\r\nHost: x\r\n: v\r\n\r\n", 400},
	{"header without colon", "GET / HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n", 400},
	{"header name with parenthesis", "GET / HTTP/1.1\r\nHost: x\r\nX(y): v\r\n\r\n", 400},
	{"header name with slash", "GET / HTTP/1.1\r\nHost: x\r\nX/y: v\r\n\r\n", 400},
	{"header name non-ASCII", "GET / HTTP/1.1\r\nHost: x\r\nH\xe9: v\r\n\r\n", 400},
	{"obs-fold", "GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n\tb\r\n\r\n", 400},

	// request line
	{"double SP after method", "GET  / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"double SP before version", "GET /  HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"trailing SP", "GET / HTTP/1.1 \r\nHost: x\r\n\r\n", 400},
	{"tab separator", "GET\t/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"leading SP", " GET / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"empty URI", "GET  HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	// request-target forms (RFC 9112 3.2)
	{"target without slash", "GET admin HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"target host:port outside CONNECT", "GET x:80 HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"target scheme without //", "GET http:x HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"target query only", "GET ?a HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"target star and more", "OPTIONS *x HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"target fragment", "GET /a#b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"target fragment after query", "GET /a?q#b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"absolute target fragment", "GET http://x/a#b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"CONNECT path", "CONNECT /x HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"CONNECT without port", "CONNECT x HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"CONNECT empty port", "CONNECT x: HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"CONNECT port not digits", "CONNECT x:8a HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"space in URI", "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"method not a token", "G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"no method", "/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"lower-case version", "GET / http/1.1\r\nHost: x\r\n\r\n", 400},
	{"HTTP/1.10", "GET / HTTP/1.10\r\nHost: x\r\n\r\n", 400},
	{"absolute URI with another Host", "GET http://y/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"absolute URI with user info and another Host", "GET http://x@y/ HTTP/1.1\r\nHost: x\r\n\r\n", 400},
	{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: x\r\n\r\n", 400},
	{"HTTP/0.9 version", "GET / HTTP/0.9\r\n\r\n", 400},
	{"HTTP/0.9 request", "GET /\r\n\r\n", 400},
	{"missing version", "GET / \r\nHost: x\r\n\r\n", 400},

	// Host
	{"HTTP/1.1 without Host", "GET / HTTP/1.1\r\nX: y\r\n\r\n", 400},
	{"two Host headers", "GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", 400},
	{"two Host headers in 1.0", "GET / HTTP/1.0\r\nHost: a\r\nHost: a\r\n\r\n", 400},
	{"Host with space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400},
}

// Responses that must be refused, all with 502.
var badResponses = []badCase{
	{"CL and TE", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 502},
	{"TE and CL", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 502},
	{"CL differ", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 50\r\n\r\n", 502},
	{"CL list differ", "HTTP/1.1 200 OK\r\nContent-Length: 5, 50\r\n\r\n", 502},
	{"CL negative", "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", 502},
	{"TE not chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 502},
	{"TE chunked not last", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", 502},
	{"TE chunked twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 502},
	{"TE in HTTP/1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 502},
	{"TE space before colon", "HTTP/1.1 200 OK\r\nTransfer-Encoding : chunked\r\n\r\n", 502},
	{"status two digits", "HTTP/1.1 20 OK\r\n\r\n", 502},
	{"status four digits", "HTTP/1.1 2000 OK\r\n\r\n", 502},
	{"status 600", "HTTP/1.1 600 X\r\n\r\n", 502},
	{"status 099", "HTTP/1.1 099 X\r\n\r\n", 502},
	{"status not digits", "HTTP/1.1 2x0 X\r\n\r\n", 502},
	{"double SP before status", "HTTP/1.1  200 OK\r\n\r\n", 502},
	{"HTTP/2", "HTTP/2 200 OK\r\n\r\n", 502},
	{"HTTP/1.10", "HTTP/1.10 200 OK\r\n\r\n", 502},
	{"tab after version", "HTTP/1.1\t200 OK\r\n\r\n", 502},
	{"lower-case version", "http/1.1 200 OK\r\n\r\n", 502},
	{"NUL in reason", "HTTP/1.1 200 O\x00K\r\n\r\n", 502},
	{"bare LF status line", "HTTP/1.1 200 OK\n\r\n", 502},
	{"bare LF header", "HTTP/1.1 200 OK\r\nX: y\n\r\n", 502},
	{"bare CR header", "HTTP/1.1 200 OK\r\nX: y\rZ: w\r\n\r\n", 502},
	{"obs-fold", "HTTP/1.1 200 OK\r\nX: y\r\n z\r\n\r\n", 502},
	{"empty header name", "HTTP/1.1 200 OK\r\n: z\r\n\r\n", 502},
}

func wantError(t *testing.T, err error, status int) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want *Error with status %d", err, status)
	}
	if e.Status != status {
		t.Fatalf("status = %d (%v), want %d", e.Status, e, status)
	}
	return e
}

// Each payload is refused with the right status, and every prefix of it is
// either still incomplete or already refused the same way: an attacker
// cannot get a prefix accepted, and errors do not depend on how bytes arrive.
func TestSmugglingRequests(t *testing.T) {
	for _, c := range badRequests {
		t.Run(c.name, func(t *testing.T) {
			buf := []byte(c.in)
			var r Request
			n, err := ParseRequest(buf, &r)
			if n != 0 {
				t.Errorf("n = %d on error", n)
			}
			e := wantError(t, err, c.status)
			if e.Pos < 0 || e.Pos > len(buf) {
				t.Errorf("Pos %d out of range", e.Pos)
			}
			for k := 0; k < len(buf); k++ {
				_, err := ParseRequest(buf[:k], &r)
				if err == ErrIncomplete {
					continue
				}
				var pe *Error
				if !errors.As(err, &pe) || *pe != *e {
					t.Fatalf("prefix %d: err = %v, want ErrIncomplete or %v", k, err, e)
				}
			}
		})
	}
}

func TestSmugglingResponses(t *testing.T) {
	for _, c := range badResponses {
		t.Run(c.name, func(t *testing.T) {
			buf := []byte(c.in)
			var r Response
			_, err := ParseResponse(buf, &r)
			e := wantError(t, err, c.status)
			for k := 0; k < len(buf); k++ {
				_, err := ParseResponse(buf[:k], &r)
				if err == ErrIncomplete {
					continue
				}
				var pe *Error
				if !errors.As(err, &pe) || *pe != *e {
					t.Fatalf("prefix %d: err = %v, want ErrIncomplete or %v", k, err, e)
				}
			}
		})
	}
}

// The whole path a proxy takes for a request: head, then chunked body. The
// body must be refused when it does not frame exactly as announced.
func TestSmugglingChunkedBodies(t *testing.T) {
	head := "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
	for _, c := range []struct {
		name, body string
	}{
		{"data longer than announced", "5\r\nhelloEXTRA\r\n0\r\n\r\n"},
		{"data shorter than announced", "5\r\nhey\r\n0\r\n\r\n"},
		{"LF only after data", "5\r\nhello\n0\r\n\r\n"},
		{"size line bare LF", "5\nhello\r\n0\r\n\r\n"},
		{"chunk ext with bare LF", "5;a=b\nhello\r\n0\r\n\r\n"},
		{"chunk ext with bare CR", "5;a\rb\r\nhello\r\n0\r\n\r\n"},
		{"chunk size overflow", "ffffffffffffffffff\r\nhello\r\n0\r\n\r\n"},
		{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n"},
		{"negative size", "-5\r\nhello\r\n0\r\n\r\n"},
		{"plus size", "+5\r\nhello\r\n0\r\n\r\n"},
		{"space before size", " 5\r\nhello\r\n0\r\n\r\n"},
		{"last-chunk with bare LF", "0\n\r\n"},
		{"last-chunk final bare LF", "0\r\n\n"},
		{"trailer obs-fold", "0\r\nX: y\r\n z\r\n\r\n"},
		{"trailer space before colon", "0\r\nX : y\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r Request
			n, err := ParseRequest([]byte(head+c.body), &r)
			if err != nil || r.BodyFraming() != FramingChunked {
				t.Fatalf("head: n=%d err=%v framing=%d", n, err, r.BodyFraming())
			}
			var s ChunkScanner
			_, done, err := s.Scan([]byte(head + c.body)[n:])
			if done {
				t.Fatal("body accepted")
			}
			wantError(t, err, 400)
		})
	}
}
