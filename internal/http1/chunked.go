package http1

import "math"

// Limits that keep a chunked body's framing cheap to follow whatever the
// peer sends; the scanner only keeps counters, never bytes.
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

// ChunkScanner walks a chunked body that the proxy forwards verbatim. It
// validates the framing and finds where the message ends (after the
// last-chunk, trailer section and final CRLF). It keeps state across calls,
// so bytes may arrive split anywhere. The zero value is ready to use.
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
}

// Reset prepares c for a new body.
func (c *ChunkScanner) Reset() { *c = ChunkScanner{} }

// Scan consumes p. n is the number of bytes of p that belong to the body:
// n < len(p) only when done (the rest is the next message) or on error (n
// is then where the error was found). done reports that the whole chunked
// body has been seen; later calls return (0, true, nil). A framing error is
// an *Error with Status 400 and is returned again by later calls.
func (c *ChunkScanner) Scan(p []byte) (n int, done bool, err error) {
	if c.err != nil {
		return 0, false, c.err
	}
	if c.state == csDone {
		return 0, true, nil
	}
	i := 0
	for i < len(p) {
		if c.state == csData {
			// Bulk skip: chunk-data is not looked at.
			k := len(p) - i
			if int64(k) > c.size {
				k = int(c.size)
			}
			i += k
			c.size -= int64(k)
			c.Data += int64(k)
			if c.size == 0 {
				c.state = csDataCR
			}
			continue
		}
		b := p[i]
		if c.state < csData {
			if c.line++; c.line > maxSizeLine {
				return c.fail(i, "chunk size line too long")
			}
		} else if c.state >= csTrLine {
			if c.trail++; c.trail > maxTrailers {
				return c.fail(i, "trailer section too long")
			}
		}
		switch c.state {
		case csSize0:
			if class[b]&cHex == 0 {
				return c.fail(i, "invalid chunk size")
			}
			c.size, c.digits, c.state = int64(unhex(b)), 1, csSize
		case csSize:
			switch {
			case class[b]&cHex != 0:
				if c.digits == maxSizeDigits || c.size > math.MaxInt64>>4 {
					return c.fail(i, "chunk size overflow")
				}
				c.size = c.size<<4 | int64(unhex(b))
				c.digits++
			case isOWS(b):
				c.state = csSizeBWS
			case b == ';':
				c.state = csExtStart
			case b == '\r':
				c.state = csSizeLF
			default:
				return c.fail(i, "invalid chunk size")
			}
		case csSizeBWS, csExtAfterName, csExtAfterVal:
			switch {
			case isOWS(b):
			case b == ';':
				c.state = csExtStart
			case b == '\r':
				c.state = csSizeLF
			case b == '=' && c.state == csExtAfterName:
				c.state = csExtValStart
			default:
				return c.fail(i, "invalid chunk extension")
			}
		case csExtStart:
			switch {
			case isOWS(b):
			case class[b]&cTchar != 0:
				c.state = csExtName
			default:
				return c.fail(i, "invalid chunk extension")
			}
		case csExtName, csExtTokVal:
			switch {
			case class[b]&cTchar != 0:
			case isOWS(b):
				if c.state == csExtName {
					c.state = csExtAfterName
				} else {
					c.state = csExtAfterVal
				}
			case b == ';':
				c.state = csExtStart
			case b == '\r':
				c.state = csSizeLF
			case b == '=' && c.state == csExtName:
				c.state = csExtValStart
			default:
				return c.fail(i, "invalid chunk extension")
			}
		case csExtValStart:
			switch {
			case isOWS(b):
			case class[b]&cTchar != 0:
				c.state = csExtTokVal
			case b == '"':
				c.state = csExtQuoted
			default:
				return c.fail(i, "invalid chunk extension")
			}
		case csExtQuoted:
			switch {
			case class[b]&cQdtext != 0:
			case b == '\\':
				c.state = csExtQuotedEsc
			case b == '"':
				c.state = csExtAfterVal
			default:
				return c.fail(i, "invalid chunk extension")
			}
		case csExtQuotedEsc:
			if class[b]&cValue == 0 {
				return c.fail(i, "invalid chunk extension")
			}
			c.state = csExtQuoted
		case csSizeLF:
			if b != '\n' {
				return c.fail(i, "bare CR in chunk size line")
			}
			c.line = 0
			if c.size == 0 {
				c.state = csTrLine // last-chunk
			} else {
				c.state = csData
			}
		case csDataCR:
			if b != '\r' {
				return c.fail(i, "chunk data not followed by CRLF")
			}
			c.state = csDataLF
		case csDataLF:
			if b != '\n' {
				return c.fail(i, "chunk data not followed by CRLF")
			}
			c.state = csSize0
		case csTrLine:
			switch {
			case b == '\r':
				c.state = csFinalLF
			case class[b]&cTchar != 0:
				c.state = csTrName
			default:
				return c.fail(i, "invalid trailer field")
			}
		case csTrName:
			switch {
			case class[b]&cTchar != 0:
			case b == ':':
				c.state = csTrValue
			default:
				return c.fail(i, "invalid trailer field name")
			}
		case csTrValue:
			switch {
			case class[b]&cValue != 0:
			case b == '\r':
				c.state = csTrLF
			default:
				return c.fail(i, "invalid trailer field value")
			}
		case csTrLF:
			if b != '\n' {
				return c.fail(i, "bare CR in trailer section")
			}
			c.state = csTrLine
		case csFinalLF:
			if b != '\n' {
				return c.fail(i, "bare CR after trailer section")
			}
			c.state = csDone
			i++
			c.off += int64(i)
			return i, true, nil
		}
		i++
	}
	c.off += int64(i)
	return i, false, nil
}

func (c *ChunkScanner) fail(i int, reason string) (int, bool, error) {
	c.err = newError(400, int(c.off)+i, reason)
	c.state = csDone
	return i, false, c.err
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
