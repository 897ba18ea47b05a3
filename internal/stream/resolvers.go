package stream

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/netip"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"dhproxy/internal/backend"
	"dhproxy/internal/model"
	"dhproxy/internal/resolvers"
)

// dnsState is what a server following DNS holds between resolutions. Only
// its resolution's goroutine touches it.
type dnsState struct {
	port     string                 // the configured port ("0": the client's), for A/AAAA servers
	host     string                 // SRV: the record's target the server stands for; "" when free
	lastSeen time.Time              // SRV: when an answer last listed host
	target   atomic.Pointer[string] // host, for readers outside the resolution (show servers state)
}

// setHost changes the SRV target s stands for.
func (d *dnsState) setHost(h string) {
	d.host = h
	d.target.Store(&h)
}

// FQDN is the host name s follows, its SRV record's target for a template
// server on an SRV record; "" for none.
func (s *Server) FQDN() string {
	if s.Conf.SRV == "" || s.dns == nil {
		return s.Conf.FQDN
	}
	if h := s.dns.target.Load(); h != nil {
		return *h
	}
	return ""
}

// dnsFollow is one name followed for a group of servers of one backend:
// its answers are shared out among them.
type dnsFollow struct {
	name      string
	srv       bool // an SRV record (server-template)
	servers   []*Server
	started   time.Time
	lastValid time.Time // zero until the first valid answer
	lastTry   time.Time
	busy      atomic.Bool
}

// resolverRun follows DNS names for one resolvers section.
type resolverRun struct {
	rt      *Runtime
	client  *resolvers.Client
	follows []*dnsFollow
}

// Resolvers returns the DNS clients of every resolvers section, in
// configuration order ("show resolvers").
func (rt *Runtime) Resolvers() []*resolvers.Client {
	out := make([]*resolvers.Client, len(rt.resolvers))
	for i, r := range rt.resolvers {
		out[i] = r.client
	}
	return out
}

// setupResolvers prepares a client per resolvers section and groups the
// servers that follow a name; the servers still without an address enter
// resolution maintenance.
func (rt *Runtime) setupResolvers() {
	runs := map[*model.Resolvers]*resolverRun{}
	for _, r := range rt.cfg.Resolvers {
		run := &resolverRun{rt: rt, client: resolvers.New(r)}
		runs[r] = run
		rt.resolvers = append(rt.resolvers, run)
	}
	now := time.Now()
	for _, p := range rt.cfg.Proxies {
		b := rt.backends[p.Name]
		if b == nil || b.P != p {
			continue
		}
		groups := map[string]*dnsFollow{}
		for _, s := range b.Servers {
			sc := s.Conf
			run := runs[sc.ResolversRef]
			name := sc.FQDN
			if sc.SRV != "" {
				name = sc.SRV
			}
			if run == nil || name == "" {
				continue
			}
			_, port, _ := net.SplitHostPort(sc.Addr)
			s.dns = &dnsState{port: port}
			key := name
			if sc.SRV != "" {
				key = "SRV " + name
			}
			f := groups[key]
			if f == nil {
				f = &dnsFollow{name: name, srv: sc.SRV != "", started: now}
				groups[key] = f
				run.follows = append(run.follows, f)
			}
			f.servers = append(f.servers, s)
			if sc.SRV != "" || !hostIsIP(*s.dst.Load()) {
				empty := ""
				s.dst.Store(&empty)
				if !sc.Disabled {
					// Up as every server starts, then down to maintenance,
					// counted as HAProxy counts it (chkdown).
					s.StartInMaint(backend.AdminResolvMaint)
					s.Stats.Chkdown.Add(1)
				}
			}
		}
	}
}

func hostIsIP(dst string) bool {
	host, _, err := net.SplitHostPort(dst)
	if err != nil {
		host = dst
	}
	_, err = netip.ParseAddr(host)
	return err == nil
}

// startResolvers runs the sections that have servers to follow, until
// rt.done.
func (rt *Runtime) startResolvers() {
	for _, run := range rt.resolvers {
		if len(run.follows) > 0 {
			go run.loop()
		}
	}
}

// loop wakes every "timeout resolve" and starts the resolutions whose
// last one ended at least "timeout resolve" ago, as HAProxy's resolvers task
// does ("hold valid" is how long a valid answer outlives errors, in the
// hold periods of applyFailure).
func (run *resolverRun) loop() {
	conf := run.client.Conf
	t := time.NewTicker(max(conf.TimeoutResolve, 10*time.Millisecond))
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		now := time.Now()
		for _, f := range run.follows {
			// busy hands f over: only its holder reads or writes lastTry.
			if !f.busy.CompareAndSwap(false, true) {
				continue
			}
			if !f.lastTry.IsZero() && now.Sub(f.lastTry) < conf.TimeoutResolve {
				f.busy.Store(false)
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer f.busy.Store(false)
				defer func() {
					if r := recover(); r != nil {
						log.Printf("[ALERT] resolvers '%s': resolution of '%s' failed: %v\n%s", conf.Name, f.name, r, debug.Stack())
					}
				}()
				run.resolve(ctx, f)
				f.lastTry = time.Now()
			}()
		}
		select {
		case <-run.rt.done:
			cancel()
			return
		case <-t.C:
		}
	}
}

// resolve runs one resolution of f and applies it to its servers.
func (run *resolverRun) resolve(ctx context.Context, f *dnsFollow) {
	if f.srv {
		a := run.client.Query(ctx, f.name, dnsmessage.TypeSRV)
		if ctx.Err() != nil {
			return
		}
		if a.Status == resolvers.StatusValid {
			run.fillTargets(ctx, f, &a)
			f.lastValid = time.Now()
			run.applySRV(f, a)
			return
		}
		run.applyFailure(f, a)
		return
	}
	prefer := f.servers[0].Conf.ResolvePrefer
	a := run.queryHost(ctx, f.name, prefer)
	if ctx.Err() != nil {
		return
	}
	run.client.Remember(f.name, prefer == "ipv4", a)
	if a.Status != resolvers.StatusValid {
		run.applyFailure(f, a)
		return
	}
	f.lastValid = time.Now()
	run.applyAddrs(f, a)
}

// queryHost asks for the preferred family's records (IPv6 unless
// "resolve-prefer ipv4", as HAProxy), then for the other family's when the
// first brings no address.
func (run *resolverRun) queryHost(ctx context.Context, name, prefer string) resolvers.Answer {
	first, second := dnsmessage.TypeAAAA, dnsmessage.TypeA
	if prefer == "ipv4" {
		first, second = second, first
	}
	a := run.client.Query(ctx, name, first)
	if a.Status == resolvers.StatusValid || a.Status == resolvers.StatusTimeout || ctx.Err() != nil {
		return a
	}
	if b := run.client.Query(ctx, name, second); b.Status == resolvers.StatusValid {
		return b
	}
	return a
}

// fillTargets resolves the SRV targets that the additional section gave
// no address for.
func (run *resolverRun) fillTargets(ctx context.Context, f *dnsFollow, a *resolvers.Answer) {
	for i := range a.SRV {
		if len(a.SRV[i].Addrs) > 0 {
			continue
		}
		if t := run.queryHost(ctx, a.SRV[i].Target, f.servers[0].Conf.ResolvePrefer); t.Status == resolvers.StatusValid {
			a.SRV[i].Addrs = t.Addrs
		}
	}
}

// applyAddrs shares an A/AAAA answer out: a server keeps its address while
// the answer lists it; the others take the first address of the preferred
// family (and "resolve-net") that no other server of the group uses,
// unless "resolve-opts allow-dup-ip". A server left without one enters
// resolution maintenance, as the surplus servers of a template do.
func (run *resolverRun) applyAddrs(f *dnsFollow, a resolvers.Answer) {
	used := map[netip.Addr]bool{}
	kept := make([]bool, len(f.servers))
	listed := map[netip.Addr]bool{}
	for _, ip := range a.Addrs {
		listed[ip.Unmap()] = true
	}
	for i, s := range f.servers {
		if ip, ok := s.currentIP(); ok && listed[ip] && (s.Conf.ResolveAllowDup || !used[ip]) {
			kept[i], used[ip] = true, true
			run.leaveResolvMaint(s)
		}
	}
	for i, s := range f.servers {
		if kept[i] {
			continue
		}
		ip, ok := pickAddr(a.Addrs, s.Conf, used)
		if !ok {
			run.enterResolvMaint(s, "No IP for server ")
			continue
		}
		used[ip] = true
		run.setAddr(s, ip, s.dns.port, a.Nameserver)
		run.leaveResolvMaint(s)
	}
}

// pickAddr chooses among addrs: the preferred family first, then the
// "resolve-net" networks first, skipping the used ones.
func pickAddr(addrs []netip.Addr, sc *model.Server, used map[netip.Addr]bool) (netip.Addr, bool) {
	best, bestScore := netip.Addr{}, -1
	for _, ip := range addrs {
		ip = ip.Unmap()
		if used[ip] && !sc.ResolveAllowDup {
			continue
		}
		score := 0
		if ip.Is4() == (sc.ResolvePrefer == "ipv4") {
			score += 2
		}
		for _, n := range sc.ResolveNets {
			if n.Contains(ip) {
				score++
				break
			}
		}
		if score > bestScore {
			best, bestScore = ip, score
		}
	}
	return best, bestScore >= 0
}

// applySRV shares an SRV answer out among a template's servers: a server
// keeps the record (target and port) it stands for while answers list it
// (and "hold obsolete" after they stop), taking its port, address and
// weight ((SRV weight + 255) / 256, as HAProxy); free servers take the new
// records; the rest stay in resolution maintenance.
func (run *resolverRun) applySRV(f *dnsFollow, a resolvers.Answer) {
	now := time.Now()
	taken := make([]bool, len(a.SRV))
	for _, s := range f.servers {
		st := s.dns
		if st.host == "" {
			continue
		}
		found := false
		for i, r := range a.SRV {
			if !taken[i] && r.Target == st.host && strconv.Itoa(int(r.Port)) == st.port && len(r.Addrs) > 0 {
				taken[i], found = true, true
				st.lastSeen = now
				run.takeRecord(s, r, a.Nameserver)
				break
			}
		}
		if !found && now.Sub(st.lastSeen) >= run.client.Conf.HoldObsolete {
			run.freeTemplateServer(s)
			run.enterResolvMaint(s, "entry removed from SRV record")
		}
	}
	for i, r := range a.SRV {
		if taken[i] || len(r.Addrs) == 0 {
			continue
		}
		for _, s := range f.servers {
			if s.dns.host == "" {
				s.dns.setHost(r.Target)
				s.dns.port, s.dns.lastSeen = strconv.Itoa(int(r.Port)), now
				run.takeRecord(s, r, a.Nameserver)
				break
			}
		}
	}
}

// takeRecord points s at an SRV record's target.
func (run *resolverRun) takeRecord(s *Server, r resolvers.SRV, ns string) {
	ip, ok := s.currentIP()
	listed := false
	for _, a := range r.Addrs {
		listed = listed || (ok && a.Unmap() == ip)
	}
	cur := *s.dst.Load()
	_, curPort, _ := net.SplitHostPort(cur)
	if !listed || curPort != s.dns.port {
		pick, _ := pickAddr(r.Addrs, s.Conf, nil)
		run.setAddr(s, pick, s.dns.port, ns)
	}
	if !s.Conf.ResolveIgnoreWeight {
		// HAProxy 2.6's mapping of 0..65535 onto 0..256, which keeps 0.
		w := (int(r.Weight) + 255) / 256
		if cur, _ := s.Weight(); w != cur {
			s.SetWeight(w)
		}
	}
	run.leaveResolvMaint(s)
}

// applyFailure takes the group's servers to maintenance once the error has
// lasted longer than its "hold" period since the last valid answer.
func (run *resolverRun) applyFailure(f *dnsFollow, a resolvers.Answer) {
	c := run.client.Conf
	hold := c.HoldOther
	switch a.Status {
	case resolvers.StatusNX:
		hold = c.HoldNX
	case resolvers.StatusTimeout:
		hold = c.HoldTimeout
	case resolvers.StatusRefused:
		hold = c.HoldRefused
	}
	since := f.lastValid
	if since.IsZero() {
		since = f.started
	}
	if time.Since(since) < hold {
		return
	}
	for _, s := range f.servers {
		if f.srv {
			run.freeTemplateServer(s)
		}
		run.enterResolvMaint(s, "DNS "+a.Status.String()+" status")
	}
}

// freeTemplateServer makes s free for another SRV record: no target, no
// address, as HAProxy shows a template's spare servers.
func (run *resolverRun) freeTemplateServer(s *Server) {
	s.dns.setHost("")
	empty := ""
	s.dst.Store(&empty)
	s.idle.CloseAll() // they lead to an old address
}

// currentIP is the address s connects to now.
func (s *Server) currentIP() (netip.Addr, bool) {
	d := *s.dst.Load()
	host, _, err := net.SplitHostPort(d)
	if err != nil {
		host = d
	}
	ip, err := netip.ParseAddr(host)
	return ip.Unmap(), err == nil
}

// AddrPort returns where s connects now, host:port (":0" when the client's
// port is used), as the stats show it; "" while DNS has given it no address.
func (s *Server) AddrPort() string {
	if s.Conf.Unix {
		return "unix" // haproxy 2.6's "show stat" addr of a UNIX socket server
	}
	d := *s.dst.Load()
	if d != "" && s.useDst {
		return net.JoinHostPort(d, "0")
	}
	return d
}

// setAddr points s at ip (and port), with HAProxy's log line. Connections
// already open stay where they are; new ones go to the new address.
func (run *resolverRun) setAddr(s *Server, ip netip.Addr, port, ns string) {
	old := *s.dst.Load()
	dst := ip.String()
	if !s.useDst {
		dst = net.JoinHostPort(dst, port)
	}
	if dst == old {
		return
	}
	s.dst.Store(&dst)
	for _, n := range run.client.Nameservers {
		if n.Name == ns {
			n.Counters.Update.Add(1)
		}
	}
	from := "(none)"
	if ip, ok := hostOf(old); ok {
		from = ip
	}
	run.rt.logEvent(nil)("notice", fmt.Sprintf("%s/%s changed its IP from %s to %s by %s/%s.", s.backend.P.Name, s.Name, from, ip, run.client.Conf.Name, ns))
	s.idle.CloseAll() // they lead to an old address
}

func hostOf(dst string) (string, bool) {
	if dst == "" {
		return "", false
	}
	host, _, err := net.SplitHostPort(dst)
	if err != nil {
		return dst, true
	}
	return host, true
}

// enterResolvMaint puts s in resolution maintenance: no traffic, checks
// paused, "MAINT (resolution)" in the stats.
func (run *resolverRun) enterResolvMaint(s *Server, reason string) {
	if s.SetAdmin(backend.AdminResolvMaint)&backend.AdminResolvMaint != 0 {
		return
	}
	if s.AdminState()&backend.AdminMaintAny != 0 {
		return // already in maintenance for another reason
	}
	was := s.Up()
	s.SetUp(false)
	b := s.backend
	line := fmt.Sprintf("%s was DOWN and now enters maintenance (%s).", s.prefix(), reason)
	if was {
		act, bck := b.Usable()
		line = fmt.Sprintf("%s is going DOWN for maintenance (%s). %d active and %d backup servers left. %d sessions active, 0 requeued, 0 remaining in queue.",
			s.prefix(), reason, act, bck, s.Cur())
	}
	run.rt.logEvent(nil)("alert", line)
}

// leaveResolvMaint brings s back from resolution maintenance, unless
// another maintenance holds it.
func (run *resolverRun) leaveResolvMaint(s *Server) {
	old := s.ClearAdmin(backend.AdminResolvMaint)
	if old&backend.AdminResolvMaint == 0 || old&backend.AdminMaintAny != 0 {
		return
	}
	s.SetUp(true)
	name := s.Conf.FQDN
	if name == "" {
		name = s.dns.host
	}
	run.rt.logEvent(nil)("notice", fmt.Sprintf("%s ('%s') is UP/READY (resolves again).", s.prefix(), name))
}

// checkAddr is where health checks of a DNS-following server go: its
// current address, "" while it has none or is in resolution maintenance.
func (s *Server) checkAddr() string {
	if s.AdminState()&backend.AdminResolvMaint != 0 {
		return ""
	}
	return *s.dst.Load()
}
