package lb

import "testing"

func allUp(int) bool { return true }

func TestRoundRobinAlternates(t *testing.T) {
	rr := New("roundrobin", []int{1, 1}, allUp, nil)
	got := []int{rr.Pick(-1), rr.Pick(-1), rr.Pick(-1), rr.Pick(-1)}
	if got[0] == got[1] || got[0] != got[2] || got[1] != got[3] {
		t.Fatalf("picks %v do not alternate", got)
	}
}

func TestRoundRobinWeights(t *testing.T) {
	rr := New("roundrobin", []int{3, 1, 0}, allUp, nil)
	count := map[int]int{}
	for range 400 {
		count[rr.Pick(-1)]++
	}
	if count[0] != 300 || count[1] != 100 || count[2] != 0 {
		t.Fatalf("weighted counts %v, want 300/100/0", count)
	}
}

func TestRoundRobinSpreadsHeavyServer(t *testing.T) {
	// Smooth WRR never sends a weight-2 server two in a row when a weight-1 peer waits.
	seq := smoothSequence([]int{2, 1})
	if len(seq) != 3 || seq[0] == seq[1] && seq[1] == seq[2] {
		t.Fatalf("sequence %v", seq)
	}
}

func TestRoundRobinSkipsUnusableAndAvoids(t *testing.T) {
	down := map[int]bool{0: true}
	rr := New("roundrobin", []int{1, 1, 1}, func(i int) bool { return !down[i] }, nil)
	for range 10 {
		if p := rr.Pick(-1); p == 0 {
			t.Fatal("picked a down server")
		}
	}
	for range 10 {
		if p := rr.Pick(1); p != 2 {
			t.Fatalf("avoid 1: picked %d, want 2", p)
		}
	}
	down[2] = true
	if p := rr.Pick(1); p != 1 {
		t.Fatalf("only server 1 usable but avoided: picked %d, want 1 as fallback", p)
	}
	down[1] = true
	if p := rr.Pick(-1); p != -1 {
		t.Fatalf("all down: picked %d", p)
	}
}

func TestRoundRobinPickAllocs(t *testing.T) {
	rr := New("roundrobin", []int{1, 2, 3}, allUp, nil)
	if a := testing.AllocsPerRun(1000, func() { rr.Pick(-1) }); a != 0 {
		t.Fatalf("Pick allocates %v times", a)
	}
}

func TestSmoothSequenceSpreadsEveryServer(t *testing.T) {
	// Between two turns of a server, at most about total/weight others.
	weights := []int{5, 3, 1, 7, 2}
	seq := smoothSequence(weights)
	total := 18
	if len(seq) != total {
		t.Fatalf("period %d, want %d", len(seq), total)
	}
	for srv, w := range weights {
		last, n := -1, 0
		for i, s := range seq {
			if int(s) != srv {
				continue
			}
			n++
			if last >= 0 && i-last > (total+w-1)/w+1 {
				t.Errorf("server %d (weight %d) waits %d turns in %v", srv, w, i-last, seq)
			}
			last = i
		}
		if n != w {
			t.Errorf("server %d has %d turns, want %d", srv, n, w)
		}
	}
}

func BenchmarkSmoothSequenceSlowStartFarm(b *testing.B) {
	// 100 servers of weight 256, one ramping: the rebuild slow start
	// does every second.
	weights := make([]int, 100)
	for i := range weights {
		weights[i] = 256 * WeightScale
	}
	weights[7] = 255 * 3
	for b.Loop() {
		smoothSequence(weights)
	}
}
