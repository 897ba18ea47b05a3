package stream

import (
	"bytes"
	"fmt"
	"testing"

	"dhproxy/internal/http1"
)

// encodeChunked frames data in chunks of the given sizes (cycled), with
// an extension on the first and a trailer.
func encodeChunked(data []byte, sizes []int) []byte {
	var b bytes.Buffer
	for i := 0; len(data) > 0; i++ {
		n := min(max(sizes[i%len(sizes)], 1), len(data))
		if i == 0 {
			fmt.Fprintf(&b, "%X;ext=1\r\n", n)
		} else {
			fmt.Fprintf(&b, "%x\r\n", n)
		}
		b.Write(data[:n])
		b.WriteString("\r\n")
		data = data[n:]
	}
	b.WriteString("0\r\nX-T: 1\r\n\r\n")
	return b.Bytes()
}

func TestAppendChunkData(t *testing.T) {
	for raw, want := range map[string]string{
		"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n":                   "abcde",
		"5;ext=1\r\na=1&b\r\n4\r\n=2&c\r\n0\r\nX: 1\r\n\r\n": "a=1&b=2&c",
		"3\r\nabc\r\n2\r\nd":                                 "abcd", // cut in the data
		"3\r\nabc\r\n1":                                      "abc",  // cut in a size line
		"a\r\n0123\r\n6789\r\n0\r\n\r\n":                     "0123\r\n6789",
	} {
		if got := string(appendChunkData([]byte("x"), []byte(raw))); got != "x"+want {
			t.Errorf("%q: %q, want %q", raw, got, "x"+want)
		}
	}
}

// FuzzAppendChunkData: on whatever framing ChunkScanner accepts, the
// decoder neither panics nor invents bytes; on a body it framed itself
// it gives the data back, whole or cut anywhere.
func FuzzAppendChunkData(f *testing.F) {
	f.Add([]byte("3\r\nabc\r\n0\r\n\r\n"), []byte("hello\r\nworld"), uint8(3), uint8(5))
	f.Add([]byte("1;a=b\r\nx\r\n"), []byte{}, uint8(1), uint8(0))
	f.Fuzz(func(t *testing.T, raw, data []byte, size, cut uint8) {
		var sc http1.ChunkScanner
		n, _, _ := sc.Scan(raw)
		if got := appendChunkData(nil, raw[:n]); int64(len(got)) > sc.Data {
			t.Fatalf("%q: decoded %d bytes, the scanner saw %d", raw[:n], len(got), sc.Data)
		}
		enc := encodeChunked(data, []int{int(size), int(size) + 7})
		if got := appendChunkData(nil, enc); !bytes.Equal(got, data) {
			t.Fatalf("%q: %q, want %q", enc, got, data)
		}
		k := int(cut) % (len(enc) + 1)
		if got := appendChunkData(nil, enc[:k]); !bytes.HasPrefix(data, got) {
			t.Fatalf("%q cut at %d: %q is not a prefix of %q", enc, k, got, data)
		}
	})
}
