package e2e

// Extended CONNECT (RFC 8441): WebSocket over an HTTP/2 stream, relayed to
// an HTTP/1.1 server as an Upgrade request, as haproxy 2.6 does.

import (
	"bufio"
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11" // RFC 6455 1.3

// startWSEcho is an HTTP/1.1 WebSocket server (RFC 6455) that echoes each
// message it gets; heads receives the upgrade requests' heads.
func startWSEcho(t *testing.T) (int, chan http.Header) {
	t.Helper()
	heads := make(chan http.Header, 4)
	port, _ := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		req, err := http.ReadRequest(br)
		if err != nil {
			return
		}
		heads <- req.Header
		key := req.Header.Get("Sec-WebSocket-Key")
		if !strings.EqualFold(req.Header.Get("Upgrade"), "websocket") || key == "" {
			io.WriteString(c, "HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
			return
		}
		sum := sha1.Sum([]byte(key + wsGUID))
		fmt.Fprintf(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", base64.StdEncoding.EncodeToString(sum[:]))
		for {
			op, msg, err := readWSFrame(br)
			if err != nil || op == 8 {
				return
			}
			c.Write(wsFrame(op, msg, nil)) // a server's frames are not masked
		}
	})
	return port, heads
}

// wsFrame builds one final WebSocket frame of up to 125 bytes, masked
// with mask when given (a client's frames are).
func wsFrame(op byte, payload []byte, mask []byte) []byte {
	b := []byte{0x80 | op, byte(len(payload))}
	if mask == nil {
		return append(b, payload...)
	}
	b[1] |= 0x80
	b = append(b, mask...)
	for i, c := range payload {
		b = append(b, c^mask[i%4])
	}
	return b
}

// readWSFrame reads one WebSocket frame of up to 125 bytes.
func readWSFrame(r io.Reader) (op byte, payload []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return
	}
	n := int(h[1] & 0x7f)
	if n > 125 {
		return 0, nil, fmt.Errorf("frame of %d bytes: longer than this test handles", n)
	}
	var mask []byte
	if h[1]&0x80 != 0 {
		mask = make([]byte, 4)
		if _, err = io.ReadFull(r, mask); err != nil {
			return
		}
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return
	}
	for i := range payload {
		if mask != nil {
			payload[i] ^= mask[i%4]
		}
	}
	return h[0] & 0x0f, payload, nil
}

// TestH2WebSocket: an RFC 8441 client opens a WebSocket with an extended
// CONNECT on an h2c bind; the proxy offers SETTINGS_ENABLE_CONNECT_PROTOCOL,
// sends the HTTP/1.1 server an Upgrade request with a key of its own, turns
// the 101 into a 200, and carries the frames both ways.
func TestH2WebSocket(t *testing.T) {
	be, heads := startWSEcho(t)
	port := freePort(t)
	p := startProxy(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
    timeout tunnel 10s
    log stdout format raw local0
    option httplog
frontend fe
    log global
    bind 127.0.0.1:%d proto h2
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, port, be), port)
	c, fr := dialH2(t, port)
	c.SetDeadline(time.Now().Add(5 * time.Second))

	// RFC 8441 3: no extended CONNECT before the server allowed it.
	sf, err := fr.peerSettings()
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := sf.Value(http2.SettingEnableConnectProtocol); v != 1 {
		t.Fatalf("the proxy's SETTINGS do not enable extended CONNECT: %v", sf)
	}

	fr.writeHead(1, false, ":method", "CONNECT", ":protocol", "websocket", ":scheme", "http",
		":path", "/chat", ":authority", "ws.test", "sec-websocket-version", "13", "origin", "http://ws.test")
	var status string
	var resp []hpack.HeaderField
	var in bytes.Buffer
	messages := []string{"hello", "over h2"}
	got := []string{}
	for len(got) < len(messages) {
		f, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("status %q, messages %q: %v", status, got, err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			var s string
			resp, s, _ = fr.decode(f)
			if s != "" {
				status = s
			}
			if status != "200" || f.StreamEnded() {
				t.Fatalf("extended CONNECT answered %v (end of stream %v)", resp, f.StreamEnded())
			}
			for _, m := range messages {
				fr.WriteData(1, false, wsFrame(1, []byte(m), []byte{1, 2, 3, 4}))
			}
		case *http2.DataFrame:
			in.Write(f.Data())
			for in.Len() >= 2 && in.Len() >= 2+int(in.Bytes()[1]&0x7f) {
				op, msg, err := readWSFrame(&in)
				if err != nil || op != 1 {
					t.Fatalf("frame %d %q: %v", op, msg, err)
				}
				got = append(got, string(msg))
			}
		case *http2.RSTStreamFrame:
			time.Sleep(200 * time.Millisecond)
			t.Fatalf("stream reset: %v (status %q); log:\n%s%s", f.ErrCode, status, p.Stdout(), p.Stderr())
		case *http2.GoAwayFrame:
			t.Fatalf("GOAWAY %v", f.ErrCode)
		}
	}
	if strings.Join(got, "|") != strings.Join(messages, "|") {
		t.Errorf("echoed %q, want %q", got, messages)
	}
	for _, hf := range resp {
		switch hf.Name {
		case "upgrade", "connection":
			t.Errorf("the 200 carries %s: %v", hf.Name, resp)
		}
	}
	select {
	case h := <-heads:
		if !strings.EqualFold(h.Get("Upgrade"), "websocket") || !strings.Contains(strings.ToLower(h.Get("Connection")), "upgrade") ||
			len(h.Get("Sec-WebSocket-Key")) != 24 || h.Get("Sec-WebSocket-Version") != "13" || h.Get("Origin") != "http://ws.test" {
			t.Errorf("the server got %v", h)
		}
	case <-time.After(time.Second):
		t.Error("the server got no request")
	}
	// Closing: the client's close frame ends the server's side.
	fr.WriteData(1, true, wsFrame(8, nil, []byte{1, 2, 3, 4}))
}

// startH2WSEcho is an HTTP/2 server (raw frames) that accepts extended
// CONNECT (announcing SETTINGS_ENABLE_CONNECT_PROTOCOL), answers 200 and
// echoes the WebSocket messages of the stream; requests receives each
// request's header list.
func startH2WSEcho(t *testing.T) (int, chan []hpack.HeaderField) {
	t.Helper()
	requests := make(chan []hpack.HeaderField, 4)
	port, _ := serveTCP(t, func(c net.Conn) { serveH2WSEcho(c, requests) })
	return port, requests
}

func serveH2WSEcho(c net.Conn, requests chan []hpack.HeaderField) {
	defer c.Close()
	fr, ok := acceptH2(c, http2.Setting{ID: http2.SettingEnableConnectProtocol, Val: 1})
	if !ok {
		return
	}
	ins := map[uint32]*bytes.Buffer{}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				fr.WritePing(true, f.Data)
			}
		case *http2.HeadersFrame:
			fs, _, err := fr.decode(f)
			if err != nil {
				return
			}
			requests <- fs
			fr.writeHead(f.StreamID, false, ":status", "200")
			ins[f.StreamID] = &bytes.Buffer{}
		case *http2.DataFrame:
			in := ins[f.StreamID]
			if in == nil {
				continue
			}
			in.Write(f.Data())
			if n := len(f.Data()); n > 0 {
				fr.WriteWindowUpdate(0, uint32(n))
				fr.WriteWindowUpdate(f.StreamID, uint32(n))
			}
			for in.Len() >= 6 && in.Len() >= 6+int(in.Bytes()[1]&0x7f) {
				op, msg, err := readWSFrame(in)
				if err != nil {
					return
				}
				if op == 8 {
					fr.WriteData(f.StreamID, true, wsFrame(8, nil, nil))
					continue
				}
				fr.WriteData(f.StreamID, false, wsFrame(op, msg, nil))
			}
			if f.StreamEnded() {
				delete(ins, f.StreamID)
			}
		}
	}
}

// TestWebSocketToH2Server: an HTTP/1.1 WebSocket upgrade towards a "proto
// h2" server goes as an extended CONNECT (RFC 8441); the
// server's 200 comes back as the 101 with the accept token of the
// client's key, and the messages cross, as haproxy 2.6 relays them.
func TestWebSocketToH2Server(t *testing.T) {
	be, requests := startH2WSEcho(t)
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`
defaults
    mode http
    timeout connect 5s
    timeout client 10s
    timeout server 10s
    timeout tunnel 10s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    server s1 127.0.0.1:%d proto h2
`, port, be), port)
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	const key = "dGhlIHNhbXBsZSBub25jZQ==" // RFC 6455 1.3's example
	io.WriteString(c, "GET /chat HTTP/1.1\r\nHost: ws.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 101 || !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket") ||
		resp.Header.Get("Sec-WebSocket-Accept") != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("answer %d %v", resp.StatusCode, resp.Header)
	}
	select {
	case fs := <-requests:
		got := map[string]string{}
		for _, f := range fs {
			got[f.Name] = f.Value
		}
		// haproxy sends :scheme https to h2c servers, dhproxy http.
		want := map[string]string{":method": "CONNECT", ":protocol": "websocket", ":authority": "ws.test", ":path": "/chat",
			"sec-websocket-version": "13", "sec-websocket-key": key}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("the server got %s %q, want %q (%v)", k, got[k], v, fs)
			}
		}
		if _, ok := got["upgrade"]; ok || got["connection"] != "" {
			t.Errorf("connection-specific fields reached the server: %v", fs)
		}
	case <-time.After(time.Second):
		t.Fatal("the server got no request")
	}
	for _, m := range []string{"hello", "over h1 and h2"} {
		c.Write(wsFrame(1, []byte(m), []byte{9, 8, 7, 6}))
		op, msg, err := readWSFrame(br)
		if err != nil || op != 1 || string(msg) != m {
			t.Fatalf("echo of %q: %d %q %v", m, op, msg, err)
		}
	}
}
