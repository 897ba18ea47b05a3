package lvs

import (
	"fmt"
	"net/netip"
	"time"

	"dhproxy/internal/config/keepalived"
)

// Reloader is a dataplane that can switch to a new set of services without
// disturbing the connections of the services that stay. Reload programs ds
// (the new services' state) and returns the dataplane to use from then on:
// itself or one that replaced it.
type Reloader interface {
	Reload(svcs []*Service, ds []Desired) (Dataplane, error)
}

// serviceKey is what keepalived compares to find a virtual server again
// after a reload (VS_ISEQ): its address and port, fwmark or group, and
// protocol. Everything else (scheduler, persistence, lb_kind, real servers)
// is updated in place.
func serviceKey(s *Service) string { return s.Name + "/" + s.Protocol }

// ReloadPlan says what a reload keeps, adds and removes, by name.
type ReloadPlan struct {
	KeptServices, AddedServices, RemovedServices []string
	// Per kept service name: its real servers.
	KeptReals, AddedReals, RemovedReals map[string][]string
}

// Reload switches the runtime to svcs as keepalived's reload does:
// virtual servers found again (serviceKey) keep their quorum state, and
// their real servers found again (same address and port) keep their
// health state and weight without a new alpha or inhibit round, alert or
// notify script; their checkers keep running, or restart from the old
// checkers' state when the checker blocks changed. New real servers and
// virtual servers start as at start-up; removed ones leave the pool. When
// the dataplane cannot take the new set, nothing changes and the error
// says why.
func (rt *Runtime) Reload(svcs []*Service) (ReloadPlan, error) {
	var effects []func()
	rt.mu.Lock()
	plan, err := rt.reloadLocked(svcs, &effects)
	rt.mu.Unlock()
	for _, f := range effects {
		f()
	}
	return plan, err
}

func (rt *Runtime) reloadLocked(svcs []*Service, effects *[]func()) (ReloadPlan, error) {
	plan := ReloadPlan{KeptReals: map[string][]string{}, AddedReals: map[string][]string{}, RemovedReals: map[string][]string{}}
	re, ok := rt.dp.(Reloader)
	if rt.ctx == nil {
		return plan, fmt.Errorf("virtual servers not started")
	}
	if !ok {
		return plan, fmt.Errorf("the %s datapath cannot change its virtual servers in place; restart to apply them", rt.dp.Name())
	}
	old := map[string]*svcState{}
	for _, ss := range rt.svcs {
		old[serviceKey(ss.svc)] = ss
	}
	// Build the new state aside: a refused dataplane leaves the old one
	// running untouched.
	type keptReal struct {
		ss       *svcState
		rs       *realState
		real     *Real
		checkers []*checker // nil: the running checkers stay
	}
	var (
		next      []*svcState
		kept      = map[*svcState]*Service{}
		keptReals []keptReal
		newReals  = map[*realState]*svcState{}
		retired   []keptReal
	)
	for _, s := range svcs {
		os := old[serviceKey(s)]
		if os == nil {
			ss := &svcState{svc: s}
			for _, r := range s.Reals {
				rs := rt.newRealState(s, r)
				ss.reals = append(ss.reals, rs)
				newReals[rs] = ss
			}
			ss.quorumUp = ss.liveWeight() >= s.Conf.Quorum+s.Conf.Hysteresis
			next = append(next, ss)
			plan.AddedServices = append(plan.AddedServices, s.Name)
			continue
		}
		delete(old, serviceKey(s))
		kept[os] = s
		plan.KeptServices = append(plan.KeptServices, s.Name)
		byAddr := map[netip.AddrPort]*realState{}
		for _, rs := range os.reals {
			byAddr[rs.real.Addr] = rs
		}
		var reals []*realState
		for _, r := range s.Reals {
			rs := byAddr[r.Addr]
			if rs == nil {
				rs = rt.newRealState(s, r)
				newReals[rs] = os
				plan.AddedReals[s.Name] = append(plan.AddedReals[s.Name], r.Name)
				reals = append(reals, rs)
				continue
			}
			delete(byAddr, r.Addr)
			k := keptReal{ss: os, rs: rs, real: r}
			if !sameChecks(os.svc, rs.real, s, r) {
				k.checkers = migrateCheckers(rs, rt.newCheckers(s, r))
			}
			keptReals = append(keptReals, k)
			plan.KeptReals[s.Name] = append(plan.KeptReals[s.Name], r.Name)
			reals = append(reals, rs)
		}
		for _, rs := range os.reals {
			if byAddr[rs.real.Addr] == rs {
				retired = append(retired, keptReal{ss: os, rs: rs})
				plan.RemovedReals[s.Name] = append(plan.RemovedReals[s.Name], rs.real.Name)
			}
		}
		// The kept svcState is updated below; its reals for now.
		next = append(next, &svcState{svc: s, reals: reals, quorumUp: os.quorumUp, st: os.st})
	}
	var removed []*svcState
	for _, ss := range rt.svcs {
		if _, ok := kept[ss]; !ok {
			removed = append(removed, ss)
			plan.RemovedServices = append(plan.RemovedServices, ss.svc.Name)
		}
	}
	// The desired state as it will be once committed: kept real servers
	// at their new configured weight plus what FILE_CHECKs add.
	desired := func() []Desired {
		saved := rt.svcs
		rt.svcs = next
		defer func() { rt.svcs = saved }()
		return rt.desiredLocked()
	}
	savedReals := make([]*Real, len(keptReals))
	savedWeights := make([]int, len(keptReals))
	for i, k := range keptReals {
		savedReals[i], savedWeights[i] = k.rs.real, k.rs.weight
		k.rs.real = k.real
		if k.rs.real.Weight != savedReals[i].Weight {
			k.rs.weight = k.rs.fileWeight()
		}
	}
	dp, err := re.Reload(svcs, desired())
	if err != nil {
		for i, k := range keptReals {
			k.rs.real, k.rs.weight = savedReals[i], savedWeights[i]
		}
		return plan, fmt.Errorf("%s datapath: %v", rt.dp.Name(), err)
	}
	rt.dp = dp
	rt.effects = effects
	defer func() { rt.effects = nil }()

	// Commit. Kept services keep their svcState (their checkers hold it).
	for i, ns := range next {
		for os, s := range kept {
			if s == ns.svc {
				if old := os.svc.Sorry; old != nil && !os.quorumUp && (s.Sorry == nil || s.Sorry.Addr != old.Addr) {
					rt.logf("Removing sorry server %s from VS %s", old.Name, s.Name)
				}
				rt.traffic.rekey(os.svc, s)
				os.svc, os.reals = s, ns.reals
				next[i] = os
			}
		}
	}
	for _, ss := range removed {
		rt.retireService(ss)
	}
	rt.svcs = next
	for _, r := range retired {
		rt.logf("service %s no longer exist", r.rs.real.Name)
		rt.retire(r.ss, r.rs)
	}
	for _, k := range keptReals {
		if k.checkers == nil {
			continue
		}
		k.rs.stop()
		k.rs.checkers = k.checkers
		k.rs.st.checks = make([]checkReport, len(k.checkers))
		for i, ck := range k.checkers {
			k.rs.st.checks[i] = checkReport{up: ck.up, hasRun: ck.hasRun, retryIt: ck.retryIt, retries: ck.conf.Retry}
		}
	}
	now := time.Now()
	for rs, ss := range newReals {
		rs.st = realCounters{since: now, checks: make([]checkReport, len(rs.checkers))}
		for i, ck := range rs.checkers {
			rs.st.checks[i] = checkReport{up: ck.up, retries: ck.conf.Retry}
		}
		if len(rs.checkers) > 0 {
			rt.logf("Activating healthchecker for service %s for VS %s", rs.real.Name, ss.svc.Name)
		}
	}
	for _, ss := range next {
		if _, ok := kept[ss]; !ok && ss.st.since.IsZero() {
			ss.st = svcCounters{since: now}
		}
	}
	// Start what is new (suspended at once where ha_suspend says so), then
	// let kept real servers whose checkers changed settle as keepalived's
	// migrate_checkers does.
	if rt.haWatch {
		rt.applyHASuspend(localAddrs())
	}
	for _, ss := range next {
		for _, rs := range ss.reals {
			if newReals[rs] != nil {
				rt.startCheckers(ss, rs)
			}
		}
	}
	for _, k := range keptReals {
		if k.checkers == nil {
			continue
		}
		rt.transitionLocked(k.ss, k.rs, &transition{weight: -1})
		rt.startCheckers(k.ss, k.rs)
	}
	for _, ss := range next {
		rt.updateQuorum(ss)
	}
	ds := rt.desiredLocked()
	if err := rt.dp.Apply(ds); err != nil {
		rt.logf("%s datapath: %v", rt.dp.Name(), err)
	}
	rt.noteServing(ds, now)
	return plan, nil
}

// retire stops the checkers of a real server leaving the configuration.
// As keepalived's clear_service_rs: one listed by the datapath is logged
// as removed; one in the pool also runs its notify_down and alerts
// ("=> Removing <=").
func (rt *Runtime) retire(ss *svcState, rs *realState) {
	if rs.stop != nil {
		rs.stop()
	}
	rs.gone = true
	switch {
	case rs.alive:
		rt.logf("Removing service %s from VS %s", rs.real.Name, ss.svc.Name)
		rt.runScript(ss.svc.ScriptAs, rs.real.Conf.NotifyDown)
		if hook := rt.opts.OnRealServer; hook != nil {
			vs, real := ss.svc.Name, rs.real.Name
			rt.later(func() { hook(vs, real, false, "=> Removing <=") })
		}
	case rs.real.Conf.InhibitOnFailure:
		rt.logf("Removing (inhibited) service %s from VS %s", rs.real.Name, ss.svc.Name)
	}
	rs.alive = false
}

// retireService removes a virtual server: its real servers leave, and
// quorum, when it was up, is lost with its notifiers (no log line, as
// keepalived's update_vs_notifies).
func (rt *Runtime) retireService(ss *svcState) {
	if ss.svc.Conf.Group != "" {
		rt.logf("Removing Virtual Server Group [%s]", ss.svc.Conf.Group)
	} else {
		rt.logf("Removing Virtual Server %s", ss.svc.Name)
	}
	for _, rs := range ss.reals {
		rt.retire(ss, rs)
	}
	if ss.quorumUp {
		ss.quorumUp = false
		rt.runScript(ss.svc.ScriptAs, ss.svc.Conf.QuorumDown)
		rt.quorumHook(ss, false, ss.svc.Conf.Quorum-ss.svc.Conf.Hysteresis)
	}
}

// sameChecks says whether real server b of t checks exactly as a of s did:
// then its running checkers carry on.
func sameChecks(s *Service, a *Real, t *Service, b *Real) bool {
	return keepalived.SameSettings(a.Conf.Checks, b.Conf.Checks) &&
		a.Conf.VirtualHost == b.Conf.VirtualHost && s.Conf.VirtualHost == t.Conf.VirtualHost &&
		s.Protocol == t.Protocol && keepalived.SameSettings(a.CheckAs, b.CheckAs)
}

// migrateCheckers gives the new checkers of a kept real server the state
// of its old checkers probing the same thing (sameProbe), as keepalived
// does: such a checker keeps up/down and its retries (within its new
// retry); when the server is down or a checker failed, the others start
// down if alpha, and fail at their first failure.
func migrateCheckers(rs *realState, fresh []*checker) []*checker {
	used := make([]bool, len(rs.checkers))
	failed, anyRun := false, false
	for _, nc := range fresh {
		for i, oc := range rs.checkers {
			if used[i] || !sameProbe(oc, nc) {
				continue
			}
			used[i] = true
			nc.up, nc.hasRun = oc.up, oc.hasRun
			if oc.retryIt > 0 && nc.conf.Retry > 0 {
				nc.retryIt = min(oc.retryIt, nc.conf.Retry-1)
			}
			nc.fileVal, nc.fileDelta = oc.fileVal, oc.fileDelta
			break
		}
		failed = failed || nc.hasRun && !nc.up
		anyRun = anyRun || nc.hasRun
	}
	if failed || !rs.alive && !anyRun {
		for _, nc := range fresh {
			if !nc.hasRun {
				if nc.conf.Alpha {
					nc.up = false
				}
				nc.retryIt = nc.conf.Retry
			}
		}
	}
	return fresh
}

// sameProbe says whether two checkers probe the same thing, as keepalived's
// checker compare functions decide: same kind, target, source and what is
// asked. Timeouts, retries, delays and alpha may differ: the state carries
// over.
func sameProbe(a, b *checker) bool {
	x, y := a.conf, b.conf
	if x.Kind != y.Kind || a.target != b.target || x.BindTo != y.BindTo || x.BindPort != y.BindPort ||
		x.BindIf != y.BindIf || x.FWMark != y.FWMark || a.vhost != b.vhost {
		return false
	}
	switch x.Kind {
	case "HTTP_GET", "SSL_GET":
		return keepalived.SameSettings(x.URLs, y.URLs) && x.HTTPProtocol == y.HTTPProtocol && x.SNIName == y.SNIName && x.EnableSNI == y.EnableSNI
	case "MISC_CHECK":
		return x.MiscPath == y.MiscPath && x.MiscDynamic == y.MiscDynamic && a.as == b.as
	case "SMTP_CHECK":
		return x.HeloName == y.HeloName
	case "DNS_CHECK":
		return x.DNSType == y.DNSType && x.DNSName == y.DNSName
	case "UDP_CHECK":
		return string(x.Payload) == string(y.Payload) && x.RequireReply == y.RequireReply &&
			string(x.ReplyData) == string(y.ReplyData) && string(x.ReplyMask) == string(y.ReplyMask)
	case "FILE_CHECK":
		return x.TrackFile == y.TrackFile
	}
	return true
}
