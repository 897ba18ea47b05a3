package http1

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// decodePieces decodes in with a fresh decoder keeping trailers, fed in
// the pieces that cuts (ascending offsets) make of it.
func decodePieces(in []byte, cuts ...int) (n int, data, trailers []byte, done bool, err error) {
	var c ChunkScanner
	c.KeepTrailers = true
	from := 0
	for _, to := range append(cuts, len(in)) {
		p := in[from:to]
		for {
			k, d, fin, e := c.Decode(p)
			n += k
			data = append(data, d...)
			p = p[k:]
			if fin || e != nil {
				return n, data, c.Trailers(), fin, e
			}
			if len(p) == 0 {
				break
			}
		}
		from = to
	}
	return n, data, c.Trailers(), false, nil
}

// Every valid body decodes the same whole, a byte at a time and cut at
// every offset, and ends where Scan says.
func TestChunkDecodeSplit(t *testing.T) {
	for _, c := range goodChunks {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(c.body + c.next)
			wantN, wantData, wantTr, _ := refDecode(in)
			n, data, tr, done, err := decodePieces(in)
			if err != nil || !done || n != len(c.body) || n != wantN || string(data) != wantData || string(tr) != wantTr {
				t.Fatalf("n=%d data=%q trailers=%q done=%v err=%v, want n=%d data=%q trailers=%q", n, data, tr, done, err, len(c.body), wantData, wantTr)
			}
			bytewise := make([]int, len(in))
			for k := range bytewise {
				bytewise[k] = k
			}
			if n, data2, tr2, done, err := decodePieces(in, bytewise...); err != nil || !done || n != len(c.body) || !bytes.Equal(data2, data) || !bytes.Equal(tr2, tr) {
				t.Fatalf("a byte at a time: n=%d data=%q trailers=%q done=%v err=%v", n, data2, tr2, done, err)
			}
			for k := 0; k <= len(in); k++ {
				if n, data2, tr2, done, err := decodePieces(in, k); err != nil || !done || n != len(c.body) || !bytes.Equal(data2, data) || !bytes.Equal(tr2, tr) {
					t.Fatalf("cut at %d: n=%d data=%q trailers=%q done=%v err=%v", k, n, data2, tr2, done, err)
				}
			}
		})
	}
}

// Decode refuses what Scan refuses, at the same byte, with the same
// reason, however the body is cut.
func TestChunkDecodeInvalid(t *testing.T) {
	for _, c := range badChunks {
		t.Run(c.name, func(t *testing.T) {
			in := []byte(c.body)
			_, _, scanErr := scanPieces(in, 0)
			for k := 0; k <= len(in); k++ {
				n, _, _, done, err := decodePieces(in, k)
				if done || err == nil || n != c.pos || err.Error() != scanErr.Error() {
					t.Fatalf("cut at %d: n=%d done=%v err=%v, want n=%d err=%v", k, n, done, err, c.pos, scanErr)
				}
			}
		})
	}
}

func TestChunkDecodeTrailersReset(t *testing.T) {
	var c ChunkScanner
	c.KeepTrailers = true
	if _, _, _, err := decodePiecesWith(&c, "0\r\nA: 1\r\n\r\n"); err != nil || string(c.Trailers()) != "A: 1\r\n" {
		t.Fatalf("trailers %q, %v", c.Trailers(), err)
	}
	c.Reset()
	if c.KeepTrailers || len(c.Trailers()) != 0 {
		t.Fatalf("after Reset: keep %v, trailers %q", c.KeepTrailers, c.Trailers())
	}
	// Not kept unless asked for.
	if _, _, _, err := decodePiecesWith(&c, "0\r\nB: 2\r\n\r\n"); err != nil || len(c.Trailers()) != 0 {
		t.Fatalf("trailers %q, %v", c.Trailers(), err)
	}
}

func decodePiecesWith(c *ChunkScanner, body string) (n int, data []byte, done bool, err error) {
	for p := []byte(body); ; {
		k, d, fin, e := c.Decode(p)
		n += k
		data = append(data, d...)
		p = p[k:]
		if fin || e != nil || len(p) == 0 {
			return n, data, fin, e
		}
	}
}

// A decoder reused for body after body allocates nothing, trailers kept.
func TestChunkDecodeNoAlloc(t *testing.T) {
	body := benchChunkedBody()
	var c ChunkScanner
	run := func() {
		c.Reset()
		c.KeepTrailers = true
		for p := body; len(p) > 0; {
			n, _, _, err := c.Decode(p)
			if err != nil {
				t.Fatal(err)
			}
			p = p[n:]
		}
		if string(c.Trailers()) != "X-Checksum: 1234\r\n" {
			t.Fatalf("trailers %q", c.Trailers())
		}
	}
	run()
	if n := testing.AllocsPerRun(100, run); n != 0 {
		t.Errorf("%v allocations per body", n)
	}
}

// refDecode is a simple reference decoder: the whole body at once, a
// line at a time matched against the grammar, with the same limits.
// status is 'd' (done), 'b' (invalid) or 'm' (more bytes needed, or an
// invalid line not yet ended).
func refDecode(in []byte) (n int, data, trailers string, status byte) {
	s := string(in)
	pos := 0
	// line returns the line at pos with its CRLF, or the status when there
	// is no whole line.
	line := func(limit int) (string, byte) {
		cr := strings.IndexByte(s[pos:], '\r')
		switch {
		case cr < 0 || cr+1 == len(s)-pos:
			if len(s)-pos >= limit {
				return "", 'b'
			}
			return "", 'm'
		case s[pos+cr+1] != '\n' || cr+2 > limit:
			return "", 'b'
		}
		return s[pos : pos+cr+2], 0
	}
	var d strings.Builder
	for {
		l, st := line(maxSizeLine)
		if st != 0 {
			return pos, d.String(), "", st
		}
		m := refSizeLine.FindStringSubmatch(l)
		if m == nil || len(m[1]) > maxSizeDigits {
			return pos, d.String(), "", 'b'
		}
		size, err := strconv.ParseInt(m[1], 16, 64)
		if err != nil {
			return pos, d.String(), "", 'b'
		}
		pos += len(l)
		if size == 0 {
			break
		}
		if int64(len(s)-pos) < size+2 {
			rest := s[pos:]
			if int64(len(rest)) > size && rest[size] != '\r' {
				return pos, d.String(), "", 'b'
			}
			return pos, d.String(), "", 'm'
		}
		if s[pos+int(size):pos+int(size)+2] != "\r\n" {
			return pos, d.String(), "", 'b'
		}
		d.WriteString(s[pos : pos+int(size)])
		pos += int(size) + 2
	}
	trStart := pos
	for {
		l, st := line(maxTrailers - (pos - trStart))
		if st != 0 {
			return pos, d.String(), "", st
		}
		pos += len(l)
		if l == "\r\n" {
			return pos, d.String(), s[trStart : pos-2], 'd'
		}
		if !refTrailerLine.MatchString(l) {
			return pos, d.String(), "", 'b'
		}
	}
}

// The grammar of RFC 9112 7.1; [^\x00-\x7f] is any byte of obs-text.
const (
	refToken  = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"
	refQuoted = `"(?:[\t !#-\[\]-~]|[^\x00-\x7f]|\\(?:[\t -~]|[^\x00-\x7f]))*"`
	refExt    = `;[ \t]*` + refToken + `(?:[ \t]*=[ \t]*(?:` + refToken + `|` + refQuoted + `))?[ \t]*`
)

var (
	refSizeLine    = regexp.MustCompile(`^([0-9A-Fa-f]+)[ \t]*(?:` + refExt + `)*\r\n$`)
	refTrailerLine = regexp.MustCompile(`^` + refToken + `:(?:[\t -~]|[^\x00-\x7f])*\r\n$`)
)

// FuzzChunkDecode: the decoder, fed in two pieces, agrees with the
// reference decoder and with Scan.
func FuzzChunkDecode(f *testing.F) {
	for _, c := range goodChunks {
		f.Add([]byte(c.body+c.next), uint(len(c.body)/2))
	}
	for _, c := range badChunks {
		f.Add([]byte(c.body), uint(c.pos))
	}
	f.Fuzz(func(t *testing.T, in []byte, split uint) {
		k := int(split % uint(len(in)+1))
		n, data, tr, done, err := decodePieces(in, k)
		sn, sdone, serr := scanSplit(in, k)
		if n != sn || done != sdone || (err == nil) != (serr == nil) || err != nil && err.Error() != serr.Error() {
			t.Fatalf("cut at %d: Decode (%d %v %v), Scan (%d %v %v)", k, n, done, err, sn, sdone, serr)
		}
		var e *Error
		if err != nil && (!errors.As(err, &e) || e.Pos != n) {
			t.Fatalf("error %v at %d", err, n)
		}
		rn, rdata, rtr, status := refDecode(in)
		switch {
		case status == 'd':
			if !done || n != rn || string(data) != rdata || string(tr) != rtr {
				t.Fatalf("cut at %d: (%d %q %q %v %v), reference (%d %q %q)", k, n, data, tr, done, err, rn, rdata, rtr)
			}
		case done:
			t.Fatalf("cut at %d: done at %d, reference %c at %d", k, n, status, rn)
		case status == 'b' && err == nil:
			t.Fatalf("cut at %d: accepted (%d), reference refused at %d", k, n, rn)
		case status == 'm' && err == nil && !strings.HasPrefix(rdata, string(data)) && !strings.HasPrefix(string(data), rdata):
			t.Fatalf("cut at %d: data %q, reference %q", k, data, rdata)
		}
	})
}

// AppendDecoded takes the chunk-data out of a body, whole or cut.
func TestChunkAppendDecoded(t *testing.T) {
	for raw, want := range map[string]string{
		"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n":                   "abcde",
		"5;ext=1\r\na=1&b\r\n4\r\n=2&c\r\n0\r\nX: 1\r\n\r\n": "a=1&b=2&c",
		"3\r\nabc\r\n2\r\nd":                                 "abcd", // cut in the data
		"3\r\nabc\r\n1":                                      "abc",  // cut in a size line
		"a\r\n0123\r\n6789\r\n0\r\n\r\n":                     "0123\r\n6789",
	} {
		var c ChunkScanner
		got, n, _, err := c.AppendDecoded([]byte("x"), []byte(raw))
		if string(got) != "x"+want || n != len(raw) || err != nil {
			t.Errorf("%q: %q n=%d err=%v, want %q", raw, got, n, err, "x"+want)
		}
	}
}
