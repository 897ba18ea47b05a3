package h2

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/http1"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

func fields(kv ...string) []hpack.HeaderField {
	var fs []hpack.HeaderField
	for i := 0; i+1 < len(kv); i += 2 {
		fs = append(fs, hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return fs
}

func TestRequestHead(t *testing.T) {
	base := []string{":method", "POST", ":scheme", "https", ":authority", "a.test", ":path", "/p?q"}
	cases := []struct {
		name string
		kv   []string
		end  bool
		want string
		err  error
	}{
		{"body of unknown length goes chunked", nil, false,
			"POST https://a.test/p?q HTTP/1.1\r\nhost: a.test\r\ntransfer-encoding: chunked\r\n\r\n", nil},
		{"declared length kept", []string{"content-length", "5"}, false,
			"POST https://a.test/p?q HTTP/1.1\r\nhost: a.test\r\ncontent-length: 5\r\n\r\n", nil},
		{"no body", []string{"accept", "*/*"}, true,
			"POST https://a.test/p?q HTTP/1.1\r\nhost: a.test\r\naccept: */*\r\n\r\n", nil},
		{":authority wins over host", []string{"host", "other.test"}, true,
			"POST https://a.test/p?q HTTP/1.1\r\nhost: a.test\r\n\r\n", nil},
		{"cookie crumbs joined", []string{"cookie", "a=1", "x", "y", "cookie", "b=2"}, true,
			"POST https://a.test/p?q HTTP/1.1\r\nhost: a.test\r\nx: y\r\ncookie: a=1; b=2\r\n\r\n", nil},
		{"te: trailers kept", []string{"te", "trailers"}, true,
			"POST https://a.test/p?q HTTP/1.1\r\nhost: a.test\r\nte: trailers\r\n\r\n", nil},
		{"connection field", []string{"connection", "close"}, true, "", errMalformed},
		{"transfer-encoding field", []string{"transfer-encoding", "chunked"}, false, "", errMalformed},
		{"other te", []string{"te", "gzip"}, true, "", errMalformed},
		{"upper case name", []string{"X-A", "1"}, true, "", errMalformed},
		{"CRLF in a value", []string{"x", "a\r\nevil: 1"}, true, "", errMalformed},
		{"LF in a value", []string{"x", "a\nevil: 1"}, true, "", errMalformed},
		{"NUL in a value", []string{"x", "a\x00"}, true, "", errMalformed},
		{"space in a name", []string{"x y", "1"}, true, "", errMalformed},
		{"colon in a name", []string{"x:y", "1"}, true, "", errMalformed},
		{"leading space in a value", []string{"x", " 1"}, true, "", errMalformed},
		{"bad content-length", []string{"content-length", "1,1"}, false, "", errMalformed},
		{"two content-lengths", []string{"content-length", "1", "content-length", "2"}, false, "", errMalformed},
		{"length without body", []string{"content-length", "3"}, true, "", errMalformed},
		{"pseudo after regular", []string{"x", "1", ":method", "GET"}, true, "", errMalformed},
		{"response pseudo", []string{":status", "200"}, true, "", errMalformed},
	}
	for _, c := range cases {
		head, _, err := appendRequestHead(nil, fields(append(append([]string{}, base...), c.kv...)...), c.end, new(reqIndex))
		if err != c.err {
			t.Errorf("%s: error %v, want %v", c.name, err, c.err)
			continue
		}
		if err == nil && string(head) != c.want {
			t.Errorf("%s:\n%q\nwant\n%q", c.name, head, c.want)
		}
	}
	for _, kv := range [][]string{
		{":method", "GET", ":scheme", "http"},                                    // no :path
		{":method", "GET", ":path", "/"},                                         // no :scheme
		{":scheme", "http", ":path", "/"},                                        // no :method
		{":method", "GET", ":scheme", "http", ":path", ""},                       // empty :path
		{":method", "GET", ":scheme", "http", ":path", "x"},                      // not origin-form
		{":method", "GET", ":method", "GET", ":scheme", "http", ":path", "/"},    // duplicate
		{":method", "GET", ":scheme", "http", ":path", "/", ":path", "/"},        // duplicate
		{":method", "GET", ":scheme", "http", ":path", "/", ":protocol", "ws"},   // unknown pseudo
		{":method", "CONNECT", ":scheme", "http", ":authority", "a:1"},           // CONNECT with :scheme
		{":method", "G T", ":scheme", "http", ":path", "/", ":authority", "a"},   // bad method
		{":method", "GET", ":scheme", "http", ":path", "/ x", ":authority", "a"}, // space in target
	} {
		if _, _, err := appendRequestHead(nil, fields(kv...), true, new(reqIndex)); err != errMalformed {
			t.Errorf("%v: error %v, want malformed", kv, err)
		}
	}
	if h, info, err := appendRequestHead(nil, fields(":method", "CONNECT", ":authority", "a:443", "x-a", "1"), false, new(reqIndex)); err != nil || !info.connect || info.chunked ||
		string(h) != "CONNECT a:443 HTTP/1.1\r\nhost: a:443\r\nx-a: 1\r\n\r\n" {
		t.Errorf("CONNECT: %q %+v %v", h, info, err)
	}
	if h, _, err := appendRequestHead(nil, fields(":method", "OPTIONS", ":scheme", "http", ":path", "*", ":authority", "a"), true, new(reqIndex)); err != nil || !strings.HasPrefix(string(h), "OPTIONS * HTTP/1.1\r\n") {
		t.Errorf("OPTIONS *: %q %v", h, err)
	}
}

// sink records what a response became.
type sink struct {
	heads  [][]hpack.HeaderField
	body   bytes.Buffer
	ends   int
	endsOn string // "headers" or "data"
}

func (s *sink) sendHeaders(block []byte, end bool) error {
	// The encoder uses no dynamic table: any decoder reads a block.
	f, err := hpack.NewDecoder(4096, nil).DecodeFull(block)
	if err != nil {
		return err
	}
	s.heads = append(s.heads, f)
	if end {
		s.ends++
		s.endsOn = "headers"
	}
	return nil
}

func (s *sink) sendData(p []byte, end bool) error {
	s.body.Write(p)
	if end {
		s.ends++
		s.endsOn = "data"
	}
	return nil
}

func TestResponseConv(t *testing.T) {
	cases := []struct {
		name, in   string
		head       bool
		body       string
		heads      int
		last       string // fields of the last header block
		done       bool
		endsOnHead bool
	}{
		{name: "length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\nX-A: b\r\n\r\nhello",
			body: "hello", heads: 1, last: ":status=200 content-length=5 x-a=b", done: true},
		{name: "chunked with trailers", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\ngrpc-status: 0\r\nContent-Length: 3\r\n\r\n",
			body: "hello world", heads: 2, last: "grpc-status=0", done: true, endsOnHead: true},
		{name: "chunked without trailers", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
			body: "abc", heads: 1, done: true},
		{name: "interim then final", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nConnection: x-hop\r\nX-Hop: 1\r\n\r\n",
			heads: 2, last: ":status=204", done: true, endsOnHead: true},
		{name: "HEAD", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", head: true,
			heads: 1, last: ":status=200 content-length=10", done: true, endsOnHead: true},
		{name: "until close", in: "HTTP/1.1 200 OK\r\n\r\nsome data", body: "some data", heads: 1, last: ":status=200"},
	}
	for _, c := range cases {
		for split := 1; split <= len(c.in); split++ {
			var s sink
			conv := respConv{head: c.head}
			for i := 0; i < len(c.in); i += split {
				if err := conv.write([]byte(c.in[i:min(i+split, len(c.in))]), &s); err != nil {
					t.Fatalf("%s/%d: %v", c.name, split, err)
				}
			}
			if conv.done() != c.done {
				t.Fatalf("%s/%d: done %v", c.name, split, conv.done())
			}
			if !c.done && !conv.closing(&s) {
				t.Fatalf("%s/%d: close", c.name, split)
			}
			if s.body.String() != c.body || len(s.heads) != c.heads || s.ends != 1 {
				t.Fatalf("%s/%d: body %q heads %d ends %d", c.name, split, s.body.String(), len(s.heads), s.ends)
			}
			if (s.endsOn == "headers") != c.endsOnHead {
				t.Errorf("%s/%d: ends on %s", c.name, split, s.endsOn)
			}
			if c.last != "" {
				var got []string
				for _, f := range s.heads[len(s.heads)-1] {
					got = append(got, f.Name+"="+f.Value)
				}
				if strings.Join(got, " ") != c.last {
					t.Errorf("%s/%d: last block %v", c.name, split, got)
				}
			}
		}
	}
	var s sink
	if err := (&respConv{}).write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"), &s); err != errBadResponse {
		t.Errorf("101: %v", err)
	}
	// An extended CONNECT's 101 is its 200; the tunnel's bytes follow.
	s = sink{}
	up := &respConv{connect: true, upgrade: true}
	if err := up.write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: k\r\n\r\n\x81\x02hi"), &s); err != nil ||
		len(s.heads) != 1 || s.ends != 0 || s.body.String() != "\x81\x02hi" ||
		fmt.Sprint(s.heads[0]) != fmt.Sprint(fields(":status", "200", "sec-websocket-accept", "k")) {
		t.Errorf("extended CONNECT's 101: %v, heads %v, body %q, ends %d", err, s.heads, s.body.String(), s.ends)
	}
	// A refusal is an ordinary response, not a tunnel.
	s = sink{}
	up = &respConv{connect: true, upgrade: true}
	if err := up.write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno"), &s); err != nil || !up.done() || s.ends != 1 {
		t.Errorf("extended CONNECT answered 200: %v, done %v", err, up.done())
	}
}

// Extended CONNECT (RFC 8441): an HTTP/1.1 Upgrade request, with a
// WebSocket key made up when the client sent none (it does not in h2).
func TestExtendedConnect(t *testing.T) {
	ws := []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "https", ":path", "/chat?room=1", ":authority", "ws.test", "sec-websocket-version", "13"}
	h, info, err := appendRequestHead(nil, fields(ws...), false, new(reqIndex))
	if err != nil || !info.connect || !info.upgrade || info.chunked {
		t.Fatalf("websocket: %q %+v %v", h, info, err)
	}
	want := regexp.MustCompile("^GET https://ws.test/chat\\?room=1 HTTP/1.1\r\nhost: ws.test\r\nsec-websocket-version: 13\r\n" +
		"sec-websocket-key: [A-Za-z0-9+/]{22}==\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n$")
	if !want.Match(h) {
		t.Errorf("websocket:\n%q", h)
	}
	if h, _, _ := appendRequestHead(nil, fields(append(ws, "sec-websocket-key", "abc")...), false, new(reqIndex)); bytes.Count(h, []byte("sec-websocket-key")) != 1 {
		t.Errorf("the client's key is kept alone:\n%q", h)
	}
	for _, kv := range [][]string{
		{":method", "GET", ":protocol", "websocket", ":scheme", "http", ":path", "/", ":authority", "a"},      // not CONNECT
		{":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":authority", "a"},                // no :path
		{":method", "CONNECT", ":protocol", "websocket", ":path", "/", ":authority", "a"},                     // no :scheme
		{":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":path", "/"},                     // no :authority
		{":method", "CONNECT", ":protocol", "web socket", ":scheme", "http", ":path", "/", ":authority", "a"}, // not a token
		{":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":path", "/", ":authority", "a", "content-length", "1"},
	} {
		if _, _, err := appendRequestHead(nil, fields(kv...), false, new(reqIndex)); err != errMalformed {
			t.Errorf("%v: error %v, want malformed", kv, err)
		}
	}
}

// FuzzRequestHead: whatever header list a client sends, an accepted one
// becomes exactly one HTTP/1.1 request head that the proxy's own parser
// reads back whole, with the same method and target and no field that
// the client did not send (no smuggling through the conversion).
func FuzzRequestHead(f *testing.F) {
	f.Add("GET", "/", "a.test", "x-a\x001\x00cookie\x00a=1\x00cookie\x00b", true)
	f.Add("POST", "/p", "", "content-length\x003\x00host\x00h", false)
	f.Add("GET", "/", "a", "x\x00a\r\nevil: 1", true)
	f.Add("GET", "/ HTTP/1.1\r\nx: y", "a", "", true)
	f.Add("GET", "/", "a\r\nx: y", "", true)
	f.Add("PUT", "/", "a", "transfer-encoding\x00chunked", false)
	f.Add("CONNECT", "/chat", "ws.test", ":protocol\x00websocket\x00sec-websocket-version\x0013", false)
	f.Fuzz(func(t *testing.T, method, path, authority, rest string, end bool) {
		kv := []string{":method", method, ":scheme", "https", ":path", path}
		if authority != "" {
			kv = append(kv, ":authority", authority)
		}
		parts := strings.Split(rest, "\x00")
		for i := 0; i+1 < len(parts); i += 2 {
			kv = append(kv, parts[i], parts[i+1])
		}
		sent := map[string]bool{"host": true, "transfer-encoding": true}
		for i := 6; i+1 < len(kv); i += 2 {
			sent[kv[i]] = true
		}
		head, info, err := appendRequestHead(nil, fields(kv...), end, new(reqIndex))
		if err != nil {
			return
		}
		wantMethod := method
		if info.upgrade {
			// An extended CONNECT becomes an Upgrade request.
			wantMethod = "GET"
			sent["connection"], sent["upgrade"], sent["sec-websocket-key"] = true, true, true
		}
		var req http1.Request
		n, err := http1.ParseRequest(head, &req)
		if err != nil {
			// The proxy's parser may be stricter (it then answers 400),
			// but never reads a different request.
			return
		}
		if n != len(head) {
			t.Fatalf("one head became more: %q (parsed %d of %d)", head, n, len(head))
		}
		target := path
		if authority != "" && path[0] == '/' {
			target = "https://" + authority + path
		}
		if string(req.Method) != wantMethod || string(req.URI) != target {
			t.Fatalf("%q %q became %q %q", method, path, req.Method, req.URI)
		}
		for _, h := range req.Headers {
			if !sent[strings.ToLower(string(h.Name))] {
				t.Fatalf("field %q appeared from %q", h.Name, head)
			}
		}
	})
}

// FuzzResponseConv: whatever the pipeline writes, split anywhere, the
// converter neither panics nor ends a stream twice.
func FuzzResponseConv(f *testing.F) {
	f.Add([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nx: y\r\n\r\n"), 3, false)
	f.Add([]byte("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), 1, false)
	f.Add([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), 100, true)
	f.Fuzz(func(t *testing.T, in []byte, split int, head bool) {
		if split <= 0 {
			split = 1
		}
		var s sink
		conv := respConv{head: head}
		for i := 0; i < len(in); i += split {
			if conv.write(in[i:min(i+split, len(in))], &s) != nil {
				return
			}
		}
		conv.closing(&s)
		if s.ends > 1 {
			t.Fatalf("stream ended %d times", s.ends)
		}
	})
}

// FuzzFrames: any bytes after the preface, HPACK blocks included, end in
// a served connection or a clean GOAWAY: no panic, no hang.
func FuzzFrames(f *testing.F) {
	var seed bytes.Buffer
	fr := http2.NewFramer(&seed, nil)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, hf := range fields(":method", "POST", ":scheme", "http", ":path", "/", ":authority", "a", "cookie", "a=1") {
		enc.WriteField(hf)
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
	fr.WriteData(1, false, []byte("abc"))
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x40, 1, 'x', 1, 'y'}, EndHeaders: true, EndStream: true})
	fr.WriteRSTStream(3, http2.ErrCodeCancel)
	fr.WritePing(false, [8]byte{})
	f.Add(seed.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		done := make(chan struct{})
		go func() {
			defer close(done)
			Serve(server, Config{IdleTimeout: time.Second, RequestTimeout: time.Second}, echoHandler)
		}()
		go io.Copy(io.Discard, client)
		client.SetWriteDeadline(time.Now().Add(time.Second))
		io.WriteString(client, Preface)
		client.Write(in)
		client.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the connection did not end")
		}
	})
}
