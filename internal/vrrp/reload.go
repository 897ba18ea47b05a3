package vrrp

import (
	"fmt"
	"slices"
	"time"

	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/netif"
)

// ReloadPlan says what a reload does to each vrrp_instance, by name.
type ReloadPlan struct {
	Kept      []string // configuration unchanged: state, VIPs and timers untouched
	Changed   []string // same interface, VRID and family: state carried over, settings replaced
	Restarted []string // interface, VRID or family changed: stopped, then started anew
	Added     []string
	Removed   []string
}

// PlanReload compares the running configuration with the new one as
// keepalived matches instances on reload: by name, keeping the state of an
// instance that still runs the same VRRP router (interface, VRID, family).
func PlanReload(old, cur *keepalived.Config) ReloadPlan {
	var p ReloadPlan
	before := map[string]*keepalived.VRRPInstance{}
	for _, c := range old.Instances {
		before[c.Name] = c
	}
	seen := map[string]bool{}
	for _, c := range cur.Instances {
		seen[c.Name] = true
		o := before[c.Name]
		switch {
		case o == nil:
			p.Added = append(p.Added, c.Name)
		case o.Interface != c.Interface || o.VRID != c.VRID || instanceV6(o) != instanceV6(c):
			p.Restarted = append(p.Restarted, c.Name)
		case keepalived.SameSettings(o, c):
			p.Kept = append(p.Kept, c.Name)
		default:
			p.Changed = append(p.Changed, c.Name)
		}
	}
	for _, c := range old.Instances {
		if !seen[c.Name] {
			p.Removed = append(p.Removed, c.Name)
		}
	}
	return p
}

// instanceV6 is the address family the instance's adverts use.
func instanceV6(c *keepalived.VRRPInstance) bool {
	if c.UnicastSrcIP.IsValid() {
		return c.UnicastSrcIP.Is6()
	}
	return len(c.VIPs) > 0 && c.Version == 3 && c.VIPs[0].Prefix.Addr().Is6()
}

// Reload switches the runtime to cfg as keepalived does on SIGHUP. Nothing
// changes when cfg cannot run here (an interface missing, no address to
// send from): the error says why and the running configuration stays.
// Unchanged instances are not touched at all, so their VIPs never flap.
func (r *Runtime) Reload(cfg *keepalived.Config) (ReloadPlan, error) {
	var plan ReloadPlan
	if !cfg.RunsVRRP() {
		return plan, fmt.Errorf("no vrrp_instance (nor static address, route or rule) in the configuration")
	}
	errc := make(chan error, 1)
	select {
	case r.calls <- func(now time.Time) {
		plan = PlanReload(r.cfg, cfg)
		errc <- r.apply(now, cfg, plan)
	}:
	case <-r.ctx.Done():
		return plan, fmt.Errorf("VRRP is stopping")
	}
	return plan, <-errc
}

// apply runs on the protocol goroutine.
func (r *Runtime) apply(now time.Time, cfg *keepalived.Config, plan ReloadPlan) error {
	byName := map[string]*keepalived.VRRPInstance{}
	for _, c := range cfg.Instances {
		byName[c.Name] = c
	}
	// Check everything the new instances need before changing anything.
	for _, name := range slices.Concat(plan.Added, plan.Restarted, plan.Changed) {
		c := byName[name]
		if !netif.InterfaceExists(c.Interface) {
			return fmt.Errorf("%s: (%s) interface %s does not exist", c.Pos, c.Name, c.Interface)
		}
		for _, v := range slices.Concat(c.VIPs, c.ExcludedVIPs) {
			if v.Dev != "" && !netif.InterfaceExists(v.Dev) {
				return fmt.Errorf("%s: (%s) interface %s does not exist", v.Pos, c.Name, v.Dev)
			}
		}
		if !c.UnicastSrcIP.IsValid() {
			if _, err := netif.PrimaryAddr(c.Interface, instanceV6(c)); err != nil {
				return fmt.Errorf("%s: (%s) %v", c.Pos, c.Name, err)
			}
		}
	}
	// An unchanged vrrp_script keeps running with its state; a new or
	// changed one starts afresh, as at start.
	fresh := map[string]*tracker{}
	for name, s := range cfg.Scripts {
		if t := r.trackers[name]; t != nil && keepalived.SameSettings(t.s, s) {
			continue
		}
		t := r.newTracker(s)
		if err := r.prepareTracker(name, t); err != nil {
			return err
		}
		fresh[name] = t
	}
	old := map[string]*Instance{}
	for _, in := range r.insts {
		old[in.Name] = in
	}
	drop := func(in *Instance) {
		in.Stop(now) // a master sends priority 0 and removes its VIPs, as on keepalived's stop
		r.insts = slices.DeleteFunc(r.insts, func(x *Instance) bool { return x == in })
		delete(r.extra, in)
		r.mu.Lock()
		delete(r.states, in.Name)
		r.mu.Unlock()
	}
	for _, name := range slices.Concat(plan.Removed, plan.Restarted) {
		r.Logf("(%s) removed by the reload", name)
		drop(old[name])
	}
	prevCfg := r.cfg
	r.cfg = cfg
	r.setStatic(prevCfg, cfg)
	r.watchNewLinks(cfg)
	r.reloadTracking(prevCfg, fresh)
	// Kept instances keep their old block: its settings are the same, and
	// announcements in flight read it.
	for _, name := range plan.Changed {
		prev := old[name]
		px := r.extra[prev]
		if err := r.addInstance(byName[name]); err != nil {
			r.Logf("%v", err)
			drop(prev)
			continue
		}
		in, x := r.insts[len(r.insts)-1], r.extra[r.insts[len(r.insts)-1]]
		r.insts = slices.DeleteFunc(r.insts, func(i *Instance) bool { return i == prev })
		delete(r.extra, prev)
		fault, adj := r.health(in)
		in.Resume(now, prev, fault, adj)
		if prev.State() != StateMaster {
			continue
		}
		// Addresses, routes and rules the new block no longer lists go;
		// keepalived sets the others again without announcing them (they
		// never left).
		var goneRules []netif.Rule
		for _, u := range px.rules {
			if !slices.Contains(x.rules, u) {
				goneRules = append(goneRules, u)
			}
		}
		r.setRules(name, goneRules, false)
		var gone []netif.Route
		for _, rt := range px.routes {
			if !slices.Contains(x.routes, rt) {
				gone = append(gone, rt)
			}
		}
		r.setRoutes(name, gone, false)
		for _, v := range px.vips {
			if !slices.Contains(x.vips, v) {
				if err := netif.DelVIP(v); err != nil {
					r.Logf("(%s) %v", name, err)
				}
			}
		}
		px.garpGen.Add(1) // the old instance's announcements stop
		if in.State() != StateMaster {
			continue // FAULT now: its VIPs are gone
		}
		r.Logf("(%s) setting VIPs.", name)
		var added []netif.VIP
		for _, v := range x.vips {
			if err := netif.AddVIP(v); err != nil {
				r.Logf("(%s) %v", name, err)
			}
			if !slices.Contains(px.vips, v) {
				added = append(added, v)
			}
		}
		x.track(r.setRoutes(name, x.routes, true), r.setRules(name, x.rules, true))
		if len(added) > 0 {
			go r.announce(in, x, added, r.cfg.Global, x.garpGen.Add(1))
		}
	}
	for _, name := range slices.Concat(plan.Restarted, plan.Added) {
		if err := r.addInstance(byName[name]); err != nil {
			r.Logf("%v", err)
			continue
		}
		in := r.insts[len(r.insts)-1]
		fault, adj := r.health(in)
		in.SetHealth(now, fault, adj)
		in.Start(now)
	}
	r.pruneVMACs()
	r.startReaders()
	r.watchRoutes()
	r.applyHealth(now) // kept instances follow scripts and files the reload changed
	r.Logf("Reload finished: %d kept, %d changed, %d restarted, %d added, %d removed",
		len(plan.Kept), len(plan.Changed), len(plan.Restarted), len(plan.Added), len(plan.Removed))
	return nil
}

// reloadTracking swaps the vrrp_scripts and vrrp_track_files that changed.
func (r *Runtime) reloadTracking(prev *keepalived.Config, fresh map[string]*tracker) {
	for name, t := range r.trackers {
		if _, ok := r.cfg.Scripts[name]; !ok || fresh[name] != nil {
			if t.stop != nil {
				t.stop()
			}
			delete(r.trackers, name)
		}
	}
	for name, t := range fresh {
		r.trackers[name] = t
		r.startTracker(t)
	}
	for name, stop := range r.fileStops {
		f := r.cfg.TrackFiles[name]
		if f == nil || !keepalived.SameSettings(prev.TrackFiles[name], f) {
			stop()
			delete(r.fileStops, name)
			delete(r.fileVals, name)
		}
	}
	for name, f := range r.cfg.TrackFiles {
		if r.fileStops[name] == nil {
			r.fileVals[name] = f.Value(0)
			r.startFileWatch(f)
		}
	}
	r.checkNotifies(r.cfg)
}

// watchNewLinks follows the interfaces cfg names that were not watched yet.
func (r *Runtime) watchNewLinks(cfg *keepalived.Config) {
	var names []string
	for _, c := range cfg.Instances {
		for _, n := range append([]string{c.Interface}, trackNames(c)...) {
			if _, ok := r.linkUp[n]; !ok && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		return
	}
	for _, n := range names {
		r.linkUp[n] = netif.IsUp(n) // the watcher's first event then matches and is ignored
	}
	if err := netif.WatchLinks(names, r.links, r.ctx.Done()); err != nil {
		r.Logf("watching links %v: %v", names, err)
	}
}

func trackNames(c *keepalived.VRRPInstance) []string {
	var names []string
	for _, t := range c.TrackInterfaces {
		names = append(names, t.Name)
	}
	return names
}

// startReaders starts reading the sockets opened since the last call.
func (r *Runtime) startReaders() {
	for _, c := range r.conns {
		if !c.reading {
			c.reading = true
			go c.read(r.pkts, r.ctx.Done())
		}
	}
}
