package cache

import (
	"bytes"
	"crypto/sha1"
	"hash/fnv"
	"net/http"
	"strconv"
	"time"

	"dhproxy/internal/http1"
)

// The request and response rules of haproxy 2.6 (cache.c and
// http_ana.c's cacheability checks), over parsed heads.

// NewKey is the primary key of a request: haproxy hashes "https://",
// the first Host field and the target when the target is in origin form,
// the target alone when it is absolute. ok false: no key (no Host for an
// origin-form target, an empty target).
func NewKey(req *http1.Request) (k Key, ok bool) {
	if len(req.URI) == 0 {
		return k, false
	}
	h := sha1.New()
	if req.URI[0] == '/' || req.URI[0] == '*' {
		host, found := field(req.Headers, "host")
		if !found {
			return k, false
		}
		h.Write([]byte("https://"))
		h.Write(host)
	}
	h.Write(req.URI)
	h.Sum(k[:0])
	return k, true
}

// field is the first value of the field name (lower case).
func field(hs []http1.Header, name string) ([]byte, bool) {
	for i := range hs {
		if http1.EqualFold(hs[i].Name, name) {
			return hs[i].Value, true
		}
	}
	return nil, false
}

// eachValue calls fn with each comma-separated element of the fields
// name, trimmed, as haproxy's http_find_header(full=0) walks them.
func eachValue(hs []http1.Header, name string, fn func(v []byte)) (found bool) {
	for i := range hs {
		if !http1.EqualFold(hs[i].Name, name) {
			continue
		}
		found = true
		for _, v := range bytes.Split(hs[i].Value, []byte{','}) {
			fn(bytes.TrimSpace(v))
		}
	}
	return found
}

func hasPrefixFold(v []byte, p string) bool {
	return len(v) >= len(p) && http1.EqualFold(v[:len(p)], p)
}

// RequestUse tells what a request allows: use, that a stored answer may
// serve it; store, that its answer may be stored. haproxy: only GET and
// HEAD of HTTP/1.1 (and HTTP/2) use it; Authorization forbids both;
// Cache-Control max-age, no-cache, max-stale or min-fresh (or Pragma:
// no-cache without Cache-Control) skip the lookup, no-store the storage.
func RequestUse(req *http1.Request) (use, store bool) {
	m := string(req.Method)
	use, store = req.Minor >= 1 && (m == "GET" || m == "HEAD"), true
	if _, ok := field(req.Headers, "authorization"); ok {
		return false, false
	}
	pragma := false
	eachValue(req.Headers, "pragma", func(v []byte) {
		pragma = pragma || http1.EqualFold(v, "no-cache")
	})
	cc := eachValue(req.Headers, "cache-control", func(v []byte) {
		switch {
		case hasPrefixFold(v, "max-age"), hasPrefixFold(v, "no-cache"), hasPrefixFold(v, "max-stale"), hasPrefixFold(v, "min-fresh"):
			use = false
		case hasPrefixFold(v, "no-store"):
			store = false
		}
	})
	if !cc && pragma {
		use = false
	}
	return use, store
}

// Unsafe tells a method whose success invalidates the stored resource.
func Unsafe(method []byte) bool {
	switch string(method) {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return false
	}
	return true
}

// Storable decides on a 200 response to a GET whether it may be stored
// (haproxy's checks: Vary, Pragma, Cache-Control, an expiration time or
// a validator). vary is the
// fields it varies on (process-vary on); ok false: not stored.
func (c *Cache) Storable(resp *http1.Response) (vary uint8, ok bool) {
	hs := resp.Headers
	varyOK := true
	if eachValue(hs, "vary", func(v []byte) {
		switch {
		case http1.EqualFold(v, "accept-encoding"):
			vary |= varyAcceptEncoding
		case http1.EqualFold(v, "referer"):
			vary |= varyReferer
		default:
			varyOK = false
		}
	}) && (!c.ProcessVary || !varyOK) {
		return 0, false
	}
	noCache := false
	eachValue(hs, "pragma", func(v []byte) { noCache = noCache || http1.EqualFold(v, "no-cache") })
	// a Set-Cookie does not stop haproxy 2.6 (public or not)
	cacheable, cookieOK, fresh := true, true, false
	eachValue(hs, "cache-control", func(v []byte) {
		switch {
		case http1.EqualFold(v, "private"), http1.EqualFold(v, "no-cache"), http1.EqualFold(v, "no-store"),
			http1.EqualFold(v, "max-age=0"), http1.EqualFold(v, "s-maxage=0"):
			cacheable = false
		case hasPrefixFold(v, `no-cache="set-cookie`):
			cookieOK = false
		case hasPrefixFold(v, "s-maxage"), hasPrefixFold(v, "max-age"):
			fresh = true
		}
	})
	if noCache || !cacheable || !cookieOK {
		return 0, false
	}
	if !fresh {
		_, fresh = field(hs, "expires")
	}
	if !fresh {
		_, etag := field(hs, "etag")
		_, lm := field(hs, "last-modified")
		if !etag && !lm {
			return 0, false
		}
	}
	return vary, true
}

// TTL is how long the response may be kept, and its own max age (s-maxage,
// else max-age, else Expires; -1: none): the lower of it and max-age.
// ok false: a directive's value is not a number (not stored).
func (c *Cache) TTL(resp *http1.Response, now time.Time) (ttl, own int64, ok bool) {
	smax, mx := int64(-1), int64(-1)
	ok = true
	parse := func(v []byte, name string) int64 {
		v = v[len(name):]
		if len(v) == 0 || v[0] != '=' {
			return -1
		}
		v = bytes.TrimPrefix(v[1:], []byte{'"'})
		end := 0
		for end < len(v) && v[end] >= '0' && v[end] <= '9' {
			end++
		}
		n, err := strconv.ParseInt(string(v[:end]), 10, 64)
		if err != nil {
			ok = false
			return -1
		}
		return n
	}
	eachValue(resp.Headers, "cache-control", func(v []byte) {
		switch {
		case hasPrefixFold(v, "s-maxage"):
			smax = parse(v, "s-maxage")
		case hasPrefixFold(v, "max-age"):
			mx = parse(v, "max-age")
		}
	})
	if !ok {
		return 0, 0, false
	}
	own = -1
	switch {
	case smax > 0:
		own = smax
	case mx > 0:
		own = mx
	case smax < 0 && mx < 0:
		if v, found := field(resp.Headers, "expires"); found {
			own = 0
			if t, err := http.ParseTime(string(v)); err == nil && t.Unix() >= now.Unix() {
				own = t.Unix() - now.Unix()
			}
		}
	}
	if own < 0 {
		return c.MaxAge, -1, true
	}
	return min(own, c.MaxAge), own, true
}

// HTTPDate is a field's date in Unix seconds; 0: none or not a date.
func HTTPDate(hs []http1.Header, name string) int64 {
	if v, ok := field(hs, name); ok {
		if t, err := http.ParseTime(string(v)); err == nil {
			return t.Unix()
		}
	}
	return 0
}

// NotModified tells whether a conditional request gets a 304 from e:
// an If-None-Match element equal to its ETag (weakly) or "*"; without
// If-None-Match, an If-Modified-Since not earlier than its date.
func NotModified(req *http1.Request, e *Entry) bool {
	match := false
	inm := eachValue(req.Headers, "if-none-match", func(v []byte) {
		match = match || string(v) == "*" || len(e.ETag) > 0 && weakEqual(v, e.ETag)
	})
	if inm {
		return match
	}
	if since := HTTPDate(req.Headers, "if-modified-since"); since != 0 {
		return e.LastModified <= since
	}
	return false
}

// weakEqual compares two entity tags, ignoring W/ (RFC 9110 8.8.3.2).
func weakEqual(a, b []byte) bool {
	return bytes.Equal(bytes.TrimPrefix(a, []byte("W/")), bytes.TrimPrefix(b, []byte("W/")))
}

// The fields process-vary knows: haproxy 2.6 has Accept-Encoding and
// Referer only, as its manual says; a response varying on another field is
// not stored.
const (
	varyAcceptEncoding = 1 << iota
	varyReferer
)

// SecondaryKey is what a request's varying fields hash to.
type SecondaryKey struct {
	Encodings uint32 // Accept-Encoding: the codings accepted (bitmap)
	Referer   uint64
}

// The codings haproxy knows; a response in another one is not stored.
var encodings = []string{"gzip", "deflate", "br", "compress", "aes128gcm", "exi", "pack200-gzip", "zstd", "identity", "*"}

const (
	encodingIdentity = 1 << 8
	encodingStar     = 1 << 9
	encodingOther    = 1 << 10
)

func encodingBit(v []byte) uint32 {
	for i, n := range encodings {
		if http1.EqualFold(v, n) {
			return 1 << i
		}
	}
	if http1.EqualFold(v, "x-gzip") {
		return 1 // an alias of gzip
	}
	if http1.EqualFold(v, "x-compress") {
		return 1 << 3
	}
	return encodingOther
}

// NewSecondary hashes the request's Accept-Encoding (the codings it
// accepts: those listed without q=0, all for "*", identity unless
// refused) and Referer.
func NewSecondary(req *http1.Request) SecondaryKey {
	var k SecondaryKey
	var refused uint32
	eachValue(req.Headers, "accept-encoding", func(v []byte) {
		name, params, _ := bytes.Cut(v, []byte{';'})
		bit := encodingBit(bytes.TrimSpace(name))
		if q, ok := bytes.CutPrefix(bytes.TrimSpace(params), []byte("q=")); ok && zeroQ(q) {
			refused |= bit
			return
		}
		k.Encodings |= bit
	})
	if k.Encodings&encodingStar != 0 {
		k.Encodings |= encodingStar - 1
	}
	k.Encodings = (k.Encodings | encodingIdentity) &^ refused
	k.Referer = hashField(req.Headers, "referer")
	return k
}

func zeroQ(q []byte) bool {
	f, err := strconv.ParseFloat(string(q), 64)
	return err == nil && f == 0
}

func hashField(hs []http1.Header, name string) uint64 {
	v, ok := field(hs, name)
	if !ok {
		return 0
	}
	h := fnv.New64a()
	h.Write(v)
	return h.Sum64() | 1 // a field present, even empty, differs from none
}

// ResponseEncoding fills the Accept-Encoding part of a stored response's
// key with its own Content-Encoding; false: a coding haproxy does not
// know (not stored).
func ResponseEncoding(resp *http1.Response, k *SecondaryKey) bool {
	var bits uint32
	eachValue(resp.Headers, "content-encoding", func(v []byte) { bits |= encodingBit(v) })
	if bits&encodingOther != 0 {
		return false
	}
	if bits == 0 {
		bits = encodingIdentity
	}
	k.Encodings = bits
	return true
}

// matches tells whether the request's key r selects the stored key s of
// an entry varying on vary: the request must accept every coding of the
// stored response, and have the same Referer. As in haproxy 2.6, a
// request's codings count only when the response varies on
// Accept-Encoding: an entry varying on Referer alone is never served.
func (r *SecondaryKey) matches(s *SecondaryKey, vary uint8) bool {
	var accepted uint32
	if vary&varyAcceptEncoding != 0 {
		accepted = r.Encodings
	}
	if s.Encodings&encodingOther != 0 || accepted&s.Encodings != s.Encodings {
		return false
	}
	return vary&varyReferer == 0 || r.Referer == s.Referer
}

// SetSecondary gives a new entry its secondary key (the request's, its
// coding the response's) and Vary fields; the fields it does not vary
// on are left out of the key.
func (e *Entry) SetSecondary(k SecondaryKey, vary uint8) {
	if vary == 0 {
		k = SecondaryKey{}
	}
	if vary&varyReferer == 0 {
		k.Referer = 0
	}
	e.sec, e.vary = k, vary
}
