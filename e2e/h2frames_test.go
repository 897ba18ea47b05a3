package e2e

// Raw HTTP/2 frames, for the tests that send or answer what net/http and
// x/net/http2's client and server do not (CONNECT, extended CONNECT,
// resets, GOAWAY, protocol errors): the connection setup and the HPACK
// coding they all need.

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Frames is one end of a raw HTTP/2 connection: its framer and the
// connection's HPACK encoder and decoder (one each, as HPACK's dynamic
// tables are per connection).
type h2Frames struct {
	*http2.Framer
	hb  bytes.Buffer
	enc *hpack.Encoder
	dec *hpack.Decoder
}

func newH2Frames(c net.Conn) *h2Frames {
	h := &h2Frames{Framer: http2.NewFramer(c, c), dec: hpack.NewDecoder(4096, nil)}
	h.enc = hpack.NewEncoder(&h.hb)
	return h
}

// dialH2 connects to 127.0.0.1:port and sends the client preface and
// SETTINGS with settings; the connection is closed when the test ends.
func dialH2(t *testing.T, port int, settings ...http2.Setting) (net.Conn, *h2Frames) {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	io.WriteString(c, http2.ClientPreface)
	h := newH2Frames(c)
	h.WriteSettings(settings...)
	return c, h
}

// acceptH2 reads the client preface on c and sends the server's SETTINGS
// with settings; false when c did not start with the preface.
func acceptH2(c net.Conn, settings ...http2.Setting) (*h2Frames, bool) {
	pre := make([]byte, len(http2.ClientPreface))
	if _, err := io.ReadFull(c, pre); err != nil || string(pre) != http2.ClientPreface {
		return nil, false
	}
	h := newH2Frames(c)
	h.WriteSettings(settings...)
	return h, true
}

// peerSettings reads frames up to the peer's SETTINGS (not an ACK),
// acknowledges it and returns it; frames before it are dropped.
func (h *h2Frames) peerSettings() (*http2.SettingsFrame, error) {
	for {
		f, err := h.ReadFrame()
		if err != nil {
			return nil, err
		}
		if sf, ok := f.(*http2.SettingsFrame); ok && !sf.IsAck() {
			return sf, h.WriteSettingsAck()
		}
	}
}

// block encodes header fields given as name, value pairs into a header
// block; the result is a copy, as the next call reuses the buffer.
func (h *h2Frames) block(kv ...string) []byte {
	h.hb.Reset()
	for i := 0; i+1 < len(kv); i += 2 {
		h.enc.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
	}
	return append([]byte(nil), h.hb.Bytes()...)
}

// writeHead sends one HEADERS frame with the fields kv (name, value
// pairs) on stream id, ending the stream when end.
func (h *h2Frames) writeHead(id uint32, end bool, kv ...string) error {
	return h.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: h.block(kv...), EndHeaders: true, EndStream: end})
}

// decode returns the fields of a HEADERS frame and its :status ("" when
// none); a block that does not decode gives its error.
func (h *h2Frames) decode(f *http2.HeadersFrame) ([]hpack.HeaderField, string, error) {
	fields, err := h.dec.DecodeFull(f.HeaderBlockFragment())
	status := ""
	for _, hf := range fields {
		if hf.Name == ":status" {
			status = hf.Value
		}
	}
	return fields, status, err
}

// readTunnelFrames reads the proxy's frames on an HTTP/2 tunnel opened
// on stream 1 (CONNECT or extended CONNECT): it acknowledges SETTINGS,
// sends ping as DATA once the response's HEADERS came, and returns what
// came in order: the :status, each non-empty DATA payload, "END_STREAM"
// and "RST_STREAM <code>". It stops at a RST_STREAM, at END_STREAM when
// untilEnd, or at a read error, which it returns.
func (h *h2Frames) readTunnelFrames(ping string, untilEnd bool) ([]string, error) {
	var saw []string
	for {
		f, err := h.ReadFrame()
		if err != nil {
			return saw, err
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				h.WriteSettingsAck()
			}
		case *http2.HeadersFrame:
			_, status, _ := h.decode(f)
			saw = append(saw, status)
			h.WriteData(1, false, []byte(ping))
		case *http2.DataFrame:
			if len(f.Data()) > 0 {
				saw = append(saw, string(f.Data()))
			}
			if f.StreamEnded() {
				saw = append(saw, "END_STREAM")
				if untilEnd {
					return saw, nil
				}
			}
		case *http2.RSTStreamFrame:
			return append(saw, "RST_STREAM "+f.ErrCode.String()), nil
		}
	}
}
