package stream

import (
	"bytes"

	"dhproxy/internal/compression"
	"dhproxy/internal/conn"
	"dhproxy/internal/http1"
	"dhproxy/internal/model"
)

// "compression" (internal/compression): the algorithm is chosen from the
// request, the response's fields decide whether it applies, and a
// compressed body goes to the client as HTTP/1.1 chunks (an HTTP/2 stream
// takes them as bytes and sends their data in DATA frames). Responses not
// compressed take none of this path.

// compAlgos and compTypes: a backend's lists win over its frontend's.
func compAlgos(fe, be *model.Compression) []compression.Algo {
	if be != nil && len(be.Algos) > 0 {
		return be.Algos
	}
	if fe != nil {
		return fe.Algos
	}
	return nil
}

func compTypes(fe, be *model.Compression) []string {
	if be != nil && len(be.Types) > 0 {
		return be.Types
	}
	if fe != nil {
		return fe.Types
	}
	return nil
}

// chooseCompression picks the algorithm for the request's response; with
// "compression offload" the server does not see the Accept-Encoding
// fields. Responses to HEAD and to HTTP/1.0 requests stay as they are.
func (s *httpSession) chooseCompression(be *Backend) {
	fc, bc := s.fe.P.Compression, be.P.Compression
	var accepted bool
	s.comp, accepted = compression.Choose(compAlgos(fc, bc), s.req.Headers)
	if s.comp == compression.None {
		return
	}
	// As haproxy, not when identity was taken for want of a better one.
	if accepted && (fc != nil && fc.Offload || bc != nil && bc.Offload) {
		s.req.Headers = compression.Offload(s.req.Headers)
		s.tx.Edited.RequestHeaders = true
	}
	if !compression.RequestAllows(&s.req) {
		s.comp = compression.None
	}
}

// compressResponse decides on the response head whether its body is
// compressed and, when it is, edits its fields to say so.
func (s *httpSession) compressResponse(be *Backend) {
	if !compression.Compressible(&s.resp, compTypes(s.fe.P.Compression, be.P.Compression)) {
		s.comp = compression.None
		return
	}
	s.resp.Headers, s.tx.Buf = compression.EditHeaders(s.resp.Headers, s.resp.Chunked, s.comp, s.tx.Buf)
	s.tx.Edited.Response = true
	s.compOn = true
}

// ResponseCompression implements sample.CompressionTxn.
func (s *httpSession) ResponseCompression() string {
	if !s.compOn {
		return ""
	}
	return s.comp.String()
}

// forwardCompressed sends the response head and its body compressed, as
// the body arrives: what the compressor produced from each read from the
// server goes on as one chunk. Like forwardResponse, it leaves sbuf[sr:sw]
// holding what followed the body, and returns false when the client
// connection must be closed.
func (s *httpSession) forwardCompressed(sc *serverConn, be *Backend, f http1.Framing, clientKeep, client10 bool) bool {
	enc := compression.Get(s.comp, s.fe.rt.compLevel)
	defer enc.Put()
	body := compBody{framing: f, remaining: s.resp.ContentLength}
	if f == http1.FramingChunked {
		s.rchunks.Reset()
		s.rchunks.KeepTrailers = true // they follow the new last-chunk
		body.chunks = &s.rchunks
	}
	start := s.sr + s.resp.HeadLen
	take, done, err := body.feed(s, enc, s.sbuf[start:s.sw])
	if err != nil {
		s.writeError(502)
		s.lg.fail('P', 'H')
		return false
	}
	before := s.lg.bytesOut
	head, _ := s.responseHead(sc.srv, clientKeep, client10, false)
	s.logEarly(before, s.earlyBody(body.framing, int64(s.sw-start), done))
	s.cdl.Write(s.c, s.fe.P.Timeouts.Client)
	if err := writeTwo(s.cio, &s.out, head, body.out(enc, done), len(s.sbuf)); err != nil {
		s.lg.fail('C', 'D')
		return false
	}
	s.sr = start + take
	ok := true
	if !done {
		ok = s.compressRest(sc, enc, &body)
	}
	s.lg.bodySize(enc.Out, true)
	in := enc.In
	if f == http1.FramingChunked {
		// haproxy counts the blocks after the data too: the trailers'
		// names and values, and one byte for their end
		in += trailerSize(s.rchunks.Trailers()) + 1
	}
	for _, c := range [2]*Counters{&s.fe.Stats, &be.Stats} {
		if s.comp == compression.Identity {
			c.CompByp.Add(in) // haproxy counts identity (level 0) as bypassed
		} else {
			c.CompIn.Add(in)
			c.CompOut.Add(enc.Out)
		}
		if ok {
			c.CompRsp.Add(1)
		}
	}
	return ok
}

// compressRest reads, compresses and forwards the body after what came
// with the head.
func (s *httpSession) compressRest(sc *serverConn, enc *compression.Encoder, body *compBody) bool {
	s.lg.endsAtResp = false
	srvTimeout := sc.srv.backend.P.Timeouts.Server
	cliTimeout := s.fe.P.Timeouts.Client
	for {
		s.sr, s.sw = 0, 0
		sc.dl.Read(sc.c, srvTimeout)
		n, rerr := sc.fd.Read(s.sbuf)
		s.sw = n
		done := false
		if n > 0 {
			take, fin, err := body.feed(s, enc, s.sbuf[:n])
			if err != nil {
				s.lg.fail('S', 'D')
				return false
			}
			s.sr, done = take, fin
			if out := body.out(enc, done); len(out) > 0 {
				s.cdl.Write(s.c, cliTimeout)
				if _, err := s.cio.Write(out); err != nil {
					s.lg.fail('C', 'D')
					return false
				}
			}
			if done {
				return true
			}
		}
		if rerr != nil {
			if conn.IsTimeout(rerr) {
				s.lg.fail('s', 'D')
			} else {
				s.lg.fail('S', 'D')
			}
			return false
		}
	}
}

// compBody walks a response body being compressed: its framing on the
// server side, what remains of a Content-Length, or for a chunked body
// the scanner that validates it and takes its chunk-data out.
type compBody struct {
	framing   http1.Framing
	remaining int64
	chunks    *http1.ChunkScanner // s.rchunks, keeping the trailers
}

// feed compresses the body bytes at the start of p and tells how many
// there were and whether the body ended.
func (b *compBody) feed(s *httpSession, enc *compression.Encoder, p []byte) (n int, done bool, err error) {
	switch b.framing {
	case http1.FramingLength:
		n = int(min(int64(len(p)), b.remaining))
		b.remaining -= int64(n)
		enc.Write(p[:n])
		done = b.remaining == 0
	case http1.FramingChunked:
		n, done, err = compressChunks(b.chunks, enc, p)
	}
	s.lg.bodyWire += int64(n)
	return n, done, err
}

// compressChunks hands the chunk-data of the chunked framing at the start
// of p to the encoder; n, done and err are those of sc.Scan.
func compressChunks(sc *http1.ChunkScanner, enc *compression.Encoder, p []byte) (n int, done bool, err error) {
	for {
		k, data, d, e := sc.Decode(p[n:])
		n += k
		if len(data) > 0 {
			enc.Write(data)
		}
		if d || e != nil || n == len(p) {
			return n, d, e
		}
	}
}

// out is what the client gets after a feed: the compressed bytes the
// compressor let out so far as a chunk, or at the body's end the rest, the last-chunk and the
// server's trailers.
func (b *compBody) out(enc *compression.Encoder, done bool) []byte {
	if done {
		var trailers []byte
		if b.chunks != nil {
			trailers = b.chunks.Trailers()
		}
		return enc.Last(trailers)
	}
	return enc.Chunk()
}

// trailerSize is the size of the trailer fields' names and values.
func trailerSize(trailers []byte) int64 {
	n := int64(0)
	for t := trailers; len(t) > 0; {
		line := t
		if i := bytes.IndexByte(t, '\n'); i >= 0 {
			line, t = t[:i], t[i+1:]
		} else {
			t = nil
		}
		if colon := bytes.IndexByte(line, ':'); colon >= 0 {
			n += int64(colon + len(bytes.TrimSpace(line[colon+1:])))
		}
	}
	return n
}
