package http1

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

type wantHdr struct {
	name, value string
	kind        Kind
	hop         bool
}

func checkHeaders(t *testing.T, got []Header, want []wantHdr) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d headers, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if string(g.Name) != w.name || string(g.Value) != w.value || g.Kind != w.kind || g.Hop != w.hop {
			t.Errorf("header %d = {%q %q kind=%d hop=%v}, want {%q %q kind=%d hop=%v}",
				i, g.Name, g.Value, g.Kind, g.Hop, w.name, w.value, w.kind, w.hop)
		}
	}
}

type reqCase struct {
	name    string
	in      string
	extra   string // bytes after the head (body / next message), not part of HeadLen
	method  string
	uri     string
	minor   int
	cl      int64
	chunked bool
	close   bool
	ka      bool
	upg     bool
	keep    bool
	framing Framing
	expect  bool
	hasUpg  bool
	hdrs    []wantHdr
}

var reqCases = []reqCase{
	{
		name: "simple GET", in: "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
		method: "GET", uri: "/", minor: 1, cl: -1, keep: true, framing: FramingNone,
		hdrs: []wantHdr{{"Host", "example.com", KindHost, false}},
	},
	{
		name: "POST with CL and body after", in: "POST /submit?a=b HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n", extra: "hello",
		method: "POST", uri: "/submit?a=b", minor: 1, cl: 5, keep: true, framing: FramingLength,
		hdrs: []wantHdr{{"Host", "x", KindHost, false}, {"Content-Length", "5", KindContentLength, false}},
	},
	{
		name: "chunked POST", in: "POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n", extra: "0\r\n\r\n",
		method: "POST", uri: "/", minor: 1, cl: -1, chunked: true, keep: true, framing: FramingChunked,
		hdrs: []wantHdr{{"host", "x", KindHost, false}, {"transfer-encoding", "chunked", KindTransferEncoding, false}},
	},
	{
		name: "TE with HTAB OWS and mixed case", in: "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\tChUnKeD\t\r\n\r\n",
		method: "POST", uri: "/", minor: 1, cl: -1, chunked: true, keep: true, framing: FramingChunked,
		hdrs: []wantHdr{{"Host", "x", KindHost, false}, {"Transfer-Encoding", "ChUnKeD", KindTransferEncoding, false}},
	},
	{
		name: "identical duplicate CL list", in: "PUT /x HTTP/1.1\r\nHost: x\r\nContent-Length: 7, 7\r\nContent-Length: 07\r\n\r\n",
		method: "PUT", uri: "/x", minor: 1, cl: 7, keep: true, framing: FramingLength,
		hdrs: []wantHdr{{"Host", "x", KindHost, false}, {"Content-Length", "7, 7", KindContentLength, false}, {"Content-Length", "07", KindContentLength, false}},
	},
	{
		name: "CL zero", in: "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
		method: "POST", uri: "/", minor: 1, cl: 0, keep: true, framing: FramingLength,
		hdrs: []wantHdr{{"Host", "x", KindHost, false}, {"Content-Length", "0", KindContentLength, false}},
	},
	{
		name: "HTTP/1.0 without Host, default close", in: "GET /old HTTP/1.0\r\n\r\n",
		method: "GET", uri: "/old", minor: 0, cl: -1, keep: false, framing: FramingNone,
	},
	{
		name: "HTTP/1.0 keep-alive", in: "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\nKeep-Alive: timeout=5\r\n\r\n",
		method: "GET", uri: "/", minor: 0, cl: -1, ka: true, keep: true, framing: FramingNone,
		hdrs: []wantHdr{{"Connection", "Keep-Alive", KindConnection, true}, {"Keep-Alive", "timeout=5", KindKeepAlive, true}},
	},
	{
		name: "HTTP/1.0 keep-alive and close", in: "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
		method: "GET", uri: "/", minor: 0, cl: -1, ka: true, close: true, keep: false, framing: FramingNone,
		hdrs: []wantHdr{{"Connection", "keep-alive, close", KindConnection, true}},
	},
	{
		name: "HTTP/1.1 close", in: "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		method: "GET", uri: "/", minor: 1, cl: -1, close: true, keep: false, framing: FramingNone,
		hdrs: []wantHdr{{"Host", "x", KindHost, false}, {"Connection", "close", KindConnection, true}},
	},
	{
		name: "websocket upgrade", in: "GET /chat HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
		method: "GET", uri: "/chat", minor: 1, cl: -1, upg: true, hasUpg: true, keep: true, framing: FramingNone,
		hdrs: []wantHdr{{"Host", "x", KindHost, false}, {"Upgrade", "websocket", KindUpgrade, false},
			{"Connection", "Upgrade", KindConnection, true}, {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==", KindOther, false}},
	},
	{
		name: "HTTP/1.0 upgrade ignored", in: "GET / HTTP/1.0\r\nUpgrade: h2c\r\nConnection: upgrade\r\n\r\n",
		method: "GET", uri: "/", minor: 0, cl: -1, upg: true, keep: false, framing: FramingNone,
		hdrs: []wantHdr{{"Upgrade", "h2c", KindUpgrade, false}, {"Connection", "upgrade", KindConnection, true}},
	},
	{
		name: "Connection options name hop headers, never framing ones",
		in: "GET / HTTP/1.1\r\nHost: x\r\nConnection: x-foo, close,, Content-Length, host, TE, upgrade, x-bar\r\n" +
			"X-Foo: 1\r\nTE: trailers\r\nx-foo: 2\r\nX-Bar: 3\r\nX-Baz: 4\r\nProxy-Connection: keep-alive\r\n\r\n",
		method: "GET", uri: "/", minor: 1, cl: -1, close: true, upg: true, keep: false, framing: FramingNone,
		hdrs: []wantHdr{
			{"Host", "x", KindHost, false},
			{"Connection", "x-foo, close,, Content-Length, host, TE, upgrade, x-bar", KindConnection, true},
			{"X-Foo", "1", KindOther, true}, {"TE", "trailers", KindTE, false}, {"x-foo", "2", KindOther, true},
			{"X-Bar", "3", KindOther, true}, {"X-Baz", "4", KindOther, false},
			{"Proxy-Connection", "keep-alive", KindProxyConnection, true}},
	},
	{
		name: "expect continue", in: "PUT /f HTTP/1.1\r\nHost: x\r\nExpect: 100-Continue\r\nContent-Length: 10\r\n\r\n",
		method: "PUT", uri: "/f", minor: 1, cl: 10, expect: true, keep: true, framing: FramingLength,
		hdrs: []wantHdr{{"Host", "x", KindHost, false}, {"Expect", "100-Continue", KindExpect, false}, {"Content-Length", "10", KindContentLength, false}},
	},
	{
		name: "expect continue ignored in 1.0", in: "PUT /f HTTP/1.0\r\nExpect: 100-continue\r\n\r\n",
		method: "PUT", uri: "/f", minor: 0, cl: -1, framing: FramingNone,
		hdrs: []wantHdr{{"Expect", "100-continue", KindExpect, false}},
	},
	{
		name: "leading CRLFs, OWS trimming, empty value, obs-text, all kinds",
		in: "\r\n\r\nOPTIONS * HTTP/1.1\r\nHOST:x  \r\nX-Empty:\r\nX-Spaces: \t \r\nX-Latin: caf\xe9\r\n" +
			"X-Forwarded-For: 1.2.3.4\r\nCookie: a=b\r\nSet-Cookie: c=d\r\nTrailer: X\r\nX_Under: _\r\n\r\n",
		method: "OPTIONS", uri: "*", minor: 1, cl: -1, keep: true, framing: FramingNone,
		hdrs: []wantHdr{
			{"HOST", "x", KindHost, false}, {"X-Empty", "", KindOther, false}, {"X-Spaces", "", KindOther, false},
			{"X-Latin", "caf\xe9", KindOther, false}, {"X-Forwarded-For", "1.2.3.4", KindXForwardedFor, false},
			{"Cookie", "a=b", KindCookie, false}, {"Set-Cookie", "c=d", KindSetCookie, false},
			{"Trailer", "X", KindTrailer, false}, {"X_Under", "_", KindOther, false}},
	},
	{
		name: "Transfer_Encoding is an unrelated header", in: "POST / HTTP/1.1\r\nHost: x\r\nTransfer_Encoding: chunked\r\nContent-Length: 3\r\n\r\n",
		method: "POST", uri: "/", minor: 1, cl: 3, keep: true, framing: FramingLength,
		hdrs: []wantHdr{{"Host", "x", KindHost, false}, {"Transfer_Encoding", "chunked", KindOther, false}, {"Content-Length", "3", KindContentLength, false}},
	},
	{
		name: "absolute-form and CONNECT authority-form", in: "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
		method: "CONNECT", uri: "example.com:443", minor: 1, cl: -1, keep: true, framing: FramingNone,
		hdrs: []wantHdr{{"Host", "example.com:443", KindHost, false}},
	},
	{
		name: "absolute URI", in: "GET http://a.example/p?q HTTP/1.1\r\nHost: a.example\r\n\r\n", extra: "GET / HTTP/1.1\r\n",
		method: "GET", uri: "http://a.example/p?q", minor: 1, cl: -1, keep: true, framing: FramingNone,
		hdrs: []wantHdr{{"Host", "a.example", KindHost, false}},
	},
}

func checkRequest(t *testing.T, c reqCase, r *Request) {
	t.Helper()
	if string(r.Method) != c.method || string(r.URI) != c.uri || r.Major != 1 || r.Minor != c.minor {
		t.Errorf("start line = %q %q %d.%d", r.Method, r.URI, r.Major, r.Minor)
	}
	if r.ContentLength != c.cl || r.Chunked != c.chunked {
		t.Errorf("CL=%d chunked=%v, want %d %v", r.ContentLength, r.Chunked, c.cl, c.chunked)
	}
	if r.ConnClose != c.close || r.ConnKeepAlive != c.ka || r.ConnUpgrade != c.upg {
		t.Errorf("conn close=%v ka=%v upg=%v, want %v %v %v", r.ConnClose, r.ConnKeepAlive, r.ConnUpgrade, c.close, c.ka, c.upg)
	}
	if r.KeepAlive() != c.keep {
		t.Errorf("KeepAlive()=%v, want %v", r.KeepAlive(), c.keep)
	}
	if r.BodyFraming() != c.framing {
		t.Errorf("BodyFraming()=%d, want %d", r.BodyFraming(), c.framing)
	}
	if r.ExpectContinue != c.expect || r.HasUpgrade != c.hasUpg {
		t.Errorf("expect=%v upgrade=%v, want %v %v", r.ExpectContinue, r.HasUpgrade, c.expect, c.hasUpg)
	}
	if r.HeadLen != len(c.in) {
		t.Errorf("HeadLen=%d, want %d", r.HeadLen, len(c.in))
	}
	checkHeaders(t, r.Headers, c.hdrs)
}

func TestParseRequestValid(t *testing.T) {
	var r Request
	for _, c := range reqCases {
		t.Run(c.name, func(t *testing.T) {
			n, err := ParseRequest([]byte(c.in+c.extra), &r)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if n != len(c.in) {
				t.Fatalf("n=%d, want %d", n, len(c.in))
			}
			checkRequest(t, c, &r)
		})
	}
}

// Every strict prefix of a valid head is incomplete; the full head then
// gives the same result, whatever the Request held before.
func TestParseRequestSplit(t *testing.T) {
	for _, c := range reqCases {
		t.Run(c.name, func(t *testing.T) {
			buf := []byte(c.in)
			var r Request
			for k := 0; k < len(buf); k++ {
				n, err := ParseRequest(buf[:k], &r)
				if err != ErrIncomplete || n != 0 {
					t.Fatalf("prefix %d (%q): n=%d err=%v, want ErrIncomplete", k, buf[:k], n, err)
				}
			}
			if _, err := ParseRequest(buf, &r); err != nil {
				t.Fatal(err)
			}
			checkRequest(t, c, &r)
		})
	}
}

type respCase struct {
	name    string
	in      string
	status  int
	reason  string
	minor   int
	cl      int64
	chunked bool
	keep    bool
	framing Framing // for a GET
	hdrs    []wantHdr
}

var respCases = []respCase{
	{
		name: "200 CL", in: "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\n",
		status: 200, reason: "OK", minor: 1, cl: 12, keep: true, framing: FramingLength,
		hdrs: []wantHdr{{"Content-Length", "12", KindContentLength, false}, {"Content-Type", "text/plain", KindOther, false}},
	},
	{
		name: "chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
		status: 200, reason: "OK", minor: 1, cl: -1, chunked: true, keep: true, framing: FramingChunked,
		hdrs: []wantHdr{{"Transfer-Encoding", "chunked", KindTransferEncoding, false}},
	},
	{
		name: "gzip then chunked", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
		status: 200, reason: "OK", minor: 1, cl: -1, chunked: true, keep: true, framing: FramingChunked,
		hdrs: []wantHdr{{"Transfer-Encoding", "gzip", KindTransferEncoding, false}, {"Transfer-Encoding", "chunked", KindTransferEncoding, false}},
	},
	{
		name: "until close", in: "HTTP/1.0 200 Fine\r\nSet-Cookie: a=1\r\n\r\n",
		status: 200, reason: "Fine", minor: 0, cl: -1, keep: false, framing: FramingUntilClose,
		hdrs: []wantHdr{{"Set-Cookie", "a=1", KindSetCookie, false}},
	},
	{
		name: "empty reason with SP", in: "HTTP/1.1 204 \r\nConnection: close\r\n\r\n",
		status: 204, reason: "", minor: 1, cl: -1, keep: false, framing: FramingNone,
		hdrs: []wantHdr{{"Connection", "close", KindConnection, true}},
	},
	{
		name: "no reason no SP", in: "HTTP/1.1 304\r\n\r\n",
		status: 304, minor: 1, cl: -1, keep: true, framing: FramingNone,
	},
	{
		name: "101 switching", in: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
		status: 101, reason: "Switching Protocols", minor: 1, cl: -1, keep: true, framing: FramingNone,
		hdrs: []wantHdr{{"Upgrade", "websocket", KindUpgrade, false}, {"Connection", "Upgrade", KindConnection, true}},
	},
	{
		name: "reason with tab and obs-text, leading CRLF", in: "\r\nHTTP/1.1 599 We\tird \xff\r\nX: y\r\n\r\n",
		status: 599, reason: "We\tird \xff", minor: 1, cl: -1, keep: true, framing: FramingUntilClose,
		hdrs: []wantHdr{{"X", "y", KindOther, false}},
	},
}

func checkResponse(t *testing.T, c respCase, r *Response) {
	t.Helper()
	if r.Status != c.status || string(r.Reason) != c.reason || r.Major != 1 || r.Minor != c.minor {
		t.Errorf("status line = %d %q %d.%d", r.Status, r.Reason, r.Major, r.Minor)
	}
	if r.ContentLength != c.cl || r.Chunked != c.chunked {
		t.Errorf("CL=%d chunked=%v, want %d %v", r.ContentLength, r.Chunked, c.cl, c.chunked)
	}
	if r.KeepAlive() != c.keep {
		t.Errorf("KeepAlive()=%v, want %v", r.KeepAlive(), c.keep)
	}
	if f := r.BodyFraming(false); f != c.framing {
		t.Errorf("BodyFraming(false)=%d, want %d", f, c.framing)
	}
	if f := r.BodyFraming(true); f != FramingNone {
		t.Errorf("BodyFraming(HEAD)=%d, want none", f)
	}
	if r.HeadLen != len(c.in) {
		t.Errorf("HeadLen=%d, want %d", r.HeadLen, len(c.in))
	}
	checkHeaders(t, r.Headers, c.hdrs)
}

func TestParseResponseValid(t *testing.T) {
	for _, c := range respCases {
		t.Run(c.name, func(t *testing.T) {
			buf := []byte(c.in)
			var r Response
			for k := 0; k < len(buf); k++ {
				if n, err := ParseResponse(buf[:k], &r); err != ErrIncomplete || n != 0 {
					t.Fatalf("prefix %d (%q): n=%d err=%v, want ErrIncomplete", k, buf[:k], n, err)
				}
			}
			n, err := ParseResponse(append(buf, "body"...), &r)
			if err != nil || n != len(c.in) {
				t.Fatalf("n=%d err=%v", n, err)
			}
			checkResponse(t, c, &r)
		})
	}
}

func TestResponseFramingFor(t *testing.T) {
	var r Response
	if _, err := ParseResponse([]byte("HTTP/1.1 200 Connection established\r\n\r\n"), &r); err != nil {
		t.Fatal(err)
	}
	if f := r.BodyFramingFor([]byte("CONNECT")); f != FramingNone {
		t.Errorf("2xx to CONNECT: %d", f)
	}
	if f := r.BodyFramingFor([]byte("GET")); f != FramingUntilClose {
		t.Errorf("2xx to GET: %d", f)
	}
	if f := r.BodyFramingFor([]byte("HEAD")); f != FramingNone {
		t.Errorf("2xx to HEAD: %d", f)
	}
	if _, err := ParseResponse([]byte("HTTP/1.1 407 Auth\r\nContent-Length: 3\r\n\r\n"), &r); err != nil {
		t.Fatal(err)
	}
	if f := r.BodyFramingFor([]byte("CONNECT")); f != FramingLength {
		t.Errorf("407 to CONNECT: %d", f)
	}
}

// A reused Request must not keep anything from the previous parse.
func TestParseReuse(t *testing.T) {
	var r Request
	if _, err := ParseRequest([]byte("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close, upgrade, keep-alive\r\nExpect: 100-continue\r\nUpgrade: h2c\r\n\r\n"), &r); err != nil {
		t.Fatal(err)
	}
	c := reqCases[0]
	if _, err := ParseRequest([]byte(c.in), &r); err != nil {
		t.Fatal(err)
	}
	checkRequest(t, c, &r)
}

func TestParseMaxHeaders(t *testing.T) {
	var b strings.Builder
	b.WriteString("GET / HTTP/1.1\r\nHost: x\r\n")
	for i := 1; i < MaxHeaders; i++ {
		fmt.Fprintf(&b, "X-%d: v\r\n", i)
	}
	var r Request
	if _, err := ParseRequest([]byte(b.String()+"\r\n"), &r); err != nil {
		t.Fatalf("%d headers: %v", MaxHeaders, err)
	}
	b.WriteString("X-Last: v\r\n\r\n")
	_, err := ParseRequest([]byte(b.String()), &r)
	var e *Error
	if !errors.As(err, &e) || e.Status != 400 {
		t.Fatalf("%d headers: %v", MaxHeaders+1, err)
	}
}

// TestParseMaxHeadersOwnLimit: tune.http.maxhdr 10 allows 9 fields in a
// request or a response (haproxy 2.6.12 answers 400 to the tenth).
func TestParseMaxHeadersOwnLimit(t *testing.T) {
	head := func(start string, n int) []byte {
		var b strings.Builder
		b.WriteString(start)
		for i := 0; i < n; i++ {
			fmt.Fprintf(&b, "X-%d: v\r\n", i)
		}
		return []byte(b.String() + "\r\n")
	}
	var e *Error
	r := Request{Message: Message{MaxHeaders: 9}}
	if _, err := ParseRequest(head("GET / HTTP/1.0\r\n", 9), &r); err != nil {
		t.Fatalf("9 request headers: %v", err)
	}
	if _, err := ParseRequest(head("GET / HTTP/1.0\r\n", 10), &r); !errors.As(err, &e) || e.Status != 400 {
		t.Fatalf("10 request headers: %v", err)
	}
	resp := Response{Message: Message{MaxHeaders: 9}}
	if _, err := ParseResponse(head("HTTP/1.1 200 OK\r\n", 9), &resp); err != nil {
		t.Fatalf("9 response headers: %v", err)
	}
	if _, err := ParseResponse(head("HTTP/1.1 200 OK\r\n", 10), &resp); !errors.As(err, &e) || e.Status != 502 {
		t.Fatalf("10 response headers: %v", err)
	}
	if r.MaxHeaders != 9 || resp.MaxHeaders != 9 {
		t.Fatal("the parser changed the caller's limit")
	}
}

func TestParseConnectionOptionsBound(t *testing.T) {
	opts := make([]string, maxConnOptions+1)
	for i := range opts {
		opts[i] = fmt.Sprintf("x-%d", i)
	}
	var r Request
	in := "GET / HTTP/1.1\r\nHost: x\r\nConnection: " + strings.Join(opts[:maxConnOptions], ",") + "\r\nX-3: a\r\n\r\n"
	if _, err := ParseRequest([]byte(in), &r); err != nil {
		t.Fatal(err)
	}
	if !r.Headers[2].Hop {
		t.Error("X-3 not marked hop-by-hop")
	}
	in = "GET / HTTP/1.1\r\nHost: x\r\nConnection: " + strings.Join(opts, ",") + "\r\n\r\n"
	if _, err := ParseRequest([]byte(in), &r); err == nil {
		t.Fatal("too many Connection options accepted")
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{Status: 400, Pos: 17, Reason: "bare CR"}
	if got, want := e.Error(), "http1: bare CR at offset 17 (status 400)"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestEqualFold(t *testing.T) {
	for _, c := range []struct {
		a, s string
		want bool
	}{
		{"Content-Length", "content-length", true},
		{"CONTENT-LENGTH", "content-length", true},
		{"content-length", "Content-Length", true},
		{"content-lengt", "content-length", false},
		{"", "", true},
		{"@", "`", false}, // not letters: no folding
		{"[", "{", false},
		{"\xc9", "\xe9", false}, // not ASCII
	} {
		if got := EqualFold([]byte(c.a), c.s); got != c.want {
			t.Errorf("EqualFold(%q, %q) = %v", c.a, c.s, got)
		}
	}
}

func TestHasToken(t *testing.T) {
	for _, c := range []struct {
		v, tok string
		want   bool
	}{
		{"close", "close", true},
		{"Keep-Alive, Close", "close", true},
		{" \tclose\t ", "close", true},
		{",,upgrade,,", "upgrade", true},
		{"closed", "close", false},
		{"cl ose", "close", false},
		{"x-close, foo", "close", false},
		{"", "close", false},
		{"", "", true},
		{"a,", "", true},
	} {
		if got := HasToken([]byte(c.v), c.tok); got != c.want {
			t.Errorf("HasToken(%q, %q) = %v", c.v, c.tok, got)
		}
	}
}

func TestAppendStatusLine(t *testing.T) {
	for _, c := range []struct {
		major, minor, status int
		reason, want         string
	}{
		{1, 1, 200, "OK", "HTTP/1.1 200 OK\r\n"},
		{1, 0, 503, "Service Unavailable", "HTTP/1.0 503 Service Unavailable\r\n"},
		{1, 1, 204, "", "HTTP/1.1 204 \r\n"},
		{1, 1, 7, "x", "HTTP/1.1 007 x\r\n"},
	} {
		got := string(AppendStatusLine([]byte("> "), c.major, c.minor, c.status, c.reason))
		if got != "> "+c.want {
			t.Errorf("got %q, want %q", got, c.want)
		}
	}
}

func TestKeepAliveRules(t *testing.T) {
	for _, c := range []struct {
		minor     int
		close, ka bool
		want      bool
	}{
		{1, false, false, true}, {1, true, false, false}, {1, false, true, true}, {1, true, true, false},
		{0, false, false, false}, {0, true, false, false}, {0, false, true, true}, {0, true, true, false},
	} {
		m := Message{Major: 1, Minor: c.minor, ConnClose: c.close, ConnKeepAlive: c.ka}
		if got := m.KeepAlive(); got != c.want {
			t.Errorf("%+v: KeepAlive()=%v", c, got)
		}
	}
}

// Every byte value, at every offset of a long field (so that both the
// 8-byte fast path and the byte loop see it), is accepted exactly when the
// grammar allows it.
func TestFieldBytes(t *testing.T) {
	const filler = "abcdefghijklmnopqrstuvwx"
	isTchar := func(b byte) bool {
		return b >= '0' && b <= '9' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' ||
			strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0
	}
	var r Request
	var resp Response
	for b := 0; b < 256; b++ {
		c := byte(b)
		valueOK := c == '\t' || c >= 0x20 && c != 0x7f
		for pos := 0; pos < len(filler); pos++ {
			f := []byte(filler)
			f[pos] = c
			in := "GET / HTTP/1.1\r\nHost: x\r\nX: " + string(f) + "\r\n\r\n"
			if _, err := ParseRequest([]byte(in), &r); (err == nil) != valueOK {
				t.Fatalf("value byte %#x at %d: err=%v", c, pos, err)
			}
			in = "HTTP/1.1 200 " + string(f) + "\r\n\r\n"
			if _, err := ParseResponse([]byte(in), &resp); (err == nil) != valueOK {
				t.Fatalf("reason byte %#x at %d: err=%v", c, pos, err)
			}
			in = "GET / HTTP/1.1\r\nHost: x\r\n" + string(f) + ": v\r\n\r\n"
			nameOK := isTchar(c) || c == ':' && pos > 0 // "a:bcd: v" is a:"bcd: v"
			if _, err := ParseRequest([]byte(in), &r); (err == nil) != nameOK {
				t.Fatalf("name byte %#x at %d: err=%v", c, pos, err)
			}
			in = "GET /" + string(f) + " HTTP/1.1\r\nHost: x\r\n\r\n"
			if _, err := ParseRequest([]byte(in), &r); (err == nil) != (c > 0x20 && c < 0x7f && c != '#') {
				t.Fatalf("URI byte %#x at %d: err=%v", c, pos, err)
			}
			in = string(f) + " / HTTP/1.1\r\nHost: x\r\n\r\n"
			if _, err := ParseRequest([]byte(in), &r); (err == nil) != isTchar(c) {
				t.Fatalf("method byte %#x at %d: err=%v", c, pos, err)
			}
		}
	}
}

// A WebSocket upgrade without a 24-byte Sec-WebSocket-Key is flagged, as
// haproxy 2.6 checks (in HTTP/1.0 too); other upgrades and a plain Upgrade
// header without "Connection: upgrade" are not.
func TestParseWebSocketKey(t *testing.T) {
	const key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	for head, good := range map[string]bool{
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n":                                    false,
		"GET / HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n":                                               false,
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\nUpgrade: h2c, WebSocket\r\nSec-WebSocket-Key: abc\r\n\r\n":     false,
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n" + key + "\r\n":                         true,
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: x\r\n" + key + "\r\n": true,
		"GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket/13\r\n\r\n":                                 true,
		"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\n\r\n":                                                           true,
	} {
		var r Request
		if _, err := ParseRequest([]byte(head), &r); err != nil || r.WebSocketNoKey == good {
			t.Errorf("%q: err %v, WebSocketNoKey %v", head, err, r.WebSocketNoKey)
		}
	}
}

// ConnectHost: haproxy 2.6's check of a CONNECT's Host, and the Host it
// forwards ("" for a refused request).
func TestConnectHost(t *testing.T) {
	for _, c := range []struct{ target, host, want string }{
		{"a:443", "a:443", "a"},
		{"a:80", "A:80", "A"},
		{"a:8443", "a:8443", "a:8443"},
		{"a:443", "a", "a"},
		{"a:443", "a:", "a:"},
		{"[::1]:443", "[::1]:443", "[::1]"},
		{"[::1]:443", "[::1]", "[::1]"},
		{"a:8443", "a", ""},
		{"a:8443", "a:", ""},
		{"a:443", "a:80", ""},
		{"a:443", "a:0443", ""},
		{"a:443", "b:443", ""},
		{"a:443", "443", ""},
	} {
		var r Request
		head := "CONNECT " + c.target + " HTTP/1.1\r\nHost: " + c.host + "\r\n\r\n"
		if _, err := ParseRequest([]byte(head), &r); err != nil {
			t.Fatalf("%q: %v", head, err)
		}
		got := ""
		if ConnectHost(&r) {
			got = string(r.Headers[0].Value)
		}
		if got != c.want || r.HostPortDropped != (got != c.host && got != "") {
			t.Errorf("%s, Host %s: %q (dropped %v), want %q", c.target, c.host, got, r.HostPortDropped, c.want)
		}
	}
}
