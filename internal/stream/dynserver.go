package stream

import (
	"errors"
	"os"

	"dhproxy/internal/backend"
	"dhproxy/internal/check"
	"dhproxy/internal/model"
)

// The runtime API's answers for checks, in haproxy 2.6's words (those of
// "add server" and "del server" are backend.Err*).
var (
	ErrNoHealthCheck = errors.New("Health check was not configured on this server, cannot enable.")
	ErrNoAgentCheck  = errors.New("Agent was not configured on this server, cannot enable.")
)

// AddServer adds the server of "add server" to b. As in haproxy 2.6 it
// starts in maintenance ("enable server" or "set server ... state ready"
// brings it in) unless ready is true (its "enabled" keyword), also in
// configuration maintenance when sc is "disabled"; its health check and
// agent wait for "enable health" and "enable agent". sc.ID 0 takes the
// lowest id free in b.
func (rt *Runtime) AddServer(b *Backend, sc *model.Server, ready bool) (*Server, error) {
	if !b.Dynamic() {
		return nil, backend.ErrStaticLB
	}
	disabled := sc.Disabled
	sc.Disabled = false // the admin flags below say it; checks may start later
	s := b.newServer(sc)
	if !ready || disabled {
		flags := uint32(backend.AdminMaint)
		if disabled {
			flags |= backend.AdminConfigMaint
		}
		if ready {
			flags = backend.AdminConfigMaint
		}
		s.StartInMaint(flags)
		s.addedMaint = true
	}
	s.adminCtl.Pause(false, true)
	s.adminCtl.Pause(true, true)
	if err := b.Add(&s.Server); err != nil {
		return nil, err
	}
	return s, nil
}

// DelServer takes s out of its backend ("del server"): only a server in
// maintenance, that nothing else names, with no connection nor queued
// request, as haproxy 2.6 requires. Its pooled idle connections are
// closed and its checks stopped.
func (rt *Runtime) DelServer(s *Server) error {
	b := s.backend
	if err := b.Remove(&s.Server); err != nil {
		return err
	}
	b.checkMu.Lock()
	if s.stopChecks != nil {
		s.stopChecks()
		s.stopChecks = nil
	}
	b.checkMu.Unlock()
	// A configured server's checks run in the start-up group, which
	// stops as a whole: paused, they probe and report nothing more.
	s.adminCtl.Pause(false, true)
	s.adminCtl.Pause(true, true)
	s.idle.CloseAll()
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
	b.checkMu.Lock()
	defer b.checkMu.Unlock()
	if s.checksStarted || s.Deleted() {
		return nil
	}
	s.checksStarted = true
	node := rt.cfg.Global.Node
	if node == "" {
		node, _ = os.Hostname()
	}
	t := b.checkTarget(s, node)
	t.Spread = rt.cfg.Global.SpreadChecks
	t.PP2Proxy = rt.cfg.Global.PP2NeverSendLocal
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
