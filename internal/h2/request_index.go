package h2

import (
	"encoding/binary"
	"math"

	"dhproxy/internal/http1"

	"golang.org/x/net/http2/hpack"
)

// The HTTP/1 parse of a converted request head is recorded while
// appendRequestHead writes it (reqIndex), so that the session does not
// parse again what was built from fields already checked
// (Stream.ParsedRequest). It is stored at the end of the Stream's
// headBuf, after the head when the head is there too (the Stream stays
// in the 512-byte size class, the largest without a malloc header):
//
//	the last indexFixed bytes: flags, line count, method, target and head lengths
//	below them, line i at len-indexFixed-indexLine*(i+1): name offset (2 bytes), name length, Kind
//
// A head that http1.ParseRequest would refuse or read in any other way
// than recorded (a repeated or missing Host, a target it does not accept)
// or whose index has no room is not indexed: the session then parses it
// and answers as for any HTTP/1 request.
const (
	indexFixed = 8
	indexLine  = 4
	maxIndexed = (len(Stream{}.headBuf) - indexFixed) / indexLine // lines
)

// Bits of the index's flags byte.
const (
	ixOK          = 1 << iota // the index is there and not taken yet
	ixChunked                 // "transfer-encoding: chunked"
	ixExpect                  // an expect line is 100-continue
	ixConnUpgrade             // "connection: upgrade" (the extended CONNECT's)
	ixUpgrade                 // an upgrade line
)

// reqIndex records the index of one head while it is written.
type reqIndex struct {
	base      int // where the head starts in the buffer it is written to
	lines     int
	hosts     int // host lines
	host      int // the first host line
	flags     uint8
	unindexed bool // a line could not be recorded: the session parses the head
	methodLen int
	targetLen int
	headLen   int
	line      [maxIndexed]uint32 // name offset | name length<<16 | Kind<<24
}

// convertRequest converts the request head of fields (appendRequestHead)
// into the stream's array when it fits, else into a buffer of its own,
// and stores its index at the array's end when there is room.
func (st *Stream) convertRequest(fields []hpack.HeaderField, endStream bool) ([]byte, reqInfo, error) {
	head := st.headBuf[:0]
	if n := requestHeadSize(fields); n > len(st.headBuf) {
		head = make([]byte, 0, n)
	}
	var ix reqIndex
	head, info, err := appendRequestHead(head, fields, endStream, &ix)
	if err != nil || ix.flags&ixOK == 0 {
		return head, info, err
	}
	free := len(st.headBuf)
	inArray := &head[0] == &st.headBuf[0]
	if inArray {
		free -= len(head)
	}
	need := indexFixed + indexLine*ix.lines
	if need > free {
		return head, info, nil
	}
	ix.store(st.headBuf[len(st.headBuf)-need:])
	info.indexed = true
	if inArray {
		// The body's bytes, appended to the head, must not reach it.
		head = head[: len(head) : len(st.headBuf)-need]
	}
	return head, info, nil
}

// begin starts the index of a head written from dst[base:].
func (ix *reqIndex) begin(base int) {
	ix.base, ix.lines, ix.hosts, ix.flags, ix.unindexed = base, 0, 0, 0, false
}

// appendLine appends the field line "name: value" to dst and records it.
func (ix *reqIndex) appendLine(dst []byte, name, value string) []byte {
	start := len(dst)
	dst = append(append(append(append(dst, name...), ": "...), value...), "\r\n"...)
	ix.add(dst, start, len(name))
	return dst
}

// add records the field line that dst ends with, its name nameLen bytes
// at start, deriving what ParseRequest derives from it.
func (ix *reqIndex) add(dst []byte, start, nameLen int) {
	if ix.lines == len(ix.line) || len(dst)-ix.base > math.MaxUint16 || nameLen > math.MaxUint8 {
		ix.unindexed = true
		return
	}
	kind := http1.Classify(dst[start : start+nameLen])
	switch kind {
	case http1.KindHost:
		if ix.hosts == 0 {
			ix.host = ix.lines
		}
		ix.hosts++
	case http1.KindExpect:
		if http1.EqualFold(trimEndOWS(dst[start+nameLen+len(": "):len(dst)-len("\r\n")]), "100-continue") {
			ix.flags |= ixExpect
		}
	case http1.KindUpgrade:
		ix.flags |= ixUpgrade
	case http1.KindConnection:
		// Only the extended CONNECT's own line: a client's is refused.
		ix.flags |= ixConnUpgrade
		ix.unindexed = ix.unindexed || string(dst[start:]) != "connection: upgrade\r\n"
	case http1.KindTransferEncoding:
		// Only the conversion's own line (a body of unknown length).
		ix.flags |= ixChunked
		ix.unindexed = ix.unindexed || string(dst[start:]) != "transfer-encoding: chunked\r\n"
	case http1.KindKeepAlive, http1.KindProxyConnection:
		ix.unindexed = true // refused as connection-specific: never written
	}
	ix.line[ix.lines] = uint32(start-ix.base) | uint32(nameLen)<<16 | uint32(kind)<<24
	ix.lines++
}

// finish completes the index of the head that dst ends with, whose
// method and target are methodLen and targetLen bytes, and returns dst.
// plainTarget tells that ParseRequest accepts the target with the Host
// line recorded (see targetAccepted).
func (ix *reqIndex) finish(dst []byte, methodLen, targetLen int, plainTarget bool) []byte {
	head := dst[ix.base:]
	// HTTP/1.1 requires exactly one Host (no :authority and no or several
	// host fields: ParseRequest answers 400).
	if ix.unindexed || ix.hosts != 1 || len(head) > math.MaxUint16 {
		return dst
	}
	if !plainTarget {
		l := ix.line[ix.host]
		start, nameLen := int(l&0xffff), int(l>>16&0xff)
		end := len(head) - len("\r\n")
		if ix.host+1 < ix.lines {
			end = int(ix.line[ix.host+1] & 0xffff)
		}
		host := trimEndOWS(head[start+nameLen+len(": ") : end-len("\r\n")])
		if !http1.TargetAccepted(head[:methodLen], head[methodLen+1:methodLen+1+targetLen], host, true) {
			return dst
		}
	}
	ix.methodLen, ix.targetLen, ix.headLen = methodLen, targetLen, len(head)
	ix.flags |= ixOK
	return dst
}

// store writes the index into area, which has room for exactly it.
func (ix *reqIndex) store(area []byte) {
	fixed := area[len(area)-indexFixed:]
	fixed[0], fixed[1] = ix.flags, uint8(ix.lines)
	binary.LittleEndian.PutUint16(fixed[2:], uint16(ix.methodLen))
	binary.LittleEndian.PutUint16(fixed[4:], uint16(ix.targetLen))
	binary.LittleEndian.PutUint16(fixed[6:], uint16(ix.headLen))
	for i := range ix.lines {
		binary.LittleEndian.PutUint32(area[len(area)-indexFixed-indexLine*(i+1):], ix.line[i])
	}
}

// lineValue is the value of line i of the n lines that area indexes in
// head, a head of headLen bytes, as ParseRequest trims it.
func lineValue(area []byte, n, headLen int, head []byte, i int) []byte {
	at := len(area) - indexFixed - indexLine*(i+1)
	start, nameLen := int(binary.LittleEndian.Uint16(area[at:])), int(area[at+2])
	end := headLen - len("\r\n") // the final empty line
	if i+1 < n {
		end = int(binary.LittleEndian.Uint16(area[at-indexLine:]))
	}
	return trimEndOWS(head[start+nameLen+len(": ") : end-len("\r\n")])
}

// fillRequest sets r to what http1.ParseRequest reads from buf, which
// starts with the head that area indexes; contentLength is the request's
// declared length. It returns false when the head is not indexed, not all
// in buf, or has more fields than r.MaxHeaders lets ParseRequest accept.
func fillRequest(area, buf []byte, contentLength int64, r *http1.Request) bool {
	fixed := area[len(area)-indexFixed:]
	flags, n := fixed[0], int(fixed[1])
	ml, tl, hl := int(binary.LittleEndian.Uint16(fixed[2:])), int(binary.LittleEndian.Uint16(fixed[4:])), int(binary.LittleEndian.Uint16(fixed[6:]))
	maxHeaders := r.MaxHeaders
	if maxHeaders <= 0 {
		maxHeaders = http1.MaxHeaders
	}
	if flags&ixOK == 0 || len(buf) < hl || n > maxHeaders {
		return false
	}
	r.Method = buf[:ml]
	r.URI = buf[ml+1 : ml+1+tl]
	r.Major, r.Minor, r.HigherMinor = 1, 1, false
	r.ContentLength, r.Chunked = contentLength, flags&ixChunked != 0
	r.ConnClose, r.ConnKeepAlive, r.ConnUpgrade = false, false, flags&ixConnUpgrade != 0
	r.ExpectContinue, r.HasUpgrade = flags&ixExpect != 0, flags&ixUpgrade != 0
	r.HeadLen = hl
	r.Headers = r.Headers[:0]
	for i := range n {
		at := len(area) - indexFixed - indexLine*(i+1)
		start, kind := int(binary.LittleEndian.Uint16(area[at:])), http1.Kind(area[at+3])
		r.Headers = append(r.Headers, http1.Header{
			Name:  buf[start : start+int(area[at+2])],
			Value: lineValue(area, n, hl, buf, i),
			Kind:  kind,
			// The only Connection line is "connection: upgrade", whose
			// option names no other field.
			Hop: kind == http1.KindConnection,
		})
	}
	return true
}

// ParsedRequest fills r as http1.ParseRequest(buf, r) would, buf starting
// with the stream's request head as its first Read gave it: the head was
// parsed as it was converted. It returns false when it cannot (see
// fillRequest); the caller then parses buf itself. Only the first call
// may succeed: a stream carries one head.
func (st *Stream) ParsedRequest(buf []byte, r *http1.Request) bool {
	if !st.info.indexed {
		return false
	}
	ok := fillRequest(st.headBuf[:], buf, st.info.contentLength, r)
	st.headBuf[len(st.headBuf)-indexFixed] &^= ixOK
	return ok
}

// targetAccepted tells that http1.ParseRequest accepts the target the
// conversion writes from scheme, authority and path, Host being
// authority (see http1.TargetAccepted, which it matches without scanning
// the target again): an absolute URI whose scheme is a URI scheme and
// whose authority has no user info, path or query in it (else the Host
// differs from the URI's authority), and no fragment anywhere.
func targetAccepted(scheme, authority, path string) bool {
	schemeAll, _ := classes(scheme)
	_, authAny := classes(authority)
	_, pathAny := classes(path)
	return plainTargetOf(scheme[0], schemeAll, authAny, pathAny)
}

// plainTargetOf is targetAccepted given the scheme's first byte and the
// classes of the bytes of the three parts: all of the scheme's, any of
// the authority's and of the path's.
func plainTargetOf(scheme0 byte, schemeAll, authAny, pathAny uint8) bool {
	c := scheme0 | 0x20
	return c >= 'a' && c <= 'z' && schemeAll&cScheme != 0 && authAny&cNotPlainAuthority == 0 && pathAny&cHash == 0
}

// Classes of the bytes of a request's pseudo fields: one pass over a
// field tells all that the conversion checks of it (classes).
const (
	cVisible           = 1 << iota // visible ASCII (visible)
	cToken                         // a token's, any case (validToken)
	cScheme                        // a URI scheme's after its first (RFC 3986 3.1), as http1's validTarget reads them
	cNotPlainAuthority             // ends an absolute URI's authority or sets its user info apart: Host then differs from the target's authority
	cHash                          // a fragment's start
)

var byteClass = func() (t [256]uint8) {
	for c := range t {
		b := byte(c)
		if b >= 0x21 && b <= 0x7e {
			t[c] |= cVisible
		}
		if tokenLower[b] || b >= 'A' && b <= 'Z' {
			t[c] |= cToken
		}
		if b|0x20 >= 'a' && b|0x20 <= 'z' || b >= '0' && b <= '9' || b == '+' || b == '-' || b == '.' {
			t[c] |= cScheme
		}
	}
	for _, c := range "/?#@" {
		t[c] |= cNotPlainAuthority
	}
	t['#'] |= cHash
	return t
}()

// classes returns the classes all of v's bytes have (all classes for an
// empty v) and those any of them has.
func classes(v string) (all, any uint8) {
	all = 0xff
	for i := 0; i < len(v); i++ {
		c := byteClass[v[i]]
		all &= c
		any |= c
	}
	return all, any
}

// trimEndOWS drops the spaces and tabs that end v.
func trimEndOWS(v []byte) []byte {
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}
