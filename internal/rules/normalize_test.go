package rules

import (
	"strings"
	"testing"
)

// normalizeCases are haproxy 2.6.12's answers (a "return lf-string
// %[url]" after each normalizer): the target it printed, "" for its 400.
var normalizeCases = []struct{ norm, in, want string }{
	{"path-merge-slashes", "/", "/"},
	{"path-merge-slashes", "//a///b//?x//y", "/a/b/?x//y"},
	{"path-merge-slashes", "/./a/./b/.", "/./a/./b/."},
	{"path-merge-slashes", "/.", "/."},
	{"path-merge-slashes", "/a/.b/..c/./", "/a/.b/..c/./"},
	{"path-merge-slashes", "/a/b/../c", "/a/b/../c"},
	{"path-merge-slashes", "/a/b/..", "/a/b/.."},
	{"path-merge-slashes", "/../a", "/../a"},
	{"path-merge-slashes", "/a/../../b/..", "/a/../../b/.."},
	{"path-merge-slashes", "/a/..//../b", "/a/../../b"},
	{"path-merge-slashes", "/a/%2e%2E/b", "/a/%2e%2E/b"},
	{"path-merge-slashes", "/%41%62%7e%2D%5f%2e%2f%20", "/%41%62%7e%2D%5f%2e%2f%20"},
	{"path-merge-slashes", "/%4", "/%4"},
	{"path-merge-slashes", "/%zz/a", "/%zz/a"},
	{"path-merge-slashes", "/a%", "/a%"},
	{"path-merge-slashes", "/%aa%bB%Cc", "/%aa%bB%Cc"},
	{"path-merge-slashes", "/?c=1&a=2&b&a=1&&c=0", "/?c=1&a=2&b&a=1&&c=0"},
	{"path-merge-slashes", "/a?%41=%62", "/a?%41=%62"},
	{"path-merge-slashes", "/a/.%2e/b", "/a/.%2e/b"},
	{"path-merge-slashes", "/a/b/./../c", "/a/b/./../c"},
	{"path-strip-dot", "/", "/"},
	{"path-strip-dot", "//a///b//?x//y", "//a///b//?x//y"},
	{"path-strip-dot", "/./a/./b/.", "/a/b/"},
	{"path-strip-dot", "/.", "/"},
	{"path-strip-dot", "/a/.b/..c/./", "/a/.b/..c/"},
	{"path-strip-dot", "/a/b/../c", "/a/b/../c"},
	{"path-strip-dot", "/a/b/..", "/a/b/.."},
	{"path-strip-dot", "/../a", "/../a"},
	{"path-strip-dot", "/a/../../b/..", "/a/../../b/.."},
	{"path-strip-dot", "/a/..//../b", "/a/..//../b"},
	{"path-strip-dot", "/a/%2e%2E/b", "/a/%2e%2E/b"},
	{"path-strip-dot", "/%41%62%7e%2D%5f%2e%2f%20", "/%41%62%7e%2D%5f%2e%2f%20"},
	{"path-strip-dot", "/%4", "/%4"},
	{"path-strip-dot", "/%zz/a", "/%zz/a"},
	{"path-strip-dot", "/a%", "/a%"},
	{"path-strip-dot", "/%aa%bB%Cc", "/%aa%bB%Cc"},
	{"path-strip-dot", "/?c=1&a=2&b&a=1&&c=0", "/?c=1&a=2&b&a=1&&c=0"},
	{"path-strip-dot", "/a?%41=%62", "/a?%41=%62"},
	{"path-strip-dot", "/a/.%2e/b", "/a/.%2e/b"},
	{"path-strip-dot", "/a/b/./../c", "/a/b/../c"},
	{"path-strip-dotdot", "/", "/"},
	{"path-strip-dotdot", "//a///b//?x//y", "//a///b//?x//y"},
	{"path-strip-dotdot", "/./a/./b/.", "/./a/./b/."},
	{"path-strip-dotdot", "/.", "/."},
	{"path-strip-dotdot", "/a/.b/..c/./", "/a/.b/..c/./"},
	{"path-strip-dotdot", "/a/b/../c", "/a/c"},
	{"path-strip-dotdot", "/a/b/..", "/a/"},
	{"path-strip-dotdot", "/../a", "/../a"},
	{"path-strip-dotdot", "/a/../../b/..", "/../"},
	{"path-strip-dotdot", "/a/..//../b", "/b"},
	{"path-strip-dotdot", "/a/%2e%2E/b", "/a/%2e%2E/b"},
	{"path-strip-dotdot", "/%41%62%7e%2D%5f%2e%2f%20", "/%41%62%7e%2D%5f%2e%2f%20"},
	{"path-strip-dotdot", "/%4", "/%4"},
	{"path-strip-dotdot", "/%zz/a", "/%zz/a"},
	{"path-strip-dotdot", "/a%", "/a%"},
	{"path-strip-dotdot", "/%aa%bB%Cc", "/%aa%bB%Cc"},
	{"path-strip-dotdot", "/?c=1&a=2&b&a=1&&c=0", "/?c=1&a=2&b&a=1&&c=0"},
	{"path-strip-dotdot", "/a?%41=%62", "/a?%41=%62"},
	{"path-strip-dotdot", "/a/.%2e/b", "/a/.%2e/b"},
	{"path-strip-dotdot", "/a/b/./../c", "/a/b/c"},
	{"path-strip-dotdot full", "/", "/"},
	{"path-strip-dotdot full", "//a///b//?x//y", "//a///b//?x//y"},
	{"path-strip-dotdot full", "/./a/./b/.", "/./a/./b/."},
	{"path-strip-dotdot full", "/.", "/."},
	{"path-strip-dotdot full", "/a/.b/..c/./", "/a/.b/..c/./"},
	{"path-strip-dotdot full", "/a/b/../c", "/a/c"},
	{"path-strip-dotdot full", "/a/b/..", "/a/"},
	{"path-strip-dotdot full", "/../a", "/a"},
	{"path-strip-dotdot full", "/a/../../b/..", "/"},
	{"path-strip-dotdot full", "/a/..//../b", "/b"},
	{"path-strip-dotdot full", "/a/%2e%2E/b", "/a/%2e%2E/b"},
	{"path-strip-dotdot full", "/%41%62%7e%2D%5f%2e%2f%20", "/%41%62%7e%2D%5f%2e%2f%20"},
	{"path-strip-dotdot full", "/%4", "/%4"},
	{"path-strip-dotdot full", "/%zz/a", "/%zz/a"},
	{"path-strip-dotdot full", "/a%", "/a%"},
	{"path-strip-dotdot full", "/%aa%bB%Cc", "/%aa%bB%Cc"},
	{"path-strip-dotdot full", "/?c=1&a=2&b&a=1&&c=0", "/?c=1&a=2&b&a=1&&c=0"},
	{"path-strip-dotdot full", "/a?%41=%62", "/a?%41=%62"},
	{"path-strip-dotdot full", "/a/.%2e/b", "/a/.%2e/b"},
	{"path-strip-dotdot full", "/a/b/./../c", "/a/b/c"},
	{"percent-decode-unreserved", "/", "/"},
	{"percent-decode-unreserved", "//a///b//?x//y", "//a///b//?x//y"},
	{"percent-decode-unreserved", "/./a/./b/.", "/./a/./b/."},
	{"percent-decode-unreserved", "/.", "/."},
	{"percent-decode-unreserved", "/a/.b/..c/./", "/a/.b/..c/./"},
	{"percent-decode-unreserved", "/a/b/../c", "/a/b/../c"},
	{"percent-decode-unreserved", "/a/b/..", "/a/b/.."},
	{"percent-decode-unreserved", "/../a", "/../a"},
	{"percent-decode-unreserved", "/a/../../b/..", "/a/../../b/.."},
	{"percent-decode-unreserved", "/a/..//../b", "/a/..//../b"},
	{"percent-decode-unreserved", "/a/%2e%2E/b", "/a/../b"},
	{"percent-decode-unreserved", "/%41%62%7e%2D%5f%2e%2f%20", "/Ab~-_.%2f%20"},
	{"percent-decode-unreserved", "/%4", "/%4"},
	{"percent-decode-unreserved", "/%zz/a", "/%zz/a"},
	{"percent-decode-unreserved", "/a%", "/a%"},
	{"percent-decode-unreserved", "/%aa%bB%Cc", "/%aa%bB%Cc"},
	{"percent-decode-unreserved", "/?c=1&a=2&b&a=1&&c=0", "/?c=1&a=2&b&a=1&&c=0"},
	{"percent-decode-unreserved", "/a?%41=%62", "/a?A=b"},
	{"percent-decode-unreserved", "/a/.%2e/b", "/a/../b"},
	{"percent-decode-unreserved", "/a/b/./../c", "/a/b/./../c"},
	{"percent-decode-unreserved strict", "/", "/"},
	{"percent-decode-unreserved strict", "//a///b//?x//y", "//a///b//?x//y"},
	{"percent-decode-unreserved strict", "/./a/./b/.", "/./a/./b/."},
	{"percent-decode-unreserved strict", "/.", "/."},
	{"percent-decode-unreserved strict", "/a/.b/..c/./", "/a/.b/..c/./"},
	{"percent-decode-unreserved strict", "/a/b/../c", "/a/b/../c"},
	{"percent-decode-unreserved strict", "/a/b/..", "/a/b/.."},
	{"percent-decode-unreserved strict", "/../a", "/../a"},
	{"percent-decode-unreserved strict", "/a/../../b/..", "/a/../../b/.."},
	{"percent-decode-unreserved strict", "/a/..//../b", "/a/..//../b"},
	{"percent-decode-unreserved strict", "/a/%2e%2E/b", "/a/../b"},
	{"percent-decode-unreserved strict", "/%41%62%7e%2D%5f%2e%2f%20", "/Ab~-_.%2f%20"},
	{"percent-decode-unreserved strict", "/%4", ""},
	{"percent-decode-unreserved strict", "/%zz/a", ""},
	{"percent-decode-unreserved strict", "/a%", ""},
	{"percent-decode-unreserved strict", "/%aa%bB%Cc", "/%aa%bB%Cc"},
	{"percent-decode-unreserved strict", "/?c=1&a=2&b&a=1&&c=0", "/?c=1&a=2&b&a=1&&c=0"},
	{"percent-decode-unreserved strict", "/a?%41=%62", "/a?A=b"},
	{"percent-decode-unreserved strict", "/a/.%2e/b", "/a/../b"},
	{"percent-decode-unreserved strict", "/a/b/./../c", "/a/b/./../c"},
	{"percent-to-uppercase", "/", "/"},
	{"percent-to-uppercase", "//a///b//?x//y", "//a///b//?x//y"},
	{"percent-to-uppercase", "/./a/./b/.", "/./a/./b/."},
	{"percent-to-uppercase", "/.", "/."},
	{"percent-to-uppercase", "/a/.b/..c/./", "/a/.b/..c/./"},
	{"percent-to-uppercase", "/a/b/../c", "/a/b/../c"},
	{"percent-to-uppercase", "/a/b/..", "/a/b/.."},
	{"percent-to-uppercase", "/../a", "/../a"},
	{"percent-to-uppercase", "/a/../../b/..", "/a/../../b/.."},
	{"percent-to-uppercase", "/a/..//../b", "/a/..//../b"},
	{"percent-to-uppercase", "/a/%2e%2E/b", "/a/%2E%2E/b"},
	{"percent-to-uppercase", "/%41%62%7e%2D%5f%2e%2f%20", "/%41%62%7E%2D%5F%2E%2F%20"},
	{"percent-to-uppercase", "/%4", "/%4"},
	{"percent-to-uppercase", "/%zz/a", "/%zz/a"},
	{"percent-to-uppercase", "/a%", "/a%"},
	{"percent-to-uppercase", "/%aa%bB%Cc", "/%AA%BB%CC"},
	{"percent-to-uppercase", "/?c=1&a=2&b&a=1&&c=0", "/?c=1&a=2&b&a=1&&c=0"},
	{"percent-to-uppercase", "/a?%41=%62", "/a?%41=%62"},
	{"percent-to-uppercase", "/a/.%2e/b", "/a/.%2E/b"},
	{"percent-to-uppercase", "/a/b/./../c", "/a/b/./../c"},
	{"percent-to-uppercase strict", "/", "/"},
	{"percent-to-uppercase strict", "//a///b//?x//y", "//a///b//?x//y"},
	{"percent-to-uppercase strict", "/./a/./b/.", "/./a/./b/."},
	{"percent-to-uppercase strict", "/.", "/."},
	{"percent-to-uppercase strict", "/a/.b/..c/./", "/a/.b/..c/./"},
	{"percent-to-uppercase strict", "/a/b/../c", "/a/b/../c"},
	{"percent-to-uppercase strict", "/a/b/..", "/a/b/.."},
	{"percent-to-uppercase strict", "/../a", "/../a"},
	{"percent-to-uppercase strict", "/a/../../b/..", "/a/../../b/.."},
	{"percent-to-uppercase strict", "/a/..//../b", "/a/..//../b"},
	{"percent-to-uppercase strict", "/a/%2e%2E/b", "/a/%2E%2E/b"},
	{"percent-to-uppercase strict", "/%41%62%7e%2D%5f%2e%2f%20", "/%41%62%7E%2D%5F%2E%2F%20"},
	{"percent-to-uppercase strict", "/%4", ""},
	{"percent-to-uppercase strict", "/%zz/a", ""},
	{"percent-to-uppercase strict", "/a%", ""},
	{"percent-to-uppercase strict", "/%aa%bB%Cc", "/%AA%BB%CC"},
	{"percent-to-uppercase strict", "/?c=1&a=2&b&a=1&&c=0", "/?c=1&a=2&b&a=1&&c=0"},
	{"percent-to-uppercase strict", "/a?%41=%62", "/a?%41=%62"},
	{"percent-to-uppercase strict", "/a/.%2e/b", "/a/.%2E/b"},
	{"percent-to-uppercase strict", "/a/b/./../c", "/a/b/./../c"},
	{"query-sort-by-name", "/", "/"},
	{"query-sort-by-name", "//a///b//?x//y", "//a///b//?x//y"},
	{"query-sort-by-name", "/./a/./b/.", "/./a/./b/."},
	{"query-sort-by-name", "/.", "/."},
	{"query-sort-by-name", "/a/.b/..c/./", "/a/.b/..c/./"},
	{"query-sort-by-name", "/a/b/../c", "/a/b/../c"},
	{"query-sort-by-name", "/a/b/..", "/a/b/.."},
	{"query-sort-by-name", "/../a", "/../a"},
	{"query-sort-by-name", "/a/../../b/..", "/a/../../b/.."},
	{"query-sort-by-name", "/a/..//../b", "/a/..//../b"},
	{"query-sort-by-name", "/a/%2e%2E/b", "/a/%2e%2E/b"},
	{"query-sort-by-name", "/%41%62%7e%2D%5f%2e%2f%20", "/%41%62%7e%2D%5f%2e%2f%20"},
	{"query-sort-by-name", "/%4", "/%4"},
	{"query-sort-by-name", "/%zz/a", "/%zz/a"},
	{"query-sort-by-name", "/a%", "/a%"},
	{"query-sort-by-name", "/%aa%bB%Cc", "/%aa%bB%Cc"},
	{"query-sort-by-name", "/?c=1&a=2&b&a=1&&c=0", "/?&a=2&a=1&b&c=1&c=0"},
	{"query-sort-by-name", "/a?%41=%62", "/a?%41=%62"},
	{"query-sort-by-name", "/a/.%2e/b", "/a/.%2e/b"},
	{"query-sort-by-name", "/a/b/./../c", "/a/b/./../c"},
	{"fragment-strip", "/", "/"},
	{"fragment-strip", "//a///b//?x//y", "//a///b//?x//y"},
	{"fragment-strip", "/./a/./b/.", "/./a/./b/."},
	{"fragment-strip", "/.", "/."},
	{"fragment-strip", "/a/.b/..c/./", "/a/.b/..c/./"},
	{"fragment-strip", "/a/b/../c", "/a/b/../c"},
	{"fragment-strip", "/a/b/..", "/a/b/.."},
	{"fragment-strip", "/../a", "/../a"},
	{"fragment-strip", "/a/../../b/..", "/a/../../b/.."},
	{"fragment-strip", "/a/..//../b", "/a/..//../b"},
	{"fragment-strip", "/a/%2e%2E/b", "/a/%2e%2E/b"},
	{"fragment-strip", "/%41%62%7e%2D%5f%2e%2f%20", "/%41%62%7e%2D%5f%2e%2f%20"},
	{"fragment-strip", "/%4", "/%4"},
	{"fragment-strip", "/%zz/a", "/%zz/a"},
	{"fragment-strip", "/a%", "/a%"},
	{"fragment-strip", "/%aa%bB%Cc", "/%aa%bB%Cc"},
	{"fragment-strip", "/?c=1&a=2&b&a=1&&c=0", "/?c=1&a=2&b&a=1&&c=0"},
	{"fragment-strip", "/a?%41=%62", "/a?%41=%62"},
	{"fragment-strip", "/a/.%2e/b", "/a/.%2e/b"},
	{"fragment-strip", "/a/b/./../c", "/a/b/./../c"},
	{"fragment-encode", "/", "/"},
	{"fragment-encode", "//a///b//?x//y", "//a///b//?x//y"},
	{"fragment-encode", "/./a/./b/.", "/./a/./b/."},
	{"fragment-encode", "/.", "/."},
	{"fragment-encode", "/a/.b/..c/./", "/a/.b/..c/./"},
	{"fragment-encode", "/a/b/../c", "/a/b/../c"},
	{"fragment-encode", "/a/b/..", "/a/b/.."},
	{"fragment-encode", "/../a", "/../a"},
	{"fragment-encode", "/a/../../b/..", "/a/../../b/.."},
	{"fragment-encode", "/a/..//../b", "/a/..//../b"},
	{"fragment-encode", "/a/%2e%2E/b", "/a/%2e%2E/b"},
	{"fragment-encode", "/%41%62%7e%2D%5f%2e%2f%20", "/%41%62%7e%2D%5f%2e%2f%20"},
	{"fragment-encode", "/%4", "/%4"},
	{"fragment-encode", "/%zz/a", "/%zz/a"},
	{"fragment-encode", "/a%", "/a%"},
	{"fragment-encode", "/%aa%bB%Cc", "/%aa%bB%Cc"},
	{"fragment-encode", "/?c=1&a=2&b&a=1&&c=0", "/?c=1&a=2&b&a=1&&c=0"},
	{"fragment-encode", "/a?%41=%62", "/a?%41=%62"},
	{"fragment-encode", "/a/.%2e/b", "/a/.%2e/b"},
	{"fragment-encode", "/a/b/./../c", "/a/b/./../c"},
	// more, checked the same way
	{"path-strip-dotdot", "/../../a", "/../../a"},
	{"path-strip-dotdot full", "/../../a", "/a"},
	{"path-strip-dotdot", "/a/../..", "/../"},
	{"path-strip-dotdot", "/..", "/../"},
	{"path-strip-dotdot full", "/..", "/"},
	{"percent-to-uppercase", "/a?x=%aa", "/a?x=%AA"},
	{"query-sort-by-name", "/p?b=2&a=1", "/p?a=1&b=2"},
	{"query-sort-by-name", "/p?ab=1&a=2&a", "/p?a=2&a&ab=1"},
}

func TestNormalizeURI(t *testing.T) {
	for _, c := range normalizeCases {
		r, err := parse(t, "normalize-uri "+c.norm, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.norm, err)
		}
		out, ok := r.NormalizeURI([]byte("x"), []byte(c.in))
		got := strings.TrimPrefix(string(out), "x")
		if !ok {
			got = ""
		}
		if got != c.want {
			t.Errorf("normalize-uri %s %q = %q, want %q", c.norm, c.in, got, c.want)
		}
	}
	// fragments (haproxy's parser refuses them unless told otherwise)
	for norm, want := range map[string]string{"fragment-strip": "/a?b", "fragment-encode": "/a?b%23c%23d"} {
		r, _ := parse(t, "normalize-uri "+norm, nil)
		if out, _ := r.NormalizeURI(nil, []byte("/a?b#c#d")); string(out) != want {
			t.Errorf("%s: %q, want %q", norm, out, want)
		}
	}
	for rule, want := range map[string]string{
		"normalize-uri":                          "expects a normalizer",
		"normalize-uri path-tidy":                "unknown normalizer 'path-tidy'",
		"normalize-uri path-strip-dotdot strict": "expects only [full]",
		"normalize-uri path-merge-slashes full":  "takes no option",
		"normalize-uri percent-to-uppercase a b": "expects only [strict]",
	} {
		if _, err := parse(t, rule, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", rule, err, want)
		}
	}
}

// FuzzNormalizeURI: every normalizer takes any target without panicking;
// the path normalizers never lengthen it and keep its query.
func FuzzNormalizeURI(f *testing.F) {
	for _, c := range normalizeCases {
		f.Add(c.in)
	}
	f.Add("/a/./../b//c?x=%4g&y#z")
	var rs []*Rule
	for n := range normalizers {
		for _, opt := range []string{"", " full", " strict"} {
			if r, err := parse(f, "normalize-uri "+n+opt, nil); err == nil {
				rs = append(rs, r)
			}
		}
	}
	f.Fuzz(func(t *testing.T, in string) {
		for _, r := range rs {
			out, ok := r.NormalizeURI(nil, []byte(in))
			if !ok {
				continue
			}
			switch r.Norm {
			case NormMergeSlashes, NormStripDot, NormStripDotDot:
				q := strings.IndexAny(in, "?#")
				if q >= 0 && !strings.HasSuffix(string(out), in[q:]) {
					t.Fatalf("%v %q = %q: the query is lost", r.Norm, in, out)
				}
				if r.Norm != NormStripDotDot && len(out) > len(in)+1 {
					t.Fatalf("%v %q = %q: longer", r.Norm, in, out)
				}
			}
		}
	})
}

// Normalizing allocates nothing once dst has room (up to 32 query
// parameters for query-sort-by-name).
func TestNormalizeURIAllocs(t *testing.T) {
	dst := make([]byte, 0, 256)
	for _, norm := range []string{"path-merge-slashes", "path-strip-dot", "path-strip-dotdot", "percent-decode-unreserved strict", "percent-to-uppercase", "query-sort-by-name", "fragment-encode"} {
		r, _ := parse(t, "normalize-uri "+norm, nil)
		in := []byte("//a/./b/../%7e/c?z=1&b=%41&a=2&b=1")
		if n := testing.AllocsPerRun(100, func() { dst, _ = r.NormalizeURI(dst[:0], in) }); n != 0 {
			t.Errorf("%s: %v allocations", norm, n)
		}
	}
}
