package vrrp

import (
	"fmt"
	"net/netip"
	"slices"
	"time"

	"dhproxy/internal/config/keepalived"
)

// State is a VRRP instance's state, with keepalived's FAULT and STOP.
type State int

const (
	StateInit State = iota
	StateBackup
	StateMaster
	StateFault
	StateStop
)

func (s State) String() string {
	return [...]string{"INIT", "BACKUP", "MASTER", "FAULT", "STOP"}[s]
}

// Actions is what an instance does to the world. The runtime implements it
// with sockets and netlink; tests record the calls.
type Actions interface {
	// SendAdvert transmits one advert with the given priority.
	SendAdvert(in *Instance, prio uint8)
	// SetVIPs adds the virtual addresses (and announces them) or removes them.
	SetVIPs(in *Instance, on bool)
	// Transition reports a state change once it has happened.
	Transition(in *Instance, from, to State)
	// Logf logs one keepalived-style line.
	Logf(format string, args ...any)
}

// Instance is the state machine of one vrrp_instance. It is not safe for
// concurrent use: the runtime drives every instance from one goroutine,
// passing the current time so tests can use a fake clock.
type Instance struct {
	Cfg     *keepalived.VRRPInstance
	Name    string
	Primary netip.Addr // source address of adverts; breaks priority ties
	act     Actions
	// SkipCheckAdvAddr is global_defs' vrrp_skip_check_adv_addr.
	SkipCheckAdvAddr bool

	state          State
	fault          bool // an interface or a weight-0 tracked object is down
	weightAdj      int  // sum of tracked weights in effect
	masterAdverInt time.Duration
	downAt         time.Time // BACKUP: when the master is declared dead
	advertAt       time.Time // MASTER: next advert
	preemptAt      time.Time // preempt_delay running since a lower-priority advert
	lastMaster     netip.Addr
	auth           [authLen]byte
	oldChecksum    bool         // the peer is keepalived < 1.3.6: answer v3 unicast in its checksum style
	advertised     []netip.Addr // VIPs of the advert's family, in config order
}

// NewInstance makes the state machine for cfg; primary is the address its
// adverts come from (unicast_src_ip or the interface's first address).
func NewInstance(cfg *keepalived.VRRPInstance, primary netip.Addr, act Actions) *Instance {
	in := &Instance{Cfg: cfg, Name: cfg.Name, Primary: primary, act: act, masterAdverInt: cfg.AdvertInt}
	copy(in.auth[:], cfg.AuthPass)
	for _, v := range cfg.VIPs {
		if a := v.Prefix.Addr(); a.Is4() == primary.Is4() {
			in.advertised = append(in.advertised, a)
		}
	}
	return in
}

// State is the current state.
func (in *Instance) State() State { return in.state }

// Priority is the effective priority: the configured one moved by tracked
// weights, clamped to 1..254 as keepalived does; an owner (255) never moves.
func (in *Instance) Priority() uint8 {
	if in.Cfg.Priority == 255 {
		return 255
	}
	return uint8(min(max(in.Cfg.Priority+in.weightAdj, 1), 254))
}

// Advert builds the advert this instance sends at priority prio.
func (in *Instance) Advert(prio uint8) *Advert {
	a := &Advert{Version: in.Cfg.Version, VRID: uint8(in.Cfg.VRID), Priority: prio, Interval: in.Cfg.AdvertInt, Addrs: in.advertised}
	if in.Cfg.Version == 2 && in.Cfg.AuthType == "PASS" {
		a.AuthType, a.AuthData = AuthPass, in.auth
	}
	a.OldUnicastChecksum = in.oldChecksum
	return a
}

// skew is keepalived's (256-prio)×interval/256 (v2: a 1 s interval).
func (in *Instance) skew() time.Duration {
	iv := in.masterAdverInt
	if in.Cfg.Version == 2 {
		iv = time.Second
	}
	return time.Duration(256-int(in.Priority())) * iv / 256
}

// DownInterval is the master down interval: 3 adverts plus the skew.
func (in *Instance) DownInterval() time.Duration { return 3*in.masterAdverInt + in.skew() }

// Deadline is when Timer must next be called; zero when no timer runs.
func (in *Instance) Deadline() time.Time {
	switch in.state {
	case StateBackup:
		return in.downAt
	case StateMaster:
		return in.advertAt
	}
	return time.Time{}
}

// Start leaves INIT: an address owner configured as MASTER takes over at
// once, every other instance starts as BACKUP and waits for a master.
func (in *Instance) Start(now time.Time) {
	if in.Cfg.NoPreempt && in.Cfg.State == "MASTER" {
		in.act.Logf("(%s) Warning - nopreempt will not work with initial state MASTER - clearing", in.Name)
	}
	switch {
	case in.fault:
		in.act.SetVIPs(in, false) // leftovers of a previous run
		in.enter(now, StateFault)
	case in.Cfg.State == "MASTER" && in.Priority() == 255:
		in.enter(now, StateMaster)
	default:
		in.act.SetVIPs(in, false) // keepalived removes leftovers of a previous run
		in.act.Logf("(%s) Entering BACKUP STATE (init)", in.Name)
		in.enter(now, StateBackup)
	}
}

func (in *Instance) noPreempt() bool { return in.Cfg.NoPreempt && in.Cfg.State != "MASTER" }

// Timer runs what is due at now.
func (in *Instance) Timer(now time.Time) {
	switch in.state {
	case StateBackup:
		if !now.Before(in.downAt) {
			in.act.Logf("(%s) Receive advertisement timeout", in.Name)
			in.enter(now, StateMaster)
		}
	case StateMaster:
		if !now.Before(in.advertAt) {
			in.act.SendAdvert(in, in.Priority())
			in.advertAt = now.Add(in.Cfg.AdvertInt)
		}
	}
}

// Check validates an advert for this instance as keepalived does; the
// error names the peer. ttl < 0 means unknown (not checked).
func (in *Instance) Check(a *Advert, src netip.Addr, ttl int, multicast bool) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("(%s) advert from %s: %s", in.Name, src, fmt.Sprintf(format, args...))
	}
	if multicast && ttl >= 0 && ttl != 255 {
		return bad("invalid TTL/HL %d, expected 255", ttl)
	}
	if r, ok := in.Cfg.PeerTTL[src]; ok && !multicast && ttl >= 0 && (ttl < r.Min || ttl > r.Max) {
		return bad("TTL/HL %d outside the peer's range %d-%d (min_ttl/max_ttl)", ttl, r.Min, r.Max)
	}
	if a.Version != in.Cfg.Version {
		return bad("wrong VRRP version %d, ours is %d", a.Version, in.Cfg.Version)
	}
	if int(a.VRID) != in.Cfg.VRID {
		return bad("VRID %d is not ours (%d)", a.VRID, in.Cfg.VRID)
	}
	if a.Version == 2 {
		want := uint8(AuthNone)
		if in.Cfg.AuthType == "PASS" {
			want = AuthPass
		} else if in.Cfg.AuthType == "AH" {
			want = AuthAH
		}
		if a.AuthType != want {
			return bad("received a packet with auth type %d, ours is %d", a.AuthType, want)
		}
		if want == AuthPass && a.AuthData != in.auth {
			return bad("authentication failure: password mismatch")
		}
		if a.Interval != in.Cfg.AdvertInt {
			return bad("advertisement interval mismatch: mine=%d s rcv'd=%d s", in.Cfg.AdvertInt/time.Second, a.Interval/time.Second)
		}
	}
	if in.fault || (in.Cfg.Version == 2 && a.Interval == 0) {
		return nil
	}
	// vrrp_skip_check_adv_addr skips the list only for repeat adverts of
	// the master already known.
	skip := in.SkipCheckAdvAddr && src == in.lastMaster
	if !skip {
		if len(a.Addrs) != len(in.advertised) {
			return bad("invalid ip address count %d, expected %d", len(a.Addrs), len(in.advertised))
		}
		for _, want := range in.advertised {
			if !slices.Contains(a.Addrs, want) {
				return bad("ip address associated with VRID %d not present in MASTER advert: %s", in.Cfg.VRID, want)
			}
		}
	}
	return nil
}

// Receive handles an advert that passed Check.
func (in *Instance) Receive(now time.Time, a *Advert, src netip.Addr) {
	if a.OldUnicastChecksum && !in.oldChecksum {
		in.act.Logf("(%s) Setting unicast VRRPv3 checksum to old version (peer %s)", in.Name, src)
		in.oldChecksum = true
	}
	prio := in.Priority()
	switch in.state {
	case StateBackup:
		in.lastMaster = src
		switch {
		case a.Priority == 0:
			in.act.Logf("(%s) Backup received priority 0 advertisement", in.Name)
			in.downAt = now.Add(in.skew())
		case in.noPreempt() || a.Priority >= prio || (in.Cfg.PreemptDelay > 0 && (in.preemptAt.IsZero() || now.Before(in.preemptAt))):
			if in.Cfg.PreemptDelay > 0 {
				if a.Priority >= prio {
					in.preemptAt = time.Time{}
				} else if in.preemptAt.IsZero() {
					in.preemptAt = now.Add(in.Cfg.PreemptDelay)
				}
			}
			if in.Cfg.Version == 3 {
				in.masterAdverInt = a.Interval // RFC 5798: a backup follows the master's interval
			}
			in.downAt = now.Add(in.DownInterval())
		default:
			// RFC 5798 discards the advert and lets the down timer run out
			// (3 adverts + skew) before this higher-priority backup takes
			// over; the outcome is decided already, so take over after the
			// skew, as after a priority-0 advert: a master whose tracked
			// proxy lost its servers hands over within one advert.
			in.act.Logf("(%s) received lower priority (%d) advert from %s - discarding", in.Name, a.Priority, src)
			if at := now.Add(in.skew()); at.Before(in.downAt) {
				in.downAt = at
			}
		}
	case StateMaster:
		switch {
		case a.Priority == 0:
			in.act.SendAdvert(in, prio)
			in.advertAt = now.Add(in.Cfg.AdvertInt)
		case a.Priority > prio || (a.Priority == prio && addrGreater(src, in.Primary)):
			in.act.Logf("(%s) Master received advert from %s with higher priority %d, ours %d", in.Name, src, a.Priority, prio)
			in.lastMaster = src
			if in.Cfg.Version == 3 {
				in.masterAdverInt = a.Interval
			}
			in.enter(now, StateBackup)
		case a.Priority < prio:
			// Two masters (a healed partition): ours wins; say so at once.
			in.act.Logf("(%s) Received advert from %s with lower priority %d, ours %d, forcing new election", in.Name, src, a.Priority, prio)
			in.act.SendAdvert(in, prio)
			in.advertAt = now.Add(in.Cfg.AdvertInt)
		}
	}
}

func addrGreater(a, b netip.Addr) bool { return a.Compare(b) > 0 }

// SetHealth applies tracked objects: fault puts the instance in FAULT,
// weightAdj moves its priority.
func (in *Instance) SetHealth(now time.Time, fault bool, weightAdj int) {
	old := in.Priority()
	in.weightAdj = weightAdj
	if p := in.Priority(); p != old {
		in.act.Logf("(%s) Changing effective priority from %d to %d", in.Name, old, p)
		if in.state == StateMaster {
			// The backups learn the new priority with the next advert, at once.
			in.act.SendAdvert(in, p)
			in.advertAt = now.Add(in.Cfg.AdvertInt)
		}
	}
	if fault == in.fault {
		return
	}
	in.fault = fault
	switch {
	case fault && in.state != StateInit && in.state != StateStop:
		in.enter(now, StateFault)
	case !fault && in.state == StateFault:
		in.act.Logf("(%s) Entering BACKUP STATE", in.Name)
		in.enter(now, StateBackup)
	}
}

// Force moves the instance to MASTER or BACKUP because its sync group did;
// an instance in FAULT stays there.
func (in *Instance) Force(now time.Time, to State) {
	if in.state == to || in.state == StateStop || (in.fault && to != StateFault) {
		return
	}
	in.enter(now, to)
}

// Resume takes over from prev, the same VRRP router under its previous
// settings, after a reload: as keepalived does, a master stays master
// (one advert at the new priority tells the backups, so a lower priority
// hands over by the normal election), a backup keeps waiting for the
// master it heard, and nothing is reported as a state change. The caller
// sets a resumed master's VIPs: only the new ones need announcing.
func (in *Instance) Resume(now time.Time, prev *Instance, fault bool, weightAdj int) {
	in.weightAdj, in.fault = weightAdj, fault
	in.lastMaster, in.oldChecksum, in.masterAdverInt = prev.lastMaster, prev.oldChecksum, prev.masterAdverInt
	in.state = prev.state
	switch {
	case fault && in.state != StateFault:
		in.enter(now, StateFault)
	case !fault && in.state == StateFault:
		in.act.Logf("(%s) Entering BACKUP STATE", in.Name)
		in.enter(now, StateBackup)
	case in.state == StateMaster:
		in.masterAdverInt = in.Cfg.AdvertInt
		in.act.SendAdvert(in, in.Priority())
		in.advertAt = now.Add(in.Cfg.AdvertInt)
	case in.state == StateBackup:
		in.downAt = now.Add(in.DownInterval())
	}
}

// Resign moves a master to BACKUP because something it tracks vanished
// (keepalived: a virtual route deleted by hand), with a priority 0 advert
// so that a backup takes over at once; with no backup it becomes master
// again after its down interval.
func (in *Instance) Resign(now time.Time) {
	if in.state != StateMaster {
		return
	}
	in.act.SendAdvert(in, 0)
	in.enter(now, StateBackup)
}

// Stop leaves the protocol: a master sends priority 0 so a backup takes
// over after its skew time rather than the full down interval.
func (in *Instance) Stop(now time.Time) {
	if in.state == StateStop {
		return
	}
	in.enter(now, StateStop)
}

func (in *Instance) enter(now time.Time, to State) {
	from := in.state
	if from == StateMaster && to != StateMaster {
		if to != StateBackup {
			in.act.SendAdvert(in, 0)
		}
		in.act.SetVIPs(in, false)
	}
	in.state = to
	switch to {
	case StateMaster:
		in.act.Logf("(%s) Entering MASTER STATE", in.Name)
		in.masterAdverInt = in.Cfg.AdvertInt
		in.act.SendAdvert(in, in.Priority())
		in.act.SetVIPs(in, true)
		in.advertAt = now.Add(in.Cfg.AdvertInt)
	case StateBackup:
		if from == StateMaster {
			in.act.Logf("(%s) Entering BACKUP STATE", in.Name)
		} else {
			in.masterAdverInt = in.Cfg.AdvertInt // no master heard yet
		}
		in.downAt = now.Add(in.DownInterval())
	case StateFault:
		in.act.Logf("(%s) Entering FAULT STATE", in.Name)
	case StateStop:
		in.act.Logf("(%s) Stopped", in.Name)
	}
	in.act.Transition(in, from, to)
}
