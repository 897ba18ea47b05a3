package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// TestRequestBytesLoggedAsHAProxy: %U counts an HTTP/1 request as haproxy
// 2.6 holds it (HTX): the request line's parts plus 20, each field's name
// and value, 1 for the end of the head, the body's bytes; its HTTP/1
// layer drops Connection's close and keep-alive options, and the field
// once empty; a chunked body counts its data and 1 for its end. dhproxy
// counted the bytes as they came.
func TestRequestBytesLoggedAsHAProxy(t *testing.T) {
	web, stop := startHTTPBackend(t, "web")
	defer stop()
	reqs := []string{
		"GET / HTTP/1.0\r\n\r\n",
		"GET /abc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
		"GET / HTTP/1.1\r\nHost: x\r\nX-A:   v  \r\nKeep-Alive: 1\r\nProxy-Connection: x\r\nTE: x\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive,  X-B ,close\r\nX-B: 1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\nX-T:  a b \r\nX-U:\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x:80\r\nConnection: close\r\n\r\n", // the port counts (a CONNECT's would not)
		// the body's second part likely comes once the request went to the server
		"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n|3\r\nabc\r\n0\r\n\r\n",
	}
	// the same, the server refusing the connection (the part of the body
	// read with the head counted), without the request sent in two parts
	want := "U=33\nU=41\nU=59\nU=73\nU=55\nU=69\nU=78\nU=41\nU=72\n" + "U=33\nU=41\nU=59\nU=73\nU=55\nU=69\nU=78\nU=41"
	dead := freePort(t)
	for _, path := range []string{haproxyBin, bin} {
		logPort, next := udpLog(t)
		port, dport := freePort(t), freePort(t)
		p := startBinary(t, path, logHead(logPort, "http", "option dontlognull")+fmt.Sprintf(`listen l
    bind 127.0.0.1:%d
    log-format "U=%%U"
    server s 127.0.0.1:%d
listen d
    bind 127.0.0.1:%d
    retries 0
    log-format "U=%%U"
    server s 127.0.0.1:%d
`, port, web, dport, dead), port)
		var got []string
		sends := append([]string(nil), reqs...)
		sends = append(sends, reqs[:len(reqs)-1]...)
		for i, r := range sends {
			to := port
			if i >= len(reqs) {
				to = dport
			}
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", to))
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(5 * time.Second))
			for i, part := range strings.Split(r, "|") {
				if i > 0 {
					time.Sleep(50 * time.Millisecond)
				}
				io.WriteString(c, part)
			}
			io.ReadAll(c) // the last request's connection is closed by the proxy's client timeout otherwise
			c.Close()
			got = append(got, next.line(t, fmt.Sprintf("%s, %q", path, r)))
		}
		p.stop()
		if g := strings.Join(got, "\n"); g != want {
			t.Errorf("%s logged\n%s\nwant\n%s", path, g, want)
		}
	}
}

// h2Send is one request of TestH2RequestBytesLoggedAsHAProxy: its header
// fields (name, value pairs; the HEADERS frame ends the stream when there
// are no frames), then its frames: "data X" and "last X" (a DATA frame of
// X, the second ending the stream), "end" (an empty DATA frame ending
// it), "trailers" (a HEADERS frame of trailer fields ending it); "|"
// sends the frames so far and pauses 100 ms. The others go in one write.
// ws: to the WebSocket server.
type h2Send struct {
	fields []string
	frames []string
	ws     bool
}

// TestH2RequestBytesLoggedAsHAProxy: %U counts an HTTP/2 request as
// haproxy 2.6 holds it (HTX): the request line's parts (the target as
// rebuilt from :scheme, :authority and :path), its version "HTTP/2.0",
// plus 20; each field's name and value, Host made of :authority (a Host
// field then dropped), cookie crumbs joined by "; "; 1 for the end of the
// head; the body's data. Not the transfer-encoding nor the
// sec-websocket-key its HTTP/1 layer adds for the server. The stream's
// end adds 1 (an EOT block) when trailers end it, or an empty DATA frame
// that finds all of the request passed on; not when it comes with the
// last data. dhproxy counted the HTTP/1 head it made of the request, and
// 1 for the end of every body of unknown length.
//
// Not compared: an empty DATA frame ending the stream in the same write
// as data (haproxy's buffer still holds the data: no EOT; dhproxy's
// stream may have read it by then), and one coming after all of a
// declared length (haproxy waits for it and counts its EOT; dhproxy ends
// the exchange once the length is in and counts none).
func TestH2RequestBytesLoggedAsHAProxy(t *testing.T) {
	srv := logBackend(t)
	wsSrv, _ := startWSEcho(t)
	get := []string{":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/abc?q=1", "user-agent", "t", "accept", "*/*"}
	post := []string{":method", "POST", ":scheme", "http", ":authority", "x", ":path", "/p", "content-type", "text/plain"}
	cl := append(append([]string(nil), post...), "content-length", "5")
	ws := []string{":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":authority", "x", ":path", "/ws", "sec-websocket-version", "13"}
	sends := []h2Send{
		{fields: get},
		{fields: append(append([]string(nil), get...), "cookie", "a=1", "x-a", "v", "cookie", "b=22", "te", "trailers")},
		{fields: []string{":method", "GET", ":scheme", "http", ":path", "/", "host", "h"}},
		{fields: []string{":method", "GET", ":scheme", "http", ":authority", "x", ":path", "/", "host", "hh"}},
		{fields: cl, frames: []string{"last hello"}},
		{fields: post, frames: []string{"last hello"}},
		{fields: post, frames: []string{"data hello", "|", "end"}},
		{fields: post, frames: []string{"data hello", "trailers"}},
		{fields: post, frames: []string{"|", "end"}},
		{fields: ws, frames: []string{"|", "end"}, ws: true},
		{fields: append(append([]string(nil), ws...), "sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="), frames: []string{"|", "end"}, ws: true},
	}
	// e.g. the first: 20 + len("GET") + len("http://x/abc?q=1") +
	// len("HTTP/2.0"), host x, user-agent t, accept */*, 1
	want := `200 U=73 B=51 "GET http://x/abc?q=1 HTTP/2.0"
200 U=102 B=51 "GET http://x/abc?q=1 HTTP/2.0"
200 U=38 B=51 "GET / HTTP/2.0"
200 U=46 B=51 "GET http://x/ HTTP/2.0"
200 U=90 B=51 "POST http://x/p HTTP/2.0"
200 U=75 B=51 "POST http://x/p HTTP/2.0"
200 U=76 B=51 "POST http://x/p HTTP/2.0"
200 U=80 B=51 "POST http://x/p HTTP/2.0"
200 U=71 B=51 "POST http://x/p HTTP/2.0"
101 U=104 B=132 "GET http://x/ws HTTP/2.0"
101 U=145 B=132 "GET http://x/ws HTTP/2.0"
`
	for _, path := range []string{haproxyBin, bin} {
		logPort, next := udpLog(t)
		port, wsPort := freePort(t), freePort(t)
		p := startBinary(t, path, logHead(logPort, "http", "option dontlognull", `log-format "%ST U=%U B=%B %{+Q}r"`)+fmt.Sprintf(`listen l
    bind 127.0.0.1:%d proto h2
    server s 127.0.0.1:%d
listen w
    bind 127.0.0.1:%d proto h2
    server s 127.0.0.1:%d
`, port, srv, wsPort, wsSrv), port)
		waitPort(t, wsPort, 5*time.Second)
		next.skipProbe()
		got := ""
		for _, s := range sends {
			to := port
			if s.ws {
				to = wsPort
			}
			h2Exchange(t, to, s)
			got += next.line(t, fmt.Sprintf("%s, %q %q", path, s.fields, s.frames)) + "\n"
		}
		p.stop()
		if got != want {
			t.Errorf("%s logged\n%swant\n%s", path, got, want)
		}
	}
}

// h2Exchange sends s as stream 1 of a new HTTP/2 connection to port and
// reads until the response's end.
func h2Exchange(t *testing.T, port int, s h2Send) {
	t.Helper()
	c, h := dialH2(t, port)
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var out bytes.Buffer // the frames of one write
	fr := http2.NewFramer(&out, nil)
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: h.block(s.fields...), EndHeaders: true, EndStream: len(s.frames) == 0})
	for _, f := range s.frames {
		switch kind, data, _ := strings.Cut(f, " "); kind {
		case "|":
			c.Write(out.Bytes())
			out.Reset()
			time.Sleep(100 * time.Millisecond)
		case "data", "last":
			fr.WriteData(1, kind == "last", []byte(data))
		case "end":
			fr.WriteData(1, true, nil)
		case "trailers":
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: h.block("x-t", "v"), EndHeaders: true, EndStream: true})
		}
	}
	c.Write(out.Bytes())
	for {
		f, err := h.ReadFrame()
		if err != nil {
			t.Fatalf("%q %q: %v", s.fields, s.frames, err)
		}
		// (the DATA and HEADERS frames' END_STREAM flags are the same bit)
		if f.Header().StreamID == 1 && (f.Header().Flags.Has(http2.FlagDataEndStream) || f.Header().Type == http2.FrameRSTStream) {
			return
		}
	}
}
