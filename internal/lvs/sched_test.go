package lvs

import (
	"net/netip"
	"slices"
	"testing"
)

func TestSlots(t *testing.T) {
	for _, c := range []struct {
		weights []int
		limit   int
		want    []int
	}{
		{[]int{1, 1}, 256, []int{1, 1}},
		{[]int{3, 1}, 256, []int{3, 1}},
		{[]int{300, 100}, 256, []int{3, 1}},        // divided by the gcd
		{[]int{1000, 1, 0}, 256, []int{255, 1, 0}}, // scaled, each positive weight keeps a slot
		{[]int{0, 0}, 256, []int{0, 0}},
	} {
		if got := slots(c.weights, c.limit); !slices.Equal(got, c.want) {
			t.Errorf("slots(%v, %d) = %v, want %v", c.weights, c.limit, got, c.want)
		}
	}
}

func TestPickerFollowsIPVS(t *testing.T) {
	src, dst := netip.MustParseAddr("10.0.0.9"), netip.MustParseAddr("10.0.0.100")
	seq := func(p *picker, cands []candidate, n int) []int {
		var out []int
		for range n {
			out = append(out, p.pick(cands, src, dst))
		}
		return out
	}
	w31 := []candidate{{weight: 3}, {weight: 1}}
	if got := seq(&picker{sched: "wrr"}, w31, 8); !slices.Equal(got, []int{0, 0, 0, 1, 0, 0, 0, 1}) {
		t.Errorf("wrr 3:1 = %v, want A A A B", got)
	}
	if got := seq(&picker{sched: "rr"}, w31, 4); !slices.Equal(got, []int{0, 1, 0, 1}) {
		t.Errorf("rr ignores weights above 0: %v", got)
	}
	if got := seq(&picker{sched: "rr"}, []candidate{{weight: 0}, {weight: 1}}, 3); !slices.Equal(got, []int{1, 1, 1}) {
		t.Errorf("rr skips weight 0: %v", got)
	}
	busy := []candidate{{weight: 1, active: 5}, {weight: 1, active: 2}, {weight: 4, active: 4}}
	for sched, want := range map[string]int{
		"lc":  1, // fewest connections
		"wlc": 2, // 4/4 < 2/1
		"sed": 2, // (4+1)/4 < (2+1)/1
		"fo":  2, // highest weight
	} {
		if got := (&picker{sched: sched}).pick(busy, src, dst); got != want {
			t.Errorf("%s picked %d, want %d", sched, got, want)
		}
	}
	idle := []candidate{{weight: 1, active: 1}, {weight: 1, active: 0}}
	if got := (&picker{sched: "nq"}).pick(idle, src, dst); got != 1 {
		t.Errorf("nq takes an idle server first: %d", got)
	}
	sh := &picker{sched: "sh"}
	two := []candidate{{weight: 1}, {weight: 1}}
	first := sh.pick(two, src, dst)
	for range 5 {
		if sh.pick(two, src, dst) != first {
			t.Fatal("sh must send one client to one server")
		}
	}
	if got := (&picker{sched: "wlc"}).pick([]candidate{{weight: 0}}, src, dst); got != -1 {
		t.Errorf("no server with weight: got %d", got)
	}
}

func TestKernelSchedulerNotices(t *testing.T) {
	for _, s := range []string{"rr", "wrr", "sh", "dh", "mh", "fo"} {
		if _, _, n := kernelScheduler(s); n != "" {
			t.Errorf("%s runs as is on nftables, got notice %q", s, n)
		}
	}
	for _, s := range []string{"lc", "wlc", "sed", "nq", "lblc"} {
		if _, _, n := kernelScheduler(s); n == "" {
			t.Errorf("%s needs a notice on nftables", s)
		}
	}
}

func TestSlotPlan(t *testing.T) {
	s := &Service{Sched: "wrr"}
	got := slotPlan(s, []Dest{{Weight: 2}, {Weight: 0}, {Weight: 1}})
	if !slices.Equal(got, []int{0, 0, 2}) {
		t.Errorf("wrr 2:0:1 slots %v", got)
	}
	s.Sched = "fo"
	if got := slotPlan(s, []Dest{{Weight: 2}, {Weight: 5}}); !slices.Equal(got, []int{1}) {
		t.Errorf("fo: %v", got)
	}
}
