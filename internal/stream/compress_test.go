package stream

import (
	"strconv"
	"testing"

	"dhproxy/internal/compression"
	"dhproxy/internal/http1"
)

// compressChunks takes the chunk-data and the trailers out of chunked
// framing cut anywhere, and refuses what the scanner refuses.
func TestCompressChunks(t *testing.T) {
	for _, c := range []struct {
		in, want    string
		trailerSize int64 // names and values, as haproxy counts them
	}{
		{"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n", "b\r\nhello world\r\n0\r\n\r\n", 0},
		{"A\r\n0123456789\r\n0\r\nX-Sum: 1\r\nX-B:  22 \r\n\r\n", "a\r\n0123456789\r\n0\r\nX-Sum: 1\r\nX-B:  22 \r\n\r\n", 11},
		{"3\nabc\n0\nX: y\n\n", "", 0}, // bare LF: refused
		{"0\r\n\r\n", "0\r\n\r\n", 0},
	} {
		for cut := 0; cut <= len(c.in); cut++ {
			enc := compression.Get(compression.Identity, 1)
			var sc http1.ChunkScanner
			sc.KeepTrailers = true
			n1, done, err := compressChunks(&sc, enc, []byte(c.in[:cut]))
			if !done && err == nil {
				var n2 int
				n2, done, err = compressChunks(&sc, enc, []byte(c.in[cut:]))
				n1 += n2
			}
			if c.want == "" {
				if err == nil {
					t.Errorf("%q cut at %d: accepted", c.in, cut)
				}
				enc.Put()
				continue
			}
			if got := string(enc.Last(sc.Trailers())); got != c.want || !done || err != nil || n1 != len(c.in) {
				t.Errorf("%q cut at %d: got %q (n=%d done=%v err=%v), want %q", c.in, cut, got, n1, done, err, c.want)
			}
			if n := trailerSize(sc.Trailers()); n != c.trailerSize {
				t.Errorf("%q: trailer size %d, want %d", c.in, n, c.trailerSize)
			}
			enc.Put()
		}
	}
}

// Any body, chunked in any sizes and cut anywhere, comes out whole.
func FuzzCompressChunks(f *testing.F) {
	f.Add([]byte("hello world"), uint8(3), uint16(5))
	f.Add([]byte{}, uint8(1), uint16(0))
	f.Fuzz(func(t *testing.T, body []byte, size uint8, cut uint16) {
		step := int(size%16) + 1
		var wire []byte
		for i := 0; i < len(body); i += step {
			part := body[i:min(i+step, len(body))]
			wire = append(wire, strconv.FormatInt(int64(len(part)), 16)+";x=y\r\n"...)
			wire = append(append(wire, part...), "\r\n"...)
		}
		wire = append(wire, "0\r\nT: v\r\n\r\n"...)
		at := int(cut) % (len(wire) + 1)
		enc := compression.Get(compression.Identity, 1)
		defer enc.Put()
		var sc http1.ChunkScanner
		sc.KeepTrailers = true
		n1, _, err1 := compressChunks(&sc, enc, wire[:at])
		n2, done, err2 := compressChunks(&sc, enc, wire[at:])
		if err1 != nil || err2 != nil || !done || n1+n2 != len(wire) {
			t.Fatalf("test framing refused: %v %v", err1, err2)
		}
		want := ""
		if len(body) > 0 {
			want = strconv.FormatInt(int64(len(body)), 16) + "\r\n" + string(body) + "\r\n"
		}
		if got := string(enc.Last(sc.Trailers())); got != want+"0\r\nT: v\r\n\r\n" {
			t.Fatalf("got %q", got)
		}
	})
}
