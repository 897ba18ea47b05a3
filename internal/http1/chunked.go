package http1

import "math"

// Limits that keep a chunked body's framing cheap to follow whatever the
// peer sends; the scanner keeps counters, and bytes only of the trailers
// when asked to.
const (
	maxSizeLine   = 4096  // bytes of one chunk-size line, extensions and CRLF included
	maxTrailers   = 16384 // bytes of the trailer section, final CRLF included
	maxSizeDigits = 16    // hex digits of a chunk-size
)

// Scanner states.
const (
	csSize0        = iota // start of a size line: a hex digit is required
	csSize                // in the hex digits
	csSizeBWS             // BWS after the digits
	csExtStart            // after ';': BWS then an extension name
	csExtName             // in an extension name
	csExtAfterName        // BWS after a name
	csExtValStart         // after '=': BWS then a token or quoted-string
	csExtTokVal           // in a token value
	csExtQuoted           // in a quoted-string value
	csExtQuotedEsc        // after a backslash in a quoted-string
	csExtAfterVal         // BWS after a value
	csSizeLF              // after the CR ending the size line
	csData                // in chunk-data
	csDataCR              // expecting the CR after chunk-data
	csDataLF              // expecting the LF after chunk-data
	csTrLine              // start of a trailer line, or of the final CRLF
	csTrName              // in a trailer field name
	csTrValue             // in a trailer field value
	csTrLF                // after the CR ending a trailer line
	csFinalLF             // after the CR of the final empty line
	csDone
)

// ChunkScanner walks a chunked body: Scan for one the proxy forwards
// verbatim, Decode or AppendDecoded for one whose chunked coding is
// removed. It validates
// the framing and finds where the message ends (after the last-chunk,
// trailer section and final CRLF). It keeps state across calls, so bytes
// may arrive split anywhere. The zero value is ready to use.
type ChunkScanner struct {
	state  uint8
	digits uint8
	size   int64 // chunk-size being read, then chunk-data bytes still due
	line   int   // bytes of the current size line so far
	trail  int   // bytes of the trailer section so far
	off    int64 // body bytes consumed by earlier calls, for Error.Pos
	err    *Error
	// Data counts the chunk-data bytes seen so far (the decoded body size,
	// which HAProxy's logs report).
	Data int64
	// TrailerSize counts the trailer fields' names and values (without
	// the spaces around the values), as HAProxy's logs count them.
	TrailerSize int64
	trWS        int64 // spaces seen after the value's last other byte
	trVal       bool  // the value has had a byte other than a space
	// KeepTrailers: the trailer fields are kept for Trailers (set it
	// before the trailer section comes).
	KeepTrailers bool
	trailers     []byte
}

// Reset prepares c for a new body (KeepTrailers off).
func (c *ChunkScanner) Reset() { *c = ChunkScanner{trailers: c.trailers[:0]} }

// Scan consumes p. n is the number of bytes of p that belong to the body:
// n < len(p) only when done (the rest is the next message) or on error (n
// is then where the error was found). done reports that the whole chunked
// body has been seen; later calls return (0, true, nil). A framing error is
// an *Error with Status 400 and is returned again by later calls.
func (c *ChunkScanner) Scan(p []byte) (n int, done bool, err error) {
	n, _, done, err = c.walk(p, false)
	return n, done, err
}

// Decode is Scan stopping after the first chunk-data in p: data is that
// chunk-data (or the part of it p holds), the last of the n bytes
// consumed; with none in p, data is empty and n is as for Scan. A caller
// calls again with p[n:] until done, an error or p is used up.
func (c *ChunkScanner) Decode(p []byte) (n int, data []byte, done bool, err error) {
	return c.walk(p, true)
}

// AppendDecoded is Decode over all of p (up to the body's end or an
// error): it appends the chunk-data to dst.
func (c *ChunkScanner) AppendDecoded(dst, p []byte) (_ []byte, n int, done bool, err error) {
	for {
		k, data, d, e := c.walk(p[n:], true)
		n += k
		dst = append(dst, data...)
		if d || e != nil || n == len(p) {
			return dst, n, d, e
		}
	}
}

// Trailers returns the trailer fields of a body scanned with KeepTrailers
// to its end: each field line with its CRLF, the final CRLF left out.
func (c *ChunkScanner) Trailers() []byte { return c.trailers }

// walk is Scan, or with decode Decode. (Appending the chunk-data here,
// for AppendDecoded, made Scan's loop half as slow again.)
func (c *ChunkScanner) walk(p []byte, decode bool) (int, []byte, bool, error) {
	if c.state == csDone { // the end, or an error
		if c.err != nil {
			return 0, nil, false, c.err
		}
		return 0, nil, true, nil
	}
	st := c.state // kept in a register: the loop reads it for every byte
	// tr: where the trailer section's bytes start in p, -1 before it.
	tr := -1
	if st >= csTrLine {
		tr = 0
	}
	i := 0
	for i < len(p) {
		if st == csData {
			// Bulk: chunk-data is not looked at.
			k := len(p) - i
			if int64(k) > c.size {
				k = int(c.size)
			}
			i += k
			c.size -= int64(k)
			c.Data += int64(k)
			if c.size == 0 {
				st = csDataCR
			}
			if decode {
				c.state = st
				c.off += int64(i)
				return i, p[i-k : i], false, nil
			}
			continue
		}
		b := p[i]
		if st < csData {
			if c.line++; c.line > maxSizeLine {
				return c.fail(i, "chunk size line too long")
			}
		} else if st >= csTrLine {
			if c.trail++; c.trail > maxTrailers {
				return c.fail(i, "trailer section too long")
			}
		}
		switch st {
		case csSize0:
			if class[b]&cHex == 0 {
				return c.fail(i, "invalid chunk size")
			}
			// Fast path for the usual line, digits and CRLF, whole in p
			// (up to 15 digits: no overflow); else byte by byte.
			j, size := i, int64(0)
			for j < len(p) && j-i < maxSizeDigits-1 && class[p[j]]&cHex != 0 {
				size = size<<4 | int64(unhex(p[j]))
				j++
			}
			if j+1 < len(p) && p[j] == '\r' && p[j+1] == '\n' {
				c.size, c.line, i = size, 0, j+2
				if size == 0 {
					st, tr = csTrLine, i // last-chunk
				} else {
					st = csData
				}
				continue
			}
			c.size, c.digits, st = int64(unhex(b)), 1, csSize
		case csSize:
			switch {
			case class[b]&cHex != 0:
				if c.digits == maxSizeDigits || c.size > math.MaxInt64>>4 {
					return c.fail(i, "chunk size overflow")
				}
				c.size = c.size<<4 | int64(unhex(b))
				c.digits++
			case isOWS(b):
				st = csSizeBWS
			case b == ';':
				st = csExtStart
			case b == '\r':
				st = csSizeLF
			default:
				return c.fail(i, "invalid chunk size")
			}
		case csSizeBWS, csExtAfterName, csExtAfterVal:
			switch {
			case isOWS(b):
			case b == ';':
				st = csExtStart
			case b == '\r':
				st = csSizeLF
			case b == '=' && st == csExtAfterName:
				st = csExtValStart
			default:
				return c.fail(i, "invalid chunk extension")
			}
		case csExtStart:
			switch {
			case isOWS(b):
			case class[b]&cTchar != 0:
				st = csExtName
			default:
				return c.fail(i, "invalid chunk extension")
			}
		case csExtName, csExtTokVal:
			switch {
			case class[b]&cTchar != 0:
			case isOWS(b):
				if st == csExtName {
					st = csExtAfterName
				} else {
					st = csExtAfterVal
				}
			case b == ';':
				st = csExtStart
			case b == '\r':
				st = csSizeLF
			case b == '=' && st == csExtName:
				st = csExtValStart
			default:
				return c.fail(i, "invalid chunk extension")
			}
		case csExtValStart:
			switch {
			case isOWS(b):
			case class[b]&cTchar != 0:
				st = csExtTokVal
			case b == '"':
				st = csExtQuoted
			default:
				return c.fail(i, "invalid chunk extension")
			}
		case csExtQuoted:
			switch {
			case class[b]&cQdtext != 0:
			case b == '\\':
				st = csExtQuotedEsc
			case b == '"':
				st = csExtAfterVal
			default:
				return c.fail(i, "invalid chunk extension")
			}
		case csExtQuotedEsc:
			if class[b]&cValue == 0 {
				return c.fail(i, "invalid chunk extension")
			}
			st = csExtQuoted
		case csSizeLF:
			if b != '\n' {
				return c.fail(i, "bare CR in chunk size line")
			}
			c.line = 0
			if c.size == 0 {
				st = csTrLine // last-chunk
				tr = i + 1
			} else {
				st = csData
			}
		case csDataCR:
			if b != '\r' {
				return c.fail(i, "chunk data not followed by CRLF")
			}
			st = csDataLF
			if i+1 < len(p) && p[i+1] == '\n' {
				i++
				st = csSize0
			}
		case csDataLF:
			if b != '\n' {
				return c.fail(i, "chunk data not followed by CRLF")
			}
			st = csSize0
		case csTrLine:
			switch {
			case b == '\r':
				st = csFinalLF
			case class[b]&cTchar != 0:
				st = csTrName
				c.TrailerSize++
			default:
				return c.fail(i, "invalid trailer field")
			}
		case csTrName:
			switch {
			case class[b]&cTchar != 0:
				c.TrailerSize++
			case b == ':':
				st = csTrValue
				c.trWS, c.trVal = 0, false
			default:
				return c.fail(i, "invalid trailer field name")
			}
		case csTrValue:
			switch {
			case b == ' ' || b == '\t':
				c.trWS++
			case class[b]&cValue != 0:
				if c.trVal {
					c.TrailerSize += c.trWS // spaces inside the value
				}
				c.TrailerSize++
				c.trWS, c.trVal = 0, true
			case b == '\r':
				st = csTrLF
			default:
				return c.fail(i, "invalid trailer field value")
			}
		case csTrLF:
			if b != '\n' {
				return c.fail(i, "bare CR in trailer section")
			}
			st = csTrLine
		case csFinalLF:
			if b != '\n' {
				return c.fail(i, "bare CR after trailer section")
			}
			c.state = csDone
			i++
			c.off += int64(i)
			if c.KeepTrailers {
				// Without the final CRLF (its CR may have come before).
				c.trailers = append(c.trailers, p[tr:max(i-2, tr)]...)
			}
			return i, nil, true, nil
		}
		i++
	}
	c.state = st
	c.off += int64(i)
	if c.KeepTrailers && tr >= 0 {
		end := i
		if st == csFinalLF && i > 0 {
			end-- // the final CR
		}
		c.trailers = append(c.trailers, p[tr:end]...)
	}
	return i, nil, false, nil
}

func (c *ChunkScanner) fail(i int, reason string) (int, []byte, bool, error) {
	c.err = newError(400, int(c.off)+i, reason)
	c.state = csDone
	return i, nil, false, c.err
}

// HexDigit is the value of the hexadecimal digit c, 255 when c is not
// one.
func HexDigit(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10
	}
	return 255
}

// unhex is HexDigit of a byte known to be a digit.
func unhex(b byte) byte {
	switch {
	case b <= '9':
		return b - '0'
	case b >= 'a':
		return b - 'a' + 10
	}
	return b - 'A' + 10
}
