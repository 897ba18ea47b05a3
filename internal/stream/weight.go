package stream

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
// serialized on the backend and republished to the algorithm, which swaps
// its tables atomically: the request path only ever reads atomics.

// SetWeight sets s's user weight (0 to 256), as "set weight b/s <w>" does.
// Static algorithms (static-rr, map-based hashing) only accept 0 and the
// configured weight, with HAProxy's message.
func (s *Server) SetWeight(w int) error {
	if w < 0 || w > 256 {
		return fmt.Errorf("Absolute weight can only be between 0 and 256 inclusive.")
	}
	b := s.backend
	if _, dyn := b.set.Load().group(s).algo.(lb.Dynamic); !dyn && w != 0 && w != s.iweight {
		return fmt.Errorf("Backend is using a static LB algorithm and only accepts weights '0%%' and '100%%'.")
	}
	b.wmu.Lock()
	s.uweight.Store(int32(w))
	b.reweighLocked(s)
	b.wmu.Unlock()
	b.dispatch(s) // a higher limit or a server back from weight 0 takes waiters
	return nil
}

// SetWeightPercent sets s's user weight to pct% of its configured weight
// (capped at 256), as an agent-check "NN%" reply or "set weight b/s NN%".
func (s *Server) SetWeightPercent(pct int) error {
	if pct < 0 {
		return fmt.Errorf("Relative weight must be positive.")
	}
	return s.SetWeight(min(s.iweight*pct/100, 256))
}

// Weight returns s's current user weight and its configured one.
func (s *Server) Weight() (current, initial int) { return int(s.uweight.Load()), s.iweight }

// EffectiveWeight returns the weight the balancer uses now (user weight ×
// lb.WeightScale at full throttle).
func (s *Server) EffectiveWeight() int { return int(s.eweight.Load()) }

// SetUp records a health transition. A server coming back UP with
// "slowstart" starts at a fraction of its weight and maxconn and ramps up
// linearly; a server going DOWN hands its queue to the backend.
func (s *Server) SetUp(up bool) {
	if up && s.admin.Load()&AdminResolvMaint != 0 {
		return // no address from DNS: nothing to send traffic to
	}
	was := s.up.Swap(up)
	if was == up {
		return
	}
	b := s.backend
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
		if s.admin.Load()&adminMaintAny == 0 {
			s.Stats.Chkdown.Add(1)
		}
		s.starting.Store(false)
		b.redistribute(s)
		return
	}
	s.upSince.Store(time.Now().UnixNano())
	if s.Conf.SlowStart > 0 {
		s.starting.Store(true)
		go s.warmUp(s.upSince.Load())
	}
	b.wmu.Lock()
	b.reweighLocked(s)
	b.wmu.Unlock()
	b.dispatch(s)
}

// reweighLocked recomputes s's effective weight, HAProxy's
// server_recalc_eweight: during slow start, with a dynamic algorithm, the
// weight is uweight × (WeightScale×elapsed + period)/period in whole
// seconds, at least one step from the start. The caller holds b.wmu.
func (b *Backend) reweighLocked(s *Server) {
	w := lb.WeightScale
	if s.starting.Load() {
		if el, ss := s.slowStartElapsed(); el < ss {
			if _, dyn := b.set.Load().group(s).algo.(lb.Dynamic); dyn {
				w = int((int64(lb.WeightScale)*el + ss) / ss)
			}
		} else {
			s.starting.Store(false)
		}
	}
	ew := int(s.uweight.Load()) * w
	if s.drain.Load() {
		ew = 0
	}
	s.eweight.Store(int32(ew))
	if s.deleted.Load() {
		return // in no set any more
	}
	if d, ok := b.set.Load().group(s).algo.(lb.Dynamic); ok {
		d.SetWeight(int(s.slot.Load()), ew)
	}
}

// warmUp ramps s's weight and limits up during slow start, every
// max(1s, slowstart/20) as HAProxy's warm-up task, until the period ends
// or the server goes down again (since is then stale).
func (s *Server) warmUp(since int64) {
	defer func() {
		if r := recover(); r != nil {
			log.Printf("[ALERT] slow start of %s/%s: panic: %v\n%s", s.backend.P.Name, s.Name, r, debug.Stack())
		}
	}()
	step := max(time.Second, s.Conf.SlowStart/20)
	t := time.NewTicker(step)
	defer t.Stop()
	b := s.backend
	for range t.C {
		if s.upSince.Load() != since || !s.up.Load() {
			return
		}
		b.wmu.Lock()
		b.reweighLocked(s)
		done := !s.starting.Load()
		b.wmu.Unlock()
		b.dispatch(s)
		if done {
			return
		}
	}
}

// SetDrain puts s in or out of drain mode: a draining server keeps its
// weights but takes no new balanced traffic (effective weight 0), while
// persistent clients (cookie, stick table) still reach it, as HAProxy's
// "set server <b>/<s> state drain".
func (s *Server) SetDrain(on bool) {
	if s.drain.Swap(on) == on {
		return
	}
	b := s.backend
	b.wmu.Lock()
	b.reweighLocked(s)
	b.wmu.Unlock()
	b.dispatch(s)
}

// Throttle is the percentage of its configured limits a server in slow
// start is allowed (the stats "throttle" column); 100 outside slow start.
func (s *Server) Throttle() int {
	if !s.starting.Load() {
		return 100
	}
	el, ss := s.slowStartElapsed()
	if el >= ss {
		return 100
	}
	return int(100 * el / ss)
}

// QueueLen returns how many requests wait for a slot on s (stats "qcur").
func (s *Server) QueueLen() int { return int(s.queue.n.Load()) }

// QueueLen returns how many requests wait for any server of b.
func (b *Backend) QueueLen() int { return int(b.queue.n.Load()) }

// FindServer returns server srv of backend be, or nil: the entry point of
// the runtime API and agent checks to SetWeight, SetWeightPercent, SetDrain.
func (rt *Runtime) FindServer(be, srv string) *Server {
	if b := rt.backends[be]; b != nil {
		for _, s := range b.ServerList() {
			if s.Name == srv {
				return s
			}
		}
	}
	return nil
}
