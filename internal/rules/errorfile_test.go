package rules

import (
	"strings"
	"testing"
)

func TestParseErrorFile(t *testing.T) {
	for _, c := range []struct {
		file, out, err string
		close          bool
	}{
		{file: "HTTP/1.1 503 Busy\r\nContent-Length: 2\r\nX-A: b\r\nConnection: keep-alive\r\nTE: x\r\n\r\nhi",
			out: "HTTP/1.1 503 Busy\r\ncontent-length: 2\r\nx-a: b\r\n\r\nhi"},
		{file: "HTTP/1.1 503 Busy\r\nContent-Type: text/html\r\n\r\nuntil close",
			out: "HTTP/1.1 503 Busy\r\ncontent-type: text/html\r\nconnection: close\r\n\r\nuntil close", close: true},
		{file: "HTTP/1.1 403 No\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
			out: "HTTP/1.1 403 No\r\ncontent-length: 0\r\nconnection: close\r\n\r\n", close: true},
		{file: "HTTP/1.0 503 Old\r\n\r\nbody", out: "HTTP/1.0 503 Old\r\n\r\nbody", close: true},
		{file: "HTTP/1.0 503 Old\r\nContent-Length: 4\r\n\r\nbody", out: "HTTP/1.0 503 Old\r\ncontent-length: 4\r\nconnection: keep-alive\r\n\r\nbody"},
		{file: "HTTP/1.1 503 X\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", err: "chunk-encoded payload not supported"},
		{file: "HTTP/1.1 503 X\r\nContent-Length: 3\r\n\r\n12345", err: "(5 != 3)"},
		{file: "garbage\n", err: "unable to parse headers"},
		{file: "HTTP/1.1 503 X\r\nA: b", err: "unable to parse headers"},
		{file: "HTTP/1.1 503 X\r\n\r\n" + strings.Repeat("x", 16300), err: "does not fit in tune.bufsize"},
		{file: "HTTP/1.1 503 X\r\n\r\n" + strings.Repeat("x", 16400), err: "larger than tune.bufsize"},
	} {
		r, err := ParseErrorFile([]byte(c.file), 16384)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.file, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", c.file, err)
			continue
		}
		if got := string(r.Append(nil, nil, nil, nil, r.Close, false)); got != c.out || r.Close != c.close {
			t.Errorf("%q:\n got %q close %v\nwant %q close %v", c.file, got, r.Close, c.out, c.close)
		}
	}
	if _, err := ParseErrorFile([]byte("HTTP/1.1 503 X\r\n\r\n"+strings.Repeat("x", 16000)), 16384); err != nil {
		t.Errorf("a 16000-byte body fits in 16384 (as in haproxy): %v", err)
	}
}

func FuzzParseErrorFile(f *testing.F) {
	f.Add([]byte("HTTP/1.1 503 Busy\r\nContent-Length: 2\r\n\r\nhi"))
	f.Add([]byte("HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseErrorFile(data, 16384)
		if err == nil {
			r.Append(nil, nil, nil, nil, true, false)
		}
	})
}
