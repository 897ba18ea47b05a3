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
	// The chunk-data is decoded as it comes; on a return before the end
	// of this function it is left unused in tx.Buf.
	begin := len(s.tx.Buf)
	scan := func() bool {
		var n int
		var err error
		s.tx.Buf, n, done, err = sc.AppendDecoded(s.tx.Buf, s.buf[scanned:s.w])
		scanned += n
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
	s.tx.chunked = s.tx.Buf[begin:len(s.tx.Buf):len(s.tx.Buf)]
	s.tx.bodyEnd, s.tx.bodyOK = scanned, ok
	return ok
}
