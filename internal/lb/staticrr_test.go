package lb

import "testing"

func TestStaticRRWeightedCounts(t *testing.T) {
	a := New("static-rr", []int{5, 2, 3, 0}, allUp, nil)
	if _, ok := a.(*staticRR); !ok {
		t.Fatalf("New(static-rr) returned %T", a)
	}
	count := map[int]int{}
	for range 1000 {
		count[a.Pick(-1)]++
	}
	if count[0] != 500 || count[1] != 200 || count[2] != 300 || count[3] != 0 {
		t.Fatalf("weighted counts %v, want 500/200/300/0", count)
	}
}

func TestStaticRRSkipsUnusable(t *testing.T) {
	a := New("static-rr", []int{1, 1, 1}, func(i int) bool { return i != 1 }, nil)
	count := map[int]int{}
	for range 100 {
		count[a.Pick(-1)]++
	}
	if count[1] != 0 || count[0] != 50 || count[2] != 50 {
		t.Fatalf("counts %v, want 50/0/50", count)
	}
}

func TestStaticRRPickAllocs(t *testing.T) {
	a := New("static-rr", []int{1, 2, 3}, allUp, nil)
	if n := testing.AllocsPerRun(1000, func() { a.Pick(-1) }); n != 0 {
		t.Fatalf("Pick allocates %v times", n)
	}
}
