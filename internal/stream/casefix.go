package stream

import "bytes"

// headerCases is the global "h1-case-adjust" table: header names as bogus
// HTTP/1 peers want them spelled, by their lower-case form. A proxy with
// "option h1-case-adjust-bogus-server" (requests) or "-bogus-client"
// (responses to HTTP/1 clients) sends the listed names that way.
type headerCases map[string][]byte

// maxCaseName bounds the names looked up; longer ones are left as they are
// (no header worth adjusting is that long).
const maxCaseName = 64

// name returns how n is sent: its listed spelling, or n.
func (hc headerCases) name(n []byte) []byte {
	if hc == nil || len(n) > maxCaseName {
		return n
	}
	var low [maxCaseName]byte
	for i, c := range n {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	if to, ok := hc[string(low[:len(n)])]; ok {
		return to
	}
	return n
}

// newHeaderCases builds the table from the model's.
func newHeaderCases(m map[string]string) headerCases {
	if len(m) == 0 {
		return nil
	}
	hc := make(headerCases, len(m))
	for from, to := range m {
		hc[from] = []byte(to)
	}
	return hc
}

// requestCases is the table for a request to be's servers, nil when the
// backend does not adjust.
func (s *httpSession) requestCases(be *Backend) headerCases {
	// the table is checked first: without h1-case-adjust no request
	// pays the option lookup
	if s.fe.rt.headerCases != nil && be.P.Options["h1-case-adjust-bogus-server"] {
		return s.fe.rt.headerCases
	}
	return nil
}

// responseCases is the table for the response to this client: HTTP/1
// clients of a frontend that adjusts.
func (s *httpSession) responseCases() headerCases {
	if s.fe.rt.headerCases != nil && !s.h2 && s.fe.P.Options["h1-case-adjust-bogus-client"] {
		return s.fe.rt.headerCases
	}
	return nil
}

// adjustHead spells the listed header names of the response head at the
// start of out as listed, in place (a listed spelling has the length of
// its name).
func (hc headerCases) adjustHead(out []byte) {
	line := bytes.IndexByte(out, '\n') + 1 // past the status line
	for line > 0 && line < len(out) {
		end := bytes.IndexByte(out[line:], '\n')
		if end <= 1 { // the blank line ending the head
			return
		}
		if colon := bytes.IndexByte(out[line:line+end], ':'); colon > 0 {
			name := out[line : line+colon]
			copy(name, hc.name(name))
		}
		line += end + 1
	}
}
