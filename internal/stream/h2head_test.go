package stream

import (
	"bytes"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"dhproxy/internal/conn/conntest"
)

// h2Exchange sends one request (method to path) over a new h2c
// connection to port and returns what came back on its stream: each
// header block (raw, the encoder is deterministic), the body and where
// the stream ended.
func h2Exchange(t *testing.T, port int, method string) string {
	t.Helper()
	c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range []hpack.HeaderField{{Name: ":method", Value: method}, {Name: ":scheme", Value: "http"},
		{Name: ":path", Value: "/"}, {Name: ":authority", Value: "a.test"}} {
		enc.WriteField(f)
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true, EndStream: true})
	var out strings.Builder
	var body bytes.Buffer
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("%s: %v after %s", method, err, out.String())
		}
		if f.Header().StreamID != 1 {
			if s, ok := f.(*http2.SettingsFrame); ok && !s.IsAck() {
				fr.WriteSettingsAck()
			}
			continue
		}
		switch f := f.(type) {
		case *http2.HeadersFrame:
			fmt.Fprintf(&out, "HEADERS %x end=%v\n", f.HeaderBlockFragment(), f.StreamEnded())
		case *http2.DataFrame:
			body.Write(f.Data())
			if f.StreamEnded() {
				fmt.Fprintf(&out, "DATA %q end\n", body.String())
			}
		case *http2.RSTStreamFrame:
			fmt.Fprintf(&out, "RST %v after %q\n", f.ErrCode, body.String())
			return out.String()
		}
		if f.Header().Flags.Has(http2.FlagDataEndStream) {
			return out.String()
		}
	}
}

// TestH2ParsedHeadsAsBytes: the response heads HTTP/2 streams take
// parsed (after the http-response rules) become the frames the same
// responses became when the session wrote them as HTTP/1.1 bytes, with
// the rewrites (rules, cookies, framing fixes) that apply to them.
func TestH2ParsedHeadsAsBytes(t *testing.T) {
	nginx := "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Sun, 06 Dec 2026 05:47:56 GMT\r\nContent-Type: text/html\r\n" +
		"Content-Length: 5\r\nConnection: keep-alive\r\nETag: \"1\"\r\nAccept-Ranges: bytes\r\n\r\nhello"
	cases := []struct{ name, resp, rules, server string }{
		{"as is", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello", "", ""},
		{"nginx", nginx, "", ""},
		{"connection fields", "HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nProxy-Connection: x\r\nX-Kept: 2\r\nContent-Length: 2\r\n\r\nok", "", ""},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", "", ""},
		{"no reason", "HTTP/1.1 404\r\nContent-Length: 2\r\n\r\nno", "", ""},
		{"chunked with trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n5\r\nhello\r\n0\r\ngrpc-status: 0\r\n\r\n", "", ""},
		{"until close", "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil close", "", ""},
		{"interim", "HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\n" + nginx, "", ""},
		{"204", "HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n", "", ""},
		{"204 with a length", "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", "", ""},
		{"duplicate lengths", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: 1\r\nContent-Length: 2\r\n\r\nok", "", ""},
		{"rules edit fields", nginx, " http-response set-header X-Added v\n http-response del-header Server\n http-response replace-header ETag (.*) w/\\1\n http-response add-header Set-Cookie a=1\n", ""},
		{"rule sets the status", nginx, " http-response set-status 203\n", ""},
		{"rule sets a 204", nginx, " http-response set-status 204\n", ""},
		{"after-response rule", nginx, " http-after-response set-header X-After 1\n", ""},
		{"cookie insert", nginx, " cookie SRV insert indirect nocache\n", " cookie s1"},
		{"cookie rewrite", "HTTP/1.1 200 OK\r\nSet-Cookie: SRV=x; path=/\r\nContent-Length: 2\r\n\r\nok", " cookie SRV rewrite\n", " cookie s1"},
	}
	for _, c := range cases {
		resp := []byte(c.resp)
		port := rawBackendWith(t, []byte(c.resp))
		if strings.Contains(c.resp, "Connection: close") {
			port = conntest.Port(conntest.Serve(t, func(c net.Conn) { answerOnce(c, resp) }))
		}
		fePort := freeLocalPort(t)
		startRuntime(t, "defaults\n mode http\n timeout connect 5s\n timeout client 30s\n timeout server 30s\n"+
			"frontend fe\n bind 127.0.0.1:"+strconv.Itoa(fePort)+" proto h2\n default_backend be\n"+
			"backend be\n"+c.rules+" server s1 127.0.0.1:"+strconv.Itoa(port)+c.server+"\n")
		for _, method := range []string{"GET", "HEAD"} {
			bytesOnlyHeads.Store(true)
			want := h2Exchange(t, fePort, method)
			bytesOnlyHeads.Store(false)
			got := h2Exchange(t, fePort, method)
			if got != want {
				t.Errorf("%s %s: parsed head gave\n%sbytes gave\n%s", c.name, method, got, want)
			}
		}
	}
}

// answerOnce reads a request head from c and answers resp (the caller
// closes c).
func answerOnce(c net.Conn, resp []byte) {
	buf := make([]byte, 4096)
	n := 0
	for !bytes.Contains(buf[:n], []byte("\r\n\r\n")) {
		m, err := c.Read(buf[n:])
		if err != nil {
			return
		}
		n += m
	}
	c.Write(resp)
}
