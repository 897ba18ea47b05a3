package cache

import (
	"strings"
	"testing"

	"dhproxy/internal/http1"
)

func TestCacheability(t *testing.T) {
	for _, c := range []struct {
		safe        bool
		status      int
		fields      string // "name: value" lines
		cache, cook bool
	}{
		{true, 200, "", false, true}, // nothing to keep it by
		{true, 200, "Cache-Control: max-age=60", true, true},
		{true, 200, "ETag: \"x\"", true, true},
		{true, 200, "Expires: 0", true, true},
		{true, 302, "Cache-Control: max-age=60", false, false},
		{true, 302, "Cache-Control: max-age=60, public", true, true},
		{false, 200, "Cache-Control: max-age=60", false, false},
		{true, 200, "Cache-Control: private, public, max-age=60", true, true},
		{true, 200, "Cache-Control: public, private, max-age=60", false, false},
		{true, 200, "Cache-Control: no-cache=\"set-cookie, x\", max-age=60", true, false},
		{true, 200, "Cache-Control: private, no-cache=\"a,public,b\", max-age=60", false, false},
		{true, 200, "Cache-Control: max-age=60\nPragma: No-Cache", false, false},
		{true, 200, "Cache-Control: max-age=60\nPragma: no-cache, x", true, true},
		{true, 200, "Cache-Control: max-age=60\nPragma: x\nPragma: no-cache", true, true},
		{true, 101, "Cache-Control: public, max-age=60", false, false},
	} {
		var hs []http1.Header
		for _, l := range strings.Split(c.fields, "\n") {
			if k, v, ok := strings.Cut(l, ": "); ok {
				hs = append(hs, http1.Header{Name: []byte(k), Value: []byte(v)})
			}
		}
		if ca, co := Cacheability(c.safe, c.status, hs); ca != c.cache || co != c.cook {
			t.Errorf("%v %d %q: cacheable %v with cookie %v, want %v %v", c.safe, c.status, c.fields, ca, co, c.cache, c.cook)
		}
	}
}
