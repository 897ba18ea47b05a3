package cache

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"dhproxy/internal/http1"
)

func headers(kv ...string) []http1.Header {
	var hs []http1.Header
	for i := 0; i < len(kv); i += 2 {
		hs = append(hs, http1.Header{Name: []byte(kv[i]), Value: []byte(kv[i+1])})
	}
	return hs
}

func request(method, uri string, kv ...string) *http1.Request {
	r := &http1.Request{Method: []byte(method), URI: []byte(uri)}
	r.Major, r.Minor, r.Headers = 1, 1, headers(kv...)
	return r
}

func response(kv ...string) *http1.Response {
	r := &http1.Response{Status: 200}
	r.Headers = headers(kv...)
	return r
}

func lookup1(c *Cache, k Key, sec *SecondaryKey) *Entry {
	e, _ := c.Lookup(k, sec)
	return e
}

// clock is a settable time for the cache under test.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newTest(cfg Config) (*Cache, *clock) {
	c := New(cfg)
	ck := &clock{time.Unix(1_700_000_000, 0)}
	c.now = ck.now
	return c, ck
}

func TestRequestUse(t *testing.T) {
	for _, tc := range []struct {
		req        *http1.Request
		use, store bool
	}{
		{request("GET", "/"), true, true},
		{request("HEAD", "/"), true, true},
		{request("POST", "/"), false, true},
		{request("GET", "/", "Authorization", "Basic x"), false, false},
		{request("GET", "/", "Cache-Control", "no-cache"), false, true},
		{request("GET", "/", "Cache-Control", "max-age=10"), false, true},
		{request("GET", "/", "Cache-Control", "foo, min-fresh=3"), false, true},
		{request("GET", "/", "Cache-Control", "no-store"), true, false},
		{request("GET", "/", "Pragma", "no-cache"), false, true},
		// Cache-Control present: Pragma is ignored (RFC 9111 5.4)
		{request("GET", "/", "Pragma", "no-cache", "Cache-Control", "no-transform"), true, true},
	} {
		use, store := RequestUse(tc.req)
		if use != tc.use || store != tc.store {
			t.Errorf("%s %v: use %v store %v, want %v %v", tc.req.Method, tc.req.Headers, use, store, tc.use, tc.store)
		}
	}
	r := request("GET", "/")
	r.Minor = 0
	if use, _ := RequestUse(r); use {
		t.Error("an HTTP/1.0 request uses the cache")
	}
}

func TestKey(t *testing.T) {
	a, ok1 := NewKey(request("GET", "/x", "Host", "a"))
	b, ok2 := NewKey(request("GET", "/x", "Host", "b"))
	abs, ok3 := NewKey(request("GET", "https://a/x"))
	_, ok4 := NewKey(request("GET", "/x"))
	if !ok1 || !ok2 || !ok3 || ok4 || a == b || a != abs {
		t.Errorf("keys: %x %x %x (%v %v %v %v); want the host to count, an absolute https target to equal its origin form, none without Host", a, b, abs, ok1, ok2, ok3, ok4)
	}
}

func TestStorable(t *testing.T) {
	c := New(Config{MaxAge: 60})
	for _, tc := range []struct {
		resp *http1.Response
		ok   bool
	}{
		{response("Cache-Control", "max-age=10"), true},
		{response("Cache-Control", "s-maxage=10"), true},
		{response("Expires", "Thu, 01 Jan 1970 00:00:00 GMT"), true},
		{response("ETag", `"a"`), true},
		{response("Last-Modified", "Thu, 01 Jan 1970 00:00:00 GMT"), true},
		{response("Set-Cookie", "a=b", "ETag", `"a"`), true},
		{response(), false},
		{response("Cache-Control", "private, max-age=10"), false},
		{response("Cache-Control", "no-store"), false},
		{response("Cache-Control", "no-cache", "ETag", `"a"`), false},
		{response("Cache-Control", "max-age=0", "ETag", `"a"`), false},
		{response("Cache-Control", `no-cache="set-cookie"`, "ETag", `"a"`), false},
		{response("Pragma", "no-cache", "ETag", `"a"`), false},
		{response("Vary", "Accept-Encoding", "ETag", `"a"`), false}, // process-vary off
	} {
		if _, ok := c.Storable(tc.resp); ok != tc.ok {
			t.Errorf("%v: storable %v, want %v", tc.resp.Headers, ok, tc.ok)
		}
	}
	c.ProcessVary = true
	if v, ok := c.Storable(response("Vary", "accept-encoding,Referer", "ETag", `"a"`)); !ok || v != varyAcceptEncoding|varyReferer {
		t.Errorf("Vary: Accept-Encoding, Referer: %v %b", ok, v)
	}
	if _, ok := c.Storable(response("Vary", "Cookie", "ETag", `"a"`)); ok {
		t.Error("Vary: Cookie stored")
	}
}

func TestTTL(t *testing.T) {
	c := New(Config{MaxAge: 60})
	now := time.Unix(1_700_000_000, 0)
	for _, tc := range []struct {
		resp     *http1.Response
		ttl, own int64
		ok       bool
	}{
		{response(), 60, -1, true},
		{response("Cache-Control", "max-age=10"), 10, 10, true},
		{response("Cache-Control", "max-age=100"), 60, 100, true},
		{response("Cache-Control", `max-age="20"`), 20, 20, true},
		{response("Cache-Control", "max-age=10, s-maxage=5"), 5, 5, true},
		{response("Cache-Control", "max-age=x"), 0, 0, false},
		{response("Expires", now.Add(30*time.Second).UTC().Format(http.TimeFormat)), 30, 30, true},
		{response("Expires", "yesterday"), 0, 0, true},
	} {
		ttl, own, ok := c.TTL(tc.resp, now)
		if ttl != tc.ttl || own != tc.own || ok != tc.ok {
			t.Errorf("%v: ttl %d own %d ok %v, want %d %d %v", tc.resp.Headers, ttl, own, ok, tc.ttl, tc.own, tc.ok)
		}
	}
}

func TestExpiryAndAge(t *testing.T) {
	c, ck := newTest(Config{TotalMax: 1 << 20, MaxAge: 60, MaxSecondary: 10})
	k, _ := NewKey(request("GET", "/", "Host", "h"))
	e := &Entry{Head: []byte("HTTP/1.1 200 OK\r\n"), Body: []byte("x")}
	e.SetAge(5)
	if !c.Store(k, e, 10) {
		t.Fatal("not stored")
	}
	ck.t = ck.t.Add(3 * time.Second)
	got := lookup1(c, k, &SecondaryKey{})
	if got == nil || got.Age(ck.t.Unix()) != 8 {
		t.Fatalf("lookup after 3s: %v", got)
	}
	ck.t = ck.t.Add(7 * time.Second)
	if lookup1(c, k, &SecondaryKey{}) != nil {
		t.Error("served after its expiry")
	}
	c.Store(k, &Entry{Head: []byte("h")}, 10)
	c.Invalidate(k)
	if lookup1(c, k, &SecondaryKey{}) != nil || c.Available() != 1024 {
		t.Errorf("invalidated entry still there (%d blocks free)", c.Available())
	}
}

func TestEviction(t *testing.T) {
	c, _ := newTest(Config{TotalMax: 8 * blockSize, MaxAge: 60, MaxSecondary: 10})
	keys := make([]Key, 6)
	for i := range keys {
		keys[i], _ = NewKey(request("GET", fmt.Sprint("/", i), "Host", "h"))
		// 2 blocks each: 4 fit
		if !c.Store(keys[i], &Entry{Head: []byte("h"), Body: make([]byte, 1500)}, 60) {
			t.Fatalf("entry %d not stored", i)
		}
		if i == 2 {
			lookup1(c, keys[0], &SecondaryKey{}) // used: 1 becomes the oldest
		}
	}
	var kept []int
	for i, k := range keys {
		if lookup1(c, k, &SecondaryKey{}) != nil {
			kept = append(kept, i)
		}
	}
	if fmt.Sprint(kept) != "[0 3 4 5]" || c.Available() != 0 {
		t.Errorf("kept %v (%d blocks free), want the least recently used gone: [0 3 4 5]", kept, c.Available())
	}
	if c.Store(keys[0], &Entry{Body: make([]byte, 9*blockSize)}, 60) {
		t.Error("an object larger than the cache stored")
	}
	c.MaxObject = 100
	if c.Store(keys[1], &Entry{Body: make([]byte, 101)}, 60) {
		t.Error("an object above max-object-size stored")
	}
}

func TestVary(t *testing.T) {
	c, _ := newTest(Config{TotalMax: 1 << 20, MaxAge: 60, ProcessVary: true, MaxSecondary: 2})
	k, _ := NewKey(request("GET", "/", "Host", "h"))
	store := func(resp *http1.Response, req *http1.Request) bool {
		vary, ok := c.Storable(resp)
		if !ok {
			t.Fatalf("%v not storable", resp.Headers)
		}
		sec := NewSecondary(req)
		if !ResponseEncoding(resp, &sec) {
			return false
		}
		e := &Entry{Head: []byte(resp.Headers[len(resp.Headers)-1].Value)}
		e.SetSecondary(sec, vary)
		return c.Store(k, e, 60)
	}
	lookup := func(kv ...string) string {
		sec := NewSecondary(request("GET", "/", kv...))
		if e := lookup1(c, k, &sec); e != nil {
			return string(e.Head)
		}
		return "miss"
	}
	vae := func(enc, tag string) *http1.Response {
		if enc == "" {
			return response("Vary", "Accept-Encoding", "ETag", tag)
		}
		return response("Vary", "Accept-Encoding", "Content-Encoding", enc, "ETag", tag)
	}
	store(vae("gzip", "gz"), request("GET", "/", "Accept-Encoding", "gzip"))
	for _, tc := range []struct{ ae, want string }{
		{"gzip", "gz"}, {"br, gzip;q=0.5", "gz"}, {"br", "miss"}, {"gzip;q=0", "miss"}, {"*", "gz"}, {"", "miss"},
	} {
		if got := lookup("Accept-Encoding", tc.ae); got != tc.want {
			t.Errorf("Accept-Encoding %q: %s, want %s", tc.ae, got, tc.want)
		}
	}
	// a miss on a stored primary key says so: the caller then stores no
	// variant, as haproxy 2.6
	if sec := NewSecondary(request("GET", "/", "Accept-Encoding", "br")); true {
		if e, primary := c.Lookup(k, &sec); e != nil || !primary {
			t.Errorf("br against a gzip entry: %v, primary %v", e, primary)
		}
	}
	// an identity response serves any client but one refusing identity
	store(vae("", "id"), request("GET", "/", "Accept-Encoding", "br"))
	if got := lookup("Accept-Encoding", "br"); got != "id" {
		t.Errorf("identity entry for br: %s", got)
	}
	if got := lookup("Accept-Encoding", "br, identity;q=0"); got != "miss" {
		t.Errorf("identity entry for a client refusing identity: %s", got)
	}
	// max-secondary-entries 2: a third variant is not stored
	if store(vae("deflate", "df"), request("GET", "/", "Accept-Encoding", "deflate")) {
		t.Error("third secondary entry stored")
	}
	// an unknown coding is not stored
	if store(vae("x-unknown", "xu"), request("GET", "/")) {
		t.Error("a response in an unknown coding stored")
	}
	// as in haproxy 2.6, an entry varying on Referer alone is never served
	k2, _ := NewKey(request("GET", "/r", "Host", "h"))
	sec := NewSecondary(request("GET", "/r", "Referer", "a"))
	ResponseEncoding(response(), &sec)
	e := &Entry{Head: []byte("ref")}
	e.SetSecondary(sec, varyReferer)
	c.Store(k2, e, 60)
	if got := lookup1(c, k2, &sec); got != nil {
		t.Error("an entry varying on Referer alone served")
	}
	e2 := &Entry{Head: []byte("ref+ae")}
	e2.SetSecondary(sec, varyReferer|varyAcceptEncoding)
	c.Store(k2, e2, 60)
	other := NewSecondary(request("GET", "/r", "Referer", "b"))
	if lookup1(c, k2, &sec) != e2 || lookup1(c, k2, &other) != nil {
		t.Error("Vary: Accept-Encoding, Referer: the referer does not select the entry")
	}
}

func TestNotModified(t *testing.T) {
	e := &Entry{ETag: []byte(`"v1"`), LastModified: 1000}
	for _, tc := range []struct {
		kv   []string
		want bool
	}{
		{nil, false},
		{[]string{"If-None-Match", `"v1"`}, true},
		{[]string{"If-None-Match", `"x", W/"v1"`}, true},
		{[]string{"If-None-Match", "*"}, true},
		{[]string{"If-None-Match", `"x"`}, false},
		// If-None-Match wins over If-Modified-Since
		{[]string{"If-None-Match", `"x"`, "If-Modified-Since", time.Unix(2000, 0).UTC().Format(http.TimeFormat)}, false},
		{[]string{"If-Modified-Since", time.Unix(2000, 0).UTC().Format(http.TimeFormat)}, true},
		{[]string{"If-Modified-Since", time.Unix(1000, 0).UTC().Format(http.TimeFormat)}, true},
		{[]string{"If-Modified-Since", time.Unix(999, 0).UTC().Format(http.TimeFormat)}, false},
	} {
		if got := NotModified(request("GET", "/", tc.kv...), e); got != tc.want {
			t.Errorf("%v: 304 %v, want %v", tc.kv, got, tc.want)
		}
	}
}

// TestConcurrent stores, looks up and evicts from many goroutines (run
// with -race).
func TestConcurrent(t *testing.T) {
	c := New(Config{TotalMax: 16 * blockSize, MaxAge: 60, ProcessVary: true, MaxSecondary: 3})
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 500; i++ {
				k, _ := NewKey(request("GET", fmt.Sprint("/", i%40), "Host", "h"))
				sec := NewSecondary(request("GET", "/", "Accept-Encoding", []string{"gzip", "br"}[i%2]))
				if e := lookup1(c, k, &sec); e != nil {
					_ = e.Age(0) + int64(len(e.Body))
					continue
				}
				e := &Entry{Body: []byte(strings.Repeat("x", i))}
				e.SetSecondary(sec, uint8(i%2)*varyAcceptEncoding)
				c.Store(k, e, 60)
				if i%50 == 0 {
					c.Invalidate(k)
					c.Entries()
				}
			}
		}()
	}
	wg.Wait()
	if free := c.Available(); free < 0 || free > 16 {
		t.Errorf("%d blocks free of 16", free)
	}
}

// FuzzDecisions feeds arbitrary field values to the request and response
// parsers (Cache-Control, Pragma, Expires, Vary, Accept-Encoding, Age):
// none panics, and a stored key always finds its entry.
func FuzzDecisions(f *testing.F) {
	f.Add("max-age=10, public", "gzip;q=0.5, br, *;q=0", `"a"`, "Accept-Encoding, Referer", "Thu, 01 Jan 1970 00:00:00 GMT")
	f.Add(`s-maxage="5`, "identity;q=0", "*", "cookie", "garbage")
	f.Add("no-cache=\"set-cookie\"", ";q=", "", ",,", "")
	f.Fuzz(func(t *testing.T, cc, ae, etag, vary, date string) {
		c := New(Config{TotalMax: 1 << 20, MaxAge: 60, ProcessVary: true, MaxSecondary: 10})
		req := request("GET", "/", "Host", "h", "Cache-Control", cc, "Accept-Encoding", ae, "If-None-Match", etag, "If-Modified-Since", date, "Pragma", cc)
		RequestUse(req)
		resp := response("Cache-Control", cc, "Vary", vary, "Expires", date, "Content-Encoding", ae, "ETag", etag)
		vary8, ok := c.Storable(resp)
		ttl, _, tok := c.TTL(resp, time.Unix(1_700_000_000, 0))
		if ttl < 0 || ttl > 60 {
			t.Fatalf("ttl %d outside 0..60", ttl)
		}
		sec := NewSecondary(req)
		if !ok || !tok || !ResponseEncoding(resp, &sec) {
			return
		}
		k, _ := NewKey(req)
		e := &Entry{ETag: []byte(etag)}
		e.SetSecondary(sec, vary8)
		if c.Store(k, e, max(ttl, 1)) && vary8 == 0 && lookup1(c, k, &sec) != e {
			t.Fatal("stored entry not found")
		}
		NotModified(req, e)
	})
}
