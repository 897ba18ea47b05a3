package vrrp

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/netif"
	"dhproxy/internal/scriptuser"
)

// Options tune a Runtime.
type Options struct {
	// Log receives keepalived-style lines; nil = stderr with keepalived's
	// console time stamp.
	Log io.Writer
	// Syslog, when set, also receives every line (without time stamp).
	Syslog func(line string)
	// OnTransition is called on every state change of an instance, on the
	// protocol goroutine: it must not block (queue the work).
	OnTransition func(instance string, from, to State)
	// OnGroupTransition is called when every member of a vrrp_sync_group
	// has reached the same state (keepalived's "VRRP Group" alerts).
	OnGroupTransition func(group string, to State)
	// ProxyHealth replaces vrrp_scripts that only check that a process named
	// haproxy runs (killall -0 haproxy, pidof, pgrep): true when the
	// in-process proxy is running and its frontends have a usable server.
	ProxyHealth func() bool
}

// Runtime runs the vrrp_instances of a keepalived.conf.
//
// From a test or another package:
//
//	cfg := keepalived.Load(path, &diags)
//	rt, err := vrrp.New(cfg, vrrp.Options{OnTransition: hook})
//	err = rt.Start()   // sockets open, instances running
//	rt.State("VI_1")   // vrrp.StateMaster, ...
//	rt.Stop()          // priority 0 adverts, VIPs removed, notify_stop
type Runtime struct {
	cfg   *keepalived.Config
	opts  Options
	insts []*Instance
	extra map[*Instance]*instNet

	conns     map[string]*conn // "eth0/4", "eth0/6"
	ann       map[string]*netif.Announcer
	vmacs     map[string]bool      // VMAC name -> created by this run (removed at stop)
	sysctls   map[[2]string]string // {dev, key} -> the value to restore at stop
	pkts      chan packet
	calls     chan func(time.Time)
	links     chan netif.LinkEvent
	linkUp    map[string]bool
	trackers  map[string]*tracker
	fileVals  map[string]int // vrrp_track_file name -> the number in the file
	fileStops map[string]context.CancelFunc
	notify    *notifier
	// scriptUser runs notify scripts (and vrrp_scripts without their own
	// user); unsafe lists the scripts enable_script_security refused.
	scriptUser scriptuser.Account
	unsafe     map[string]bool
	ctx        context.Context
	cancel     context.CancelFunc
	loopDone   chan struct{}
	syncing    bool
	// routeDeleted signals a route or rule deletion while routeWatch or
	// ruleWatch runs.
	routeDeleted          chan struct{}
	routeWatch, ruleWatch bool

	mu     sync.Mutex
	states map[string]State
	logMu  sync.Mutex
}

// instNet is what the runtime keeps per instance to reach the network.
type instNet struct {
	conn   *conn
	dsts   []netip.Addr // unicast peers, or the multicast group
	vips   []netif.VIP
	routes []netif.Route // virtual_routes
	rules  []netif.Rule  // virtual_rules
	// trackable are the virtual routes and rules keepalived tracks (those
	// without no_track, routes with a dev); tracked those of them set on
	// entering MASTER: one deleted by hand moves the instance to BACKUP.
	trackable, tracked           []netif.Route
	trackableRules, trackedRules []netif.Rule
	garpGen                      atomic.Int64 // bumped on every MASTER entry and exit: stale bursts stop
	lastErr                      string
}

// New prepares the instances of cfg without touching the network.
func New(cfg *keepalived.Config, opts Options) (*Runtime, error) {
	if !cfg.RunsVRRP() {
		return nil, fmt.Errorf("no vrrp_instance (nor static address, route or rule) in the configuration")
	}
	if opts.Log == nil {
		opts.Log = os.Stderr
	}
	r := &Runtime{cfg: cfg, opts: opts, extra: map[*Instance]*instNet{},
		conns: map[string]*conn{}, ann: map[string]*netif.Announcer{}, vmacs: map[string]bool{}, sysctls: map[[2]string]string{},
		pkts: make(chan packet, 256), calls: make(chan func(time.Time), 64), links: make(chan netif.LinkEvent, 64),
		linkUp: map[string]bool{}, trackers: map[string]*tracker{}, fileVals: map[string]int{}, fileStops: map[string]context.CancelFunc{}, unsafe: map[string]bool{}, states: map[string]State{}, loopDone: make(chan struct{}), routeDeleted: make(chan struct{}, 1)}
	for name, s := range cfg.Scripts {
		r.trackers[name] = r.newTracker(s)
	}
	return r, nil
}

func (r *Runtime) newTracker(s *keepalived.VRRPScript) *tracker {
	t := &tracker{s: s, ok: true}
	if r.opts.ProxyHealth != nil && IsProxyProbe(s.Script) {
		t.probe = r.opts.ProxyHealth
	}
	return t
}

// Logf writes one log line as keepalived prints it on the console.
func (r *Runtime) Logf(format string, args ...any) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	line := fmt.Sprintf(format, args...)
	fmt.Fprintf(r.opts.Log, "%s: %s\n", time.Now().Format("Mon Jan _2 15:04:05 2006"), line)
	if r.opts.Syslog != nil {
		r.opts.Syslog(line)
	}
}

// State is the current state of the named instance (StateInit if unknown).
func (r *Runtime) State(name string) State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.states[name]
}

// Start opens the sockets and starts every instance.
func (r *Runtime) Start() error {
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if err := r.prepareScripts(); err != nil {
		return err
	}
	r.notify = newNotifier(r.Logf, r.scriptUser, r.unsafe)
	watch := map[string]bool{}
	for _, c := range r.cfg.Instances {
		if err := r.addInstance(c); err != nil {
			r.closeNet()
			return err
		}
		watch[c.Interface] = true
		for _, t := range c.TrackInterfaces {
			watch[t.Name] = true
		}
	}
	names := make([]string, 0, len(watch))
	for n := range watch {
		names = append(names, n)
	}
	if err := netif.WatchLinks(names, r.links, r.ctx.Done()); err != nil {
		r.closeNet()
		return fmt.Errorf("watching links: %w", err)
	}
	for range names { // the first state of every link arrives before the loop runs
		ev := <-r.links
		r.linkUp[ev.Name] = ev.Up
	}
	r.startReaders()
	for name, f := range r.cfg.TrackFiles {
		r.fileVals[name] = f.Value(0)
	}
	r.setStatic(nil, r.cfg) // before any instance: a virtual route may need a static address
	r.watchRoutes()
	now := time.Now()
	for _, in := range r.insts {
		fault, adj := r.health(in)
		in.SetHealth(now, fault, adj)
		in.Start(now)
	}
	for _, t := range r.trackers {
		r.startTracker(t)
	}
	for _, f := range r.cfg.TrackFiles {
		r.startFileWatch(f)
	}
	go r.loop()
	return nil
}

// netRoutes converts virtual_routes / static_routes lines for netif.
func netRoutes(rs []keepalived.Route) []netif.Route {
	out := make([]netif.Route, 0, len(rs))
	for _, k := range rs {
		out = append(out, netif.Route{Type: k.Type, Dst: k.Dst, Src: k.Src, Via: k.Via, Dev: k.Dev, OnLink: k.OnLink,
			Table: k.Table, Metric: k.Metric, Scope: k.Scope, Protocol: k.Protocol, Mode: k.Mode})
	}
	return out
}

// netRules converts virtual_rules / static_rules lines for netif.
func netRules(rs []keepalived.Rule) []netif.Rule {
	out := make([]netif.Rule, 0, len(rs))
	for _, k := range rs {
		out = append(out, netif.Rule{IPv6: k.IPv6, From: k.From, To: k.To, Not: k.Not, Action: k.Action, Table: k.Table, Goto: k.Goto,
			Preference: k.Preference, FWMark: k.FWMark, FWMask: k.FWMask, IIF: k.IIF, OIF: k.OIF, Protocol: k.Protocol})
	}
	return out
}

func staticAddrs(c *keepalived.Config) []netif.VIP {
	var out []netif.VIP
	if c != nil {
		for _, v := range c.StaticAddrs {
			out = append(out, netif.VIP{Prefix: v.Prefix, Dev: v.Dev, Label: v.Label, Brd: v.Brd, Scope: v.Scope})
		}
	}
	return out
}

func staticRoutes(c *keepalived.Config) []netif.Route {
	if c == nil {
		return nil
	}
	return netRoutes(c.StaticRoutes)
}

func staticRules(c *keepalived.Config) []netif.Rule {
	if c == nil {
		return nil
	}
	return netRules(c.StaticRules)
}

// setStatic moves the static_ipaddress, static_routes and static_rules of
// old (nil at start) to those of cur (nil at stop): what old alone lists
// is removed, rules and routes before addresses (a route may use one as
// its source); what cur lists is set, addresses first, whatever the
// instances' states.
func (r *Runtime) setStatic(old, cur *keepalived.Config) {
	oldA, curA := staticAddrs(old), staticAddrs(cur)
	oldR, curR := staticRoutes(old), staticRoutes(cur)
	oldU, curU := staticRules(old), staticRules(cur)
	eachNew(r.Logf, "static_rules", oldU, curU, netif.DelRule)
	eachNew(r.Logf, "static_routes", oldR, curR, netif.DelRoute)
	eachNew(r.Logf, "static_ipaddress", oldA, curA, netif.DelVIP)
	eachNew(r.Logf, "static_ipaddress", curA, oldA, netif.AddVIP)
	eachNew(r.Logf, "static_routes", curR, oldR, netif.AddRoute)
	eachNew(r.Logf, "static_rules", curU, oldU, netif.AddRule)
}

// eachNew runs op on each of xs that others lacks, logging what fails
// under the keyword what.
func eachNew[T comparable](logf func(string, ...any), what string, xs, others []T, op func(T) error) {
	for _, x := range xs {
		if !slices.Contains(others, x) {
			if err := op(x); err != nil {
				logf("%s: %v", what, err)
			}
		}
	}
}

// setRoutes adds or removes an instance's virtual_routes; it returns
// those it set.
func (r *Runtime) setRoutes(name string, routes []netif.Route, on bool) []netif.Route {
	if len(routes) == 0 {
		return nil
	}
	set, verb := netif.AddRoute, "setting"
	if !on {
		set, verb = netif.DelRoute, "removing"
	}
	r.Logf("(%s) %s Virtual Routes", name, verb)
	var done []netif.Route
	for _, rt := range routes {
		if err := set(rt); err != nil {
			r.Logf("(%s) %v", name, err)
		} else if on {
			done = append(done, rt)
		}
	}
	return done
}

// track notes which of the trackable routes and rules x has set.
func (x *instNet) track(routes []netif.Route, rules []netif.Rule) {
	x.tracked, x.trackedRules = x.tracked[:0], x.trackedRules[:0]
	for _, rt := range routes {
		if slices.Contains(x.trackable, rt) {
			x.tracked = append(x.tracked, rt)
		}
	}
	for _, u := range rules {
		if slices.Contains(x.trackableRules, u) {
			x.trackedRules = append(x.trackedRules, u)
		}
	}
}

// watchRoutes subscribes to route and rule deletions once some instance
// tracks one.
func (r *Runtime) watchRoutes() {
	for _, x := range r.extra {
		if len(x.trackable) > 0 && !r.routeWatch {
			if err := netif.WatchRouteDeletes(r.routeDeleted, r.ctx.Done()); err != nil {
				r.Logf("watching route deletions: %v; tracked virtual routes deleted by hand go unnoticed", err)
			}
			r.routeWatch = true
		}
		if len(x.trackableRules) > 0 && !r.ruleWatch {
			if err := netif.WatchRuleDeletes(r.routeDeleted, r.ctx.Done()); err != nil {
				r.Logf("watching rule deletions: %v; tracked virtual rules deleted by hand go unnoticed", err)
			}
			r.ruleWatch = true
		}
	}
}

// checkRoutes moves to BACKUP each master whose tracked virtual route or
// rule is gone, as keepalived does.
func (r *Runtime) checkRoutes(now time.Time) {
	for _, in := range r.insts {
		if in.State() != StateMaster {
			continue
		}
		if gone := r.missing(r.extra[in]); gone != "" {
			r.Logf("(%s) %s was deleted: leaving MASTER as keepalived does ('no_track' on it keeps it)", in.Name, gone)
			in.Resign(now)
		}
	}
}

// missing names a tracked route or rule of x no longer in place, or "".
func (r *Runtime) missing(x *instNet) string {
	for _, rt := range x.tracked {
		if ok, err := netif.HasRoute(rt); err == nil && !ok {
			return "virtual route " + rt.String()
		}
	}
	for _, u := range x.trackedRules {
		if ok, err := netif.HasRule(u); err == nil && !ok {
			return "virtual rule " + u.String()
		}
	}
	return ""
}

// setRules adds or removes an instance's virtual_rules; it returns those
// it set.
func (r *Runtime) setRules(name string, rules []netif.Rule, on bool) []netif.Rule {
	if len(rules) == 0 {
		return nil
	}
	set, verb := netif.AddRule, "setting"
	if !on {
		set, verb = netif.DelRule, "removing"
	}
	r.Logf("(%s) %s Virtual Rules", name, verb)
	var done []netif.Rule
	for _, u := range rules {
		if err := set(u); err != nil {
			r.Logf("(%s) %v", name, err)
		} else if on {
			done = append(done, u)
		}
	}
	return done
}

// prepareScripts resolves as whom scripts run and applies keepalived's
// script security: a script root runs must not be writable by others; with
// enable_script_security such a script is disabled, otherwise it only
// draws a warning.
func (r *Runtime) prepareScripts() error {
	g := r.cfg.Global
	var err error
	if r.scriptUser, err = scriptuser.Default(g); err != nil {
		return fmt.Errorf("%s: global_defs: %v", g.Pos, err)
	}
	for name, t := range r.trackers {
		if err := r.prepareTracker(name, t); err != nil {
			return err
		}
	}
	r.checkNotifies(r.cfg)
	return nil
}

// secure applies keepalived's script security to a script su runs.
func (r *Runtime) secure(script string, su scriptuser.Account) bool {
	if !su.Root {
		return true
	}
	err := scriptuser.CheckSecure(script)
	if err == nil {
		return true
	}
	if r.cfg.Global.EnableScriptSecurity {
		r.Logf("%v - disabling", err)
		return false
	}
	r.Logf("WARNING - %v", err)
	return true
}

// prepareTracker resolves as whom a vrrp_script runs and whether script
// security lets it run.
func (r *Runtime) prepareTracker(name string, t *tracker) error {
	if t.probe != nil {
		r.Logf("(%s) script '%s' checks for a haproxy process; dhproxy runs the proxy itself, so the in-process check (proxy running, every frontend has a usable server) replaces it", name, t.s.Script)
		return nil
	}
	t.user = r.scriptUser
	if t.s.User != "" {
		var err error
		if t.user, err = scriptuser.Lookup(t.s.User, t.s.Group); err != nil {
			return fmt.Errorf("%s: vrrp_script %s: %v", t.s.Pos, name, err)
		}
	}
	if !r.secure(t.s.Script, t.user) {
		r.Logf("Disabling track script %s due to insecure", name)
		t.off = true
	}
	return nil
}

// checkNotifies marks the notify scripts of cfg that script security refuses.
func (r *Runtime) checkNotifies(cfg *keepalived.Config) {
	var notifies []string
	for _, c := range cfg.Instances {
		notifies = append(notifies, c.NotifyMaster, c.NotifyBackup, c.NotifyFault, c.NotifyStop, c.Notify)
	}
	for _, gr := range cfg.SyncGroups {
		notifies = append(notifies, gr.NotifyMaster, gr.NotifyBackup, gr.NotifyFault, gr.NotifyStop, gr.Notify)
	}
	for _, n := range notifies {
		if n != "" && !r.unsafe[n] && !r.secure(n, r.scriptUser) {
			r.unsafe[n] = true
		}
	}
}

func (r *Runtime) addInstance(c *keepalived.VRRPInstance) error {
	if !netif.InterfaceExists(c.Interface) {
		return fmt.Errorf("%s: (%s) interface %s does not exist", c.Pos, c.Name, c.Interface)
	}
	v6 := false
	if len(c.VIPs) > 0 && c.Version == 3 {
		v6 = c.VIPs[0].Prefix.Addr().Is6()
	}
	if c.UnicastSrcIP.IsValid() {
		v6 = c.UnicastSrcIP.Is6()
	}
	src := c.UnicastSrcIP
	if !src.IsValid() {
		var err error
		if src, err = netif.PrimaryAddr(c.Interface, v6); err != nil {
			return fmt.Errorf("%s: (%s) %v", c.Pos, c.Name, err)
		}
	} else if on, err := netif.HasAddr(c.Interface, src); err == nil && !on {
		// keepalived sends from it all the same, silently; a notice helps
		// find a typo.
		r.Logf("(%s) source address %s is not configured on interface %s; adverts are sent from it anyway, as keepalived does", c.Name, src, c.Interface)
	}
	// With use_vmac the adverts go out on the VMAC (so from the virtual
	// MAC), unless vmac_xmit_base keeps them on the base interface.
	xmit := c.Interface
	if c.VMAC != "" {
		if err := r.setupVMAC(c); err != nil {
			return err
		}
		if !c.VMACXmitBase {
			xmit = c.VMAC
		}
	}
	key := xmit + "/4"
	if v6 {
		key = xmit + "/6"
	}
	cn := r.conns[key]
	if cn == nil {
		var err error
		if cn, err = openConn(xmit, v6); err != nil {
			return fmt.Errorf("%s: (%s) %v", c.Pos, c.Name, err)
		}
		r.conns[key] = cn
	}
	x := &instNet{conn: cn}
	if len(c.UnicastPeers) > 0 {
		x.dsts = c.UnicastPeers
	} else if v6 {
		x.dsts = []netip.Addr{Group6}
	} else {
		x.dsts = []netip.Addr{Group4}
	}
	for _, v := range append(slices.Clone(c.VIPs), c.ExcludedVIPs...) {
		dev := v.Dev
		if dev == "" && c.VMAC != "" && v.Prefix.Addr().Is4() {
			dev = c.VMAC // the VMAC answers ARP for them with the virtual MAC
		} else if dev == "" {
			dev = c.Interface
		}
		x.vips = append(x.vips, netif.VIP{Prefix: v.Prefix, Dev: dev, Label: v.Label, Brd: v.Brd, Scope: v.Scope})
		if r.ann[dev] == nil {
			a, err := netif.NewAnnouncer(dev)
			if err != nil {
				return fmt.Errorf("%s: (%s) %v", v.Pos, c.Name, err)
			}
			r.ann[dev] = a
		}
	}
	x.routes, x.rules = netRoutes(c.Routes), netRules(c.Rules)
	for i, rt := range c.Routes {
		if rt.Dev != "" && !rt.NoTrack {
			x.trackable = append(x.trackable, x.routes[i])
		}
	}
	for i, u := range c.Rules {
		if !u.NoTrack {
			x.trackableRules = append(x.trackableRules, x.rules[i])
		}
	}
	in := NewInstance(c, src, r)
	in.SkipCheckAdvAddr = r.cfg.Global.SkipCheckAdvAddr
	r.insts = append(r.insts, in)
	r.extra[in] = x
	return nil
}

// Stop leaves the protocol as keepalived does on SIGTERM: masters send
// priority 0 so a backup takes over at once, VIPs are removed, notify_stop
// scripts run. It returns when done.
func (r *Runtime) Stop() {
	done := make(chan struct{})
	r.calls <- func(now time.Time) {
		for _, in := range r.insts {
			in.Stop(now)
		}
		close(done)
	}
	<-done
	r.cancel()
	<-r.loopDone
	r.setStatic(r.cfg, nil) // keepalived removes them at stop too
	r.notify.close(2 * time.Second)
	r.closeNet()
}

func (r *Runtime) closeNet() {
	for _, c := range r.conns {
		c.close()
	}
	for _, a := range r.ann {
		a.Close()
	}
	r.removeVMACs()
}

func (r *Runtime) loop() {
	defer close(r.loopDone)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := time.Time{}
		for _, in := range r.insts {
			if d := in.Deadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
				next = d
			}
		}
		if next.IsZero() {
			timer.Reset(time.Hour)
		} else {
			timer.Reset(max(time.Until(next), 0))
		}
		select {
		case <-r.ctx.Done():
			return
		case p := <-r.pkts:
			r.receive(time.Now(), p)
		case f := <-r.calls:
			f(time.Now())
		case <-r.routeDeleted:
			r.checkRoutes(time.Now())
		case ev := <-r.links:
			if r.linkUp[ev.Name] != ev.Up {
				r.linkUp[ev.Name] = ev.Up
				state := "DOWN"
				if ev.Up {
					state = "UP"
				}
				r.Logf("Netlink reports %s %s", ev.Name, state)
				r.applyHealth(time.Now())
			}
		case <-timer.C:
			now := time.Now()
			for _, in := range r.insts {
				if d := in.Deadline(); !d.IsZero() && !now.Before(d) {
					in.Timer(now)
				}
			}
		}
	}
}

func (r *Runtime) receive(now time.Time, p packet) {
	for _, in := range r.insts {
		if in.Primary == p.src {
			return // our own advert, looped back
		}
	}
	a, err := Decode(p.data, p.src, p.dst, p.kernelCk)
	if err != nil {
		r.Logf("%s: %v", p.ifname, err)
		return
	}
	multicast := p.dst.IsMulticast()
	for _, in := range r.insts {
		x := r.extra[in]
		if in.Cfg.Interface != p.ifname && (in.Cfg.VMAC != p.ifname || in.Cfg.VMACXmitBase) || int(a.VRID) != in.Cfg.VRID || in.Primary.Is4() != p.src.Is4() {
			continue
		}
		unicast := len(in.Cfg.UnicastPeers) > 0
		if unicast == multicast || unicast && !slices.Contains(x.dsts, p.src) {
			continue // another router set sharing the VRID
		}
		if err := in.Check(a, p.src, p.ttl, multicast); err != nil {
			r.Logf("%v", err)
			continue
		}
		in.Receive(now, a, p.src)
	}
}

// health sums the tracked objects of an instance: fault when a weight-0
// object (or the instance's own interface) is down, else the weight to add.
func (r *Runtime) health(in *Instance) (fault bool, adj int) {
	c := in.Cfg
	if !c.DontTrackPrimary && !r.linkUp[c.Interface] {
		fault = true
	}
	// keepalived ignores tracking weights of sync group members: any
	// tracked failure puts the whole group in FAULT.
	inGroup := c.SyncGroup != ""
	apply := func(ok bool, weight int, reverse bool) {
		if inGroup {
			weight = 0
		}
		if reverse {
			ok = !ok
		}
		switch {
		case weight == 0:
			if !ok {
				fault = true
			}
		case weight > 0 && ok:
			adj += weight
		case weight < 0 && !ok:
			adj += weight
		}
	}
	for _, t := range c.TrackInterfaces {
		apply(r.linkUp[t.Name], t.Weight, t.Reverse)
	}
	for _, t := range c.TrackScripts {
		tr := r.trackers[t.Name]
		if tr == nil || tr.off {
			continue
		}
		w := tr.s.Weight
		if t.HasWeight {
			w = t.Weight
		}
		apply(tr.ok, w, t.Reverse != tr.s.Reverse)
	}
	for _, t := range c.TrackFiles {
		f := r.cfg.TrackFiles[t.Name]
		if f == nil {
			continue
		}
		w, reverse := f.Weight, f.Reverse
		if t.HasWeight {
			w, reverse = t.Weight, t.Reverse
		}
		if reverse {
			w = -w
		}
		if inGroup {
			w = 0
		}
		v := r.fileVals[t.Name]
		switch {
		case w == 0:
			if v != 0 {
				fault = true
			}
		case v*w < -253:
			fault = true
		default:
			adj += v * w
		}
	}
	return fault, adj
}

// startTracker runs t's script until t.stop (or the runtime's end).
func (r *Runtime) startTracker(t *tracker) {
	if t.off {
		return
	}
	var ctx context.Context
	ctx, t.stop = context.WithCancel(r.ctx)
	go r.runTracker(ctx, t)
}

// startFileWatch follows f until a reload drops it (or the runtime's end).
func (r *Runtime) startFileWatch(f *keepalived.TrackFile) {
	ctx, stop := context.WithCancel(r.ctx)
	r.fileStops[f.Name] = stop
	go r.watchFile(ctx, f)
}

// watchFile polls a vrrp_track_file twice a second.
func (r *Runtime) watchFile(ctx context.Context, f *keepalived.TrackFile) {
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	last := f.Value(0)
	for {
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
		v := f.Value(last)
		if v == last {
			continue
		}
		last = v
		select {
		case r.calls <- func(now time.Time) {
			r.Logf("Track file %s: %s now holds %d", f.Name, f.File, v)
			r.fileVals[f.Name] = v
			r.applyHealth(now)
		}:
		case <-ctx.Done():
			return
		}
	}
}

func (r *Runtime) applyHealth(now time.Time) {
	for _, in := range r.insts {
		fault, adj := r.health(in)
		in.SetHealth(now, fault, adj)
	}
}

func (r *Runtime) runTracker(ctx context.Context, t *tracker) {
	interval := t.s.Interval
	if interval <= 0 {
		interval = time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		var ok bool
		if t.probe != nil {
			ok = t.probe()
		} else {
			ok = runScript(ctx, t.s, t.user)
		}
		if ctx.Err() != nil {
			return
		}
		select {
		case r.calls <- func(now time.Time) {
			if t.observe(ok) {
				word := "failed"
				if ok {
					word = "succeeded"
				}
				r.Logf("VRRP_Script(%s) %s", t.s.Name, word)
				r.applyHealth(now)
			}
		}:
		case <-ctx.Done():
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return
		}
	}
}

// SendAdvert implements Actions.
func (r *Runtime) SendAdvert(in *Instance, prio uint8) {
	x := r.extra[in]
	for _, dst := range x.dsts {
		b, err := in.Advert(prio).Marshal(nil, in.Primary, dst)
		if err == nil {
			err = x.conn.send(b, in.Primary, dst, in.Cfg.UnicastTTL)
		}
		if err != nil {
			// Once per distinct error: a dead link would otherwise log every second.
			if msg := err.Error(); msg != x.lastErr {
				x.lastErr = msg
				r.Logf("(%s) sending advert to %s: %v", in.Name, dst, err)
			}
		} else {
			x.lastErr = ""
		}
	}
}

// SetVIPs implements Actions.
func (r *Runtime) SetVIPs(in *Instance, on bool) {
	x := r.extra[in]
	gen := x.garpGen.Add(1)
	if !on {
		// Rules and routes first, as keepalived: a route may use a VIP as
		// its source.
		r.setRules(in.Name, x.rules, false)
		r.setRoutes(in.Name, x.routes, false)
		r.Logf("(%s) removing VIPs.", in.Name)
		for _, v := range x.vips {
			if err := netif.DelVIP(v); err != nil {
				r.Logf("(%s) %v", in.Name, err)
			}
		}
		return
	}
	r.Logf("(%s) setting VIPs.", in.Name)
	for _, v := range x.vips {
		if err := netif.AddVIP(v); err != nil {
			r.Logf("(%s) %v", in.Name, err)
		}
	}
	x.track(r.setRoutes(in.Name, x.routes, true), r.setRules(in.Name, x.rules, true))
	go r.announce(in, x, x.vips, r.cfg.Global, gen)
}

// announce sends keepalived's gratuitous ARP / NA bursts: garp_master_repeat
// at once, again after garp_master_delay, then every garp_master_refresh.
// g is passed in: a reload may replace r.cfg meanwhile.
func (r *Runtime) announce(in *Instance, x *instNet, vips []netif.VIP, g keepalived.GlobalDefs, gen int64) {
	repeat := max(g.GARPMasterRepeat, 1)
	burst := func() bool {
		for i := 0; i < repeat; i++ {
			if x.garpGen.Load() != gen {
				return false
			}
			for _, v := range vips {
				if err := r.ann[v.Dev].Announce(v.Prefix.Addr()); err != nil {
					r.Logf("(%s) %v", in.Name, err)
				}
				// vrrp_garp_interval / vrrp_gna_interval space the packets.
				if gap := g.GARPInterval; v.Prefix.Addr().Is4() && gap > 0 {
					time.Sleep(gap)
				} else if gap := g.GNAInterval; v.Prefix.Addr().Is6() && gap > 0 {
					time.Sleep(gap)
				}
			}
		}
		return true
	}
	if len(vips) == 0 {
		return
	}
	r.Logf("(%s) Sending/queueing gratuitous ARPs on %s for %s", in.Name, in.Cfg.Interface, vips[0].Prefix.Addr())
	if !burst() {
		return
	}
	wait := func(d time.Duration) bool {
		select {
		case <-time.After(d):
			return x.garpGen.Load() == gen
		case <-r.ctx.Done():
			return false
		}
	}
	if d := in.Cfg.GARPMasterDelay; d > 0 {
		if !wait(d) || !burst() {
			return
		}
	}
	for g.GARPMasterRefresh > 0 && wait(g.GARPMasterRefresh) && burst() {
	}
}

// Transition implements Actions: state table, notify scripts, hook, sync groups.
func (r *Runtime) Transition(in *Instance, from, to State) {
	r.mu.Lock()
	r.states[in.Name] = to
	r.mu.Unlock()
	c := in.Cfg
	prio := int(in.Priority())
	switch to {
	case StateMaster:
		r.notify.queue(c.NotifyMaster, c.Notify, "INSTANCE", in.Name, "MASTER", prio)
	case StateBackup:
		r.notify.queue(c.NotifyBackup, c.Notify, "INSTANCE", in.Name, "BACKUP", prio)
	case StateFault:
		r.notify.queue(c.NotifyFault, c.Notify, "INSTANCE", in.Name, "FAULT", prio)
	case StateStop:
		r.notify.queue(c.NotifyStop, c.Notify, "INSTANCE", in.Name, "STOP", prio)
	}
	if r.opts.OnTransition != nil {
		r.opts.OnTransition(in.Name, from, to)
	}
	if c.SyncGroup != "" && !r.syncing && to != StateStop {
		r.syncGroup(in, to)
	}
}

// syncGroup moves every member of in's vrrp_sync_group to the same state.
func (r *Runtime) syncGroup(in *Instance, to State) {
	var g *keepalived.SyncGroup
	for _, sg := range r.cfg.SyncGroups {
		if sg.Name == in.Cfg.SyncGroup {
			g = sg
		}
	}
	if g == nil {
		return
	}
	r.syncing = true
	now := time.Now()
	all := true
	for _, m := range r.insts {
		if m.Cfg.SyncGroup != g.Name {
			continue
		}
		if m != in {
			m.Force(now, to)
		}
		all = all && m.State() == to
	}
	r.syncing = false
	if !all {
		return
	}
	if r.opts.OnGroupTransition != nil {
		r.opts.OnGroupTransition(g.Name, to)
	}
	switch to {
	case StateMaster:
		r.Logf("(%s) Syncing instances to MASTER state", g.Name)
		r.notify.queue(g.NotifyMaster, g.Notify, "GROUP", g.Name, "MASTER", 0)
	case StateBackup:
		r.notify.queue(g.NotifyBackup, g.Notify, "GROUP", g.Name, "BACKUP", 0)
	case StateFault:
		r.notify.queue(g.NotifyFault, g.Notify, "GROUP", g.Name, "FAULT", 0)
	}
}
