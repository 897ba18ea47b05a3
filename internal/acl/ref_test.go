package acl

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"dhproxy/internal/sample"
)

// Edits of a map file reach every converter reading it (two match
// methods here), requests reading it meanwhile see a whole old or new
// table (run with -race), and an edit a matcher refuses changes nothing.
func TestRefEditsReachEveryMatcher(t *testing.T) {
	c := compiler()
	str, err := c.Compile("str(shop.example.com),map(/p/hosts.map,none)", sample.PhaseReq)
	if err != nil {
		t.Fatal(err)
	}
	beg, err := c.Compile("str(shop.example.com/x),map_beg(/p/hosts.map,none)", sample.PhaseReq)
	if err != nil {
		t.Fatal(err)
	}
	ints, err := c.Compile("str(shop.example.com),map_str_int(/p/hosts.map,0)", sample.PhaseReq)
	if err == nil {
		t.Fatalf("map_str_int over a map of names compiled: %v", ints)
	}
	refs := Refs(c)
	if len(refs) != 1 || refs[0].File != "/p/hosts.map" || !refs[0].Map || len(refs[0].Entries()) != 2 {
		t.Fatalf("refs: %+v", refs)
	}
	ref := refs[0]
	eval := func(e *sample.Expr) string {
		f := newTxn(t, head)
		var v sample.Value
		if !e.Eval(f, &v) {
			return "<none>"
		}
		sample.Cast(&v, sample.TypeStr, &f.scratch)
		return string(v.Bytes)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if got := eval(str); got != "be_shop" && got != "be_new" && got != "none" {
				t.Errorf("during edits: %q", got)
				return
			}
		}
	}()
	for range 50 {
		if found, err := ref.Set("shop.example.com", "be_new"); !found || err != nil {
			t.Fatalf("set: %v %v", found, err)
		}
		ref.Set("shop.example.com", "be_shop")
	}
	close(stop)
	wg.Wait()
	ref.Set("shop.example.com", "be_new")
	if got, got2 := eval(str), eval(beg); got != "be_new" || got2 != "be_new" {
		t.Errorf("after set: map %q, map_beg %q", got, got2)
	}
	if found, _ := ref.Delete("shop.example.com"); !found || eval(str) != "none" || eval(beg) != "none" {
		t.Errorf("after del: %q %q", eval(str), eval(beg))
	}
	if found, _ := ref.Delete("shop.example.com"); found {
		t.Error("a second del found the entry")
	}
	ref.Add("shop.example.com", "be_added")
	if eval(str) != "be_added" {
		t.Errorf("after add: %q", eval(str))
	}
	// A regex map refuses a pattern that does not compile: nothing
	// changes, for any matcher.
	rc := compiler()
	re, err := rc.Compile("str(abc),map_reg(/p/beg.map,none)", sample.PhaseReq)
	if err != nil {
		t.Fatal(err)
	}
	rref := Refs(rc)[0]
	if err := rref.Add("(unclosed", "x"); err == nil {
		t.Error("an invalid regex was accepted")
	}
	if n := len(rref.Entries()); n != 3 {
		t.Errorf("%d entries after a refused add, want 3", n)
	}
	if got := eval(re); got != "root" && got != "none" {
		t.Errorf("map_reg after a refused add: %q", got)
	}
	if err := ref.Clear(); err != nil || eval(str) != "none" || len(ref.Entries()) != 0 {
		t.Errorf("after clear: %q, %d entries", eval(str), len(ref.Entries()))
	}
}

// The rule actions' edits go by key: add-acl adds a key once, set-map
// changes every entry of the key (or adds one), del-* removes every entry
// of the key, and "#<id>" is a key like any other there. An edit that
// changes nothing does not rebuild the matchers. Concurrent edits and
// reads are safe (run with -race).
func TestRefKeyEdits(t *testing.T) {
	c := compiler()
	str, err := c.Compile("str(shop.example.com),map(/p/hosts.map,none)", sample.PhaseReq)
	if err != nil {
		t.Fatal(err)
	}
	ref := Loaded(c, "/p/hosts.map")
	if ref == nil || Loaded(c, "/p/other.map") != nil {
		t.Fatalf("Loaded: %v %v", ref, Loaded(c, "/p/other.map"))
	}
	eval := func() string {
		f := newTxn(t, head)
		var v sample.Value
		if !str.Eval(f, &v) {
			return "<none>"
		}
		return string(v.Bytes)
	}
	keys := func() []string {
		var out []string
		for _, e := range ref.Entries() {
			out = append(out, e.Key+"="+e.Value)
		}
		return out
	}
	ref.Add("shop.example.com", "second") // a duplicate key, as a file may have
	if err := ref.SetKey([]byte("shop.example.com"), []byte("be_set")); err != nil || eval() != "be_set" {
		t.Fatalf("set-map of an existing key: %v %q", err, eval())
	}
	if got := keys(); !slices.Equal(got, []string{"shop.example.com=be_set", "api.example.com=be_api", "shop.example.com=be_set"}) {
		t.Errorf("entries after set-map: %q", got)
	}
	before := &ref.entries[0]
	ref.SetKey([]byte("shop.example.com"), []byte("be_set"))
	ref.AddKey([]byte("api.example.com"))
	ref.DeleteKey([]byte("absent"))
	if &ref.entries[0] != before {
		t.Error("an edit that changes nothing rebuilt the entries")
	}
	ref.SetKey([]byte("new.example.com"), []byte("be_new"))
	ref.AddKey([]byte("#1"))
	if got := keys(); len(got) != 5 || got[3] != "new.example.com=be_new" || got[4] != "#1=" {
		t.Errorf("entries after adds: %q", got)
	}
	ref.DeleteKey([]byte("shop.example.com"))
	ref.DeleteKey([]byte("#1"))
	if got := keys(); !slices.Equal(got, []string{"api.example.com=be_api", "new.example.com=be_new"}) || eval() != "none" {
		t.Errorf("entries after deletes: %q, map answers %q", got, eval())
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				k := []byte(fmt.Sprintf("k%d", i%7))
				switch (g + i) % 3 {
				case 0:
					ref.SetKey(k, []byte("v"))
				case 1:
					ref.AddKey(k)
				default:
					ref.DeleteKey(k)
				}
				eval()
			}
		}()
	}
	wg.Wait()
	count := map[string]int{}
	for _, e := range ref.Entries() {
		if count[e.Key]++; count[e.Key] > 1 || e.Key != "api.example.com" && e.Key != "new.example.com" && !strings.HasPrefix(e.Key, "k") {
			t.Errorf("unexpected entry %q", e.Key)
		}
	}
}
