package rules

import (
	"bytes"
	"fmt"
	"slices"

	"dhproxy/internal/http1"
)

// http-request normalize-uri: haproxy 2.6's normalizers of the request
// target (an experimental action there: the global section must say
// expose-experimental-directives, the model checks it). Each works on
// the path and query of the target, an absolute URI's scheme and
// authority kept as they are.

// URINormalizer is one normalize-uri operation.
type URINormalizer uint8

const (
	NormMergeSlashes     URINormalizer = iota + 1 // path-merge-slashes: "//" -> "/"
	NormStripDot                                  // path-strip-dot: drop "/." segments
	NormStripDotDot                               // path-strip-dotdot [full]: resolve "/.." segments
	NormDecodeUnreserved                          // percent-decode-unreserved [strict]
	NormPercentUpper                              // percent-to-uppercase [strict]
	NormQuerySort                                 // query-sort-by-name
	NormFragmentStrip                             // fragment-strip: drop "#..."
	NormFragmentEncode                            // fragment-encode: '#' -> "%23"
)

var normalizers = map[string]URINormalizer{
	"path-merge-slashes": NormMergeSlashes, "path-strip-dot": NormStripDot,
	"path-strip-dotdot": NormStripDotDot, "percent-decode-unreserved": NormDecodeUnreserved,
	"percent-to-uppercase": NormPercentUpper, "query-sort-by-name": NormQuerySort,
	"fragment-strip": NormFragmentStrip, "fragment-encode": NormFragmentEncode,
}

// parseNormalizeURI reads "<normalizer> [full|strict]"; the option goes
// to r.Int (1).
func (r *Rule) parseNormalizeURI(args []string, ruleWord string) error {
	if len(args) == 0 {
		return fmt.Errorf("%s expects a normalizer: path-merge-slashes, path-strip-dot, path-strip-dotdot [full], percent-decode-unreserved [strict], percent-to-uppercase [strict], query-sort-by-name, fragment-strip or fragment-encode", ruleWord)
	}
	n, ok := normalizers[args[0]]
	if !ok {
		return fmt.Errorf("%s: unknown normalizer '%s'; expects path-merge-slashes, path-strip-dot, path-strip-dotdot [full], percent-decode-unreserved [strict], percent-to-uppercase [strict], query-sort-by-name, fragment-strip or fragment-encode", ruleWord, args[0])
	}
	r.Norm = n
	opt := ""
	switch n {
	case NormStripDotDot:
		opt = "full"
	case NormDecodeUnreserved, NormPercentUpper:
		opt = "strict"
	}
	switch {
	case len(args) == 1:
	case len(args) == 2 && opt != "" && args[1] == opt:
		r.Int = 1
	case opt != "":
		return fmt.Errorf("%s %s: unexpected '%s'; expects only [%s]", ruleWord, args[0], args[1], opt)
	default:
		return fmt.Errorf("%s %s: unexpected '%s'; this normalizer takes no option", ruleWord, args[0], args[1])
	}
	return nil
}

// NormalizeURI appends to dst the normalized form of pq, a request
// target's path, query and fragment; ok is false when a strict
// normalizer met a bad percent-encoding (haproxy then answers 400).
func (r *Rule) NormalizeURI(dst, pq []byte) (out []byte, ok bool) {
	path, rest := pq, []byte(nil) // rest: "?query" and/or "#fragment"
	for i, c := range pq {
		if c == '?' || c == '#' {
			path, rest = pq[:i], pq[i:]
			break
		}
	}
	switch r.Norm {
	case NormMergeSlashes:
		for i, c := range path {
			if c != '/' || i == 0 || path[i-1] != '/' {
				dst = append(dst, c)
			}
		}
		return append(dst, rest...), true
	case NormStripDot:
		return append(stripDot(dst, path), rest...), true
	case NormStripDotDot:
		return append(stripDotDot(dst, path, r.Int == 1), rest...), true
	case NormDecodeUnreserved, NormPercentUpper:
		return percentNormalize(dst, pq, r.Norm == NormDecodeUnreserved, r.Int == 1)
	case NormQuerySort:
		return sortQuery(dst, pq), true
	case NormFragmentStrip:
		for i, c := range pq {
			if c == '#' {
				return append(dst, pq[:i]...), true
			}
		}
	case NormFragmentEncode:
		for _, c := range pq {
			if c == '#' {
				dst = append(dst, "%23"...)
			} else {
				dst = append(dst, c)
			}
		}
		return dst, true
	}
	return append(dst, pq...), true
}

// stripDot drops the "." segments of path; a trailing one leaves its
// slash ("/a/." -> "/a/").
func stripDot(dst, path []byte) []byte {
	start := len(dst)
	for i := 0; i < len(path); {
		j := i + 1
		for j < len(path) && path[j] != '/' {
			j++
		}
		seg := path[i:j] // "/name", or the text before the first slash
		if path[i] == '/' && len(seg) == 2 && seg[1] == '.' {
			if j == len(path) {
				dst = append(dst, '/')
			}
		} else {
			dst = append(dst, seg...)
		}
		i = j
	}
	if len(dst) == start && len(path) > 0 {
		dst = append(dst, '/')
	}
	return dst
}

// stripDotDot resolves the ".." segments of path, each removing the
// segment before it, as haproxy does (from the end of the path). Those
// that climb above the root are kept ("/../a") unless full drops them.
// The result is built backwards in dst's spare room: it is at most one
// byte longer than path (a trailing slash).
func stripDotDot(dst, path []byte, full bool) []byte {
	start, n := len(dst), len(path)+1
	dst = append(dst, make([]byte, n)...)
	buf := dst[start:]
	head, up := n, 0
	for end := len(path); end > 0; {
		i := end - 1 // segments are "/name"; the first may lack its slash
		for i > 0 && path[i] != '/' {
			i--
		}
		seg := path[i:end]
		switch {
		case len(seg) == 3 && seg[0] == '/' && seg[1] == '.' && seg[2] == '.':
			if end == len(path) {
				head-- // "/a/.." keeps its last slash: "/a/"
				buf[head] = '/'
			}
			up++
		case up > 0:
			up--
		default:
			head -= len(seg)
			copy(buf[head:], seg)
		}
		end = i
	}
	if head == n && len(path) > 0 {
		head--
		buf[head] = '/'
	}
	if !full {
		for ; up > 0; up-- {
			head -= 3
			copy(buf[head:], "/..")
		}
	}
	m := copy(buf, buf[head:])
	return dst[:start+m]
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

// percentNormalize decodes the %XX of unreserved characters (decode) or
// writes the hex digits of every %XX in upper case; a '%' not followed
// by two hex digits is kept, or fails in strict mode.
func percentNormalize(dst, s []byte, decode, strict bool) ([]byte, bool) {
	const hexdig = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			dst = append(dst, c)
			continue
		}
		var hi, lo byte
		ok := i+2 < len(s)
		if ok {
			hi, lo = http1.HexDigit(s[i+1]), http1.HexDigit(s[i+2])
			ok = hi < 16 && lo < 16
		}
		if !ok {
			if strict {
				return dst, false
			}
			dst = append(dst, c)
			continue
		}
		switch v := hi<<4 | lo; {
		case !decode:
			dst = append(dst, '%', hexdig[hi], hexdig[lo])
		case unreserved(v):
			dst = append(dst, v)
		default:
			dst = append(dst, s[i:i+3]...)
		}
		i += 2
	}
	return dst, true
}

// sortQuery sorts the '&'-separated parameters of pq's query by name
// (bytewise, a shorter name first, equal names in their order).
func sortQuery(dst, pq []byte) []byte {
	q := -1
	for i, c := range pq {
		if c == '?' {
			q = i
			break
		}
	}
	if q < 0 {
		return append(dst, pq...)
	}
	dst = append(dst, pq[:q+1]...)
	query, frag := pq[q+1:], []byte(nil)
	for i, c := range query {
		if c == '#' {
			query, frag = query[:i], query[i:]
			break
		}
	}
	// parameters as offsets into query, sorted by name (stable)
	var small [32][2]int
	params := small[:0]
	for start, i := 0, 0; i <= len(query); i++ {
		if i == len(query) || query[i] == '&' {
			params = append(params, [2]int{start, i})
			start = i + 1
		}
	}
	name := func(p [2]int) []byte {
		b := query[p[0]:p[1]]
		if i := bytes.IndexByte(b, '='); i >= 0 {
			return b[:i]
		}
		return b
	}
	slices.SortStableFunc(params, func(a, b [2]int) int { return bytes.Compare(name(a), name(b)) })
	for i, p := range params {
		if i > 0 {
			dst = append(dst, '&')
		}
		dst = append(dst, query[p[0]:p[1]]...)
	}
	return append(dst, frag...)
}
