package http1

import (
	"strings"
	"testing"
)

// A browser-like request: 9 headers, about 400 bytes.
const benchRequest = "GET /search?q=haproxy+golang&lang=en HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
	"Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate, br\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=3f9a1c0e7b; theme=dark\r\n" +
	"Upgrade-Insecure-Requests: 1\r\n" +
	"\r\n"

// A small request close to the ~300 bytes of the brief.
const benchSmallRequest = "GET /index.html HTTP/1.1\r\n" +
	"Host: www.example.com\r\n" +
	"User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)\r\n" +
	"Accept: text/html,*/*;q=0.8\r\n" +
	"Accept-Language: en-US,en;q=0.5\r\n" +
	"Accept-Encoding: gzip, deflate\r\n" +
	"Connection: keep-alive\r\n" +
	"Cookie: session=3f9a1c0e7b\r\n" +
	"Cache-Control: max-age=0\r\n" +
	"\r\n"

const benchResponse = "HTTP/1.1 200 OK\r\n" +
	"Date: Tue, 25 Nov 2025 09:30:00 GMT\r\n" +
	"Server: backend\r\n" +
	"Content-Type: text/html; charset=utf-8\r\n" +
	"Content-Length: 5120\r\n" +
	"Cache-Control: private, max-age=0\r\n" +
	"Set-Cookie: session=3f9a1c0e7b; Path=/; HttpOnly\r\n" +
	"Vary: Accept-Encoding\r\n" +
	"\r\n"

func benchChunkedBody() []byte {
	var b strings.Builder
	for i := 0; i < 8; i++ {
		b.WriteString("400;ext=v\r\n")
		b.WriteString(strings.Repeat("x", 0x400))
		b.WriteString("\r\n")
	}
	b.WriteString("1\r\ny\r\n0\r\nX-Checksum: 1234\r\n\r\n")
	return []byte(b.String())
}

func TestParseRequestNoAlloc(t *testing.T) {
	for _, in := range []string{benchRequest, benchSmallRequest} {
		buf := []byte(in)
		var r Request
		if _, err := ParseRequest(buf, &r); err != nil { // grows Headers once
			t.Fatal(err)
		}
		if len(r.Headers) < 8 {
			t.Fatalf("only %d headers", len(r.Headers))
		}
		allocs := testing.AllocsPerRun(1000, func() {
			if _, err := ParseRequest(buf, &r); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("ParseRequest allocates %v times per run", allocs)
		}
		// Incomplete heads must not allocate either: they are parsed often.
		allocs = testing.AllocsPerRun(1000, func() {
			if _, err := ParseRequest(buf[:len(buf)-1], &r); err != ErrIncomplete {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("incomplete ParseRequest allocates %v times per run", allocs)
		}
	}
}

func TestParseResponseNoAlloc(t *testing.T) {
	buf := []byte(benchResponse)
	var r Response
	if _, err := ParseResponse(buf, &r); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := ParseResponse(buf, &r); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("ParseResponse allocates %v times per run", allocs)
	}
}

func TestChunkScannerNoAlloc(t *testing.T) {
	body := benchChunkedBody()
	var s ChunkScanner
	allocs := testing.AllocsPerRun(1000, func() {
		s.Reset()
		// Two pieces, the split inside a size line.
		if _, _, err := s.Scan(body[:1+0x400+len("400;ext=v\r\n")+3]); err != nil {
			t.Fatal(err)
		}
		if _, done, err := s.Scan(body[1+0x400+len("400;ext=v\r\n")+3:]); err != nil || !done {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("Scan allocates %v times per run", allocs)
	}
}

func TestHelpersNoAlloc(t *testing.T) {
	v := []byte("keep-alive, Upgrade")
	dst := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(1000, func() {
		_ = HasToken(v, "upgrade")
		_ = EqualFold(v, "keep-alive, upgrade")
		dst = AppendStatusLine(dst[:0], 1, 1, 200, "OK")
	})
	if allocs != 0 {
		t.Fatalf("helpers allocate %v times per run", allocs)
	}
}

func benchParseRequest(b *testing.B, in string) {
	buf := []byte(in)
	var r Request
	if _, err := ParseRequest(buf, &r); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRequest(buf, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseRequest(b *testing.B)      { benchParseRequest(b, benchRequest) }
func BenchmarkParseRequestSmall(b *testing.B) { benchParseRequest(b, benchSmallRequest) }

// The cost of one retry on a head that is not complete yet.
func BenchmarkParseRequestIncomplete(b *testing.B) {
	buf := []byte(benchRequest)
	buf = buf[:len(buf)-1]
	var r Request
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseRequest(buf, &r); err != ErrIncomplete {
			b.Fatal(err)
		}
	}
}

func BenchmarkParseResponse(b *testing.B) {
	buf := []byte(benchResponse)
	var r Response
	if _, err := ParseResponse(buf, &r); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseResponse(buf, &r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkScanner(b *testing.B) {
	body := benchChunkedBody()
	var s ChunkScanner
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s.Reset()
		if _, done, err := s.Scan(body); err != nil || !done {
			b.Fatal(err)
		}
	}
}

// Size lines and trailers are walked byte by byte: this is the worst case.
func BenchmarkChunkScannerSmallChunks(b *testing.B) {
	body := []byte(strings.Repeat("1\r\nx\r\n", 512) + "0\r\n\r\n")
	var s ChunkScanner
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		s.Reset()
		if _, done, err := s.Scan(body); err != nil || !done {
			b.Fatal(err)
		}
	}
}

func BenchmarkChunkDecode(b *testing.B) {
	for _, c := range []struct {
		name string
		body []byte
	}{
		{"1k", benchChunkedBody()},
		{"small", []byte(strings.Repeat("1\r\nx\r\n", 512) + "0\r\n\r\n")},
	} {
		b.Run(c.name, func(b *testing.B) {
			var s ChunkScanner
			b.SetBytes(int64(len(c.body)))
			b.ReportAllocs()
			for b.Loop() {
				s.Reset()
				s.KeepTrailers = true
				for p := c.body; len(p) > 0; {
					n, _, done, err := s.Decode(p)
					if err != nil || done && n != len(p) {
						b.Fatal(err)
					}
					p = p[n:]
				}
			}
		})
	}
}

// BenchmarkChunkAppendDecoded: 16 KiB in 1 KiB chunks, and 512 one-byte
// chunks, decoded into a buffer.
func BenchmarkChunkAppendDecoded(b *testing.B) {
	for _, c := range []struct {
		name string
		body string
	}{
		{"1k", "400;ext=1\r\n" + strings.Repeat("x", 1<<10) + "\r\n" + strings.Repeat("400\r\n"+strings.Repeat("x", 1<<10)+"\r\n", 15) + "0\r\nX-T: 1\r\n\r\n"},
		{"small", "1;ext=1\r\nx\r\n" + strings.Repeat("1\r\nx\r\n", 511) + "0\r\nX-T: 1\r\n\r\n"},
	} {
		b.Run(c.name, func(b *testing.B) {
			raw := []byte(c.body)
			dst := make([]byte, 0, 32<<10)
			var s ChunkScanner
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				s.Reset()
				var done bool
				var err error
				if dst, _, done, err = s.AppendDecoded(dst[:0], raw); !done || err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
