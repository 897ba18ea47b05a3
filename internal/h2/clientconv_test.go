package h2

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/http1"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FuzzRequestConv: any HTTP/1 request bytes, split anywhere, become at
// most one ended stream whose header block is valid HTTP/2 (lower-case
// names, pseudo fields first, no connection-specific field).
func FuzzRequestConv(f *testing.F) {
	f.Add([]byte("POST /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTE: trailers\r\n\r\n3\r\nabc\r\n0\r\nX-Sum: 1\r\n\r\n"), 3)
	f.Add([]byte("GET http://a.test/x?y HTTP/1.1\r\nHost: b\r\nConnection: keep-alive, x-hop\r\nX-Hop: 1\r\n\r\n"), 100)
	f.Add([]byte("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nhi"), 1)
	f.Add([]byte("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n"), 7)
	f.Add([]byte("GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Key: k\r\n\r\n\x81\x00"), 5)
	f.Fuzz(func(t *testing.T, in []byte, split int) {
		if split <= 0 {
			split = 1
		}
		var s sink
		conv := reqConv{scheme: "http"}
		for i := 0; i < len(in); i += split {
			if conv.write(in[i:min(i+split, len(in))], &s) != nil {
				return
			}
		}
		if s.ends > 1 {
			t.Fatalf("stream ended %d times", s.ends)
		}
		if len(s.heads) == 0 {
			return
		}
		regular := false
		for _, hf := range s.heads[0] {
			if hf.Name == "" || strings.ToLower(hf.Name) != hf.Name {
				t.Fatalf("field name %q", hf.Name)
			}
			if hf.Name[0] == ':' && regular {
				t.Fatalf("pseudo field %q after a regular one", hf.Name)
			}
			regular = hf.Name[0] != ':'
			switch hf.Name {
			case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host":
				t.Fatalf("connection-specific field %q sent", hf.Name)
			case "te":
				if hf.Value != "trailers" {
					t.Fatalf("te: %q", hf.Value)
				}
			}
		}
	})
}

// An HTTP/1.1 WebSocket upgrade becomes an extended CONNECT whose DATA
// is the tunnel, and the server's 200 the client's 101 (RFC 6455's
// example key and accept token).
func TestUpgradeConv(t *testing.T) {
	var s sink
	conv := reqConv{scheme: "http"}
	in := "GET /chat?x HTTP/1.1\r\nHost: ws.test\r\nUpgrade: WebSocket, other\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n\x81\x00"
	if err := conv.write([]byte(in), &s); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range s.heads[0] {
		got = append(got, f.Name+"="+f.Value)
	}
	want := ":method=CONNECT :protocol=websocket :scheme=http :authority=ws.test :path=/chat?x sec-websocket-key=dGhlIHNhbXBsZSBub25jZQ== sec-websocket-version=13"
	if strings.Join(got, " ") != want || s.body.String() != "\x81\x00" || s.ends != 0 || conv.done() {
		t.Fatalf("upgrade: %v, body %q, ends %d", got, s.body.String(), s.ends)
	}
	if !conv.body.closing(&s) || s.ends != 1 {
		t.Errorf("the tunnel's end: ends %d", s.ends)
	}
	head := appendUpgraded(nil, fields(":status", "200", "sec-websocket-accept", "wrong", "x-a", "1"), conv.protocol, conv.wsKey)
	if string(head) != "HTTP/1.1 101 Switching Protocols\r\nconnection: upgrade\r\nupgrade: websocket\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nx-a: 1\r\n\r\n" {
		t.Errorf("101:\n%q", head)
	}
	// An upgrade without authority cannot be an extended CONNECT.
	if err := (&reqConv{scheme: "http"}).write([]byte("GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\n"), &sink{}); err != errRequest {
		t.Errorf("no authority: %v", err)
	}
}

// FuzzResponseHead: any response header list from a server either is
// refused or becomes an HTTP/1.1 head the pipeline's parser accepts whole,
// with the status kept.
func FuzzResponseHead(f *testing.F) {
	f.Add("200", "content-type\x00text/plain\x00trailer\x00x-sum", false, false)
	f.Add("204", "content-length\x000", true, false)
	f.Add("103", "link\x00</a>", false, false)
	f.Add("200", "x\x00a\r\nevil: 1", false, true)
	f.Fuzz(func(t *testing.T, status, rest string, end, head bool) {
		kv := []string{":status", status}
		parts := strings.Split(rest, "\x00")
		for i := 0; i+1 < len(parts); i += 2 {
			kv = append(kv, parts[i], parts[i+1])
		}
		out, info, err := appendResponseHead(nil, fields(kv...), end, head)
		if err != nil {
			return
		}
		var resp http1.Response
		n, err := http1.ParseResponse(out, &resp)
		if err != nil || n != len(out) || resp.Status != info.status {
			t.Fatalf("%q: parsed %d of %d, status %d, %v", out, n, len(out), resp.Status, err)
		}
		if info.chunked != resp.Chunked {
			t.Fatalf("%q: chunked %v, head says %v", out, info.chunked, resp.Chunked)
		}
	})
}

// FuzzClientFrames: any frames from a server end the stream's exchange
// (a response, an error or EOF): no panic, no hang. The whole frames of
// the input go once the request's HEADERS is out, then a PING: its ACK
// shows the client read them all, and the server closes (an exchange the
// frames leave open ends then, not at the deadline).
func FuzzClientFrames(f *testing.F) {
	var seed bytes.Buffer
	fr := http2.NewFramer(&seed, nil)
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1})
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, hf := range fields(":status", "200", "trailer", "x") {
		enc.WriteField(hf)
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndHeaders: true})
	headOnly := seed.Len() // SETTINGS and a head: the response stays open
	fr.WriteData(1, false, []byte("abc"))
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0x40, 1, 'x', 1, 'y'}, EndHeaders: true, EndStream: true})
	fr.WriteGoAway(1, http2.ErrCodeNo, nil)
	f.Add(seed.Bytes())
	f.Add(seed.Bytes()[:headOnly])
	f.Fuzz(func(t *testing.T, in []byte) {
		// A frame cut short would take the PING's bytes as its own.
		whole := 0
		for whole+9 <= len(in) {
			end := whole + 9 + (int(in[whole])<<16 | int(in[whole+1])<<8 | int(in[whole+2]))
			if end > len(in) {
				break
			}
			whole = end
		}
		in = in[:whole]
		client, server := net.Pipe()
		headers := make(chan struct{})
		go func() {
			opened := headers
			defer func() {
				server.Close()
				if opened != nil {
					close(opened) // the writer's Write then fails
				}
			}()
			io.CopyN(io.Discard, server, int64(len(Preface)))
			fr := http2.NewFramer(nil, server)
			for {
				f, err := fr.ReadFrame()
				if err != nil {
					return
				}
				switch f := f.(type) {
				case *http2.HeadersFrame:
					if opened != nil {
						close(opened)
						opened = nil
					}
				case *http2.PingFrame:
					if f.IsAck() && f.Data == pingEnd {
						return
					}
				}
			}
		}()
		go func() {
			<-headers
			server.Write(in)
			http2.NewFramer(server, nil).WritePing(false, pingEnd)
		}()
		done := make(chan struct{})
		go func() {
			defer close(done)
			cc, err := NewClientConn(client, ClientConfig{WriteTimeout: time.Second})
			if err != nil {
				return
			}
			defer cc.Close()
			if !cc.Reserve(false) {
				return
			}
			cs := cc.NewStream()
			defer cs.Close()
			cs.SetDeadline(time.Now().Add(time.Second))
			io.WriteString(cs, "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc")
			io.Copy(io.Discard, cs)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the exchange did not end")
		}
		server.Close()
	})
}

var pingEnd = [8]byte{'f', 'u', 'z', 'z', 'e', 'n', 'd', 0}
