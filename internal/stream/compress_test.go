package stream

import (
	"testing"

	"dhproxy/internal/compression"
)

// chunkData takes the chunk-data and the trailers out of chunked framing
// cut anywhere.
func TestChunkDataExtract(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n", "b\r\nhello world\r\n0\r\n\r\n"},
		{"A\r\n0123456789\r\n0\r\nX-Sum: 1\r\nX-B: 2\r\n\r\n", "a\r\n0123456789\r\n0\r\nX-Sum: 1\r\nX-B: 2\r\n\r\n"},
		{"3\nabc\n0\nX: y\n\n", "3\r\nabc\r\n0\r\nX: y\n\r\n"},
		{"0\r\n\r\n", "0\r\n\r\n"},
	} {
		for cut := 0; cut <= len(c.in); cut++ {
			enc := compression.Get(compression.Identity, 1)
			var cd chunkData
			cd.extract([]byte(c.in[:cut]), enc)
			cd.extract([]byte(c.in[cut:]), enc)
			if got := string(enc.Last(cd.trailers)); got != c.want || cd.state != cdDone {
				t.Errorf("%q cut at %d: got %q (state %d), want %q", c.in, cut, got, cd.state, c.want)
			}
			enc.Put()
		}
	}
}
