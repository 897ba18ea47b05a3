package stream

import (
	"errors"
	"net"
	"time"

	"dhproxy/internal/http1"
)

// A chunked request body read before the rules (option
// http-buffer-request, wait-for-body): its raw bytes stay in the buffer,
// to be forwarded as they came; the req.body fetches read it decoded.

// readChunkedBody reads the chunked body starting at buf[start] until it
// is whole, fills the buffer or, with atLeast, that many body bytes came;
// false when the wait ran out first (haproxy's 408).
func (s *httpSession) readChunkedBody(start int, wait time.Duration, atLeast int64) bool {
	var sc http1.ChunkScanner
	scanned, done := start, false
	scan := func() bool {
		n, d, err := sc.Scan(s.buf[scanned:s.w])
		scanned += n
		done = d
		return err == nil
	}
	if !scan() {
		return true // a framing error: the forwarding answers it
	}
	enough := func() bool { return done || atLeast > 0 && sc.Data >= atLeast || s.w == len(s.buf) }
	ok := true
	if !enough() {
		if wait == 0 {
			wait = firstSet(s.fe.P.Timeouts.HTTPRequest, s.fe.P.Timeouts.Client)
		}
		s.expectMore()
		dl := time.Now().Add(wait)
		s.cdl.ReadAt(s.c, dl)
		for !enough() {
			n, err := s.cio.Read(s.buf[s.w:])
			s.w += n
			if !scan() {
				return true
			}
			if err != nil {
				var ne net.Error
				ok = !errors.As(err, &ne) || !ne.Timeout()
				break
			}
		}
		if !enough() && ok {
			return true // the client left: the forwarding meets it
		}
	}
	begin := len(s.tx.Buf)
	s.tx.Buf = appendChunkData(s.tx.Buf, s.buf[start:scanned])
	s.tx.chunked = s.tx.Buf[begin:len(s.tx.Buf):len(s.tx.Buf)]
	s.tx.bodyEnd, s.tx.bodyOK = scanned, ok
	return ok
}

// appendChunkData appends the chunk-data of raw, chunked framing that
// ChunkScanner accepted (possibly cut anywhere), to dst.
func appendChunkData(dst, raw []byte) []byte {
	for len(raw) > 0 {
		// chunk-size [; ext] CRLF
		size, i := int64(0), 0
		for ; i < len(raw); i++ {
			c := raw[i]
			v := int64(-1)
			switch {
			case '0' <= c && c <= '9':
				v = int64(c - '0')
			case 'a' <= c && c <= 'f':
				v = int64(c-'a') + 10
			case 'A' <= c && c <= 'F':
				v = int64(c-'A') + 10
			}
			if v < 0 {
				break
			}
			size = size<<4 | v
		}
		for i < len(raw) && raw[i] != '\n' {
			i++
		}
		if i == len(raw) || size == 0 {
			return dst // a cut size line, or the last chunk (trailers follow)
		}
		raw = raw[i+1:]
		n := int(min(size, int64(len(raw))))
		dst = append(dst, raw[:n]...)
		raw = raw[n:]
		// CRLF after the data
		for k := 0; k < 2 && len(raw) > 0 && (raw[0] == '\r' || raw[0] == '\n'); k++ {
			raw = raw[1:]
		}
	}
	return dst
}
