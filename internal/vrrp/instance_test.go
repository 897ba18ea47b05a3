package vrrp

import (
	"fmt"
	"net/netip"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/config/keepalived"
)

// recorder is a fake world: it records what an instance does.
type recorder struct {
	events []string
	vips   bool
}

func (r *recorder) SendAdvert(in *Instance, prio uint8) {
	r.events = append(r.events, fmt.Sprintf("advert %d", prio))
}
func (r *recorder) SetVIPs(in *Instance, on bool) {
	r.vips = on
	r.events = append(r.events, fmt.Sprintf("vips %v", on))
}
func (r *recorder) Transition(in *Instance, from, to State) {
	r.events = append(r.events, fmt.Sprintf("%s->%s", from, to))
}
func (r *recorder) Logf(format string, args ...any) {
	r.events = append(r.events, "log "+fmt.Sprintf(format, args...))
}
func (r *recorder) take() string {
	s := strings.Join(r.events, "; ")
	r.events = nil
	return s
}

var (
	t0    = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	self  = netip.MustParseAddr("10.0.0.2")
	peerA = netip.MustParseAddr("10.0.0.1") // lower address
	peerB = netip.MustParseAddr("10.0.0.3") // higher address
	vip   = netip.MustParseAddr("10.0.0.100")
)

func newTestInstance(mod func(c *keepalived.VRRPInstance)) (*Instance, *recorder) {
	c := &keepalived.VRRPInstance{Name: "VI_1", State: "BACKUP", Interface: "eth0", VRID: 51, Priority: 100,
		AdvertInt: time.Second, Version: 2, AuthType: "PASS", AuthPass: "secret",
		VIPs: []keepalived.VIP{{Prefix: netip.PrefixFrom(vip, 32)}}}
	if mod != nil {
		mod(c)
	}
	r := &recorder{}
	return NewInstance(c, self, r), r
}

func advert(in *Instance, prio uint8) *Advert {
	a := in.Advert(prio)
	return a
}

func TestMasterDownInterval(t *testing.T) {
	in, r := newTestInstance(nil)
	in.Start(t0)
	if in.State() != StateBackup {
		t.Fatalf("state %s after start", in.State())
	}
	// 3 × 1 s + (256-100)/256 s = 3.609375 s
	want := 3*time.Second + 156*time.Second/256
	if d := in.Deadline().Sub(t0); d != want {
		t.Fatalf("down interval %s, want %s", d, want)
	}
	r.take()
	in.Timer(t0.Add(want - time.Millisecond))
	if in.State() != StateBackup {
		t.Fatal("became master before the down interval")
	}
	in.Timer(t0.Add(want))
	if got := r.take(); got != "log (VI_1) Receive advertisement timeout; log (VI_1) Entering MASTER STATE; advert 100; vips true; BACKUP->MASTER" {
		t.Fatalf("events: %s", got)
	}
	// Then one advert per interval.
	in.Timer(t0.Add(want + time.Second))
	if got := r.take(); got != "advert 100" {
		t.Fatalf("events: %s", got)
	}
}

func TestV3SkewUsesMasterInterval(t *testing.T) {
	in, _ := newTestInstance(func(c *keepalived.VRRPInstance) {
		c.Version, c.AuthType, c.AuthPass, c.AdvertInt, c.Priority = 3, "", "", 500*time.Millisecond, 128
	})
	in.Start(t0)
	if d := in.DownInterval(); d != 1500*time.Millisecond+250*time.Millisecond {
		t.Fatalf("down interval %s", d)
	}
	// A backup adopts the master's interval (RFC 5798).
	a := in.Advert(200)
	a.Interval = time.Second
	in.Receive(t0, a, peerA)
	if d := in.Deadline().Sub(t0); d != 3*time.Second+500*time.Millisecond {
		t.Fatalf("down interval after a 1 s master: %s", d)
	}
}

// A v3 master yielding to a master with another interval waits for that
// master's adverts, not its own.
func TestV3MasterYieldsToSlowerMaster(t *testing.T) {
	in, _ := newTestInstance(func(c *keepalived.VRRPInstance) {
		c.Version, c.AuthType, c.AuthPass, c.State, c.Priority = 3, "", "", "MASTER", 255
	})
	in.Start(t0)
	a := in.Advert(255)
	a.Interval = 2 * time.Second
	in.Receive(t0, a, peerB)
	if in.State() != StateBackup {
		t.Fatalf("state %s", in.State())
	}
	if d := in.Deadline().Sub(t0); d != 6*time.Second+2*time.Second/256 {
		t.Fatalf("down interval %s, want 3 × 2 s + skew of a 2 s interval", d)
	}
}

func TestOwnerStartsMaster(t *testing.T) {
	in, r := newTestInstance(func(c *keepalived.VRRPInstance) { c.State, c.Priority = "MASTER", 255 })
	in.Start(t0)
	if in.State() != StateMaster || !r.vips {
		t.Fatalf("owner: state %s vips %v", in.State(), r.vips)
	}
}

func TestPreemption(t *testing.T) {
	in, r := newTestInstance(nil)
	in.Start(t0)
	// A higher-priority master keeps us backup.
	in.Receive(t0.Add(time.Second), advert(in, 150), peerA)
	if in.Deadline() != t0.Add(time.Second+in.DownInterval()) {
		t.Fatal("higher-priority advert did not reset the down timer")
	}
	// A lower-priority master is ignored, so we preempt after the down timer.
	r.take()
	in.Receive(t0.Add(2*time.Second), advert(in, 50), peerA)
	if !strings.Contains(r.take(), "received lower priority (50) advert from 10.0.0.1 - discarding") {
		t.Fatal("lower priority advert not discarded")
	}
	in.Timer(t0.Add(time.Second + in.DownInterval()))
	if in.State() != StateMaster {
		t.Fatalf("did not preempt: %s", in.State())
	}
	// As master: a higher-priority advert makes us backup and drops the VIPs.
	r.take()
	in.Receive(t0.Add(10*time.Second), advert(in, 150), peerA)
	if in.State() != StateBackup || r.vips {
		t.Fatalf("higher-priority master: state %s vips %v", in.State(), r.vips)
	}
}

func TestNoPreempt(t *testing.T) {
	in, _ := newTestInstance(func(c *keepalived.VRRPInstance) { c.NoPreempt, c.Priority = true, 200 })
	in.Start(t0)
	for i := 1; i < 20; i++ {
		in.Receive(t0.Add(time.Duration(i)*time.Second), advert(in, 100), peerA)
		in.Timer(t0.Add(time.Duration(i) * time.Second))
	}
	if in.State() != StateBackup {
		t.Fatalf("nopreempt instance took over from a lower-priority master: %s", in.State())
	}
	// nopreempt is ignored with state MASTER, as keepalived does.
	in2, r := newTestInstance(func(c *keepalived.VRRPInstance) { c.NoPreempt, c.Priority, c.State = true, 200, "MASTER" })
	in2.Start(t0)
	if !strings.Contains(r.take(), "nopreempt will not work with initial state MASTER") {
		t.Error("no warning for nopreempt with state MASTER")
	}
	in2.Receive(t0.Add(time.Second), advert(in2, 100), peerA)
	in2.Timer(t0.Add(5 * time.Second))
	if in2.State() != StateMaster {
		t.Fatalf("state MASTER + nopreempt did not preempt: %s", in2.State())
	}
}

func TestPreemptDelay(t *testing.T) {
	in, _ := newTestInstance(func(c *keepalived.VRRPInstance) { c.Priority, c.PreemptDelay = 128, 2*time.Second })
	in.Start(t0)
	now := t0
	for in.State() == StateBackup && now.Before(t0.Add(30*time.Second)) {
		now = now.Add(100 * time.Millisecond)
		if now.Sub(t0)%time.Second == 0 {
			in.Receive(now, advert(in, 100), peerA)
		}
		in.Timer(now)
	}
	// The first lower advert (1 s) starts the 2 s delay; the one at 2 s
	// still resets the down timer; the one at 3 s, past the delay, lets the
	// backup take over after its skew: 3.5 s (keepalived waits for its down
	// timer to run out instead: 5.5 s).
	if got := now.Sub(t0); got != 3500*time.Millisecond {
		t.Fatalf("preempted after %s, want 3.5 s", got)
	}
}

// A master that lowers its priority (its tracked proxy lost its servers)
// below a backup's is replaced after the backup's skew, not after the full
// down interval.
func TestLowerPriorityAdvertPreemptsAfterSkew(t *testing.T) {
	in, _ := newTestInstance(func(c *keepalived.VRRPInstance) { c.Priority = 150 })
	in.Start(t0)
	in.Receive(t0, advert(in, 200), peerA)
	if d := in.Deadline().Sub(t0); d != in.DownInterval() {
		t.Fatalf("after a higher advert the down timer is %s, want %s", d, in.DownInterval())
	}
	in.Receive(t0.Add(time.Second), advert(in, 140), peerA)
	if d := in.Deadline().Sub(t0.Add(time.Second)); d != 106*time.Second/256 {
		t.Fatalf("after a lower advert the down timer is %s, want the skew", d)
	}
	in.Timer(t0.Add(2 * time.Second))
	if in.State() != StateMaster {
		t.Fatalf("state %v one advert after the master fell below us, want MASTER", in.State())
	}
}

func TestPriorityZeroMeansSkewOnly(t *testing.T) {
	in, _ := newTestInstance(nil)
	in.Start(t0)
	in.Receive(t0, advert(in, 150), peerA)
	in.Receive(t0.Add(time.Second), advert(in, 0), peerA)
	if d := in.Deadline().Sub(t0.Add(time.Second)); d != 156*time.Second/256 {
		t.Fatalf("after priority 0 the down timer is %s, want the skew", d)
	}
}

func TestEqualPriorityTieBreak(t *testing.T) {
	in, _ := newTestInstance(func(c *keepalived.VRRPInstance) { c.Priority, c.State = 255, "MASTER" })
	in.Start(t0)
	in.Receive(t0, advert(in, 255), peerA) // lower address: we stay
	if in.State() != StateMaster {
		t.Fatal("lost a tie against a lower address")
	}
	in.Receive(t0, advert(in, 255), peerB) // higher address wins
	if in.State() != StateBackup {
		t.Fatal("kept mastership against a higher address")
	}
}

func TestSplitBrainLowerMasterForcesElection(t *testing.T) {
	in, r := newTestInstance(func(c *keepalived.VRRPInstance) { c.Priority = 150 })
	in.Start(t0)
	in.Timer(t0.Add(10 * time.Second))
	r.take()
	in.Receive(t0.Add(11*time.Second), advert(in, 100), peerB)
	if got := r.take(); !strings.Contains(got, "forcing new election") || !strings.Contains(got, "advert 150") {
		t.Fatalf("events: %s", got)
	}
}

func TestStopSendsPriorityZero(t *testing.T) {
	in, r := newTestInstance(nil)
	in.Start(t0)
	in.Timer(t0.Add(10 * time.Second))
	r.take()
	in.Stop(t0.Add(11 * time.Second))
	if got := r.take(); got != "advert 0; vips false; log (VI_1) Stopped; MASTER->STOP" {
		t.Fatalf("events: %s", got)
	}
}

// A master whose tracked virtual route was deleted resigns as keepalived
// does: priority 0, BACKUP, and master again after the down interval when
// no one else advertises; a backup ignores it.
func TestResign(t *testing.T) {
	in, r := newTestInstance(nil)
	in.Start(t0)
	in.Resign(t0.Add(time.Second))
	if got := r.take(); strings.Contains(got, "advert 0") || in.State() != StateBackup {
		t.Fatalf("backup resigned: %s", got)
	}
	in.Timer(t0.Add(10 * time.Second))
	r.take()
	in.Resign(t0.Add(11 * time.Second))
	if got := r.take(); got != "advert 0; vips false; log (VI_1) Entering BACKUP STATE; MASTER->BACKUP" {
		t.Fatalf("events: %s", got)
	}
	in.Timer(in.Deadline())
	if in.State() != StateMaster {
		t.Fatalf("state %s after the down interval", in.State())
	}
}

func TestFaultAndWeights(t *testing.T) {
	in, r := newTestInstance(nil)
	in.Start(t0)
	in.Timer(t0.Add(10 * time.Second))
	r.take()
	in.SetHealth(t0.Add(11*time.Second), false, -30)
	if got := r.take(); got != "log (VI_1) Changing effective priority from 100 to 70; advert 70" {
		t.Fatalf("weight: %s", got)
	}
	in.SetHealth(t0.Add(12*time.Second), true, -30)
	if in.State() != StateFault || r.vips {
		t.Fatalf("fault: state %s vips %v", in.State(), r.vips)
	}
	if got := r.take(); !strings.Contains(got, "advert 0") {
		t.Fatalf("leaving master for FAULT sends priority 0: %s", got)
	}
	// No adverts and no takeover while in FAULT.
	in.Timer(t0.Add(60 * time.Second))
	in.Receive(t0.Add(60*time.Second), advert(in, 50), peerA)
	if in.State() != StateFault {
		t.Fatal("left FAULT on its own")
	}
	in.SetHealth(t0.Add(61*time.Second), false, 0)
	if in.State() != StateBackup {
		t.Fatalf("recovery: %s", in.State())
	}
	// Clamping: weights never make 255 nor go below 1.
	in.SetHealth(t0.Add(62*time.Second), false, 500)
	if in.Priority() != 254 {
		t.Fatalf("priority %d, want clamp at 254", in.Priority())
	}
	in.SetHealth(t0.Add(63*time.Second), false, -500)
	if in.Priority() != 1 {
		t.Fatalf("priority %d, want clamp at 1", in.Priority())
	}
}

func TestCheck(t *testing.T) {
	in, _ := newTestInstance(nil)
	good := advert(in, 100)
	if err := in.Check(good, peerA, 255, true); err != nil {
		t.Fatal(err)
	}
	mod := func(f func(a *Advert)) *Advert {
		a := *good
		f(&a)
		return &a
	}
	cases := []struct {
		a    *Advert
		ttl  int
		want string
	}{
		{good, 64, "invalid TTL/HL 64"},
		{mod(func(a *Advert) { a.Version = 3 }), 255, "wrong VRRP version 3"},
		{mod(func(a *Advert) { a.AuthType = AuthNone }), 255, "auth type 0, ours is 1"},
		{mod(func(a *Advert) { a.AuthData[0] = 'X' }), 255, "password mismatch"},
		{mod(func(a *Advert) { a.Interval = 2 * time.Second }), 255, "advertisement interval mismatch: mine=1 s rcv'd=2 s"},
		{mod(func(a *Advert) { a.Addrs = nil }), 255, "invalid ip address count 0, expected 1"},
		{mod(func(a *Advert) { a.Addrs = []netip.Addr{peerB} }), 255, "not present in MASTER advert: 10.0.0.100"},
	}
	for _, c := range cases {
		err := in.Check(c.a, peerA, c.ttl, true)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "(VI_1) advert from 10.0.0.1") {
			t.Errorf("error %v, want %q naming instance and peer", err, c.want)
		}
	}
	// vrrp_skip_check_adv_addr: a known master's repeat adverts skip the list check.
	in.SkipCheckAdvAddr = true
	in.Start(t0)
	in.Receive(t0, good, peerA)
	if err := in.Check(mod(func(a *Advert) { a.Addrs = nil }), peerA, 255, true); err != nil {
		t.Errorf("skip_check_adv_addr: %v", err)
	}
	if err := in.Check(mod(func(a *Advert) { a.Addrs = nil }), peerB, 255, true); err == nil {
		t.Error("skip_check_adv_addr skipped the check for a new master")
	}
}

// A peer that checksums v3 unicast adverts the pre-1.3.6 keepalived way
// gets our adverts in the same style.
func TestOldUnicastChecksumIsAnswered(t *testing.T) {
	in, r := newTestInstance(func(c *keepalived.VRRPInstance) {
		c.Version, c.AuthType, c.AuthPass = 3, "", ""
		c.UnicastPeers = []netip.Addr{peerA}
	})
	in.Start(t0)
	if in.Advert(100).OldUnicastChecksum {
		t.Fatal("old checksum style before any peer used it")
	}
	a := in.Advert(150)
	a.OldUnicastChecksum = true
	in.Receive(t0, a, peerA)
	if !in.Advert(100).OldUnicastChecksum {
		t.Fatal("old-style peer not answered in its style")
	}
	if !strings.Contains(r.take(), "Setting unicast VRRPv3 checksum to old version (peer 10.0.0.1)") {
		t.Error("switch not logged")
	}
}

// TestUnicastPeerTTL: a unicast peer with min_ttl/max_ttl is heard only
// when its adverts arrive with a TTL in that range; other peers are not
// checked.
func TestUnicastPeerTTL(t *testing.T) {
	in, _ := newTestInstance(func(c *keepalived.VRRPInstance) {
		c.UnicastPeers = []netip.Addr{peerA, peerB}
		c.PeerTTL = map[netip.Addr]keepalived.TTLRange{peerA: {Min: 60, Max: 64}}
	})
	good := advert(in, 100)
	for _, c := range []struct {
		src  netip.Addr
		ttl  int
		fail bool
	}{{peerA, 64, false}, {peerA, 60, false}, {peerA, 255, true}, {peerA, 59, true}, {peerB, 1, false}} {
		err := in.Check(good, c.src, c.ttl, false)
		if (err != nil) != c.fail {
			t.Errorf("peer %s ttl %d: error %v, want failure %v", c.src, c.ttl, err, c.fail)
		}
		if err != nil && !strings.Contains(err.Error(), "outside the peer's range 60-64") {
			t.Errorf("error %v does not name the range", err)
		}
	}
}
