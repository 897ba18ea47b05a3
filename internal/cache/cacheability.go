package cache

import (
	"bytes"

	"dhproxy/internal/http1"
)

// Cacheability is haproxy 2.6's verdict on a response ("option checkcache"
// blocks it, "cookie ... nocache" marks it private): cacheable, a shared
// cache may store it; withCookie, its Set-Cookie along with it. It
// follows http_ana.c: a safe method (GET, HEAD, OPTIONS, TRACE: safe
// is !Unsafe of the request's) and the status (RFC 7231's cacheable ones) allow it, the first Pragma field
// equal to no-cache forbids it, then each Cache-Control element in order
// ("public" allows it again, "private", "no-cache", "no-store",
// "max-age=0", "s-maxage=0" forbid it, no-cache="set-cookie..." keeps the
// cookie out); and without a max-age, an s-maxage, an Expires, an ETag
// or a Last-Modified there is nothing to keep it by.
func Cacheability(safe bool, status int, hs []http1.Header) (cacheable, withCookie bool) {
	cacheable, withCookie = safe, safe
	switch status {
	case 200, 203, 204, 206, 300, 301, 404, 405, 410, 414, 501:
	default:
		cacheable, withCookie = false, false
	}
	if status < 200 {
		return false, false
	}
	if v, ok := field(hs, "pragma"); ok && http1.EqualFold(v, "no-cache") {
		return false, false
	}
	fresh := false
	for i := range hs {
		if !http1.EqualFold(hs[i].Name, "cache-control") {
			continue
		}
		for rest := hs[i].Value; len(rest) > 0; {
			var v []byte
			v, rest = nextElement(rest)
			switch {
			case http1.EqualFold(v, "public"):
				cacheable, withCookie = true, true
			case http1.EqualFold(v, "private"), http1.EqualFold(v, "no-cache"), http1.EqualFold(v, "no-store"),
				http1.EqualFold(v, "max-age=0"), http1.EqualFold(v, "s-maxage=0"):
				cacheable, withCookie = false, false
			case hasPrefixFold(v, `no-cache="set-cookie`):
				withCookie = false
			case hasPrefixFold(v, "s-maxage"), hasPrefixFold(v, "max-age"):
				fresh = true
			}
		}
	}
	if !fresh {
		_, fresh = field(hs, "expires")
	}
	if !fresh {
		_, etag := field(hs, "etag")
		_, lm := field(hs, "last-modified")
		if !etag && !lm {
			cacheable = false
		}
	}
	return cacheable, withCookie
}

// nextElement splits the first element off a comma-separated list, a
// comma inside a quoted string not ending it (haproxy's
// http_find_hdr_value_end), and trims both.
func nextElement(list []byte) (elem, rest []byte) {
	quoted, escaped := false, false
	end := len(list)
	for i, c := range list {
		switch {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			end = i
		}
		if end != len(list) {
			break
		}
	}
	elem = bytes.TrimSpace(list[:end])
	if end < len(list) {
		rest = list[end+1:]
	}
	return elem, rest
}

// SetsCookie tells whether a response carries a Set-Cookie or Set-Cookie2
// field (haproxy's TX_SCK_PRESENT).
func SetsCookie(hs []http1.Header) bool {
	for i := range hs {
		// (by name too: a field added by a rule may have no kind)
		if hs[i].Kind == http1.KindSetCookie || http1.EqualFold(hs[i].Name, "set-cookie") || http1.EqualFold(hs[i].Name, "set-cookie2") {
			return true
		}
	}
	return false
}
