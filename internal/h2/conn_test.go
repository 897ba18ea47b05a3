package h2

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// testClient is a raw HTTP/2 client over one end of a pipe-like TCP pair.
type testClient struct {
	t    testing.TB
	c    net.Conn
	fr   *http2.Framer
	henc *hpack.Encoder
	hbuf bytes.Buffer
	dec  *hpack.Decoder
	// served is closed once the server's side returned.
	served <-chan struct{}
}

// startConn serves h on a loopback connection and returns its client.
func startConn(t testing.TB, cfg Config, h Handler) *testClient {
	t.Helper()
	return startConnVia(t, nil, cfg, h, nil)
}

// startConnVia is startConn accepting on l (nil: a new loopback
// listener), with the server's side of the connection seen through wrap
// (nil: as it is).
func startConnVia(t testing.TB, l net.Listener, cfg Config, h Handler, wrap func(net.Conn) net.Conn) *testClient {
	t.Helper()
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := l.Accept()
		l.Close()
		if err != nil {
			return
		}
		if wrap != nil {
			c = wrap(c)
		}
		Serve(c, cfg, h)
	}()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("connection still served 5 s after the client closed")
		}
	})
	tc := &testClient{t: t, c: c, fr: http2.NewFramer(c, c), served: done}
	tc.henc = hpack.NewEncoder(&tc.hbuf)
	tc.dec = hpack.NewDecoder(4096, nil)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, Preface)
	tc.fr.WriteSettings()
	return tc
}

func (tc *testClient) headers(id uint32, end bool, kv ...string) {
	tc.hbuf.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		tc.henc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	if err := tc.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: tc.hbuf.Bytes(), EndStream: end, EndHeaders: true}); err != nil {
		tc.t.Fatal(err)
	}
}

var getReq = []string{":method", "GET", ":scheme", "http", ":path", "/x", ":authority", "example.test"}

// response reads frames until stream id ends; it returns the decoded
// header fields (all blocks) and the body.
func (tc *testClient) response(id uint32) (fields []hpack.HeaderField, body string, rst http2.ErrCode) {
	tc.t.Helper()
	for {
		f, err := tc.fr.ReadFrame()
		if err != nil {
			tc.t.Fatalf("reading the response: %v", err)
		}
		switch f := f.(type) {
		case *http2.HeadersFrame:
			hf, err := tc.dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				tc.t.Fatal(err)
			}
			if f.StreamID == id {
				fields = append(fields, hf...)
				if f.StreamEnded() {
					return fields, body, 0
				}
			}
		case *http2.DataFrame:
			if f.StreamID == id {
				body += string(f.Data())
				if f.StreamEnded() {
					return fields, body, 0
				}
			}
		case *http2.RSTStreamFrame:
			if f.StreamID == id {
				return fields, body, f.ErrCode
			}
		case *http2.GoAwayFrame:
			tc.t.Fatalf("GOAWAY %v", f.ErrCode)
		case *http2.SettingsFrame:
			if !f.IsAck() {
				tc.fr.WriteSettingsAck()
			}
		}
	}
}

// echoHandler answers each request with its HTTP/1.1 form as the body.
func echoHandler(st *Stream) {
	var req []byte
	buf := make([]byte, 4096)
	st.SetReadDeadline(time.Now().Add(2 * time.Second))
	for {
		n, err := st.Read(buf)
		req = append(req, buf[:n]...)
		if err != nil {
			break
		}
		if bytes.HasSuffix(req, []byte("\r\n\r\n")) && (!bytes.Contains(req, []byte("chunked")) || bytes.HasSuffix(req, []byte("0\r\n\r\n"))) && !bytes.Contains(req, []byte("content-length")) {
			break
		}
	}
	io.WriteString(st, "HTTP/1.1 200 OK\r\nContent-Length: "+itoa(len(req))+"\r\nConnection: keep-alive\r\nX-Test: 1\r\n\r\n")
	st.Write(req)
}

func itoa(n int) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
		if n == 0 {
			return string(b)
		}
	}
}

func TestGetConverted(t *testing.T) {
	tc := startConn(t, Config{}, echoHandler)
	tc.headers(1, true, append(getReq, "cookie", "a=1", "accept", "*/*", "cookie", "b=2")...)
	fields, body, rst := tc.response(1)
	if rst != 0 {
		t.Fatalf("reset %v", rst)
	}
	want := "GET http://example.test/x HTTP/1.1\r\nhost: example.test\r\naccept: */*\r\ncookie: a=1; b=2\r\n\r\n"
	if body != want {
		t.Errorf("request seen:\n%q\nwant\n%q", body, want)
	}
	var got []string
	for _, f := range fields {
		got = append(got, f.Name+"="+f.Value)
	}
	if strings.Join(got, " ") != ":status=200 content-length="+itoa(len(want))+" x-test=1" {
		t.Errorf("response fields %v", got)
	}
}

// A request body without length goes chunked, its trailers in the
// chunked trailer section; a declared length is kept and checked.
func TestRequestBodyAndTrailers(t *testing.T) {
	tc := startConn(t, Config{}, echoHandler)
	post := []string{":method", "POST", ":scheme", "http", ":path", "/up", ":authority", "a"}
	tc.headers(1, false, post...)
	tc.fr.WriteData(1, false, []byte("hello "))
	tc.fr.WriteData(1, false, []byte("world"))
	tc.headers(1, true, "grpc-timeout", "1S", "x-sum", "abc")
	_, body, rst := tc.response(1)
	want := "POST http://a/up HTTP/1.1\r\nhost: a\r\ntransfer-encoding: chunked\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\ngrpc-timeout: 1S\r\nx-sum: abc\r\n\r\n"
	if rst != 0 || body != want {
		t.Errorf("reset %v, request seen:\n%q\nwant\n%q", rst, body, want)
	}
	// More DATA than content-length announced: the stream is reset.
	tc.headers(3, false, append(post, "content-length", "3")...)
	tc.fr.WriteData(3, true, []byte("four"))
	if _, _, rst := tc.response(3); rst != http2.ErrCodeProtocol {
		t.Errorf("overlong body: reset %v, want PROTOCOL_ERROR", rst)
	}
}

// A response may end before its request does (RFC 9113 8.1.1). DATA that
// arrives afterwards beyond the declared content-length still makes the
// request malformed: PROTOCOL_ERROR whatever the order the two took
// (h2spec 8.1.2.6/1 against a backend faster than the client).
func TestContentLengthCheckedAfterEarlyResponse(t *testing.T) {
	tc := startConn(t, Config{}, func(st *Stream) {
		io.WriteString(st, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	tc.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/", ":authority", "a", "content-length", "1")
	if _, body, rst := tc.response(1); rst != 0 || body != "ok" {
		t.Fatalf("early response: reset %v, body %q", rst, body)
	}
	tc.fr.WriteData(1, true, []byte("test"))
	for {
		_, _, rst := tc.response(1)
		if rst == http2.ErrCodeCancel {
			continue // the invitation to stop sending (8.1.1)
		}
		if rst != http2.ErrCodeProtocol {
			t.Fatalf("DATA beyond content-length after the response: reset %v, want PROTOCOL_ERROR", rst)
		}
		return
	}
}

// A server's early response (DrainRequest) leaves the stream open: no
// RST_STREAM, and the rest of the body is read with its window given
// back, past the initial window, as haproxy 2.6 forwards it. The proxy's
// own early response resets the stream with CANCEL, as haproxy's does.
// Both reset it with NO_ERROR before, which curl 7.88 fails on (exit 92).
func TestEarlyResponseDrainsOrCancels(t *testing.T) {
	tc := startConn(t, Config{}, func(st *Stream) {
		if st.ID() == 1 {
			st.DrainRequest()
		}
		io.WriteString(st, "HTTP/1.1 413 Too Large\r\nContent-Length: 2\r\n\r\nno")
	})
	post := []string{":method", "POST", ":scheme", "http", ":path", "/", ":authority", "a", "content-length", "100000"}
	tc.headers(1, false, post...)
	tc.fr.WriteData(1, false, make([]byte, 1000))
	if _, body, rst := tc.response(1); rst != 0 || body != "no" {
		t.Fatalf("early response: reset %v, body %q", rst, body)
	}
	// 99000 bytes more than the stream's initial window allows: sent as
	// the window updates for stream 1 allow.
	win, conn, left := 65535-1000, 65535-1000, 99000
	for left > 0 {
		for min(win, conn) < 1000 {
			f, err := tc.fr.ReadFrame()
			if err != nil {
				t.Fatalf("stream 1 drained with %d bytes left: %v", left, err)
			}
			switch f := f.(type) {
			case *http2.WindowUpdateFrame:
				if f.StreamID == 1 {
					win += int(f.Increment)
				} else if f.StreamID == 0 {
					conn += int(f.Increment)
				}
			case *http2.RSTStreamFrame:
				t.Fatalf("stream 1 reset %v with %d bytes left", f.ErrCode, left)
			}
		}
		tc.fr.WriteData(1, left == 1000, make([]byte, 1000))
		win, conn, left = win-1000, conn-1000, left-1000
	}
	tc.headers(3, false, post...)
	tc.fr.WriteData(3, false, make([]byte, 1000))
	if _, body, rst := tc.response(3); rst != 0 || body != "no" {
		t.Fatalf("early response: reset %v, body %q", rst, body)
	}
	if _, _, rst := tc.response(3); rst != http2.ErrCodeCancel {
		t.Fatalf("proxy's early response then reset %v, want CANCEL", rst)
	}
}

// An ended stream's object serves a later stream of its connection
// (Conn.recycle); a frame that comes late for the old stream finds it
// closed and does not reach the stream now using the object.
func TestLateFrameMissesRecycledStream(t *testing.T) {
	seen := make(chan *Stream, 64)
	tc := startConn(t, Config{}, func(st *Stream) {
		seen <- st
		echoHandler(st)
	})
	tc.headers(1, true, getReq...)
	if _, _, rst := tc.response(1); rst != 0 {
		t.Fatalf("stream 1 reset %v", rst)
	}
	first := <-seen
	// The next streams wait until the first one's handler has given its
	// object back: each is only opened once the previous one ended.
	post := []string{":method", "POST", ":scheme", "http", ":path", "/up", ":authority", "a", "content-length", "5"}
	id := uint32(3)
	for ; ; id += 2 {
		if id > 61 {
			t.Fatal("no stream reuses the object of an ended one")
		}
		tc.headers(id, false, post...)
		if <-seen == first {
			break
		}
		tc.fr.WriteData(id, true, []byte("hello"))
		if _, _, rst := tc.response(id); rst != 0 {
			t.Fatalf("stream %d reset %v", id, rst)
		}
	}
	tc.fr.WriteData(1, true, []byte("late!")) // stream 1 is over
	if _, _, rst := tc.response(1); rst != http2.ErrCodeStreamClosed {
		t.Errorf("late DATA on stream 1: reset %v, want STREAM_CLOSED", rst)
	}
	tc.fr.WriteData(id, true, []byte("hello"))
	_, body, rst := tc.response(id)
	if rst != 0 || !strings.HasSuffix(body, "\r\n\r\nhello") {
		t.Fatalf("stream %d: reset %v, request seen %q", id, rst, body)
	}
}

// TestTakeRequest: a request that is a head alone is taken whole, after
// which Read finds the request's end; one with a body is not taken and
// reads as usual.
func TestTakeRequest(t *testing.T) {
	type got struct {
		taken string
		read  string
		err   error
	}
	results := make(chan got, 2)
	tc := startConn(t, Config{}, func(st *Stream) {
		var g got
		g.taken = string(st.TakeRequest())
		st.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, 4096)
		for {
			n, err := st.Read(buf)
			g.read += string(buf[:n])
			if err != nil {
				g.err = err
				break
			}
		}
		results <- g
		io.WriteString(st, "HTTP/1.1 204 No Content\r\n\r\n")
	})
	tc.headers(1, true, getReq...)
	g := <-results
	if !strings.HasPrefix(g.taken, "GET http://example.test/x HTTP/1.1\r\n") || !strings.HasSuffix(g.taken, "\r\n\r\n") || g.read != "" || g.err != io.EOF {
		t.Errorf("bodyless request: taken %q, then read %q, %v", g.taken, g.read, g.err)
	}
	tc.response(1)
	tc.headers(3, false, append(getReq, "content-length", "2")...)
	tc.fr.WriteData(3, true, []byte("hi"))
	g = <-results
	if g.taken != "" || !strings.HasSuffix(g.read, "\r\n\r\nhi") || g.err != io.EOF {
		t.Errorf("request with a body: taken %q, read %q, %v", g.taken, g.read, g.err)
	}
}
