package http1

import (
	"strings"
	"testing"
)

type chunkCase struct {
	name string
	body string // the complete chunked body
	next string // bytes of the next message that follow it
}

var goodChunks = []chunkCase{
	{"empty body", "0\r\n\r\n", ""},
	{"one chunk", "5\r\nhello\r\n0\r\n\r\n", "GET / HTTP/1.1\r\n"},
	{"several chunks, upper and lower hex", "a\r\n0123456789\r\nA\r\n0123456789\r\n1\r\n\n\r\n0\r\n\r\n", ""},
	{"leading zeros", "0005\r\nhello\r\n000\r\n\r\n", "x"},
	{"16 hex digits", "0000000000000005\r\nhello\r\n0\r\n\r\n", ""},
	{"data holding CRLF and size lines", "b\r\n0\r\n\r\n5\r\nabc\r\n0\r\n\r\n", ""},
	{"extensions", "5;a=b;c;d=\"q\\\"uo;ted\"\r\nhello\r\n0;last\r\n\r\n", ""},
	{"extensions with BWS", "5 \t; a = b\t;c ;d=\"x\" \r\nhello\r\n0\r\n\r\n", ""},
	{"BWS before CRLF", "5 \r\nhello\r\n0\t\r\n\r\n", ""},
	{"quoted obs-text and tab", "5;n=\"\xff\t\"\r\nhello\r\n0\r\n\r\n", ""},
	{"trailers", "5\r\nhello\r\n0\r\nX-Sum: abc\r\nX-Empty:\r\nX-Sp: \t v \r\n\r\n", "next"},
	{"binary data", "4\r\n\x00\r\n\xff\r\n0\r\n\r\n", ""},
}

type badChunk struct {
	name string
	body string
	pos  int // offset of the offending byte
}

var badChunks = []badChunk{
	{"empty size", "\r\n", 0},
	{"0x prefix", "0x5\r\nhello\r\n0\r\n\r\n", 1},
	{"negative", "-5\r\n", 0},
	{"plus", "+5\r\n", 0},
	{"space before size", " 5\r\n", 0},
	{"tab before size", "\t5\r\n", 0},
	{"17 hex digits", "00000000000000005\r\n", 16},
	{"overflow", "ffffffffffffffffff\r\n", 15},
	{"overflow 16 digits", "8000000000000000\r\n", 15},
	{"bare LF size line", "5\nhello\r\n", 1},
	{"bare CR size line", "5\rhello\r\n", 2},
	{"garbage after size", "5x\r\nhello\r\n", 1},
	{"space inside size", "5 5\r\nhello\r\n", 2},
	{"ext bare LF", "5;a=b\nhello\r\n", 5},
	{"ext NUL", "5;a\x00\r\nhello\r\n", 3},
	{"ext empty name", "5;\r\nhello\r\n", 2},
	{"ext empty value", "5;a=\r\nhello\r\n", 4},
	{"ext unterminated quote", "5;a=\"b\r\nhello\r\n", 6},
	{"ext quoted LF", "5;a=\"\n\"\r\nhello\r\n", 5},
	{"ext quoted-pair NUL", "5;a=\"\\\x00\"\r\nhello\r\n", 6},
	{"ext junk after quote", "5;a=\"b\"c\r\nhello\r\n", 7},
	{"ext space in name", "5;a b\r\nhello\r\n", 4},
	{"data longer than announced", "5\r\nhelloEXTRA\r\n0\r\n\r\n", 8},
	{"data followed by LF only", "5\r\nhello\n0\r\n\r\n", 8},
	{"data followed by CR only", "5\r\nhello\r0\r\n\r\n", 9},
	{"last-chunk bare LF", "0\n", 1},
	{"final bare LF", "0\r\n\n", 3},
	{"final CR without LF", "0\r\n\rX", 4},
	{"trailer obs-fold", "0\r\nX: y\r\n z\r\n\r\n", 9},
	{"trailer space before colon", "0\r\nX : y\r\n\r\n", 4},
	{"trailer empty name", "0\r\n: y\r\n\r\n", 3},
	{"trailer no colon", "0\r\nXY\r\n\r\n", 5},
	{"trailer NUL", "0\r\nX: \x00\r\n\r\n", 6},
	{"trailer bare CR", "0\r\nX: y\rZ\r\n\r\n", 8},
	{"trailer bare LF", "0\r\nX: y\n\r\n", 7},
}

// scanPieces feeds body to a fresh scanner in pieces of at most step bytes
// (step <= 0: one piece) and returns the total n, done and the error.
func scanPieces(body []byte, step int) (int, bool, error) {
	var s ChunkScanner
	total := 0
	for off := 0; ; {
		end := len(body)
		if step > 0 && off+step < end {
			end = off + step
		}
		n, done, err := s.Scan(body[off:end])
		total += n
		if err != nil || done {
			return total, done, err
		}
		if n != end-off {
			return total, done, nil // would be a bug: partial without done
		}
		off = end
		if off == len(body) {
			return total, false, nil
		}
	}
}

func TestChunkScannerValid(t *testing.T) {
	for _, c := range goodChunks {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(c.body + c.next)
			for _, step := range []int{0, 1, 2, 3, 7} {
				n, done, err := scanPieces(in, step)
				if err != nil || !done || n != len(c.body) {
					t.Fatalf("step %d: n=%d done=%v err=%v, want n=%d done", step, n, done, err, len(c.body))
				}
			}
			// Two pieces, split at every offset.
			for k := 0; k <= len(in); k++ {
				var s ChunkScanner
				n1, done, err := s.Scan(in[:k])
				n := n1
				if !done && err == nil {
					if n1 != k {
						t.Fatalf("split %d: first call n=%d without done", k, n1)
					}
					var n2 int
					n2, done, err = s.Scan(in[k:])
					n += n2
				}
				if err != nil || !done || n != len(c.body) {
					t.Fatalf("split %d: n=%d done=%v err=%v", k, n, done, err)
				}
			}
		})
	}
}

func TestChunkScannerInvalid(t *testing.T) {
	for _, c := range badChunks {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(c.body)
			for _, step := range []int{0, 1, 2, 5} {
				n, done, err := scanPieces(in, step)
				if done {
					t.Fatalf("step %d: accepted", step)
				}
				e := wantError(t, err, 400)
				if e.Pos != c.pos || n != c.pos {
					t.Fatalf("step %d: n=%d Pos=%d (%v), want %d", step, n, e.Pos, e, c.pos)
				}
			}
		})
	}
}

func TestChunkScannerAfterEnd(t *testing.T) {
	var s ChunkScanner
	if n, done, err := s.Scan([]byte("0\r\n\r\nNEXT")); n != 5 || !done || err != nil {
		t.Fatalf("n=%d done=%v err=%v", n, done, err)
	}
	if n, done, err := s.Scan([]byte("more")); n != 0 || !done || err != nil {
		t.Fatalf("after done: n=%d done=%v err=%v", n, done, err)
	}
	s.Reset()
	if n, done, err := s.Scan([]byte("x")); n != 0 || done || err == nil {
		t.Fatalf("after reset: n=%d done=%v err=%v", n, done, err)
	}
	// Errors are sticky.
	if _, _, err := s.Scan([]byte("0\r\n\r\n")); err == nil {
		t.Fatal("error not sticky")
	}
	s.Reset()
	if n, done, err := s.Scan(nil); n != 0 || done || err != nil {
		t.Fatalf("empty scan: n=%d done=%v err=%v", n, done, err)
	}
}

func TestChunkScannerLimits(t *testing.T) {
	ext := ";a=" + strings.Repeat("b", maxSizeLine-len("5;a=\r\n"))
	if n, done, err := scanPieces([]byte("5"+ext+"\r\nhello\r\n0\r\n\r\n"), 100); !done || err != nil {
		t.Fatalf("size line of %d bytes: n=%d err=%v", maxSizeLine, n, err)
	}
	if _, done, err := scanPieces([]byte("5"+ext+"b\r\nhello\r\n0\r\n\r\n"), 100); done || err == nil {
		t.Fatalf("size line of %d bytes accepted", maxSizeLine+1)
	}
	// The limit is per line, not per body.
	many := strings.Repeat("1"+ext[:len(ext)-1]+"\r\nx\r\n", 10) + "0\r\n\r\n"
	if _, done, err := scanPieces([]byte(many), 0); !done || err != nil {
		t.Fatalf("many long size lines: %v", err)
	}
	tr := "X: " + strings.Repeat("v", maxTrailers-len("X: \r\n\r\n"))
	if _, done, err := scanPieces([]byte("0\r\n"+tr+"\r\n\r\n"), 1000); !done || err != nil {
		t.Fatalf("trailers of %d bytes: %v", maxTrailers, err)
	}
	if _, done, err := scanPieces([]byte("0\r\n"+tr+"v\r\n\r\n"), 1000); done || err == nil {
		t.Fatalf("trailers of %d bytes accepted", maxTrailers+1)
	}
	// Largest chunk size: the scanner just counts it down.
	var s ChunkScanner
	if n, done, err := s.Scan([]byte("7fffffffffffffff\r\nabc")); n != 21 || done || err != nil {
		t.Fatalf("max size: n=%d done=%v err=%v", n, done, err)
	}
}

func TestChunkScannerCountsData(t *testing.T) {
	var c ChunkScanner
	body := "5;x=y\r\nhello\r\na\r\n0123456789\r\n0\r\nT: v\r\n\r\n"
	for i := 0; i < len(body); i++ { // one byte at a time
		if _, _, err := c.Scan([]byte(body[i : i+1])); err != nil {
			t.Fatal(err)
		}
	}
	if c.Data != 15 {
		t.Fatalf("Data = %d, want 15", c.Data)
	}
}
