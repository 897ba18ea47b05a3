package vrrp

import (
	"net/netip"
	"testing"

	"dhproxy/internal/config/keepalived"
)

// TestHealth covers how tracked objects move an instance: weight 0 means
// FAULT, positive weights add while up, negative ones subtract while down,
// reverse flips, track_file multiplies.
func TestHealth(t *testing.T) {
	inst := &keepalived.VRRPInstance{Name: "VI_1", Interface: "eth0", VRID: 1, Priority: 100, Version: 2,
		TrackInterfaces: []keepalived.Track{{Name: "eth1", Weight: -20, HasWeight: true}, {Name: "eth2", Weight: 10, HasWeight: true}},
		TrackScripts:    []keepalived.Track{{Name: "chk_a"}, {Name: "chk_b", Weight: -30, HasWeight: true}, {Name: "chk_c", Reverse: true}},
		TrackFiles:      []keepalived.Track{{Name: "f"}},
	}
	cfg := &keepalived.Config{Instances: []*keepalived.VRRPInstance{inst},
		Scripts: map[string]*keepalived.VRRPScript{
			"chk_a": {Name: "chk_a", Weight: 5, Rise: 1, Fall: 1},
			"chk_b": {Name: "chk_b", Weight: 0, Rise: 1, Fall: 1},
			"chk_c": {Name: "chk_c", Weight: -7, Rise: 1, Fall: 1},
		},
		TrackFiles: map[string]*keepalived.TrackFile{"f": {Name: "f", Weight: 3}},
	}
	r, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	in := NewInstance(inst, netip.MustParseAddr("10.0.0.1"), r)
	set := func(eth0, eth1, eth2, a, b, c bool, file int) {
		r.linkUp["eth0"], r.linkUp["eth1"], r.linkUp["eth2"] = eth0, eth1, eth2
		r.trackers["chk_a"].ok, r.trackers["chk_b"].ok, r.trackers["chk_c"].ok = a, b, c
		r.fileVals["f"] = file
	}
	cases := []struct {
		eth0, eth1, eth2, a, b, c bool
		file                      int
		fault                     bool
		adj                       int
	}{
		{true, true, true, true, true, false, 0, false, 10 + 5},        // all fine (chk_c reversed: failing is fine)
		{true, false, true, true, true, false, 0, false, -20 + 10 + 5}, // eth1 down: -20
		{true, true, false, true, true, false, 0, false, 5},            // eth2 down: its +10 is gone
		{true, true, true, false, true, false, 0, false, 10},           // chk_a failing: its +5 is gone
		{true, true, true, true, false, false, 0, false, 10 + 5 - 30},  // chk_b: weight -30 on the track line
		{true, true, true, true, true, true, 0, false, 10 + 5 - 7},     // chk_c succeeding = failing when reversed
		{true, true, true, true, true, false, 4, false, 10 + 5 + 12},   // file 4 × 3
		{true, true, true, true, true, false, -100, true, 10 + 5},      // file -300 < -253: FAULT
		{false, true, true, true, true, false, 0, true, 10 + 5},        // own interface down
	}
	for i, c := range cases {
		set(c.eth0, c.eth1, c.eth2, c.a, c.b, c.c, c.file)
		fault, adj := r.health(in)
		if fault != c.fault || adj != c.adj {
			t.Errorf("case %d: fault=%v adj=%d, want %v %d", i, fault, adj, c.fault, c.adj)
		}
	}
	inst.SyncGroup = "G"
	set(true, false, true, true, true, false, 0)
	if fault, _ := r.health(in); !fault {
		t.Error("sync group member: a weighted track_interface down must mean FAULT")
	}
	inst.SyncGroup = ""
	inst.DontTrackPrimary = true
	set(false, true, true, true, true, false, 0)
	if fault, _ := r.health(in); fault {
		t.Error("dont_track_primary: own interface down still means FAULT")
	}
}
