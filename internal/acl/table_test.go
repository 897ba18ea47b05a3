package acl

import (
	"strconv"
	"strings"
	"testing"

	"dhproxy/internal/sample"
)

// TestPatternTablesAnswerAsAList: str, beg and end lookups answer as a
// walk of the pattern list would (str: the first equal pattern; beg: the
// longest prefix, first of equal ones; end: the first suffix in order),
// whether a table compares its few patterns in turn or hashes many, and
// across the size where it switches.
func TestPatternTablesAnswerAsAList(t *testing.T) {
	subjects := []string{"", "/", "/a", "/a/b", "/static/x.png", "/p3", "/p3x", "x/p3", "/P3", "/p12/", "/zz", ".png", "/p7.png"}
	for _, n := range []int{1, fewStrings - 1, fewStrings, fewStrings + 1, 3 * fewStrings} {
		var pats []string
		for i := range n {
			// duplicates, shared lengths and patterns that are prefixes
			// and suffixes of others
			switch i % 4 {
			case 0:
				pats = append(pats, "/p"+strconv.Itoa(i/4))
			case 1:
				pats = append(pats, "/p"+strconv.Itoa(i/4)+".png")
			case 2:
				pats = append(pats, "/p"+strconv.Itoa(i/8))
			default:
				pats = append(pats, "/")
			}
		}
		for _, m := range []Method{MatchStr, MatchBeg, MatchEnd} {
			for _, icase := range []bool{false, true} {
				p := newPatterns(&sample.Compiler{}, m, icase)
				for _, pat := range pats {
					if err := p.Add(pat, ""); err != nil {
						t.Fatal(err)
					}
				}
				f := &txn{}
				for _, subj := range subjects {
					v := sample.Value{}
					v.SetStr([]byte(subj))
					idx, ok := p.Lookup(f, &v)
					wantIdx, wantOK := listLookup(pats, m, icase, subj)
					if idx != wantIdx || ok != wantOK {
						t.Errorf("%d patterns, method %d, -i %v: %q gives (%d, %v), want (%d, %v)", n, m, icase, subj, idx, ok, wantIdx, wantOK)
					}
				}
			}
		}
	}
}

// listLookup is the answer of a walk of the pattern list.
func listLookup(pats []string, m Method, icase bool, s string) (int, bool) {
	if icase {
		s = strings.ToLower(s)
	}
	best, found := 0, false
	for i, p := range pats {
		switch m {
		case MatchStr:
			if s == p {
				return i, true
			}
		case MatchBeg:
			if strings.HasPrefix(s, p) && (!found || len(p) > len(pats[best])) {
				best, found = i, true
			}
		case MatchEnd:
			if strings.HasSuffix(s, p) {
				return i, true
			}
		}
	}
	return best, found
}
