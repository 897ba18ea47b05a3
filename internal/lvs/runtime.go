package lvs

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"sync"
	"time"

	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/scriptuser"
)

// Dataplane forwards new connections of every service to its destinations.
// Apply receives the whole desired state each time and must switch to it
// atomically; Stats reads per-destination counters back.
type Dataplane interface {
	Name() string
	Apply(ds []Desired) error
	Stats(ds []Desired) map[DestKey]DestStats
	Close() error
}

// DestKey names one destination of one service.
type DestKey struct {
	Svc  *Service
	Addr netip.AddrPort
}

// DestStats is what `dhproxy lvs list` prints per destination.
type DestStats struct {
	Active, Inactive int64
	Traffic          *Traffic // nil where the datapath counts nothing
}

// Options configure a Runtime.
type Options struct {
	Logf func(string)
	// OnRealServer is called when a real server enters or leaves its
	// virtual server's pool; reason is keepalived's alert body line.
	OnRealServer func(vs, rs string, up bool, reason string)
	// OnQuorum is called when a virtual server gains or loses quorum, and
	// at start (init) when it starts without quorum and a sorry server
	// takes over; threshold is quorum ± hysteresis, weightSum the live
	// weight, as in keepalived's "Virtualserver ... - UP|DOWN" alert.
	OnQuorum func(vs *keepalived.VirtualServer, up, init bool, threshold, weightSum int)
}

// Runtime health-checks the real servers of every service and keeps the
// dataplane in line with the live set, following keepalived's rules for
// quorum, hysteresis, sorry_server, inhibit_on_failure, alpha and omega.
type Runtime struct {
	opts Options
	dp   Dataplane
	mu   sync.Mutex
	svcs []*svcState
	ctx  context.Context // the checkers' life, set by Start
	// haWatch: Start found ha_suspend services and follows the host's
	// addresses for them.
	haWatch bool
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	// effects collects log lines, scripts and hook calls of a transition
	// while it is applied; they run once the datapath is updated, so a
	// "Removing service" line means the server no longer gets clients.
	effects *[]func()
	traffic trafficTotals // stats.go
}

type svcState struct {
	svc      *Service
	reals    []*realState
	quorumUp bool
	st       svcCounters
}

type realState struct {
	real     *Real
	checkers []*checker
	alive    bool
	weight   int // effective weight (misc_dynamic may change it)
	st       realCounters
	// stop ends this real server's checkers (a reload removing it or
	// replacing its checkers); gone then drops what they still report.
	stop context.CancelFunc
	gone bool
}

// New prepares a runtime; Start programs the dataplane and runs checks.
func New(svcs []*Service, dp Dataplane, opts Options) *Runtime {
	if opts.Logf == nil {
		opts.Logf = func(string) {}
	}
	rt := &Runtime{opts: opts, dp: dp}
	for _, s := range svcs {
		ss := &svcState{svc: s}
		for _, r := range s.Reals {
			ss.reals = append(ss.reals, rt.newRealState(s, r))
		}
		ss.quorumUp = ss.liveWeight() >= s.Conf.Quorum+s.Conf.Hysteresis
		rt.svcs = append(rt.svcs, ss)
	}
	rt.initStats(time.Now())
	return rt
}

// newRealState builds the checkers of one real server of s; it starts in
// its initial state (alpha: out of the pool until a first success).
func (rt *Runtime) newRealState(s *Service, r *Real) *realState {
	rs := &realState{real: r, weight: r.Weight}
	rs.checkers = rt.newCheckers(s, r)
	// Without alpha a real server starts in the pool; with it (on
	// any of its checkers), it waits for that checker's first success.
	rs.alive = true
	for _, ck := range rs.checkers {
		rs.alive = rs.alive && ck.up
	}
	rs.weight = rs.fileWeight()
	return rs
}

// newCheckers builds the checkers of real server r of s.
func (rt *Runtime) newCheckers(s *Service, r *Real) []*checker {
	var out []*checker
	for i, c := range r.Conf.Checks {
		ck := newChecker(c, r, s.Protocol, c.DelayLoop, c.Alpha)
		ck.vhost = s.Conf.VirtualHost
		if r.Conf.VirtualHost != "" {
			ck.vhost = r.Conf.VirtualHost
		}
		ck.note = rt.opts.Logf
		ck.vs = s.Name
		if c.Kind == "FILE_CHECK" {
			// keepalived reads the file at start: the server starts in its state.
			ck.file = s.TrackFiles[c.TrackFile]
			ck.fileRead()
		}
		if c.Kind == "MISC_CHECK" {
			ck.as = s.ScriptAs
			if i < len(r.CheckAs) {
				ck.as = r.CheckAs[i]
			}
			if !rt.miscSecure(s, ck) {
				continue
			}
		}
		out = append(out, ck)
	}
	return out
}

// miscSecure applies keepalived's script security to a MISC_CHECK run by
// root: an insecure misc_path draws a warning, and with
// enable_script_security the checker is not run at all.
func (rt *Runtime) miscSecure(s *Service, ck *checker) bool {
	if !ck.as.Root {
		return true
	}
	err := scriptuser.CheckSecure(ck.conf.MiscPath)
	switch {
	case err == nil:
		return true
	case s.ScriptSecurity:
		rt.opts.Logf(fmt.Sprintf("%v - disabling MISC_CHECK of %s for VS %s", err, ck.name, s.Name))
		return false
	}
	rt.opts.Logf(fmt.Sprintf("WARNING - %v", err))
	return true
}

// Dataplane returns the datapath in use.
func (rt *Runtime) Dataplane() Dataplane {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.dp
}

// Start programs the initial state and launches the checkers.
func (rt *Runtime) Start() error {
	rt.mu.Lock()
	for _, ss := range rt.svcs {
		c := ss.svc.Conf
		for _, rs := range ss.reals {
			if len(rs.checkers) > 0 {
				rt.logf("Activating healthchecker for service %s for VS %s", rs.real.Name, ss.svc.Name)
			}
		}
		// keepalived reports a start without quorum only when a sorry
		// server takes over.
		if !ss.quorumUp && ss.svc.Sorry != nil {
			threshold := c.Quorum + c.Hysteresis
			rt.logf("Starting with quorum down %d-%d=%d > %d for VS %s", c.Quorum, c.Hysteresis, threshold, ss.liveWeight(), ss.svc.Name)
			rt.logf("Adding sorry server %s to VS %s", ss.svc.Sorry.Name, ss.svc.Name)
			rt.runScript(ss.svc.ScriptAs, c.QuorumDown)
			rt.quorumHook(ss, true, threshold)
		}
	}
	err := rt.dp.Apply(rt.desiredLocked())
	rt.mu.Unlock()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	rt.mu.Lock()
	rt.ctx, rt.cancel = ctx, cancel
	if rt.suspendable() {
		rt.applyHASuspend(localAddrs())
		rt.haWatch = true
		rt.wg.Add(1)
		go rt.watchHASuspend(ctx)
	}
	for _, ss := range rt.svcs {
		for _, rs := range ss.reals {
			rt.startCheckers(ss, rs)
		}
	}
	rt.mu.Unlock()
	return nil
}

// startCheckers runs the checkers of rs until Stop or a reload ends them.
func (rt *Runtime) startCheckers(ss *svcState, rs *realState) {
	ctx, stop := context.WithCancel(rt.ctx)
	rs.stop = stop
	for _, ck := range rs.checkers {
		rt.wg.Add(1)
		go rt.runChecker(ctx, ss, rs, ck)
	}
}

// runChecker owns one checker until ctx ends.
func (rt *Runtime) runChecker(ctx context.Context, ss *svcState, rs *realState, ck *checker) {
	defer rt.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			rt.logf("checker for %s panicked: %v", ck.name, r)
		}
	}()
	// keepalived starts each checker after a random delay up to warmup
	// (by default the checker's delay_loop), spreading the first checks.
	delay := time.Duration(rand.Int64N(int64(max(ck.conf.Warmup, 0)) + 1))
	if ck.file != nil {
		delay = fileCheckPoll // read at start already
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		if ck.suspended.Load() {
			delay = ck.every
			continue
		}
		var t *transition
		delay, t = ck.step(ctx)
		if ctx.Err() != nil {
			return
		}
		rt.noteCheck(rs, ck)
		if t != nil {
			rt.onTransition(ss, rs, ck, t)
		}
	}
}

func (rt *Runtime) onTransition(ss *svcState, rs *realState, ck *checker, t *transition) {
	var effects []func()
	rt.mu.Lock()
	// A reload may have removed the server or replaced its checkers
	// while this one was probing.
	if rs.gone || !slices.Contains(rs.checkers, ck) {
		rt.mu.Unlock()
		return
	}
	rt.effects = &effects
	rt.transitionLocked(ss, rs, t)
	rt.effects = nil
	rt.mu.Unlock()
	for _, f := range effects {
		f()
	}
}

func (rt *Runtime) transitionLocked(ss *svcState, rs *realState, t *transition) {
	if t.log != "" {
		rt.logf("%s", t.log)
	}
	changed := false
	if t.reweigh {
		t.weight = rs.fileWeight()
	}
	if t.weight >= 0 && t.weight != rs.weight {
		rt.logf("Changing weight from %d to %d for %sactive service %s of VS %s", rs.weight, t.weight, map[bool]string{true: "", false: "in"}[rs.alive], rs.real.Name, ss.svc.Name)
		rs.weight = t.weight
		changed = true
	}
	alive := true
	for _, c := range rs.checkers {
		alive = alive && c.up
	}
	if alive != rs.alive {
		inhibit := rs.real.Conf.InhibitOnFailure
		switch {
		case alive && inhibit:
			rt.logf("Enabling service %s of VS %s", rs.real.Name, ss.svc.Name)
		case alive:
			rt.logf("Adding service %s to VS %s", rs.real.Name, ss.svc.Name)
		case inhibit:
			rt.logf("Disabling service %s of VS %s", rs.real.Name, ss.svc.Name)
		default:
			rt.logf("Removing service %s from VS %s", rs.real.Name, ss.svc.Name)
		}
		rs.alive = alive
		rs.noteAlive(time.Now())
		script := rs.real.Conf.NotifyDown
		if alive {
			script = rs.real.Conf.NotifyUp
		}
		rt.runScript(ss.svc.ScriptAs, script)
		if hook := rt.opts.OnRealServer; hook != nil {
			vs, real, reason := ss.svc.Name, rs.real.Name, t.alert
			rt.later(func() { hook(vs, real, alive, reason) })
		}
		changed = true
	}
	if !changed {
		return
	}
	rt.updateQuorum(ss)
	ds := rt.desiredLocked()
	if err := rt.dp.Apply(ds); err != nil {
		rt.logf("%s datapath: %v", rt.dp.Name(), err)
	}
	rt.noteServing(ds, time.Now())
}

// updateQuorum follows keepalived: quorum is gained at quorum+hysteresis
// and lost below quorum-hysteresis (or when no weight is left).
func (rt *Runtime) updateQuorum(ss *svcState) {
	c := ss.svc.Conf
	sum := ss.liveWeight()
	if !ss.quorumUp {
		threshold := c.Quorum + c.Hysteresis
		if sum < threshold {
			return
		}
		ss.quorumUp = true
		rt.logf("Gained quorum %d+%d=%d <= %d for VS %s", c.Quorum, c.Hysteresis, threshold, sum, ss.svc.Name)
		if ss.svc.Sorry != nil {
			rt.logf("Removing sorry server %s from VS %s", ss.svc.Sorry.Name, ss.svc.Name)
		}
		rt.runScript(ss.svc.ScriptAs, c.QuorumUp)
		rt.quorumHook(ss, false, threshold)
		return
	}
	threshold := c.Quorum - c.Hysteresis
	if sum != 0 && sum >= threshold {
		return
	}
	ss.quorumUp = false
	rt.logf("Lost quorum %d-%d=%d > %d for VS %s", c.Quorum, c.Hysteresis, threshold, sum, ss.svc.Name)
	if ss.svc.Sorry != nil {
		rt.logf("Adding sorry server %s to VS %s", ss.svc.Sorry.Name, ss.svc.Name)
	}
	rt.runScript(ss.svc.ScriptAs, c.QuorumDown)
	rt.quorumHook(ss, false, threshold)
}

// quorumHook reports a quorum change (or, with init, the state at start)
// to Options.OnQuorum once the datapath is updated.
func (rt *Runtime) quorumHook(ss *svcState, init bool, threshold int) {
	hook := rt.opts.OnQuorum
	if hook == nil {
		return
	}
	vs, up, sum := ss.svc.Conf, ss.quorumUp, ss.liveWeight()
	if rt.effects == nil {
		hook(vs, up, init, threshold, sum)
		return
	}
	rt.later(func() { hook(vs, up, init, threshold, sum) })
}

// fileWeight is the real server's configured weight plus what its
// FILE_CHECKs add, within IPVS' range.
func (rs *realState) fileWeight() int {
	w := rs.real.Weight
	for _, ck := range rs.checkers {
		w += ck.fileDelta
	}
	return max(0, min(w, ipvsWeightMax))
}

func (ss *svcState) liveWeight() int {
	sum := 0
	for _, rs := range ss.reals {
		if rs.alive {
			sum += rs.weight
		}
	}
	return sum
}

// desiredLocked computes every service's destinations: live real servers
// at their weight, failed inhibit_on_failure ones at weight 0, or the
// sorry server alone while quorum is lost (with sorry_server_inhibit it
// stays listed at weight 0 the rest of the time).
func (rt *Runtime) desiredLocked() []Desired {
	out := make([]Desired, 0, len(rt.svcs))
	for _, ss := range rt.svcs {
		d := Desired{Svc: ss.svc}
		sorry := !ss.quorumUp && ss.svc.Sorry != nil
		for _, rs := range ss.reals {
			switch {
			case rs.alive && !sorry:
				d.Dests = append(d.Dests, Dest{Addr: rs.real.Addr, Weight: rs.weight})
			case rs.real.Conf.InhibitOnFailure:
				d.Dests = append(d.Dests, Dest{Addr: rs.real.Addr, Weight: 0})
			}
		}
		switch {
		case sorry:
			d.Dests = append(d.Dests, Dest{Addr: ss.svc.Sorry.Addr, Weight: 1, Sorry: true})
		case ss.svc.Sorry != nil && ss.svc.Conf.SorryInhibit:
			// sorry_server_inhibit: listed at weight 0, its connections live on.
			d.Dests = append(d.Dests, Dest{Addr: ss.svc.Sorry.Addr, Weight: 0, Sorry: true})
		}
		out = append(out, d)
	}
	return out
}

// Desired returns the state currently programmed.
func (rt *Runtime) Desired() []Desired {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.desiredLocked()
}

// Stop ends the checks and removes the datapath's state. With omega, the
// down notifiers run for every server still in a pool, as in keepalived.
func (rt *Runtime) Stop() {
	if rt.cancel != nil {
		rt.cancel()
	}
	rt.wg.Wait()
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for _, ss := range rt.svcs {
		for _, rs := range ss.reals {
			if rs.alive {
				rt.logf("Shutting down service %s from VS %s", rs.real.Name, ss.svc.Name)
				if ss.svc.Conf.Omega {
					rt.runScript(ss.svc.ScriptAs, rs.real.Conf.NotifyDown)
				}
			}
		}
		if ss.svc.Conf.Omega && ss.quorumUp {
			rt.runScript(ss.svc.ScriptAs, ss.svc.Conf.QuorumDown)
		}
	}
	if err := rt.dp.Close(); err != nil {
		rt.logf("%s datapath: %v", rt.dp.Name(), err)
	}
}

// runScript starts a notify script without a shell, with the words
// written in the config, and reaps it in the background.
func (rt *Runtime) runScript(as scriptuser.Account, script string) {
	args := splitCommand(script)
	if len(args) == 0 {
		return
	}
	if rt.effects != nil {
		rt.later(func() { rt.startScript(as, args) })
		return
	}
	rt.startScript(as, args)
}

func (rt *Runtime) startScript(as scriptuser.Account, args []string) {
	cmd := exec.Command(args[0], args[1:]...)
	as.Apply(cmd)
	if err := cmd.Start(); err != nil {
		rt.opts.Logf(fmt.Sprintf("Cannot run notify script %s: %v", args[0], err))
		return
	}
	go cmd.Wait()
}

func (rt *Runtime) logf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if rt.effects != nil {
		rt.later(func() { rt.opts.Logf(msg) })
		return
	}
	rt.opts.Logf(msg)
}

// later queues an effect of the transition being applied.
func (rt *Runtime) later(f func()) {
	*rt.effects = append(*rt.effects, f)
}

// haSuspendPoll is how often ha_suspend looks at the host's addresses.
const haSuspendPoll = time.Second

func (rt *Runtime) suspendable() bool {
	for _, ss := range rt.svcs {
		if ss.svc.Conf.HASuspend {
			return true
		}
	}
	return false
}

// watchHASuspend follows the host's addresses (a VRRP VIP comes and goes)
// for the virtual servers with ha_suspend.
func (rt *Runtime) watchHASuspend(ctx context.Context) {
	defer rt.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			rt.logf("ha_suspend watcher panicked: %v", r)
		}
	}()
	tick := time.NewTicker(haSuspendPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			local := localAddrs()
			rt.mu.Lock()
			rt.applyHASuspend(local)
			rt.mu.Unlock()
		}
	}
}

// applyHASuspend suspends the checkers of ha_suspend virtual servers whose
// address is not among local, and resumes the others, with keepalived's
// lines.
func (rt *Runtime) applyHASuspend(local map[netip.Addr]bool) {
	for _, ss := range rt.svcs {
		if !ss.svc.Conf.HASuspend {
			continue
		}
		suspend := !local[ss.svc.Conf.Addr]
		for _, rs := range ss.reals {
			for _, ck := range rs.checkers {
				if ck.suspended.Swap(suspend) == suspend {
					continue
				}
				if suspend {
					rt.opts.Logf(fmt.Sprintf("Suspending healthchecker for service %s", ck.name))
				} else {
					rt.opts.Logf(fmt.Sprintf("Activating healthchecker for service %s", ck.name))
				}
			}
		}
	}
}

// localAddrs lists the addresses of this host's interfaces (nil when they
// cannot be read, which suspends every ha_suspend checker).
func localAddrs() map[netip.Addr]bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	out := make(map[netip.Addr]bool, len(addrs))
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out[p.Addr().Unmap()] = true
		}
	}
	return out
}
