package lb

import "testing"

// fakeLoad is a Load over plain slices for tests.
type fakeLoad struct {
	cur, max []int
}

func (f *fakeLoad) load(i int) (int, bool) {
	m := 0
	if f.max != nil {
		m = f.max[i]
	}
	return f.cur[i], m > 0 && f.cur[i] >= m
}

func TestLeastConnPicksLeastLoaded(t *testing.T) {
	fl := &fakeLoad{cur: []int{4, 1, 3}}
	a := New("leastconn", []int{1, 1, 1}, allUp, fl.load)
	if _, ok := a.(*leastConn); !ok {
		t.Fatalf("New(leastconn) returned %T", a)
	}
	for range 5 {
		if p := a.Pick(-1); p != 1 {
			t.Fatalf("picked %d, want 1 (least loaded)", p)
		}
	}
	if p := a.Pick(1); p != 2 {
		t.Fatalf("avoiding 1: picked %d, want 2", p)
	}
}

func TestLeastConnKeyIsHAProxys(t *testing.T) {
	// Idle servers all tie at 0; otherwise (cur+1)*4096/(weight*16).
	for _, c := range []struct {
		cur, w int
		key    int64
	}{{0, 1, 0}, {0, 200, 0}, {1, 1, 512}, {3, 3, 341}, {3, 1, 1024}, {9, 256, 10}} {
		if k := fwlcKey(c.cur, c.w*WeightScale); k != c.key {
			t.Errorf("fwlcKey(%d, %d) = %d, want %d", c.cur, c.w, k, c.key)
		}
	}
}

func TestLeastConnRespectsWeights(t *testing.T) {
	// Same connection count: the heavier server has the lower key.
	fl := &fakeLoad{cur: []int{3, 3}}
	a := New("leastconn", []int{1, 3}, allUp, fl.load)
	if p := a.Pick(-1); p != 1 {
		t.Fatalf("picked %d, want the weight-3 server", p)
	}
	// Connections that stay open spread in proportion to weights.
	fl = &fakeLoad{cur: []int{0, 0, 0}}
	a = New("leastconn", []int{1, 3, 4}, allUp, fl.load)
	for range 800 {
		fl.cur[a.Pick(-1)]++
	}
	want := []int{100, 300, 400}
	for i, c := range fl.cur {
		if c < want[i]-3 || c > want[i]+3 {
			t.Fatalf("open connections %v, want about %v", fl.cur, want)
		}
	}
}

func TestLeastConnSkipsUnusableAndZeroWeight(t *testing.T) {
	fl := &fakeLoad{cur: []int{0, 0, 5, 9}}
	down := map[int]bool{0: true}
	a := New("leastconn", []int{1, 0, 1, 1}, func(i int) bool { return !down[i] }, fl.load)
	for range 10 {
		if p := a.Pick(-1); p != 2 {
			t.Fatalf("picked %d, want 2 (0 is down, 1 has weight 0)", p)
		}
	}
	if p := a.Pick(2); p != 3 {
		t.Fatalf("avoiding 2: picked %d, want 3", p)
	}
	down[3] = true
	if p := a.Pick(2); p != 2 {
		t.Fatalf("only 2 usable but avoided: picked %d, want 2 as fallback", p)
	}
	down[2] = true
	if p := a.Pick(-1); p != -1 {
		t.Fatalf("none usable: picked %d", p)
	}
}

func TestLeastConnTiesRoundRobin(t *testing.T) {
	fl := &fakeLoad{cur: []int{0, 0, 0}}
	a := New("leastconn", []int{1, 5, 2}, allUp, fl.load)
	var got []int
	for range 6 {
		got = append(got, a.Pick(-1))
	}
	for i := range got {
		if got[i] != i%3 {
			t.Fatalf("idle servers picked %v, want 0 1 2 0 1 2", got)
		}
	}
	// Ties among a subset alternate too.
	fl.cur = []int{1, 7, 1}
	a = New("leastconn", []int{1, 1, 1}, allUp, fl.load)
	got = got[:0]
	for range 4 {
		got = append(got, a.Pick(-1))
	}
	if got[0] == got[1] || got[0] != got[2] || got[1] != got[3] || got[0] == 1 || got[1] == 1 {
		t.Fatalf("tied servers 0 and 2 picked %v, want them alternating", got)
	}
}

func TestLeastConnSkipsFullServers(t *testing.T) {
	fl := &fakeLoad{cur: []int{2, 3}, max: []int{2, 0}}
	a := New("leastconn", []int{10, 1}, allUp, fl.load)
	if p := a.Pick(-1); p != 1 {
		t.Fatalf("picked %d, want 1: 0 has the lower key but is at its maxconn", p)
	}
	fl.max = []int{2, 3}
	if p := a.Pick(-1); p != -1 {
		t.Fatalf("all full: picked %d, want -1 (the request waits in the backend queue)", p)
	}
}

func TestLeastConnPickAllocs(t *testing.T) {
	fl := &fakeLoad{cur: []int{3, 1, 2}}
	a := New("leastconn", []int{1, 2, 3}, allUp, fl.load)
	if n := testing.AllocsPerRun(1000, func() { a.Pick(-1) }); n != 0 {
		t.Fatalf("Pick allocates %v times", n)
	}
}
