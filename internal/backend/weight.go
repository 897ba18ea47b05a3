package backend

import (
	"fmt"
	"log"
	"runtime/debug"
	"time"

	"dhproxy/internal/lb"
)

// Run-time weights and slow start.
//
// A server's effective weight (eweight) is what the balancer uses: its user
// weight × lb.WeightScale, lowered while the server warms up after coming
// UP ("slowstart"). Writers (health checks, agent checks, the runtime API)
// change weights through SetWeight/SetWeightPercent/SetUp; each change is
// serialized on the farm and republished to the algorithm, which swaps
// its tables atomically: the request path only ever reads atomics.

// SetWeight sets s's user weight (0 to 256), as "set weight b/s <w>" does.
// Static algorithms (static-rr, map-based hashing) only accept 0 and the
// configured weight, with HAProxy's message.
func (s *Server[S]) SetWeight(w int) error {
	if w < 0 || w > 256 {
		return fmt.Errorf("Absolute weight can only be between 0 and 256 inclusive.")
	}
	f := s.farm
	if _, dyn := f.set.Load().group(s).algo.(lb.Dynamic); !dyn && w != 0 && w != s.iweight {
		return fmt.Errorf("Backend is using a static LB algorithm and only accepts weights '0%%' and '100%%'.")
	}
	f.wmu.Lock()
	s.uweight.Store(int32(w))
	f.reweighLocked(s)
	f.wmu.Unlock()
	f.dispatch(s) // a higher limit or a server back from weight 0 takes waiters
	return nil
}

// SetWeightPercent sets s's user weight to pct% of its configured weight
// (capped at 256), as an agent-check "NN%" reply or "set weight b/s NN%".
func (s *Server[S]) SetWeightPercent(pct int) error {
	if pct < 0 {
		return fmt.Errorf("Relative weight must be positive.")
	}
	return s.SetWeight(min(s.iweight*pct/100, 256))
}

// Weight returns s's current user weight and its configured one.
func (s *Server[S]) Weight() (current, initial int) { return int(s.uweight.Load()), s.iweight }

// EffectiveWeight returns the weight the balancer uses now (user weight ×
// lb.WeightScale at full throttle).
func (s *Server[S]) EffectiveWeight() int { return int(s.eweight.Load()) }

// ShownWeight is the effective weight as HAProxy's stats show it: a
// drained server keeps its weight there, one in maintenance the weight it
// had when it entered it.
func (s *Server[S]) ShownWeight() int { return int(s.shown.Load()) }

// SetUp records a health transition. A server coming back UP with
// "slowstart" starts at a fraction of its weight and maxconn and ramps up
// linearly; a server going DOWN hands its queue to the farm.
func (s *Server[S]) SetUp(up bool) {
	if up && s.admin.Load()&AdminResolvMaint != 0 {
		return // no address from DNS: nothing to send traffic to
	}
	was := s.up.Swap(up)
	if was == up {
		return
	}
	f := s.farm
	now := time.Now().UnixNano()
	s.lastChange.Store(now)
	if up {
		if since := s.downSince.Swap(0); since != 0 {
			s.downTotal.Add(now - since)
		}
	} else {
		s.downSince.CompareAndSwap(0, now)
	}
	if !up {
		if s.admin.Load()&AdminMaintAny == 0 {
			f.events.WentDown(s.owner)
		}
		s.starting.Store(false)
		f.redistribute(s)
		return
	}
	s.upSince.Store(time.Now().UnixNano())
	if s.Conf.SlowStart > 0 {
		s.starting.Store(true)
		go s.warmUp(s.upSince.Load())
	}
	f.wmu.Lock()
	f.reweighLocked(s)
	f.wmu.Unlock()
	f.dispatch(s)
}

// reweighLocked recomputes s's effective weight, HAProxy's
// server_recalc_eweight: during slow start, with a dynamic algorithm, the
// weight is uweight × (WeightScale×elapsed + period)/period in whole
// seconds, at least one step from the start. The caller holds f.wmu.
func (f *Farm[S]) reweighLocked(s *Server[S]) {
	w := lb.WeightScale
	if s.starting.Load() {
		if el, ss := s.slowStartElapsed(); el < ss {
			if _, dyn := f.set.Load().group(s).algo.(lb.Dynamic); dyn {
				w = int((int64(lb.WeightScale)*el + ss) / ss)
			}
		} else {
			s.starting.Store(false)
		}
	}
	ew := int(s.uweight.Load()) * w
	if s.admin.Load()&AdminMaintAny == 0 {
		s.shown.Store(int32(ew))
	}
	if s.drain.Load() {
		ew = 0
	}
	s.eweight.Store(int32(ew))
	if s.deleted.Load() {
		return // in no set any more
	}
	if d, ok := f.set.Load().group(s).algo.(lb.Dynamic); ok {
		d.SetWeight(int(s.slot.Load()), ew)
	}
}

// warmUp ramps s's weight and limits up during slow start, every
// max(1s, slowstart/20) as HAProxy's warm-up task, until the period ends
// or the server goes down again (since is then stale).
func (s *Server[S]) warmUp(since int64) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("[ALERT] slow start of %s/%s: panic: %v\n%s", s.farm.p.Name, s.Name, r, debug.Stack())
		}
	}()
	step := max(time.Second, s.Conf.SlowStart/20)
	t := time.NewTicker(step)
	defer t.Stop()
	f := s.farm
	for range t.C {
		if s.upSince.Load() != since || !s.up.Load() {
			return
		}
		f.wmu.Lock()
		f.reweighLocked(s)
		done := !s.starting.Load()
		f.wmu.Unlock()
		f.dispatch(s)
		if done {
			return
		}
	}
}

// SetDrain puts s in or out of drain mode: a draining server keeps its
// weights but takes no new balanced traffic (effective weight 0), while
// persistent clients (cookie, stick table) still reach it, as HAProxy's
// "set server <b>/<s> state drain".
func (s *Server[S]) SetDrain(on bool) {
	if s.drain.Swap(on) == on {
		return
	}
	f := s.farm
	f.wmu.Lock()
	f.reweighLocked(s)
	f.wmu.Unlock()
	f.dispatch(s)
}

// Throttle is the percentage of its configured limits a server in slow
// start is allowed (the stats "throttle" column); 100 outside slow start.
func (s *Server[S]) Throttle() int {
	if !s.starting.Load() {
		return 100
	}
	el, ss := s.slowStartElapsed()
	if el >= ss {
		return 100
	}
	return int(100 * el / ss)
}
