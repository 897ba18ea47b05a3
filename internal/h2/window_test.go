package h2

import (
	"io"
	"testing"
	"time"

	"golang.org/x/net/http2"
)

// A window of 0 at the stream's start, opened by a SETTINGS frame sent
// after the response's HEADERS (h2spec 6.9.2/1): the SETTINGS ACK goes out
// before the DATA frame the new window allows, as haproxy sends them (h2spec
// waits for the ACK, then for DATA: a DATA frame ahead of the ACK is lost to
// it). The stream's goroutine and the reader race for the writer: looped.
func TestSettingsAckBeforeData(t *testing.T) {
	for i := 0; i < 200; i++ {
		tc := startConn(t, Config{}, func(st *Stream) {
			io.ReadAll(st)
			io.WriteString(st, "HTTP/1.1 200 OK\r\nContent-Length: 14\r\n\r\nh2spec-backend")
		})
		tc.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		tc.waitSettingsAck() // of the first SETTINGS
		tc.waitSettingsAck() // of the one closing the window
		tc.headers(1, true, getReq...)
		tc.c.SetReadDeadline(time.Now().Add(2 * time.Second))
		tc.waitFrame(func(f http2.Frame) bool { _, ok := f.(*http2.HeadersFrame); return ok }, i)
		// The stream now waits for window; open it by one byte.
		tc.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1})
		f := tc.waitFrame(func(f http2.Frame) bool {
			switch f := f.(type) {
			case *http2.SettingsFrame:
				return f.IsAck()
			case *http2.DataFrame:
				return true
			}
			return false
		}, i)
		if _, ok := f.(*http2.DataFrame); ok {
			t.Fatalf("run %d: DATA before the SETTINGS ACK", i)
		}
		f = tc.waitFrame(func(f http2.Frame) bool { _, ok := f.(*http2.DataFrame); return ok }, i)
		if n := len(f.(*http2.DataFrame).Data()); n != 1 {
			t.Fatalf("run %d: DATA of %d bytes, want 1", i, n)
		}
		tc.c.Close()
	}
}

// waitSettingsAck reads frames up to the ACK of a SETTINGS frame we
// sent, acknowledging the server's own.
func (tc *testClient) waitSettingsAck() {
	tc.t.Helper()
	for {
		f, err := tc.fr.ReadFrame()
		if err != nil {
			tc.t.Fatal(err)
		}
		if sf, ok := f.(*http2.SettingsFrame); ok {
			if sf.IsAck() {
				return
			}
			tc.fr.WriteSettingsAck()
		}
	}
}

// waitFrame reads frames up to the first that match accepts.
func (tc *testClient) waitFrame(match func(http2.Frame) bool, run int) http2.Frame {
	tc.t.Helper()
	for {
		f, err := tc.fr.ReadFrame()
		if err != nil {
			tc.t.Fatalf("run %d: %v", run, err)
		}
		if match(f) {
			return f
		}
	}
}
