package lb

import "testing"

func TestFirstFillsInOrder(t *testing.T) {
	fl := &fakeLoad{cur: []int{0, 0, 0}, max: []int{2, 3, 0}}
	a := New("first", []int{1, 1, 1}, allUp, fl.load)
	if _, ok := a.(*first); !ok {
		t.Fatalf("New(first) returned %T", a)
	}
	var got []int
	for range 8 {
		p := a.Pick(-1)
		got = append(got, p)
		fl.cur[p]++
	}
	want := []int{0, 0, 1, 1, 1, 2, 2, 2}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("picks %v, want %v", got, want)
		}
	}
	fl.cur[0]-- // a slot frees on the first server: it takes the next one
	if p := a.Pick(-1); p != 0 {
		t.Fatalf("picked %d after server 0 freed a slot, want 0", p)
	}
}

func TestFirstWithoutMaxconnTakesAll(t *testing.T) {
	fl := &fakeLoad{cur: []int{0, 0, 0}}
	down := map[int]bool{0: true}
	a := New("first", []int{1, 1, 1}, func(i int) bool { return !down[i] }, fl.load)
	for range 20 {
		p := a.Pick(-1)
		if p != 1 {
			t.Fatalf("picked %d, want the first usable server 1", p)
		}
		fl.cur[p]++
	}
	if p := a.Pick(1); p != 2 {
		t.Fatalf("avoiding 1: picked %d, want 2", p)
	}
	down[2] = true
	if p := a.Pick(1); p != 1 {
		t.Fatalf("only 1 usable but avoided: picked %d, want 1", p)
	}
	down[1] = true
	if p := a.Pick(-1); p != -1 {
		t.Fatalf("none usable: picked %d", p)
	}
}

func TestFirstAllFullQueuesOnBackend(t *testing.T) {
	fl := &fakeLoad{cur: []int{0, 5, 1}, max: []int{1, 1, 1}}
	a := New("first", []int{0, 1, 1}, allUp, fl.load)
	if p := a.Pick(-1); p != -1 {
		t.Fatalf("all full: picked %d, want -1 (the request waits in the backend queue)", p)
	}
}

func TestFirstPickAllocs(t *testing.T) {
	fl := &fakeLoad{cur: []int{3, 1, 2}, max: []int{3, 3, 3}}
	a := New("first", []int{1, 2, 3}, allUp, fl.load)
	if n := testing.AllocsPerRun(1000, func() { a.Pick(-1) }); n != 0 {
		t.Fatalf("Pick allocates %v times", n)
	}
}
