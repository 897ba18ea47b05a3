package stream

import (
	"errors"
	"net"
	"time"

	"dhproxy/internal/http1"
	"dhproxy/internal/rules"
)

// http-response wait-for-body: the response body is read into the server
// buffer (from where it is forwarded as it came) before the rules go on;
// res.body* read it. A body that does not come in time gets haproxy's
// 504 in place of the response.

// responseTimeout replaces a response whose body did not come in time.
var responseTimeout = &rules.Rule{Action: rules.Return, Reply: rules.ErrorReply(504)}

// readResponseBody reads the response body until it is whole, fills the
// buffer or, with atLeast, that many bytes came; false when the wait
// (else "timeout server") ran out first.
func (s *httpSession) readResponseBody(wait time.Duration, atLeast int64) bool {
	sc, resp := s.tx.srvConn, &s.resp
	start := s.sr + resp.HeadLen
	framing := resp.BodyFraming(string(s.req.Method) == "HEAD")
	var chunks http1.ChunkScanner
	scanned, done := start, false
	// The chunk-data is decoded as it comes; on a failed wait it is left
	// unused in tx.Buf.
	begin := len(s.tx.Buf)
	have := func() int64 {
		switch framing {
		case http1.FramingChunked:
			var n int
			var err error
			s.tx.Buf, n, done, err = chunks.AppendDecoded(s.tx.Buf, s.sbuf[scanned:s.sw])
			scanned += n
			done = done || err != nil // a framing error: the forwarding answers it
			return chunks.Data
		case http1.FramingLength:
			done = int64(s.sw-start) >= resp.ContentLength
			return min(int64(s.sw-start), resp.ContentLength)
		case http1.FramingUntilClose:
			return int64(s.sw - start)
		}
		done = true
		return 0
	}
	got := have()
	limit := s.fe.rt.bufs.Size // HAProxy's buffer (sbuf is larger)
	enough := func() bool { return done || atLeast > 0 && got >= atLeast || s.sw >= limit }
	ok := true
	if !enough() && sc != nil {
		if wait == 0 {
			wait = s.tx.serverTimeout(sc.srv.backend.P)
		}
		if wait > 0 {
			dl := time.Now().Add(wait)
			sc.dl.ReadAt(sc.c, dl) // the next read moves it back
		}
		for !enough() {
			n, err := sc.fd.Read(s.sbuf[s.sw:limit])
			s.sw += n
			got = have()
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					ok = false
				}
				break // the server closed: what came is the body
			}
		}
	}
	if !ok && !enough() {
		s.lg.fail('s', 'D')
		return false
	}
	s.tx.resBodyOK = true
	switch framing {
	case http1.FramingChunked:
		s.tx.resBody = s.tx.Buf[begin:len(s.tx.Buf):len(s.tx.Buf)]
	case http1.FramingLength:
		s.tx.resBody = s.sbuf[start : start+int(got)]
	default:
		s.tx.resBody = s.sbuf[start:s.sw]
	}
	return true
}

// ResponseBody implements sample.ResponseBodyTxn. The size is the
// announced length, else what came.
func (s *httpSession) ResponseBody() (body []byte, size int64, ok bool) {
	if !s.tx.resBodyOK {
		return nil, 0, false
	}
	size = int64(len(s.tx.resBody))
	if s.resp.BodyFraming(false) == http1.FramingLength {
		size = s.resp.ContentLength
	}
	return s.tx.resBody, size, true
}
