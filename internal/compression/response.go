package compression

import (
	"bytes"

	"dhproxy/internal/http1"
)

// RequestAllows tells whether the response to req may be compressed:
// not when it is HTTP/1.0 or HEAD (an HTTP/2 request counts as 1.1), nor
// CONNECT (its 2xx opens a tunnel).
func RequestAllows(req *http1.Request) bool {
	return req.Minor >= 1 && string(req.Method) != "HEAD" && string(req.Method) != "CONNECT"
}

// Compressible tells whether the response may be compressed, by haproxy
// 2.6's conditions (with RequestAllows): HTTP/1.1 or above, status 200
// to 203, a body of announced length (Content-Length above
// zero, or chunked), no Content-Encoding, no Cache-Control no-transform,
// one valid ETag at most, and a Content-Type that is not multipart and,
// when types are listed, starts with one of them (a response without
// Content-Type then is not compressed).
func Compressible(resp *http1.Response, types []string) bool {
	if resp.Minor < 1 {
		return false
	}
	if resp.Status < 200 || resp.Status > 203 {
		return false
	}
	if !resp.Chunked && resp.ContentLength <= 0 {
		return false // close-delimited, or no body
	}
	var ctype []byte
	haveType, etags := false, 0
	for i := range resp.Headers {
		h := &resp.Headers[i]
		switch {
		case http1.EqualFold(h.Name, "Content-Encoding"):
			return false
		case http1.EqualFold(h.Name, "Cache-Control"):
			if hasElement(h.Value, "no-transform") {
				return false
			}
		case http1.EqualFold(h.Name, "ETag"):
			if etags++; etags > 1 || !validETag(h.Value) {
				return false
			}
		case http1.EqualFold(h.Name, "Content-Type"):
			if !haveType {
				ctype, haveType = h.Value, true
			}
		}
	}
	if !haveType {
		return len(types) == 0
	}
	if hasPrefixFold(ctype, "multipart") {
		return false
	}
	if len(types) == 0 {
		return true
	}
	for _, t := range types {
		if hasPrefixFold(ctype, t) {
			return true
		}
	}
	return false
}

// hasElement tells whether the comma-separated list v has an element
// equal to word (case-insensitively).
func hasElement(v []byte, word string) bool {
	for len(v) > 0 {
		elem := v
		if j := bytes.IndexByte(v, ','); j >= 0 {
			elem, v = v[:j], v[j+1:]
		} else {
			v = nil
		}
		if http1.EqualFold(trimLWS(elem), word) {
			return true
		}
	}
	return false
}

// validETag tells a strong ("x") or weak (W/"x") entity tag.
func validETag(v []byte) bool {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return true
	}
	return len(v) >= 4 && v[0] == 'W' && v[1] == '/' && v[2] == '"' && v[len(v)-1] == '"'
}

func hasPrefixFold(b []byte, prefix string) bool {
	return len(b) >= len(prefix) && http1.EqualFold(b[:len(prefix)], prefix)
}

var (
	nameTE   = []byte("Transfer-Encoding")
	nameVary = []byte("Vary")
	nameCE   = []byte("Content-Encoding")
	valChunk = []byte("chunked")
	valAE    = []byte("Accept-Encoding")
	tokens   = [numAlgos][]byte{Gzip: []byte("gzip"), Deflate: []byte("deflate"), RawDeflate: []byte("deflate")}
)

// EditHeaders makes a compressible response's fields say what is sent, as
// haproxy edits them: Content-Length removed, "Transfer-Encoding:
// chunked" added unless the server chunked it already, a strong ETag made
// weak (its new value is appended to buf), "Vary: Accept-Encoding" and,
// but for identity, the Content-Encoding added.
func EditHeaders(hs []http1.Header, chunked bool, a Algo, buf []byte) ([]http1.Header, []byte) {
	kept := hs[:0]
	for _, h := range hs {
		if h.Kind == http1.KindContentLength {
			continue
		}
		if len(h.Value) > 0 && h.Value[0] == '"' && http1.EqualFold(h.Name, "ETag") {
			start := len(buf)
			buf = append(append(buf, "W/"...), h.Value...)
			h.Value = buf[start:len(buf):len(buf)]
		}
		kept = append(kept, h)
	}
	clear(hs[len(kept):])
	if !chunked {
		kept = append(kept, http1.Header{Name: nameTE, Value: valChunk, Kind: http1.KindTransferEncoding})
	}
	kept = append(kept, http1.Header{Name: nameVary, Value: valAE})
	if a != Identity {
		kept = append(kept, http1.Header{Name: nameCE, Value: tokens[a]})
	}
	return kept, buf
}
