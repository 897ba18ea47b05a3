package h2

import (
	"testing"

	"golang.org/x/net/http2"
)

// The server's SETTINGS announce extended CONNECT (RFC 8441) unless
// NoExtendedConnect (h2-workaround-bogus-websocket-clients).
func TestExtendedConnectAnnounced(t *testing.T) {
	for _, off := range []bool{false, true} {
		tc := startConn(t, Config{NoExtendedConnect: off}, echoHandler)
		f, err := tc.fr.ReadFrame()
		if err != nil {
			t.Fatal(err)
		}
		sf, ok := f.(*http2.SettingsFrame)
		if !ok {
			t.Fatalf("first frame %T, want SETTINGS", f)
		}
		v, announced := sf.Value(http2.SettingEnableConnectProtocol)
		if announced == off || (announced && v != 1) {
			t.Errorf("NoExtendedConnect=%v: SETTINGS_ENABLE_CONNECT_PROTOCOL announced=%v value %d", off, announced, v)
		}
		if _, ok := sf.Value(http2.SettingMaxConcurrentStreams); !ok {
			t.Errorf("NoExtendedConnect=%v: the other settings are missing", off)
		}
	}
}
