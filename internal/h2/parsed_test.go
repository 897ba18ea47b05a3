package h2

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"dhproxy/internal/http1"
)

// frameLog records the frames a response became, byte for byte.
type frameLog struct{ b bytes.Buffer }

func (l *frameLog) sendHeaders(block []byte, end bool) error {
	fmt.Fprintf(&l.b, "HEADERS end=%v %x\n", end, block)
	return nil
}

func (l *frameLog) sendData(p []byte, end bool) error {
	fmt.Fprintf(&l.b, "DATA end=%v %q\n", end, p)
	return nil
}

// convert is what a response becomes as the pipeline writes it: its
// interim heads as bytes, then its final head with the first split bytes
// of its body, then the rest of the body split bytes at a time, then the
// stream is closed. With parsed, the final head is handed parsed;
// otherwise as HTTP/1.1 bytes, which the converter parses.
func convert(info reqInfo, in []byte, split int, parsed bool) (string, error) {
	var l frameLog
	c := respConv{head: info.head, connect: info.connect, upgrade: info.upgrade}
	var resp http1.Response
	for {
		n, err := http1.ParseResponse(in, &resp)
		if err != nil {
			// The pipeline writes only what it parsed whole.
			return "", errBadResponse
		}
		if resp.Status < 100 || resp.Status >= 200 || resp.Status == 101 {
			break
		}
		if err := c.write(in[:n], &l); err != nil {
			return l.b.String(), err
		}
		in = in[n:]
	}
	first := min(len(in), resp.HeadLen+split)
	var err error
	if parsed {
		err = c.writeParsed(&resp, in[resp.HeadLen:first], &l)
	} else {
		err = c.write(in[:first], &l)
	}
	if err != nil {
		return l.b.String(), err
	}
	for i := first; i < len(in); i += split {
		if err := c.write(in[i:min(i+split, len(in))], &l); err != nil {
			return l.b.String(), err
		}
	}
	c.closing(&l)
	return l.b.String(), nil
}

// responseCases are HTTP/1.1 responses as the pipeline writes them: each
// with the kind of request it answers.
var responseCases = []struct {
	name string
	info reqInfo
	in   string
}{
	{"length", reqInfo{}, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\nX-A: b\r\n\r\nhello"},
	{"chunked with trailers", reqInfo{}, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\ngrpc-status: 0\r\nContent-Length: 3\r\n\r\n"},
	{"chunked without trailers", reqInfo{}, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"},
	{"interim then final", reqInfo{}, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nConnection: x-hop\r\nX-Hop: 1\r\n\r\n"},
	{"two interims", reqInfo{}, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
	{"HEAD", reqInfo{head: true}, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n"},
	{"HEAD chunked", reqInfo{head: true}, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"},
	{"until close", reqInfo{}, "HTTP/1.1 200 OK\r\n\r\nsome data"},
	{"HTTP/1.0 until close", reqInfo{}, "HTTP/1.0 200 OK\r\nServer: x\r\n\r\nsome data"},
	{"nginx", reqInfo{}, "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nDate: Sun, 06 Dec 2026 05:47:56 GMT\r\nContent-Type: text/html\r\nContent-Length: 100\r\nLast-Modified: Sun, 06 Dec 2026 05:00:00 GMT\r\nConnection: keep-alive\r\nETag: \"1-64\"\r\nAccept-Ranges: bytes\r\n\r\n" + strings.Repeat("x", 100)},
	{"connection fields", reqInfo{}, "HTTP/1.1 200 OK\r\nConnection: X-Secret, close\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\nX-Kept: 2\r\nContent-Length: 0\r\n\r\n"},
	{"mixed case and long names", reqInfo{}, "HTTP/1.1 404 Not Found\r\nCONTENT-TYPE: text/plain\r\nX-A-Very-Long-Header-Name-Beyond-The-Static-Table: v\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\nCache-Control: no-cache\r\nContent-Length: 3\r\n\r\nabc"},
	{"empty values", reqInfo{}, "HTTP/1.1 200 OK\r\nX-Empty:\r\nVary: \r\nContent-Length: 1\r\n\r\nz"},
	{"304", reqInfo{}, "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\nContent-Length: 50\r\n\r\n"},
	{"204", reqInfo{}, "HTTP/1.1 204 No Content\r\n\r\n"},
	{"uncommon status", reqInfo{}, "HTTP/1.1 799 Odd\r\nContent-Length: 0\r\n\r\n"},
	{"no reason", reqInfo{}, "HTTP/1.1 503\r\nContent-Length: 4\r\n\r\ndown"},
	{"large body", reqInfo{}, "HTTP/1.1 200 OK\r\nContent-Length: 40000\r\n\r\n" + strings.Repeat("0123456789", 4000)},
	{"large chunks", reqInfo{}, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2710\r\n" + strings.Repeat("y", 10000) + "\r\n0\r\nx-trailer: t\r\n\r\n"},
	{"extended CONNECT 101", reqInfo{connect: true, upgrade: true}, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: k\r\n\r\n\x81\x02hi"},
	{"extended CONNECT refused", reqInfo{connect: true, upgrade: true}, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno"},
	{"CONNECT tunnel", reqInfo{connect: true}, "HTTP/1.1 200 Connection established\r\nContent-Length: 0\r\n\r\ntunnel bytes"},
	{"CONNECT refused", reqInfo{connect: true}, "HTTP/1.1 403 Forbidden\r\nContent-Length: 6\r\n\r\nno way"},
	{"101 without upgrade", reqInfo{}, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: upgrade\r\n\r\n"},
	{"bytes past the end", reqInfo{}, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n"},
	{"bad chunk", reqInfo{}, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"},
}

// TestParsedHeadFrames: a head handed parsed becomes the same frames,
// byte for byte, as the same response written as HTTP/1.1 bytes, however
// its body is split.
func TestParsedHeadFrames(t *testing.T) {
	for _, c := range responseCases {
		for _, split := range []int{1, 2, 3, 7, 64, 1 << 20} {
			want, werr := convert(c.info, []byte(c.in), split, false)
			got, gerr := convert(c.info, []byte(c.in), split, true)
			if got != want || gerr != werr {
				t.Errorf("%s/%d: parsed head gave (%v)\n%s\nbytes gave (%v)\n%s", c.name, split, gerr, got, werr, want)
			}
		}
	}
}

// FuzzParsedHeadFrames: whatever response the pipeline could parse, the
// parsed head and the bytes become the same frames.
func FuzzParsedHeadFrames(f *testing.F) {
	for _, c := range responseCases {
		f.Add([]byte(c.in), 5, c.info.head, c.info.connect, c.info.upgrade)
	}
	f.Fuzz(func(t *testing.T, in []byte, split int, head, connect, upgrade bool) {
		if split <= 0 {
			split = 1
		}
		info := reqInfo{head: head, connect: connect || upgrade, upgrade: upgrade}
		got, gerr := convert(info, in, split, true)
		want, werr := convert(info, in, split, false)
		if got != want || gerr != werr {
			t.Fatalf("%q: parsed head gave (%v)\n%s\nbytes gave (%v)\n%s", in, gerr, got, werr, want)
		}
	})
}

// nopSink takes frames and drops them.
type nopSink struct{}

func (nopSink) sendHeaders([]byte, bool) error { return nil }
func (nopSink) sendData([]byte, bool) error    { return nil }

// BenchmarkParsedHead: converting nginx's parsed response head and body
// to frames (the sink drops them).
func BenchmarkParsedHead(b *testing.B) {
	var resp http1.Response
	in := []byte(responseCases[9].in)
	if _, err := http1.ParseResponse(in, &resp); err != nil {
		b.Fatal(err)
	}
	body := in[resp.HeadLen:]
	var c respConv
	b.ReportAllocs()
	for b.Loop() {
		c.state = rsHead
		if err := c.writeParsed(&resp, body, nopSink{}); err != nil {
			b.Fatal(err)
		}
	}
}
