package lvs

import (
	"net/netip"
	"slices"
	"strings"
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
	for _, s := range []string{"rr", "wrr", "sh", "dh", "mh", "fo", "lc", "wlc", "sed", "nq", "ovf"} {
		if _, _, n := kernelScheduler(s); n != "" {
			t.Errorf("%s runs as is on nftables, got notice %q", s, n)
		}
	}
	for _, s := range []string{"twos", "lblc", "lblcr"} {
		if _, _, n := kernelScheduler(s); n == "" {
			t.Errorf("%s needs a notice on nftables", s)
		}
	}
	for _, sched := range []string{"lc", "nq", "wlc", "sed", "ovf"} {
		for _, method := range []string{"NAT", "DR"} {
			if !counted(&Service{Sched: sched, Method: method}) {
				t.Errorf("%s with %s must be scheduled from connection counts", sched, method)
			}
		}
	}
}

// TestLeastLoadedFollowsIPVS checks each formula of
// net/netfilter/ipvs/ip_vs_{lc,wlc,sed,nq,ovf}.c on cases where they
// differ from one another, and the tie rule (first in list order).
func TestLeastLoadedFollowsIPVS(t *testing.T) {
	for _, c := range []struct {
		sched string
		ds    []destLoad
		want  int
	}{
		{"lc", []destLoad{{1, 0, 0}, {1, 0, 0}}, 0},             // tie: the first
		{"lc", []destLoad{{1, 2, 0}, {1, 1, 300}}, 0},           // 512 < 256+300
		{"lc", []destLoad{{1, 1, 0}, {1, 0, 255}}, 1},           // one active costs 256 inactive
		{"lc", []destLoad{{1, 1, 0}, {1, 0, 256}}, 0},           // 256 = 256: the first
		{"lc", []destLoad{{0, 0, 0}, {9, 5, 0}}, 1},             // weight 0 is quiesced
		{"lc", []destLoad{{5, 1, 0}, {1, 0, 0}}, 1},             // lc ignores weights
		{"wlc", []destLoad{{3, 6, 0}, {1, 2, 0}}, 0},            // 1536/3 = 512/1: the first
		{"wlc", []destLoad{{3, 6, 1}, {1, 2, 0}}, 1},            // 1537/3 > 512/1
		{"wlc", []destLoad{{0, 0, 0}, {1, 4, 0}}, 1},            // weight 0 never picked
		{"twos", []destLoad{{3, 6, 1}, {1, 2, 0}}, 1},           // as wlc
		{"sed", []destLoad{{1, 0, 1000}, {2, 1, 0}}, 0},         // (0+1)/1 = (1+1)/2; inactive ignored
		{"sed", []destLoad{{1, 1, 0}, {3, 2, 0}}, 1},            // 2/1 > 3/3
		{"sed", []destLoad{{1, 0, 0}, {4, 0, 0}}, 1},            // an idle heavy server: 1/1 > 1/4
		{"nq", []destLoad{{5, 3, 0}, {1, 0, 9}, {1, 0, 0}}, 1},  // the first idle server, whatever its weight
		{"nq", []destLoad{{1, 1, 0}, {3, 2, 0}}, 1},             // none idle: sed
		{"nq", []destLoad{{0, 0, 0}, {1, 1, 0}}, 1},             // idle at weight 0 is not taken
		{"ovf", []destLoad{{2, 3, 0}, {1, 0, 0}, {2, 1, 0}}, 2}, // highest weight not overflowing
		{"ovf", []destLoad{{2, 2, 0}, {3, 3, 0}}, 1},            // active = weight still takes one
		{"ovf", []destLoad{{2, 3, 0}, {1, 2, 0}}, -1},           // all overflow
		{"wlc", []destLoad{{0, 0, 0}}, -1},                      // nothing to pick
		{"lc", nil, -1},                                         // nothing listed
	} {
		if got := leastLoaded(c.sched, c.ds); got != c.want {
			t.Errorf("%s %v picked %d, want %d", c.sched, c.ds, got, c.want)
		}
	}
}

// TestLeastLoadedSequence plays the e2e scenario: connections opened one
// after another and held (each ESTABLISHED before the next), then some
// closed (their entries linger inactive, as in TIME_WAIT).
func TestLeastLoadedSequence(t *testing.T) {
	run := func(sched string, ds []destLoad, n int) string {
		var b strings.Builder
		for range n {
			k := leastLoaded(sched, ds)
			ds[k].active++
			b.WriteByte("AB"[k])
		}
		return b.String()
	}
	lc := []destLoad{{weight: 1}, {weight: 1}}
	if got := run("lc", lc, 6); got != "ABABAB" {
		t.Errorf("lc: %s", got)
	}
	lc[0].active, lc[0].inactive = 1, 2 // two of A's three closed
	if got := run("lc", lc, 3); got != "AAB" {
		t.Errorf("lc after closing two on A: %s", got)
	}
	wlc := []destLoad{{weight: 3}, {weight: 1}}
	if got := run("wlc", wlc, 8); got != "ABAAABAA" {
		t.Errorf("wlc 3:1: %s", got)
	}
	wlc[1].active, wlc[1].inactive = 0, 2 // both of B's closed
	if got := run("wlc", wlc, 3); got != "BBA" {
		t.Errorf("wlc after closing B's: %s", got)
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

// TestMaskAddr: persistence_granularity groups clients of both families.
func TestMaskAddr(t *testing.T) {
	for _, c := range []struct{ addr, mask, want string }{
		{"10.1.2.3", "255.255.255.0", "10.1.2.0"},
		{"10.1.2.3", "255.255.255.255", "10.1.2.3"},
		{"fd00:1:2:3:4::5", "ffff:ffff:ffff:ffff::", "fd00:1:2:3::"},
		{"fd00:1:2:3:4::5", "ffff:ffff:ffff:fff0::", "fd00:1:2::"},
		{"fd00::5", "255.255.255.0", "fd00::5"}, // mask of the other family: whole address
	} {
		if got := maskAddr(netip.MustParseAddr(c.addr), netip.MustParseAddr(c.mask)); got.String() != c.want {
			t.Errorf("maskAddr(%s, %s) = %s, want %s", c.addr, c.mask, got, c.want)
		}
	}
}
