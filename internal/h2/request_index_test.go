package h2

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"unsafe"

	"dhproxy/internal/http1"
)

// sameSlice tells that a and b are the same bytes of one buffer: the
// session finds a head's parts by their offset (cap) in its buffer.
func sameSlice(a, b []byte) bool {
	return len(a) == len(b) && cap(a) == cap(b) && (a == nil) == (b == nil)
}

// diffRequests names the first difference between two parses of buf, ""
// when there is none: the same slices of buf and equal values everywhere
// else (compared by reflection, so that a field added to http1.Request
// is compared too).
func diffRequests(got, want *http1.Request) string {
	if !sameSlice(got.Method, want.Method) {
		return "Method " + string(got.Method) + " / " + string(want.Method)
	}
	if !sameSlice(got.URI, want.URI) {
		return "URI " + string(got.URI) + " / " + string(want.URI)
	}
	if len(got.Headers) != len(want.Headers) {
		return "number of headers"
	}
	for i := range got.Headers {
		g, w := got.Headers[i], want.Headers[i]
		if !sameSlice(g.Name, w.Name) || !sameSlice(g.Value, w.Value) {
			return "header " + string(w.Name) + ": " + string(g.Name) + ": " + string(g.Value) + " / " + string(w.Value)
		}
		g.Name, g.Value, w.Name, w.Value = nil, nil, nil, nil
		if !reflect.DeepEqual(g, w) {
			return "header " + string(want.Headers[i].Name) + " kind or hop"
		}
	}
	g, w := *got, *want
	g.Method, g.URI, g.Headers, w.Method, w.URI, w.Headers = nil, nil, nil, nil, nil, nil
	if !reflect.DeepEqual(g, w) {
		return fmt.Sprintf("fields: got %+v, want %+v", g, w)
	}
	return ""
}

// checkIndex converts fields as a stream does (prefix "") or after prefix
// bytes into a buffer of their own (the index then stored apart), and
// compares the index's parse with http1.ParseRequest's on the converted
// bytes followed by a body: when indexed they must be the same; when not,
// ParseRequest must refuse the head or its index must have had no room.
// maxHeaders is the session's limit (0: the default). It reports whether
// the head was converted and whether it was indexed.
func checkIndex(t testing.TB, kv []string, end bool, prefix string, maxHeaders int) (converted, indexed bool) {
	t.Helper()
	var (
		head []byte
		info reqInfo
		err  error
		fill func(buf []byte, r *http1.Request) bool
		room = maxIndexed // lines
		// the head is in the Stream's array, which the body's bytes may
		// fill up to headCap
		inArray bool
		headCap int
	)
	if prefix == "" {
		st := new(Stream)
		head, info, err = st.convertRequest(fields(kv...), end)
		if err == nil && &head[0] == &st.headBuf[0] {
			room = (len(st.headBuf) - len(head) - indexFixed) / indexLine
			inArray, headCap = true, cap(head)
		}
		st.info = info
		fill = st.ParsedRequest
	} else {
		var ix reqIndex
		var out []byte
		out, info, err = appendRequestHead([]byte(prefix), fields(kv...), end, &ix)
		head = out[len(prefix):]
		area := make([]byte, indexFixed+indexLine*ix.lines)
		if ix.flags&ixOK != 0 {
			ix.store(area)
		}
		fill = func(buf []byte, r *http1.Request) bool { return fillRequest(area, buf, info.contentLength, r) }
	}
	if err != nil {
		return false, false
	}
	buf := append(head[:len(head):len(head)], "5\r\nhello\r\n"...)
	want := http1.Request{Message: http1.Message{MaxHeaders: maxHeaders}}
	n, perr := http1.ParseRequest(buf, &want)
	want.WebSocketNoKey = false // only an HTTP/1 client's request is checked for it
	// A stale parse in the session's Request must not show through.
	got := http1.Request{Message: http1.Message{MaxHeaders: maxHeaders, ConnClose: true, HigherMinor: true,
		Headers: []http1.Header{{Name: []byte("x"), Hop: true}}}, ExpectContinue: true}
	if !fill(buf, &got) {
		if perr == nil && !unindexable(&want, room) {
			t.Fatalf("%q not indexed, ParseRequest reads it", head)
		}
		return true, false
	}
	if perr != nil {
		t.Fatalf("%q indexed, ParseRequest refuses it: %v", head, perr)
	}
	if n != got.HeadLen {
		t.Fatalf("%q: head length %d, ParseRequest %d", head, got.HeadLen, n)
	}
	if d := diffRequests(&got, &want); d != "" {
		t.Fatalf("%q: index differs from ParseRequest: %s\n%+v\n%+v", head, d, got, want)
	}
	if prefix == "" && fill(buf, &got) {
		t.Fatalf("%q: a stream's head parsed twice", head)
	}
	if inArray && headCap+indexFixed+indexLine*len(got.Headers) > len(Stream{}.headBuf) {
		t.Fatalf("%q: the body's bytes may overwrite the index", head)
	}
	return true, true
}

// unindexable tells that a head ParseRequest read as r cannot be indexed
// in room lines.
func unindexable(r *http1.Request, room int) bool {
	if len(r.Headers) > room || r.HeadLen > math.MaxUint16 {
		return true
	}
	for _, h := range r.Headers {
		if len(h.Name) > math.MaxUint8 {
			return true
		}
	}
	return false
}

func TestRequestIndexMatchesParser(t *testing.T) {
	base := []string{":method", "POST", ":scheme", "https", ":authority", "a.test", ":path", "/p?q"}
	many := func(n int) []string {
		kv := []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a"}
		for i := 0; i < n; i++ {
			kv = append(kv, "x-"+itoa(i), "v")
		}
		return kv
	}
	cases := []struct {
		name    string
		kv      []string
		end     bool
		max     int
		indexed bool
	}{
		{"h2load", []string{":method", "GET", ":path", "/", ":scheme", "http", ":authority", "127.0.0.1:20010",
			"accept", "*/*", "accept-encoding", "gzip, deflate", "user-agent", "h2load nghttp2/1.52.0"}, true, 0, true},
		{"unknown length goes chunked", base, false, 0, true},
		{"declared length", append(base, "content-length", "5"), false, 0, true},
		{"declared length with zeros", append(base, "content-length", "007", "content-length", "7"), false, 0, true},
		{"no body", append(base, "accept", "*/*"), true, 0, true},
		{":authority wins over host", append(base, "host", "other.test"), true, 0, true},
		{"cookie crumbs", append(base, "cookie", "a=1", "x", "y", "cookie", "b=2"), true, 0, true},
		{"empty cookie crumbs", append(base, "cookie", "", "cookie", ""), true, 0, true},
		{"last cookie crumb empty", append(base, "cookie", "a", "cookie", ""), true, 0, true},
		{"one empty cookie", append(base, "cookie", ""), true, 0, true},
		{"empty value", append(base, "x-e", ""), true, 0, true},
		{"tab and high bytes inside a value", append(base, "x-t", "a\tb\xff c"), true, 0, true},
		{"te trailers", append(base, "te", "trailers", "trailer", "grpc-status"), true, 0, true},
		{"kinds", append(base, "x-forwarded-for", "1.2.3.4", "set-cookie", "a", "content-type", "t"), true, 0, true},
		{"expect 100-continue", append(base, "expect", "100-continue", "content-length", "3"), false, 0, true},
		{"expect case", append(base, "expect", "100-Continue"), false, 0, true},
		{"other expect", append(base, "expect", "x", "expect", "100-continue"), false, 0, true},
		{"expect something else", append(base, "expect", "200-ok"), false, 0, true},
		{"HEAD", []string{":method", "HEAD", ":scheme", "http", ":path", "/", ":authority", "a"}, true, 0, true},
		{"lower-case method", []string{":method", "get", ":scheme", "http", ":path", "/", ":authority", "a"}, true, 0, true},
		{"upper-case scheme", []string{":method", "GET", ":scheme", "HTTP", ":path", "/", ":authority", "A.Test"}, true, 0, true},
		{"host field without :authority", []string{":method", "GET", ":scheme", "http", ":path", "/x", "host", "h"}, true, 0, true},
		{"no host at all", []string{":method", "GET", ":scheme", "http", ":path", "/x"}, true, 0, false},
		{"two host fields", []string{":method", "GET", ":scheme", "http", ":path", "/", "host", "h", "host", "h"}, true, 0, false},
		{"user info in :authority", []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "u@a"}, true, 0, false},
		{"slash in :authority", []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a/b"}, true, 0, false},
		{"question mark in :authority", []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a?b"}, true, 0, false},
		{"fragment in :path", []string{":method", "GET", ":scheme", "http", ":path", "/a#b", ":authority", "a"}, true, 0, false},
		{"scheme not a URI scheme", []string{":method", "GET", ":scheme", "h!", ":path", "/", ":authority", "a"}, true, 0, false},
		{"scheme with a digit first", []string{":method", "GET", ":scheme", "1h", ":path", "/", ":authority", "a"}, true, 0, false},
		{"scheme with digits", []string{":method", "GET", ":scheme", "h2+x.y-z", ":path", "/", ":authority", "a"}, true, 0, true},
		{"OPTIONS *", []string{":method", "OPTIONS", ":scheme", "http", ":path", "*", ":authority", "a"}, true, 0, true},
		{"OPTIONS * with host", []string{":method", "OPTIONS", ":scheme", "http", ":path", "*", "host", "a"}, true, 0, true},
		{"CONNECT", []string{":method", "CONNECT", ":authority", "a:443", "x-a", "1", "host", "b"}, false, 0, true},
		{"CONNECT IPv6", []string{":method", "CONNECT", ":authority", "[::1]:443"}, false, 0, true},
		{"CONNECT without port", []string{":method", "CONNECT", ":authority", "a"}, false, 0, false},
		{"CONNECT with a named port", []string{":method", "CONNECT", ":authority", "a:https"}, false, 0, false},
		{"CONNECT expect", []string{":method", "CONNECT", ":authority", "a:1", "expect", "100-continue"}, false, 0, true},
		{"websocket", []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":path", "/chat?room=1",
			":authority", "ws.test", "sec-websocket-version", "13"}, false, 0, true},
		{"websocket with key", []string{":method", "CONNECT", ":protocol", "WebSocket", ":scheme", "https", ":path", "/",
			":authority", "ws.test", "sec-websocket-key", "abc", "host", "x"}, false, 0, true},
		{"other protocol", []string{":method", "CONNECT", ":protocol", "foo", ":scheme", "http", ":path", "/",
			":authority", "a"}, false, 0, true},
		{"extended CONNECT with user info", []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":path", "/",
			":authority", "u@a"}, false, 0, false},
		{"as many lines as an index holds", many(maxIndexed - 1), true, 0, true},
		{"one line more", many(maxIndexed), true, 0, false},
		{"a small head's lines", many(8), true, 0, true},
		{"many more", many(150), true, 0, false},
		{"within the session's limit", many(3), true, 4, true},
		{"beyond the session's limit", many(4), true, 4, false},
		{"long name", append(base, strings.Repeat("n", 256), "v"), true, 0, false},
		{"long value", append(base, "x", strings.Repeat("v", 70000)), true, 0, false},
		{"long target", []string{":method", "GET", ":scheme", "http", ":path", "/" + strings.Repeat("p", 1000), ":authority", "a"}, true, 0, true},
	}
	for _, c := range cases {
		for _, prefix := range []string{"", "before"} {
			converted, indexed := checkIndex(t, c.kv, c.end, prefix, c.max)
			if !converted {
				t.Errorf("%s: refused by the conversion", c.name)
			}
			if indexed != c.indexed {
				t.Errorf("%s (prefix %q): indexed %v, want %v", c.name, prefix, indexed, c.indexed)
			}
		}
	}
	// The conversion tests' field lists.
	for _, kv := range [][]string{
		{"content-length", "5"}, {"accept", "*/*"}, {"host", "other.test"},
		{"cookie", "a=1", "x", "y", "cookie", "b=2"}, {"te", "trailers"}, {"connection", "close"},
		{"transfer-encoding", "chunked"}, {"te", "gzip"}, {"X-A", "1"}, {"x", "a\r\nevil: 1"}, {"x", "a\x00"},
		{"x y", "1"}, {"x:y", "1"}, {"x", " 1"}, {"content-length", "1,1"},
		{"content-length", "1", "content-length", "2"}, {"content-length", "3"}, {"x", "1", ":method", "GET"},
		{":status", "200"},
	} {
		for _, end := range []bool{false, true} {
			checkIndex(t, append(append([]string{}, base...), kv...), end, "", 0)
		}
	}
}

// h2load's heads (the bench's) keep the Stream at one allocation: the head
// and its index both fit in its array.
func TestRequestIndexInStream(t *testing.T) {
	st := new(Stream)
	head, info, err := st.convertRequest(fields(":method", "GET", ":scheme", "http", ":authority", "127.0.0.1:20010", ":path", "/",
		"user-agent", "h2load nghttp2/1.52.0"), true)
	if err != nil || &head[0] != &st.headBuf[0] || !info.indexed {
		t.Fatalf("in the array %v, indexed %v, %v", err == nil && &head[0] == &st.headBuf[0], info.indexed, err)
	}
	if size := unsafe.Sizeof(Stream{}); size > 512 {
		t.Errorf("Stream of %d bytes: beyond 512 an allocation has a header", size)
	}
}

// A stream's head reaches the session parsed once: ParsedRequest fills
// the request from a stream's first read, then leaves the rest to
// ParseRequest.
func TestParsedRequestOnce(t *testing.T) {
	convert := func() (*Stream, []byte) {
		st := new(Stream)
		head, info, err := st.convertRequest(fields(":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a"), true)
		if err != nil {
			t.Fatal(err)
		}
		st.info = info
		return st, append([]byte{}, head...)
	}
	st, head := convert()
	var r http1.Request
	if st.ParsedRequest(head[:len(head)-1], &r) {
		t.Fatal("a head not all in the buffer was taken as parsed")
	}
	st, head = convert()
	if !st.ParsedRequest(head, &r) || string(r.Method) != "GET" || r.HeadLen != len(head) {
		t.Fatalf("not parsed: %+v", r)
	}
	if st.ParsedRequest(head, &r) {
		t.Fatal("parsed twice")
	}
}

// FuzzRequestIndex: for any header list the conversion accepts, the
// parse recorded while converting is the one http1.ParseRequest makes of
// the converted bytes, or there is none and ParseRequest refuses them
// (or the head has more lines than an index holds).
func FuzzRequestIndex(f *testing.F) {
	f.Add("GET", "http", "/", "127.0.0.1:20010", "accept\x00*/*\x00user-agent\x00h2load", true, uint8(0), "")
	f.Add("POST", "https", "/p?q", "a.test", "cookie\x00a=1\x00x\x00y\x00cookie\x00\x00content-length\x00007", false, uint8(0), "")
	f.Add("GET", "http", "/", "", "host\x00h\x00host\x00h", true, uint8(0), "")
	f.Add("GET", "http", "/", "u@a", "expect\x00100-Continue", false, uint8(3), "xx")
	f.Add("OPTIONS", "http", "*", "", "host\x00a", true, uint8(0), "")
	f.Add("CONNECT", "", "", "[::1]:443", "expect\x00100-continue", false, uint8(0), "")
	f.Add("CONNECT", "https", "/chat", "ws.test", ":protocol\x00websocket\x00sec-websocket-version\x0013", false, uint8(0), "")
	f.Add("GET", "h!", "/a#b", "a/b", "te\x00trailers\x00trailer\x00x", true, uint8(1), "")
	f.Fuzz(func(t *testing.T, method, scheme, path, authority, rest string, end bool, maxHeaders uint8, prefix string) {
		kv := []string{":method", method}
		if scheme != "" {
			kv = append(kv, ":scheme", scheme)
		}
		if path != "" {
			kv = append(kv, ":path", path)
		}
		if authority != "" {
			kv = append(kv, ":authority", authority)
		}
		parts := strings.Split(rest, "\x00")
		for i := 0; i+1 < len(parts); i += 2 {
			kv = append(kv, parts[i], parts[i+1])
		}
		checkIndex(t, kv, end, prefix, int(maxHeaders))
	})
}

// benchHead is h2load's request (the bench's).
var benchHead = fields(":method", "GET", ":scheme", "http", ":authority", "127.0.0.1:20010", ":path", "/",
	"user-agent", "h2load nghttp2/1.52.0")

// BenchmarkRequestIndex: a stream's request head converted, then read by
// the session from its index; BenchmarkRequestReparse: the same head
// parsed again instead, as before the index.
func BenchmarkRequestIndex(b *testing.B) {
	benchRequestHead(b, func(st *Stream, buf []byte, r *http1.Request) bool { return st.ParsedRequest(buf, r) })
}

func BenchmarkRequestReparse(b *testing.B) {
	benchRequestHead(b, func(st *Stream, buf []byte, r *http1.Request) bool {
		_, err := http1.ParseRequest(buf, r)
		return err == nil
	})
}

func benchRequestHead(b *testing.B, read func(st *Stream, buf []byte, r *http1.Request) bool) {
	var (
		st  Stream
		r   http1.Request
		buf = make([]byte, 0, 1024)
	)
	b.ReportAllocs()
	for b.Loop() {
		st.headBuf = [len(st.headBuf)]byte{}
		head, info, err := st.convertRequest(benchHead, true)
		st.info = info
		if err != nil || !read(&st, append(buf[:0], head...), &r) {
			b.Fatal("not read")
		}
	}
}

// TestValidValue: eight bytes checked at once answer as one at a time,
// whatever byte is where.
func TestValidValue(t *testing.T) {
	byteWise := func(v string) bool {
		for i := 0; i < len(v); i++ {
			if c := v[i]; c < ' ' && c != '\t' || c == 0x7f {
				return false
			}
		}
		n := len(v)
		return n == 0 || v[0] != ' ' && v[0] != '\t' && v[n-1] != ' ' && v[n-1] != '\t'
	}
	for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 23} {
		for at := range max(n, 1) {
			for c := range 256 {
				b := []byte(strings.Repeat("a", n))
				if n > 0 {
					b[at] = byte(c)
				}
				if v := string(b); validValue(v) != byteWise(v) {
					t.Fatalf("%q: %v", v, validValue(v))
				}
			}
		}
	}
}
