package acl

import (
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
