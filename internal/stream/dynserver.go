package stream

import (
	"errors"
	"os"

	"dhproxy/internal/check"
	"dhproxy/internal/lb"
	"dhproxy/internal/model"
)

// The runtime API's answers, in haproxy 2.6's words.
var (
	ErrStaticLB       = errors.New("Backend must use a dynamic load balancing to support dynamic servers.")
	ErrServerExists   = errors.New("Already exists a server with the same name in backend.")
	ErrDelNotMaint    = errors.New("Only servers in maintenance mode can be deleted.")
	ErrDelReferenced  = errors.New("This server cannot be removed at runtime due to other configuration elements pointing to it.")
	ErrDelConnections = errors.New("Server still has connections attached to it, cannot remove it.")
	ErrNoHealthCheck  = errors.New("Health check was not configured on this server, cannot enable.")
	ErrNoAgentCheck   = errors.New("Agent was not configured on this server, cannot enable.")
)

// Dynamic tells whether b's balancing algorithm lets servers be added at
// run time: the ones whose weights can change (HAProxy's BE_LB_PROP_DYN).
func (b *Backend) Dynamic() bool {
	_, ok := b.set.Load().act.algo.(lb.Dynamic)
	return ok && b.dispSrv == nil
}

// AddServer adds the server of "add server" to b. As in haproxy 2.6 it
// starts in maintenance ("enable server" or "set server ... state ready"
// brings it in) unless ready is true (its "enabled" keyword), also in
// configuration maintenance when sc is "disabled"; its health check and
// agent wait for "enable health" and "enable agent". sc.ID 0 takes the
// lowest id free in b.
func (rt *Runtime) AddServer(b *Backend, sc *model.Server, ready bool) (*Server, error) {
	if !b.Dynamic() {
		return nil, ErrStaticLB
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	cur := b.set.Load().all
	used := map[int]bool{}
	for _, o := range cur {
		if o.Name == sc.Name {
			return nil, ErrServerExists
		}
		used[o.Conf.ID] = true
	}
	if sc.ID == 0 {
		sc.ID = 1
		for used[sc.ID] {
			sc.ID++
		}
	} else {
		sc.ForcedID = true
		if used[sc.ID] {
			return nil, errors.New("'id' is already used by another server of the backend.")
		}
	}
	disabled := sc.Disabled
	sc.Disabled = false // the admin flags below say it; checks may start later
	s := b.newServer(sc)
	if !ready || disabled {
		flags := uint32(AdminMaint)
		if disabled {
			flags |= AdminConfigMaint
		}
		if ready {
			flags = AdminConfigMaint
		}
		s.admin.Store(flags)
		s.addedMaint = true
		s.up.Store(false)
		s.downSince.Store(s.lastChange.Load())
	}
	s.adminCtl.Pause(false, true)
	s.adminCtl.Pause(true, true)
	next := make([]*Server, len(cur), len(cur)+1)
	copy(next, cur)
	b.set.Store(b.newSet(append(next, s)))
	return s, nil
}

// DelServer takes s out of its backend ("del server"): only a server in
// maintenance, that nothing else names, with no connection nor queued
// request, as haproxy 2.6 requires. Its pooled idle connections are
// closed and its checks stopped.
func (rt *Runtime) DelServer(s *Server) error {
	b := s.backend
	if s.admin.Load()&adminMaintAny == 0 {
		return ErrDelNotMaint
	}
	b.wmu.Lock()
	defer b.wmu.Unlock()
	cur := b.set.Load().all
	for _, o := range cur {
		if tr := o.Conf.Options["track"]; o != s && (tr == s.Name || tr == b.P.Name+"/"+s.Name) {
			return ErrDelReferenced
		}
	}
	if s.cur.Load() > 0 || s.queue.n.Load() > 0 {
		return ErrDelConnections
	}
	next := make([]*Server, 0, len(cur))
	for _, o := range cur {
		if o != s {
			next = append(next, o)
		}
	}
	b.set.Store(b.newSet(next))
	s.deleted.Store(true)
	if s.stopChecks != nil {
		s.stopChecks()
		s.stopChecks = nil
	}
	// A configured server's checks run in the start-up group, which
	// stops as a whole: paused, they probe and report nothing more.
	s.adminCtl.Pause(false, true)
	s.adminCtl.Pause(true, true)
	s.closeIdle()
	return nil
}

// SetCheck enables or disables s's health check (agent false) or agent
// ("enable|disable health|agent"). Disabling is accepted whether or not
// the server has one, as in haproxy; enabling one it does not have is an
// error. A server added at run time starts its checks at the first enable.
func (rt *Runtime) SetCheck(s *Server, agent, on bool) error {
	configured := s.Conf.Check
	if agent {
		configured = s.Conf.Health.Agent
	}
	if !on {
		s.adminCtl.Pause(agent, true)
		return nil
	}
	if !configured {
		if agent {
			return ErrNoAgentCheck
		}
		return ErrNoHealthCheck
	}
	s.adminCtl.Pause(agent, false)
	b := s.backend
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if s.checksStarted || s.deleted.Load() {
		return nil
	}
	s.checksStarted = true
	node := rt.cfg.Global.Node
	if node == "" {
		node, _ = os.Hostname()
	}
	t := b.checkTarget(s, node)
	s.stopChecks = check.Start([]check.Target{t}, rt.logEvent(nil))
	return nil
}

// AddedInMaint tells whether s was added at run time in maintenance: its
// check health then stays 0 until a check runs, as haproxy shows it.
func (s *Server) AddedInMaint() bool { return s.addedMaint }

// CheckPaused tells whether "disable health" (agent false) or "disable
// agent" paused s's check, or a server added at run time waits for the
// first "enable health|agent".
func (s *Server) CheckPaused(agent bool) bool { return s.adminCtl.Paused(agent) }

// IdleLimit is s's "pool-max-conn" when one applies (haproxy shows it in
// src_ilim): set on the server or default-server line, or 0 for a server
// added at run time.
func (s *Server) IdleLimit() (int, bool) {
	return s.Conf.PoolMaxConn, s.Conf.PoolMaxConn >= 0
}
