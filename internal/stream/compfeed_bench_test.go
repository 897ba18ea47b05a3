package stream

import (
	"bytes"
	"strings"
	"testing"

	"dhproxy/internal/compression"
	"dhproxy/internal/http1"
)

// BenchmarkCompressChunkedFeed: what feed does with a chunked body: the
// framing checked, the chunk-data to the encoder, the trailers kept.
func BenchmarkCompressChunkedFeed(b *testing.B) {
	for _, c := range []struct {
		name string
		raw  []byte
	}{
		{"1k", []byte("400;ext=1\r\n" + strings.Repeat("x", 1<<10) + "\r\n" + strings.Repeat("400\r\n"+strings.Repeat("x", 1<<10)+"\r\n", 15) + "0\r\nX-T: 1\r\n\r\n")},
		{"small", []byte("1;ext=1\r\nx\r\n" + strings.Repeat("1\r\nx\r\n", 511) + "0\r\nX-T: 1\r\n\r\n")},
	} {
		b.Run(c.name, func(b *testing.B) {
			enc := compression.Get(compression.Identity, 1)
			defer enc.Put()
			var sc http1.ChunkScanner
			b.SetBytes(int64(len(c.raw)))
			b.ReportAllocs()
			for b.Loop() {
				sc.Reset()
				sc.KeepTrailers = true
				if _, done, err := compressChunks(&sc, enc, c.raw); err != nil || !done {
					b.Fatal(err)
				}
				if !bytes.Equal(sc.Trailers(), []byte("X-T: 1\r\n")) {
					b.Fatal(string(sc.Trailers()))
				}
				enc.Chunk()
			}
		})
	}
}
