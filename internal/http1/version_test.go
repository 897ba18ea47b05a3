package http1

import "testing"

func TestHigherMinorVersionIsHTTP11(t *testing.T) {
	var r Request
	if _, err := ParseRequest([]byte("GET / HTTP/1.2\r\nHost: x\r\n\r\n"), &r); err != nil {
		t.Fatal(err)
	}
	if r.Minor != 1 || !r.HigherMinor {
		t.Fatalf("Minor %d HigherMinor %v, want 1 true", r.Minor, r.HigherMinor)
	}
	if _, err := ParseRequest([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), &r); err != nil || r.HigherMinor {
		t.Fatalf("HTTP/1.1: %v HigherMinor %v", err, r.HigherMinor)
	}
	var resp Response
	if _, err := ParseResponse([]byte("HTTP/1.3 200 OK\r\n\r\n"), &resp); err != nil || resp.Minor != 1 {
		t.Fatalf("HTTP/1.3 response: %v minor %d", err, resp.Minor)
	}
}

func TestAbsoluteURIMatchingHost(t *testing.T) {
	for _, req := range []string{
		"GET http://Example.com/a HTTP/1.1\r\nHost: example.com\r\n\r\n",
		"GET http://u:p@x:8080?q HTTP/1.1\r\nHost: x:8080\r\n\r\n",
		"GET http://x HTTP/1.0\r\n\r\n",
	} {
		var r Request
		if _, err := ParseRequest([]byte(req), &r); err != nil {
			t.Errorf("%q: %v", req, err)
		}
	}
}

func TestUpgradeGranted(t *testing.T) {
	for _, tc := range []struct {
		asked, granted string
		want           bool
	}{
		{"websocket", "websocket", true},
		{"websocket", "WebSocket", true},
		{"foo, websocket", "websocket", true},
		{" foo ,bar ", "bar", true},
		{"h2c, websocket", "h2c", true},
		{"websocket", "h2c", false},
		{"websocket", "websocket, h2c", false},
		{"websocket", "", false},
		{"websocket", " , ", false},
		{"", "websocket", false},
		{"foo/2", "foo/2", true},
		{"foo/2", "foo/3", false},
		{"foo", "foo/3", true},
		{"foo/2", "foo", true},
		{"/2", "/2", false},
		{"websocketx", "websocket", false},
	} {
		if got := UpgradeGranted([]byte(tc.asked), []byte(tc.granted)); got != tc.want {
			t.Errorf("UpgradeGranted(%q, %q) = %v, want %v", tc.asked, tc.granted, got, tc.want)
		}
	}
}

func TestStatusLineWithoutReasonSP(t *testing.T) {
	for _, tc := range []struct {
		in   string
		bare bool
	}{
		{"HTTP/1.1 200\r\n\r\n", true},
		{"HTTP/1.1 200 \r\n\r\n", false},
		{"HTTP/1.1 200 OK\r\n\r\n", false},
	} {
		var r Response
		if _, err := ParseResponse([]byte(tc.in), &r); err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if r.NoReasonSP != tc.bare || len(r.Reason) > 2 {
			t.Errorf("%q: NoReasonSP %v, want %v", tc.in, r.NoReasonSP, tc.bare)
		}
	}
}
