package h2

import (
	"strings"
	"testing"
)

// BenchmarkRespConvChunked: a chunked response to HTTP/2 frames.
func BenchmarkRespConvChunked(b *testing.B) {
	for _, c := range []struct{ name, body string }{
		{"1k", strings.Repeat("400\r\n"+strings.Repeat("x", 1<<10)+"\r\n", 16) + "0\r\n\r\n"},
		{"small", strings.Repeat("1\r\nx\r\n", 512) + "0\r\n\r\n"},
	} {
		b.Run(c.name, func(b *testing.B) {
			in := []byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + c.body)
			b.SetBytes(int64(len(in)))
			b.ReportAllocs()
			for b.Loop() {
				cv := getConv(reqInfo{})
				if err := cv.write(in, nopSink{}); err != nil || !cv.done() {
					b.Fatal(err)
				}
				putConv(cv)
			}
		})
	}
}
