// Package backend is the server side of a proxy: a backend's servers,
// their state and weights, the balancing between them, and the queues
// where requests wait for a serving slot. The request path reads it
// lock-free (atomics); health checks and the runtime API change it.
//
// It knows nothing of connections or requests. The caller's server type
// (internal/stream's) embeds a Server and is handed back as S by the
// picking and queueing calls; what the balancer does is reported through
// Events, for the caller's statistics.
package backend

import (
	"sync/atomic"
	"time"

	"dhproxy/internal/lb"
	"dhproxy/internal/model"
)

// Administrative states, HAProxy's SRV_ADMF_* bits.
const (
	AdminMaint        = 0x01 // FMAINT: forced maintenance
	AdminInheritMaint = 0x02 // IMAINT: the server it tracks is in maintenance
	AdminConfigMaint  = 0x04 // CMAINT: "disabled" in the configuration
	AdminDrain        = 0x08 // FDRAIN: forced drain
	AdminResolvMaint  = 0x20 // RMAINT: DNS gives the server no address

	AdminMaintAny = AdminMaint | AdminConfigMaint
)

// Server is a server's balancing state, read lock-free on the request
// path. S is the caller's server type that holds it.
type Server[S any] struct {
	Conf *model.Server
	Name string

	owner S
	farm  *Farm[S]
	up    atomic.Bool
	cur   atomic.Int32 // requests/connections currently served
	// slot is s's position in its group of the farm's current server
	// set, as the algorithm knows it; written under farm.wmu.
	slot atomic.Int32
	// deleted: "del server" took s out of the farm.
	deleted atomic.Bool

	// maxconn and minconn after HAProxy's rules: minconn alone (or above
	// maxconn) becomes the maxconn; maxconn alone is a static limit.
	maxconn atomic.Int32 // the agent's "maxconn:N" changes it (SetMaxconn)
	minconn int

	// Weights, as HAProxy keeps them: iweight from the configuration,
	// uweight set at run time, eweight the effective one the algorithm
	// uses (uweight × lb.WeightScale, lowered during slow start).
	iweight int
	uweight atomic.Int32
	eweight atomic.Int32
	// shown is the effective weight as HAProxy's stats show it (its
	// cur_eweight): a drain does not lower it and it stays as it was
	// while the server is in maintenance.
	shown    atomic.Int32
	upSince  atomic.Int64 // unix nanoseconds of the last DOWN→UP, 0: up since start
	starting atomic.Bool  // in slow start
	drain    atomic.Bool  // no new balanced traffic (SetDrain)
	queue    waitQueue[S] // requests waiting for a slot on this server

	admin      atomic.Uint32 // Admin* bits
	lastChange atomic.Int64  // unix nanoseconds of the last state change
	downSince  atomic.Int64  // unix nanoseconds when it went DOWN, 0 while up
	downTotal  atomic.Int64  // nanoseconds spent DOWN before downSince
}

// Init makes s server sc, up unless "disabled" (then in configuration
// maintenance), at its configured weight, to be put in a farm (NewFarm,
// Farm.Add); owner is what the farm hands back when it chooses s.
func (s *Server[S]) Init(owner S, sc *model.Server) {
	s.Conf, s.Name, s.owner, s.iweight = sc, sc.Name, owner, sc.Weight
	s.maxconn.Store(int32(max(sc.Maxconn, sc.Minconn)))
	s.minconn = sc.Minconn
	if s.minconn == 0 {
		s.minconn = max(sc.Maxconn, sc.Minconn)
	}
	s.up.Store(!sc.Disabled)
	s.lastChange.Store(time.Now().UnixNano())
	s.uweight.Store(int32(sc.Weight))
	s.eweight.Store(int32(sc.Weight * lb.WeightScale))
	s.shown.Store(s.eweight.Load())
	if sc.Disabled {
		s.StartInMaint(AdminConfigMaint)
	}
}

// StartInMaint puts s, not yet serving, down in the maintenance of the
// admin bits (down since its creation).
func (s *Server[S]) StartInMaint(admin uint32) {
	s.admin.Or(admin)
	s.up.Store(false)
	s.downSince.Store(s.lastChange.Load())
}

// Owner is the caller's server that holds s.
func (s *Server[S]) Owner() S { return s.owner }

// Up tells whether s is up (not stopped by a check, not in maintenance).
func (s *Server[S]) Up() bool { return s.up.Load() }

// Usable tells whether s may take new traffic: up with a non-zero weight.
func (s *Server[S]) Usable() bool { return s.up.Load() && s.eweight.Load() > 0 }

// Draining tells whether s takes no new balanced traffic while up.
func (s *Server[S]) Draining() bool { return s.drain.Load() }

// Deleted tells whether "del server" took s out of its farm.
func (s *Server[S]) Deleted() bool { return s.deleted.Load() }

// AdminState returns the Admin* bits: maintenance and drain, as the
// configuration, DNS and the runtime API set them.
func (s *Server[S]) AdminState() uint32 { return s.admin.Load() }

// SetAdmin sets the admin bits and returns the bits before.
func (s *Server[S]) SetAdmin(bits uint32) (old uint32) { return s.admin.Or(bits) }

// ClearAdmin clears the admin bits and returns the bits before. Leaving
// maintenance shows the weight set meanwhile.
func (s *Server[S]) ClearAdmin(bits uint32) (old uint32) {
	old = s.admin.And(^bits)
	if old&AdminMaintAny != 0 && (old&^bits)&AdminMaintAny == 0 {
		s.shown.Store(s.uweight.Load() * lb.WeightScale)
	}
	return old
}

// Cur returns the requests or connections s serves now.
func (s *Server[S]) Cur() int { return int(s.cur.Load()) }

// Downtime returns how long s has been DOWN in total.
func (s *Server[S]) Downtime() time.Duration {
	d := s.downTotal.Load()
	if since := s.downSince.Load(); since != 0 {
		d += time.Now().UnixNano() - since
	}
	return time.Duration(d)
}

// LastChange returns when s last changed state (the start time if never).
func (s *Server[S]) LastChange() time.Time { return time.Unix(0, s.lastChange.Load()) }

// SetMaxconn changes the server's connection limit at run time, as an
// agent's "maxconn:N" reply does (0: no limit).
func (s *Server[S]) SetMaxconn(n int) { s.maxconn.Store(int32(max(n, 0))) }

// Maxconn is s's connection limit now; 0: none.
func (s *Server[S]) Maxconn() int { return int(s.maxconn.Load()) }

// QueueLen returns how many requests wait for a slot on s (stats "qcur").
func (s *Server[S]) QueueLen() int { return int(s.queue.n.Load()) }

// HasRoom tells whether s can take one more request now without queueing
// it (haproxy's server_has_room).
func (s *Server[S]) HasRoom() bool {
	return s.maxconn.Load() == 0 || int(s.cur.Load()) < s.maxconnNow()
}

// maxconnNow is HAProxy's srv_dynamic_maxconn: with "minconn" below
// "maxconn", the limit grows from minconn to maxconn as the farm's load
// (requests served and queued, HAProxy's beconn) grows to "fullconn";
// during slow start it ramps up from 1 with the time since the server came
// up. 0 means no limit.
func (s *Server[S]) maxconnNow() int {
	limit := int(s.maxconn.Load())
	max := limit
	if max == 0 {
		return 0
	}
	f := s.farm
	if s.minconn < limit {
		if be := int(f.beconn.Load() + f.queued.Load()); be < f.fullconn {
			max = be * limit / f.fullconn
			if max < s.minconn {
				max = s.minconn
			}
		}
	}
	if s.starting.Load() {
		if el, ss := s.slowStartElapsed(); el < ss {
			max = max * int(100*el/ss) / 100
			if max < 1 {
				max = 1
			}
		}
	}
	return max
}

// slowStartElapsed returns the whole seconds since the server came up and
// the slow start period in whole seconds (rounded up), as HAProxy counts.
func (s *Server[S]) slowStartElapsed() (elapsed, period int64) {
	period = int64((s.Conf.SlowStart + time.Second - 1) / time.Second)
	elapsed = (s.farm.now() - s.upSince.Load()) / int64(time.Second)
	return max(elapsed, 0), period
}

// full tells whether the balancer must pass s over: it has a maxconn and
// is at its current limit or already has requests waiting.
func (s *Server[S]) full() bool {
	if s.maxconn.Load() == 0 {
		return false
	}
	return s.queue.n.Load() > 0 || int(s.cur.Load()) >= s.maxconnNow()
}

// tryTake takes a serving slot on s without waiting; ignoreQueue lets the
// queue dispatcher hand slots to waiters in order.
func (s *Server[S]) tryTake(ignoreQueue bool) bool {
	if s.maxconn.Load() > 0 {
		if !ignoreQueue && s.queue.n.Load() > 0 {
			return false
		}
		max := int32(s.maxconnNow())
		for {
			c := s.cur.Load()
			if c >= max {
				return false
			}
			if s.cur.CompareAndSwap(c, c+1) {
				break
			}
		}
	} else {
		s.cur.Add(1)
	}
	f := s.farm
	f.events.Took(s.owner, s.cur.Load(), f.beconn.Add(1))
	return true
}

// Release gives back the serving slot s's caller held, handing it to a
// waiting request if there is one.
func (s *Server[S]) Release() {
	s.cur.Add(-1)
	f := s.farm
	f.beconn.Add(-1)
	if s.queue.n.Load() > 0 || f.queue.n.Load() > 0 {
		f.dispatch(s)
	}
}
