package lb

import "testing"

// chiSquare compares counts with expected shares of their total.
func chiSquare(count []int, share []float64) float64 {
	total := 0
	for _, c := range count {
		total += c
	}
	x := 0.0
	for i, c := range count {
		e := share[i] * float64(total)
		x += (float64(c) - e) * (float64(c) - e) / e
	}
	return x
}

func TestRandomDraws(t *testing.T) {
	for _, c := range []struct {
		algo  string
		draws int
	}{{"random", 2}, {"random(3)", 3}, {"random(1)", 1}, {"random(0)", 2}, {"random(x)", 2}} {
		a, ok := New(c.algo, []int{1}, allUp, nil).(*random)
		if !ok || a.draws != c.draws {
			t.Errorf("New(%q): %#v, want random with %d draws", c.algo, a, c.draws)
		}
	}
}

func TestRandomUniformForEqualWeights(t *testing.T) {
	fl := &fakeLoad{cur: make([]int, 5)}
	a := New("random", []int{2, 2, 2, 2, 2}, allUp, fl.load)
	count := make([]int, 5)
	for range 10000 {
		count[a.Pick(-1)]++
	}
	// 4 degrees of freedom: P(X > 25) is below 1e-4.
	if x := chiSquare(count, []float64{.2, .2, .2, .2, .2}); x > 25 {
		t.Fatalf("counts %v: chi-square %.1f, not uniform", count, x)
	}
}

func TestRandomFollowsWeights(t *testing.T) {
	fl := &fakeLoad{cur: make([]int, 3)}
	a := New("random", []int{1, 3, 0}, allUp, fl.load)
	count := make([]int, 3)
	for range 10000 {
		count[a.Pick(-1)]++
	}
	if count[2] != 0 {
		t.Fatalf("weight 0 server picked %d times", count[2])
	}
	// 1 degree of freedom: P(X > 15) is about 1e-4.
	if x := chiSquare(count[:2], []float64{.25, .75}); x > 15 {
		t.Fatalf("counts %v: chi-square %.1f, want a 1:3 split", count, x)
	}
}

func TestRandomDrawsPickLessLoaded(t *testing.T) {
	fl := &fakeLoad{cur: []int{10, 0}}
	count := func(algo string) []int {
		a := New(algo, []int{1, 1}, allUp, fl.load)
		n := make([]int, 2)
		for range 10000 {
			n[a.Pick(-1)]++
		}
		return n
	}
	// The loaded server wins only when every draw lands on it: 1/2^draws.
	for _, c := range []struct {
		algo  string
		share float64
	}{{"random", .25}, {"random(1)", .5}, {"random(3)", .125}} {
		n := count(c.algo)
		if x := chiSquare(n, []float64{c.share, 1 - c.share}); x > 15 {
			t.Errorf("%s: counts %v, want the loaded server about %.1f%% of the time", c.algo, n, 100*c.share)
		}
	}
	// Load counts relative to weight: 4 connections on weight 4 beat 2 on weight 1.
	r := New("random", []int{1, 4}, allUp, (&fakeLoad{cur: []int{2, 4}}).load).(*random)
	if tab := r.tab.Load(); !r.lessLoaded(tab, 1, 0) || r.lessLoaded(tab, 0, 1) {
		t.Fatal("lessLoaded ignores weights")
	}
}

func TestRandomSkipsUnusableAndAvoids(t *testing.T) {
	fl := &fakeLoad{cur: make([]int, 4)}
	down := map[int]bool{0: true, 2: true}
	a := New("random", []int{100, 1, 100, 1}, func(i int) bool { return !down[i] }, fl.load)
	for range 1000 {
		if p := a.Pick(-1); p != 1 && p != 3 {
			t.Fatalf("picked down server %d", p)
		}
	}
	for range 100 {
		if p := a.Pick(1); p != 3 {
			t.Fatalf("avoiding 1: picked %d, want 3", p)
		}
	}
	down[3] = true
	if p := a.Pick(1); p != 1 {
		t.Fatalf("only 1 usable but avoided: picked %d, want 1", p)
	}
	down[1] = true
	if p := a.Pick(-1); p != -1 {
		t.Fatalf("none usable: picked %d", p)
	}
	if p := New("random", nil, allUp, fl.load).Pick(-1); p != -1 {
		t.Fatalf("no servers: picked %d", p)
	}
}

func TestRandomPickAllocs(t *testing.T) {
	fl := &fakeLoad{cur: []int{3, 1, 2}}
	a := New("random(3)", []int{1, 2, 3}, allUp, fl.load)
	if n := testing.AllocsPerRun(1000, func() { a.Pick(-1) }); n != 0 {
		t.Fatalf("Pick allocates %v times", n)
	}
}
