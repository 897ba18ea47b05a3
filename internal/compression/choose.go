package compression

import (
	"bytes"

	"dhproxy/internal/http1"
)

// Choose returns the algorithm a request gets, None when its response is
// not to be compressed, and whether Accept-Encoding named it. algos is
// the proxy's list in configuration order. As haproxy: an old "Mozilla/4"
// User-Agent gets nothing; otherwise the Accept-Encoding element of the
// highest q-value that names one of algos wins (the first such element on
// a tie; "*" takes the algorithm configured last), and a list holding
// identity falls back to it.
func Choose(algos []Algo, headers []http1.Header) (a Algo, accepted bool) {
	if len(algos) == 0 {
		return None, false
	}
	for i := range headers {
		if http1.EqualFold(headers[i].Name, "User-Agent") {
			if brokenUserAgent(headers[i].Value) {
				return None, false
			}
			break
		}
	}
	best, bestQ := None, 0
	for i := range headers {
		h := &headers[i]
		if !http1.EqualFold(h.Name, "Accept-Encoding") {
			continue
		}
		for v := h.Value; len(v) > 0; {
			var elem []byte
			if j := bytes.IndexByte(v, ','); j >= 0 {
				elem, v = v[:j], v[j+1:]
			} else {
				elem, v = v, nil
			}
			elem = trimLWS(elem)
			if len(elem) == 0 {
				continue
			}
			tok, q := codingQ(elem)
			if q <= bestQ {
				continue
			}
			// haproxy keeps its list newest first: "*" takes the last one.
			for k := len(algos) - 1; k >= 0; k-- {
				if elem[0] == '*' || http1.EqualFold(tok, algos[k].Token()) {
					best, bestQ = algos[k], q
					break
				}
			}
		}
	}
	if best != None {
		return best, true
	}
	for _, a := range algos {
		if a == Identity {
			return Identity, false // identity needs no Accept-Encoding
		}
	}
	return None, false
}

// brokenUserAgent tells the agents haproxy does not compress for: those
// announcing "Mozilla/4" unless MSIE 6 with XP SP2 ("SV1") or MSIE 7 and
// later, at the fixed offsets of their User-Agent strings.
func brokenUserAgent(ua []byte) bool {
	if !bytes.HasPrefix(ua, []byte("Mozilla/4")) {
		return false
	}
	if len(ua) < 31 || string(ua[25:30]) != "MSIE " || ua[30] < '6' {
		return true
	}
	return ua[30] == '6' && (len(ua) < 54 || string(ua[51:54]) != "SV1")
}

// codingQ splits an Accept-Encoding element into its coding and its
// q-value in thousandths (1000 without a "q=" parameter).
func codingQ(elem []byte) (coding []byte, q int) {
	n := 0
	for n < len(elem) && isToken(elem[n]) {
		n++
	}
	coding, rest := elem[:n], elem[n:]
	for {
		rest = trimLWS(rest)
		if len(rest) == 0 || rest[0] != ';' {
			return coding, 1000
		}
		rest = trimLWS(rest[1:])
		if len(rest) >= 2 && rest[0] == 'q' && rest[1] == '=' {
			return coding, parseQ(rest[2:])
		}
		if j := bytes.IndexByte(rest, ';'); j >= 0 {
			rest = rest[j:]
		} else {
			return coding, 1000
		}
	}
}

// parseQ reads a qvalue ("0", "0.5", "1.000") in thousandths as haproxy
// does: what does not start with a digit counts as 1, more than 1 as 1.
func parseQ(v []byte) int {
	if len(v) == 0 || v[0] < '0' || v[0] > '9' {
		return 1000
	}
	q := int(v[0]-'0') * 1000
	if len(v) > 1 && v[1] == '.' {
		scale := 100
		for _, c := range v[2:min(len(v), 5)] {
			if c < '0' || c > '9' {
				break
			}
			q += int(c-'0') * scale
			scale /= 10
		}
	}
	return min(q, 1000)
}

func trimLWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// isToken tells RFC 9110's tchar.
func isToken(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c != 0 && bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0
}

// Offload removes the request's Accept-Encoding fields ("compression
// offload": the server must not compress what the proxy will).
func Offload(headers []http1.Header) []http1.Header {
	kept := headers[:0]
	for _, h := range headers {
		if !http1.EqualFold(h.Name, "Accept-Encoding") {
			kept = append(kept, h)
		}
	}
	clear(headers[len(kept):])
	return kept
}
