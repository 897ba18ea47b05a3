package h2

import (
	"math"

	"dhproxy/internal/http1"
)

// maxIndexedLines bounds the field lines a reqIndex describes (it keeps
// the Stream in the 640-byte size class); a head with more is parsed by
// the session as any HTTP/1 head.
const maxIndexedLines = 26

// reqIndex is the HTTP/1 parse of a converted request head, recorded
// while appendRequestHead writes it, so that the session does not parse
// again what was built from fields already checked (Stream.ParsedRequest).
// Offsets are from the head's start. A head that http1.ParseRequest would
// refuse or read in any other way than recorded (a repeated or missing
// Host, a target it does not accept, too many lines) is not indexed: the
// session then parses it and answers as for any HTTP/1 request.
type reqIndex struct {
	base        int   // where the head starts in the buffer it is written to
	lines       uint8 // field lines recorded in line
	hosts       uint8 // host lines (counted up to 2)
	host        uint8 // the first host line
	ok          bool  // the whole head is indexed and ParseRequest accepts it
	unindexed   bool  // a line could not be recorded: the session parses the head
	chunked     bool  // "transfer-encoding: chunked"
	expect      bool  // an expect line is 100-continue
	connUpgrade bool  // "connection: upgrade" (the extended CONNECT's)
	upgrade     bool  // an upgrade line
	methodLen   uint16
	targetLen   uint16
	headLen     uint16
	line        [maxIndexedLines]indexLine
}

// indexLine is one field line of an indexed head.
type indexLine struct {
	start   uint16 // offset of the name
	nameLen uint8
	kind    http1.Kind
}

// begin starts the index of a head written from dst[base:].
func (ix *reqIndex) begin(base int) { *ix = reqIndex{base: base} }

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
	if int(ix.lines) == len(ix.line) || len(dst)-ix.base > math.MaxUint16 || nameLen > math.MaxUint8 {
		ix.unindexed = true
		return
	}
	kind := http1.Classify(dst[start : start+nameLen])
	value := trimEndOWS(dst[start+nameLen+len(": ") : len(dst)-len("\r\n")])
	switch kind {
	case http1.KindHost:
		if ix.hosts == 0 {
			ix.host = ix.lines
		}
		ix.hosts = min(ix.hosts+1, 2)
	case http1.KindExpect:
		ix.expect = ix.expect || http1.EqualFold(value, "100-continue")
	case http1.KindUpgrade:
		ix.upgrade = true
	case http1.KindConnection:
		// Only the extended CONNECT's own line: a client's is refused.
		ix.connUpgrade = true
		ix.unindexed = ix.unindexed || !http1.EqualFold(value, "upgrade")
	case http1.KindTransferEncoding:
		// Only the conversion's own line (a body of unknown length).
		ix.chunked = true
		ix.unindexed = ix.unindexed || !http1.EqualFold(value, "chunked")
	case http1.KindKeepAlive, http1.KindProxyConnection:
		ix.unindexed = true // refused as connection-specific: never written
	}
	ix.line[ix.lines] = indexLine{start: uint16(start - ix.base), nameLen: uint8(nameLen), kind: kind}
	ix.lines++
}

// finish completes the index of the head that dst ends with, whose
// method and target are methodLen and targetLen bytes, and returns dst.
func (ix *reqIndex) finish(dst []byte, methodLen, targetLen int) []byte {
	head := dst[ix.base:]
	// HTTP/1.1 requires exactly one Host (no :authority and no or several
	// host fields: ParseRequest answers 400).
	if ix.unindexed || ix.hosts != 1 || len(head) > math.MaxUint16 {
		return dst
	}
	ix.methodLen, ix.targetLen, ix.headLen = uint16(methodLen), uint16(targetLen), uint16(len(head))
	method := head[:methodLen]
	target := head[methodLen+1 : methodLen+1+targetLen]
	ix.ok = http1.TargetAccepted(method, target, ix.value(head, int(ix.host)), true)
	return dst
}

// value is the value of field line i of head, as ParseRequest trims it.
func (ix *reqIndex) value(head []byte, i int) []byte {
	l := &ix.line[i]
	end := int(ix.headLen) - len("\r\n")
	if i+1 < int(ix.lines) {
		end = int(ix.line[i+1].start)
	}
	return trimEndOWS(head[int(l.start)+int(l.nameLen)+len(": ") : end-len("\r\n")])
}

// fill sets r to what http1.ParseRequest reads from buf, which starts
// with the indexed head; contentLength is the request's declared length.
// It returns false when the head is not indexed, not all in buf, or has
// more fields than r.MaxHeaders lets ParseRequest accept.
func (ix *reqIndex) fill(buf []byte, contentLength int64, r *http1.Request) bool {
	maxHeaders := r.MaxHeaders
	if maxHeaders <= 0 {
		maxHeaders = http1.MaxHeaders
	}
	if !ix.ok || len(buf) < int(ix.headLen) || int(ix.lines) > maxHeaders {
		return false
	}
	ml := int(ix.methodLen)
	r.Method = buf[:ml]
	r.URI = buf[ml+1 : ml+1+int(ix.targetLen)]
	r.Major, r.Minor, r.HigherMinor = 1, 1, false
	r.ContentLength, r.Chunked = contentLength, ix.chunked
	r.ConnClose, r.ConnKeepAlive, r.ConnUpgrade = false, false, ix.connUpgrade
	r.ExpectContinue, r.HasUpgrade = ix.expect, ix.upgrade
	r.HeadLen = int(ix.headLen)
	r.Headers = r.Headers[:0]
	for i := 0; i < int(ix.lines); i++ {
		l := &ix.line[i]
		r.Headers = append(r.Headers, http1.Header{
			Name:  buf[l.start : int(l.start)+int(l.nameLen)],
			Value: ix.value(buf, i),
			Kind:  l.kind,
			// The only Connection line is "connection: upgrade", whose
			// option names no other field.
			Hop: l.kind == http1.KindConnection,
		})
	}
	return true
}

// ParsedRequest fills r as http1.ParseRequest(buf, r) would, buf starting
// with the stream's request head as its first Read gave it: the head was
// parsed as it was converted. It returns false when it cannot (see
// reqIndex.fill); the caller then parses buf itself. Only the first call
// may succeed: a stream carries one head.
func (st *Stream) ParsedRequest(buf []byte, r *http1.Request) bool {
	ok := st.index.fill(buf, st.info.contentLength, r)
	st.index.ok = false
	return ok
}

// trimEndOWS drops the spaces and tabs that end v.
func trimEndOWS(v []byte) []byte {
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
}
