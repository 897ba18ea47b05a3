package model

import (
	"crypto/tls"

	"dhproxy/internal/tlsconf"

	"fmt"
	"maps"
	"net/netip"
	"slices"
	"sort"
	"strings"

	"dhproxy/internal/acl"
	"dhproxy/internal/config"
	"dhproxy/internal/logging/logformat"
	"dhproxy/internal/sample"
)

// Net is a client network, as in "option forwardfor except 10.0.0.0/8".
type Net = netip.Prefix

// builder carries what keyword handlers need while a configuration is built.
type builder struct {
	defPath   *defaultPath // default-path, once a global line set it
	d         *config.Diags
	cfg       *Config
	tlsBuilt  map[*tlsconf.BindOpts]*tls.Config // bind lines whose TLS is loaded
	sect      *config.Section
	fcgiOrder []*FcgiApp        // the fcgi-app sections in the order of the files (kw_fcgi.go)
	defaults  map[string]*Proxy // named defaults sections
	lastDef   *Proxy            // the last defaults section seen (anonymous or not)
	warned    map[string]bool   // "not implemented yet" warnings already given
	comp      *sample.Compiler  // sample expressions; reads each pattern/map file once
	// rulesUsers records which kinds of sections inherit each defaults
	// section that has rules (checkRulesInheritance).
	rulesUsers map[*Proxy]Cap
	// proxyRefs are the backends and servers that fetches name, with the
	// proxy and line of the rule, checked once every section is read.
	proxyRefs []proxyRef
	// patEdits are the add-acl, del-acl, set-map and del-map rules, bound
	// to their files once every ACL and map is loaded.
	patEdits []patEdit
	// implicitRings are those of "log tcp@" lines (kw_ring.go).
	implicitRings []*Ring
}

type proxyRef struct {
	sample.ProxyRef
	in  *Proxy
	pos config.Pos
}

// addr expands environment variables in an address argument, as HAProxy
// does for every address it parses (see config.ExpandAddrEnv).
func (b *builder) addr(s string) string {
	// the section's environment, with the setenv lines of the global
	// section read so far
	return config.ExpandAddrEnv(s, b.comp.Env)
}

type proxyKeyword struct {
	caps  Cap
	parse func(b *builder, p *Proxy, l config.Line)
}

type globalKeyword func(b *builder, g *Global, l config.Line)

var (
	proxyKeywords  = map[string]proxyKeyword{}
	globalKeywords = map[string]globalKeyword{}
)

// registerProxy declares a proxy-section keyword valid in the sections caps allows.
func registerProxy(name string, caps Cap, parse func(b *builder, p *Proxy, l config.Line)) {
	if _, dup := proxyKeywords[name]; dup {
		panic("model: proxy keyword registered twice: " + name)
	}
	proxyKeywords[name] = proxyKeyword{caps, parse}
}

// registerGlobal declares a global-section keyword.
func registerGlobal(name string, parse globalKeyword) {
	if _, dup := globalKeywords[name]; dup {
		panic("model: global keyword registered twice: " + name)
	}
	globalKeywords[name] = parse
}

func (b *builder) errorf(l config.Line, format string, args ...any) {
	b.d.Errorf(l.Pos, format, args...)
}

func (b *builder) warnf(l config.Line, format string, args ...any) {
	b.d.Warnf(l.Pos, format, args...)
}

// sectionWord names the section kind the way HAProxy's messages do.
func sectionWord(p *Proxy) string {
	switch {
	case p.Cap&CapDef != 0:
		return "defaults"
	case p.Cap == CapFE|CapBE:
		return "listen"
	case p.Cap&CapFE != 0:
		return "frontend"
	default:
		return "backend"
	}
}

func newDefaults() *Proxy {
	return &Proxy{
		Cap:     CapDef,
		Mode:    ModeTCP,
		Retries: 3,
		Options: map[string]bool{},
		DefaultServer: Server{
			Weight: 1, Rise: 2, Fall: 3,
			Inter:    defaultInter,
			MaxReuse: -1, PoolMaxConn: -1,
		},
		// haproxy's default: keep-alive requests queue on their last
		// server without limit
		MaxKeepAliveQueue: -1,
	}
}

// inherit copies the settings a new section takes from its defaults section.
func inherit(def *Proxy) *Proxy {
	p := *def
	p.Binds, p.Servers, p.UseBackends = nil, nil, nil
	p.StickTable, p.StickRules = nil, nil
	p.UseServers, p.PersistRules = nil, nil
	p.ReqCaptures, p.ResCaptures = nil, nil
	p.ACLs = acl.Set{}
	// A named defaults section's rules run before the section's own, as
	// HAProxy runs its defaults' rule lists first (an allow there ends
	// the whole list, as it does in HAProxy).
	p.HTTPRequestRules = slices.Clone(def.HTTPRequestRules)
	p.HTTPResponseRules = slices.Clone(def.HTTPResponseRules)
	p.RedirectRules, p.MonitorFail = nil, nil
	p.HTTPAfterResponseRules = nil
	p.TCPRequest = TCPRequest{InspectDelay: p.TCPRequest.InspectDelay}
	p.TCPResponse = TCPResponse{InspectDelay: p.TCPResponse.InspectDelay}
	p.Options = make(map[string]bool, len(def.Options))
	for k, v := range def.Options {
		p.Options[k] = v
	}
	p.ErrorPages = maps.Clone(def.ErrorPages)
	p.Logs = append([]LogTarget(nil), def.Logs...)
	p.Balance.Args = append([]string(nil), def.Balance.Args...)
	p.ForwardFor.Except = append([]Net(nil), def.ForwardFor.Except...)
	if def.Cookie != nil {
		c := *def.Cookie
		p.Cookie = &c
	}
	p.Compression = inheritCompression(def.Compression)
	if def.Stats != nil {
		s := *def.Stats
		p.Stats = &s
	}
	p.Description = ""
	p.ID = 0
	return &p
}

// checkRulesInheritance refuses what HAProxy 2.6 refuses of a defaults
// section with rules: a listen section inheriting it, and frontends and
// backends both inheriting it (its rules would run twice on a request).
func (b *builder) checkRulesInheritance(def *Proxy, caps Cap, pos config.Pos) {
	if len(def.HTTPRequestRules) == 0 && len(def.HTTPResponseRules) == 0 {
		return
	}
	if caps == CapFE|CapBE {
		b.d.Errorf(pos, "a listen section cannot inherit from a defaults section defining TCP/HTTP rules.")
		return
	}
	if b.rulesUsers == nil {
		b.rulesUsers = map[*Proxy]Cap{}
	}
	b.rulesUsers[def] |= caps
	if b.rulesUsers[def] == CapFE|CapBE {
		b.d.Errorf(pos, "frontends and backends cannot inherit from the same defaults section if it defines TCP/HTTP rules (defaults section at %s).", def.Pos)
	}
}

// Build validates the sections and returns the runtime configuration.
// Diagnostics go into d; the result is nil when d has errors.
func Build(sections []config.Section, d *config.Diags) *Config {
	b := &builder{d: d, cfg: &Config{frontends: map[string]*Proxy{}, backends: map[string]*Proxy{}}, defaults: map[string]*Proxy{}, comp: &sample.Compiler{LogVar: logformat.HeaderVar}}
	b.cfg.Global = Global{BufSize: 16384, MaxRewrite: 1024, MaxHdr: 101, UID: -1, GID: -1, MworkerMaxReloads: -1}
	b.lastDef = newDefaults()
	defer b.leaveDefaultPath()
	// Global settings (tune.bufsize) and the http-errors sections come
	// first: the proxies' error pages use them wherever they are declared.
	for i := range sections {
		if s := &sections[i]; s.Kind == "global" {
			b.enterSection(s)
			b.buildGlobal(s)
		}
	}
	b.readCaseAdjustFile()
	b.buildHTTPErrors(sections)
	b.buildUserlists(sections)
	for i := range sections {
		s := &sections[i]
		b.enterSection(s)
		switch s.Kind {
		case "global", "http-errors", "userlist":
		case "defaults", "frontend", "backend", "listen":
			b.buildProxy(s)
		case "mailers":
			b.buildMailers(s)
		case "resolvers":
			b.buildResolvers(s)
		case "peers":
			b.buildPeers(s)
		case "acme":
			b.buildACME(s)
		case "program":
			b.buildProgram(s)
		case "cache":
			b.buildCache(s)
		case "log-forward":
			b.buildLogForward(s)
		case "ring":
			b.buildRing(s)
		case "fcgi-app":
			b.buildFcgiApp(s)
		default:
			d.Errorf(s.Pos, "section '%s' is not supported by dhproxy yet; remove it or move its function elsewhere.", s.Kind)
		}
	}
	if g := &b.cfg.Global; g.MaxRewrite > g.BufSize/2 {
		g.MaxRewrite = g.BufSize / 2 // as HAProxy readjusts it
	}
	b.resolve()
	b.checkHTTPClientResolvers()
	b.checkProxyRefs()
	b.resolveServerTracking()
	b.resolveStickPeers()
	b.markACMEFrontends()
	b.warnUnusedStickTables()
	b.resolveEmailAlerts()
	b.dynamicCookies()
	b.bindPatternEdits()
	b.resolveCaches()
	b.resolveRingTargets()
	b.resolveFcgiApps()
	if d.HasErrors() {
		return nil
	}
	b.cfg.PatternFiles = acl.Refs(b.comp)
	return b.cfg
}

func (b *builder) buildGlobal(s *config.Section) {
	if len(s.Args) > 0 {
		b.d.Errorf(s.Pos, "'global' takes no argument, found '%s'.", strings.Join(s.Args, " "))
	}
	if b.cfg.Global.Pos.File == "" {
		b.cfg.Global.Pos = s.Pos
	}
	for _, l := range s.Lines {
		kw, ok := globalKeywords[l.Args[0]]
		if module, isModule := moduleOf(l.Args[0]); !ok && isModule {
			b.errorf(l, "'%s' belongs to HAProxy's optional module %s, which dhproxy does not have; remove this line.", l.Args[0], module)
			continue
		}
		if !ok {
			b.errorf(l, "unknown keyword '%s' in 'global' section%s", l.Args[0], suggest(l.Args[0], globalNames()))
			continue
		}
		kw(b, &b.cfg.Global, l)
	}
}

func (b *builder) buildProxy(s *config.Section) {
	var caps Cap
	switch s.Kind {
	case "defaults":
		caps = CapDef
	case "frontend":
		caps = CapFE
	case "backend":
		caps = CapBE
	case "listen":
		caps = CapFE | CapBE
	}
	args := s.Args
	name := ""
	if len(args) > 0 && args[0] != "from" {
		name, args = args[0], args[1:]
	}
	if name == "" && caps != CapDef {
		b.d.Errorf(s.Pos, "'%s' expects <name> as argument.", s.Kind)
		return
	}
	if name != "" {
		if err := checkName(name); err != "" {
			b.d.Errorf(s.Pos, "character '%s' is not permitted in '%s' name '%s'.", err, s.Kind, name)
		}
	}
	def, explicit := b.lastDef, false
	if len(args) >= 2 && args[0] == "from" {
		d, ok := b.defaults[args[1]]
		if !ok {
			b.d.Errorf(s.Pos, "%s '%s': defaults section '%s' not found; declare 'defaults %s' before it.", s.Kind, name, args[1], args[1])
		} else {
			def, explicit = d, true
		}
		args = args[2:]
	} else if len(args) == 1 && args[0] == "from" {
		b.d.Errorf(s.Pos, "'from' expects the name of a defaults section.")
		args = nil
	}
	p := inherit(def)
	p.Pos, p.Name, p.Cap = s.Pos, name, caps
	if caps != CapDef {
		b.checkRulesInheritance(def, caps, s.Pos)
	} else {
		// a defaults section starts without rules; HAProxy refuses one
		// that names a defaults section with rules in its "from"
		if explicit && (len(def.HTTPRequestRules) > 0 || len(def.HTTPResponseRules) > 0) {
			b.d.Errorf(s.Pos, "a defaults section cannot inherit from a defaults section defining TCP/HTTP rules (defaults section at %s).", def.Pos)
		}
		p.HTTPRequestRules, p.HTTPResponseRules = nil, nil
	}
	if len(args) > 0 {
		if s.Kind == "listen" || s.Kind == "frontend" {
			// HAProxy 1.4 allowed the listening address on the section line; 1.5+ refuses it.
			b.d.Warnf(s.Pos, "'%s %s %s': an address on the '%s' line is deprecated (HAProxy 1.5 removed it); write 'bind %s' on its own line in this section instead.",
				s.Kind, name, strings.Join(args, " "), s.Kind, strings.Join(args, " "))
			parseBindLine(b, p, config.Line{Pos: s.Pos, Args: append([]string{"bind"}, args...)})
		} else {
			b.d.Errorf(s.Pos, "unexpected '%s' after '%s %s'.", strings.Join(args, " "), s.Kind, name)
		}
	}
	for _, l := range s.Lines {
		kwName := l.Args[0]
		if kwName == "no" || kwName == "default" {
			if len(l.Args) < 2 || l.Args[1] != "option" && l.Args[1] != "log" {
				b.errorf(l, "'%s' only applies to 'option' and 'log' keywords.", kwName)
				continue
			}
			prefix := l.Args[0]
			kwName = l.Args[1]
			l = config.Line{Pos: l.Pos, Args: l.Args[1:]}
			if prefix == "no" || kwName == "option" {
				l.Args = append([]string{prefix + "-" + kwName}, l.Args[1:]...)
				kwName = l.Args[0]
			}
		}
		kw, ok := proxyKeywords[kwName]
		if !ok {
			b.errorf(l, "unknown keyword '%s' in '%s' section%s", kwName, sectionWord(p), suggest(kwName, proxyNames()))
			continue
		}
		if kw.caps&caps == 0 {
			b.errorf(l, "'%s' is not allowed in a '%s' section; it belongs in %s.", kwName, sectionWord(p), capWords(kw.caps))
			continue
		}
		b.comp.WhereFile, b.comp.WhereLine = l.Pos.File, l.Pos.Line
		b.comp.ProxyRefs = b.comp.ProxyRefs[:0] // only this line's
		kw.parse(b, p, l)
		for _, r := range b.comp.ProxyRefs {
			b.proxyRefs = append(b.proxyRefs, proxyRef{r, p, l.Pos})
		}
		b.comp.ProxyRefs = b.comp.ProxyRefs[:0]
		for _, n := range b.comp.Notices {
			b.d.Noticef(l.Pos, "%s", n)
		}
		b.comp.Notices = b.comp.Notices[:0]
	}
	if caps == CapDef {
		if name != "" {
			if _, dup := b.defaults[name]; dup {
				b.d.Errorf(s.Pos, "defaults section '%s' declared twice; give it another name.", name)
			}
			b.defaults[name] = p
		}
		b.lastDef = p
		return
	}
	// HAProxy refuses two proxies of a name only when their capabilities
	// overlap: a frontend and a backend may share one.
	var other *Proxy
	if caps&CapFE != 0 {
		other = b.cfg.frontends[name]
	}
	if other == nil && caps&CapBE != 0 {
		other = b.cfg.backends[name]
	}
	if other != nil {
		b.d.Errorf(s.Pos, "%s '%s' has the same name as %s '%s' declared at %s; rename one of them.", s.Kind, name, sectionWord(other), name, other.Pos)
		return
	}
	if f := b.cfg.LogForwardSection(name); f != nil {
		b.d.Errorf(s.Pos, "%s '%s' has the same name as log forward section '%s' declared at %s; rename one of them.", s.Kind, name, name, f.Pos)
	}
	if caps&CapFE != 0 {
		b.cfg.frontends[name] = p
	}
	if caps&CapBE != 0 {
		b.cfg.backends[name] = p
	}
	b.cfg.Proxies = append(b.cfg.Proxies, p)
}

func capWords(c Cap) string {
	var w []string
	if c&CapDef != 0 {
		w = append(w, "'defaults'")
	}
	if c&CapFE != 0 {
		w = append(w, "'frontend'")
	}
	if c&CapBE != 0 {
		w = append(w, "'backend'")
	}
	if c&(CapFE|CapBE) != 0 {
		w = append(w, "'listen'")
	}
	return strings.Join(w, ", ")
}

// checkName returns the first character HAProxy refuses in proxy names.
func checkName(n string) string {
	for _, r := range n {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == ':') {
			return string(r)
		}
	}
	return ""
}

// resolve links backend references and checks what only the whole file can tell.
func (b *builder) resolve() {
	id := 0
	if len(b.cfg.Global.StatsSockets) > 0 {
		id = 1 // haproxy's CLI frontend takes the first proxy id
	}
	for _, p := range b.cfg.Proxies {
		id++
		p.ForcedID = p.ID != 0
		if p.ID == 0 {
			p.ID = id
		}
		for _, bd := range p.Binds {
			b.buildBindTLS(bd)
		}
		b.numberBinds(p)
		for _, s := range p.Servers {
			b.buildServerTLS(s)
			if s.FastOpen && !p.RetryOn.AllowsFastOpen() {
				// haproxy's warning, once the section (and its retry-on,
				// written anywhere in it) is read: tfo needs those retries.
				b.d.Warnf(s.Pos, "'server %s/%s' : server has tfo activated, the backend should be configured with at least 'conn-failure', 'empty-response' and 'response-timeout' or we wouldn't be able to retry the connection on failure.", p.Name, s.Name)
			}
		}
		b.checkFilters(p)
		b.checkDoResolve(p)
		if p.IsFrontend() && len(p.Binds) == 0 {
			b.d.Warnf(p.Pos, "%s '%s' has no 'bind' directive; it will not receive any connection. Add 'bind <addr>:<port>'.", sectionWord(p), p.Name)
		}
		if p.Mode == ModeTCP && p.HTTPSLogAt.Line != 0 && p.IsFrontend() {
			b.d.Warnf(p.HTTPSLogAt, "'option httpslog' not usable with %s '%s' (needs 'mode http'). Falling back to 'option tcplog'.", sectionWord(p), p.Name)
			p.LogFormat, p.HTTPSLogAt = nil, config.Pos{}
			p.Options["tcplog"] = true
		}
		if p.Mode == ModeTCP {
			for kw, n := range map[string]int{"http-request": len(p.HTTPRequestRules), "http-response": len(p.HTTPResponseRules), "redirect": len(p.RedirectRules), "http-after-response": len(p.HTTPAfterResponseRules)} {
				if n > 0 {
					b.d.Warnf(p.Pos, "'%s' rules ignored for %s '%s' as they require HTTP mode.", kw, sectionWord(p), p.Name)
				}
			}
			for _, u := range p.UseBackends {
				if u.Dynamic != nil && !u.Dynamic.Usable(sample.PhaseConn|sample.PhaseContent) {
					b.d.Errorf(u.Pos, "%s '%s': 'use_backend %s' reads the HTTP request, which mode tcp does not have.", sectionWord(p), p.Name, u.Name)
				}
			}
		}
		for _, r := range p.TCPResponse.Content {
			if r.HTTP != (p.Mode == ModeHTTP) {
				b.d.Errorf(r.Pos, "%s '%s': the section's mode changed after this 'tcp-response content' rule; write 'mode' before the rules (they are read for the mode in force).", sectionWord(p), p.Name)
			}
		}
		for _, r := range p.TCPRequest.Content {
			if r.HTTP != (p.Mode == ModeHTTP) {
				b.d.Errorf(r.Pos, "%s '%s': the section's mode changed after this 'tcp-request content' rule; write 'mode' before the rules (they are read for the mode in force).", sectionWord(p), p.Name)
			}
		}
		if p.IsFrontend() {
			if p.DefaultBackend != "" {
				be := b.cfg.backends[p.DefaultBackend]
				switch {
				case be == nil && b.cfg.frontends[p.DefaultBackend] != nil:
					b.d.Errorf(p.DefaultBEPos, "%s '%s': default_backend '%s' is a frontend, not a backend.", sectionWord(p), p.Name, p.DefaultBackend)
				case be == nil:
					b.d.Errorf(p.DefaultBEPos, "%s '%s': default_backend '%s' does not exist; declare 'backend %s'.", sectionWord(p), p.Name, p.DefaultBackend, p.DefaultBackend)
				default:
					p.DefaultBE = be
				}
			} else if p.IsBackend() {
				p.DefaultBE = p
			}
			for i := range p.UseBackends {
				u := &p.UseBackends[i]
				if u.Dynamic != nil {
					continue // resolved per request
				}
				be := b.cfg.backends[u.Name]
				if be == nil {
					b.d.Errorf(u.Pos, "%s '%s': use_backend '%s' does not name a backend; declare 'backend %s'.", sectionWord(p), p.Name, u.Name, u.Name)
					continue
				}
				if be.Mode != p.Mode {
					b.d.Errorf(u.Pos, "%s '%s' is in mode %s but its use_backend '%s' is in mode %s; set the same 'mode' on both.", sectionWord(p), p.Name, p.Mode, be.Name, be.Mode)
					continue
				}
				u.Backend = be
			}
			if p.DefaultBE != nil && p.DefaultBE.Mode != p.Mode {
				b.d.Errorf(p.DefaultBEPos, "%s '%s' is in mode %s but its backend '%s' is in mode %s; set the same 'mode' on both.", sectionWord(p), p.Name, p.Mode, p.DefaultBE.Name, p.DefaultBE.Mode)
			}
		}
		if p.Dispatch != nil && p.Balance.Algo != "" {
			kind := "backend"
			if p.IsFrontend() {
				kind = "proxy"
			}
			b.d.Warnf(p.Dispatch.Pos, "dispatch address of %s '%s' will be ignored in balance mode.", kind, p.Name)
			p.Dispatch = nil
		}
		if p.IsBackend() && p.Options["transparent"] && p.Balance.Algo != "" {
			kind := "backend"
			if p.IsFrontend() {
				kind = "proxy"
			}
			b.d.Errorf(p.Balance.Pos, "%s '%s' cannot use both transparent and balance mode.", kind, p.Name)
		}
		if p.IsBackend() && p.Cap == CapBE && len(p.Servers) == 0 && p.Dispatch == nil && p.StickTable == nil && (p.Stats == nil || !p.Stats.Enabled) {
			b.d.Warnf(p.Pos, "backend '%s' has no server; every request to it gets a 503.", p.Name)
		}
		if p.IsBackend() {
			b.resolveStick(p)
			b.resolveUseServers(p)
			b.resolveBalance(p)
			b.resolveResolvers(p)
			b.checkExternalCheck(p)
			warnUnusedCheckRules(b, p)
			// Servers without "id" take their position in declaration
			// order (from 1), or the next free id after it, as HAProxy
			// numbers them (the consistent hashing ring is keyed on these
			// ids).
			used := map[int]bool{}
			for _, s := range p.Servers {
				used[s.ID] = true
				s.ForcedID = s.ID != 0
			}
			sid := 1
			for _, s := range p.Servers {
				if s.ID == 0 {
					for used[sid] {
						sid++
					}
					s.ID = sid
					used[sid] = true
				}
				sid++
				if s.Check && !s.Disabled && checkWithoutPort(s) {
					kind := "backend"
					if p.IsFrontend() {
						kind = "proxy"
					}
					b.d.Errorf(s.Pos, "%s '%s': server '%s' has neither service port nor check port; add a port to its address or 'port <n>' for the check.", kind, p.Name, s.Name)
				}
				if s.Check && s.CheckProto != "" && (s.CheckProto == "none") == p.HTTPCheck() {
					need := "'option httpchk'"
					if s.CheckProto == "none" {
						need = "a TCP check (no 'option httpchk')"
					}
					b.d.Errorf(s.Pos, "backend '%s': server '%s' uses an incompatible MUX protocol for the selected check type: 'check-proto %s' needs %s.", p.Name, s.Name, s.CheckProto, need)
				}
			}
		}
	}
}

// HTTPCheck tells whether the servers' health checks are HTTP ones
// ("option httpchk"), which may run over HTTP/2.
func (p *Proxy) HTTPCheck() bool {
	return (p.Check.Kind == "" || p.Check.Kind == "httpchk") && p.Options["httpchk"]
}

func globalNames() []string {
	var n []string
	for k := range globalKeywords {
		n = append(n, k)
	}
	return n
}

func proxyNames() []string {
	var n []string
	for k := range proxyKeywords {
		n = append(n, k)
	}
	return n
}

// suggest proposes the closest known keyword, as HAProxy's "did you mean" does.
func suggest(word string, known []string) string {
	if len(word) > 40 {
		return "." // no keyword is that long; spare the quadratic distance
	}
	best, bestD := "", 3
	sort.Strings(known)
	for _, k := range known {
		if d := config.EditDistance(word, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return "."
	}
	return fmt.Sprintf("; did you mean '%s' maybe ?", best)
}

// numberBinds numbers the sockets without "id" as HAProxy numbers
// listeners: a count from 1 moves one step per socket, in declaration
// order, and a socket without id takes it after skipping the ids taken.
// Two sockets of a proxy with the same "id" are an error.
func (b *builder) numberBinds(p *Proxy) {
	used := map[int]*Bind{}
	for _, bd := range p.Binds {
		if bd.ID == 0 {
			continue
		}
		if prev := used[bd.ID]; prev != nil {
			b.d.Errorf(bd.Pos, "%s '%s': bind '%s': custom id %d already used at %s ('bind %s').", sectionWord(p), p.Name, bd.Addr, bd.ID, prev.Pos, prev.Addr)
			continue
		}
		used[bd.ID] = bd
	}
	next := 1
	for _, bd := range p.Binds {
		if bd.ID == 0 {
			for used[next] != nil {
				next++
			}
			bd.ID = next
			used[next] = bd
		}
		next++
	}
}

// checkProxyRefs refuses, as HAProxy does, a fetch that names a backend
// or server the configuration does not declare, or that reads "its own"
// backend in a frontend, which has none (be_conn without a name).
func (b *builder) checkProxyRefs() {
	for _, r := range b.proxyRefs {
		if r.OfFrontend {
			b.checkFrontendRef(r)
			continue
		}
		be := r.in
		if r.Backend != "" {
			be = b.cfg.backends[r.Backend]
			if be == nil {
				b.d.Errorf(r.pos, "%s '%s': '%s' names backend '%s', which is not declared.", sectionWord(r.in), r.in.Name, r.Fetch, r.Backend)
				continue
			}
		} else if be.Cap == CapDef {
			continue // checked where a section inherits the rule: not known here
		} else if !be.IsBackend() {
			arg := "<backend>"
			if r.Server != "" {
				arg = "<backend>/" + r.Server
			}
			b.d.Errorf(r.pos, "%s '%s': '%s' without a backend name reads the rule's own backend, which a frontend does not have; write %s(%s).", sectionWord(r.in), r.in.Name, r.Fetch, r.Fetch, arg)
			continue
		}
		if r.Server != "" && !hasServer(be, r.Server) {
			b.d.Errorf(r.pos, "%s '%s': '%s' names server '%s', which backend '%s' does not declare.", sectionWord(r.in), r.in.Name, r.Fetch, r.Server, be.Name)
		}
	}
}

// checkFrontendRef checks a fetch reading a frontend (fe_conn and the
// frontend rates): the one it names must exist, and without a name the
// rule's own proxy must be one (haproxy 2.6 refuses both too).
func (b *builder) checkFrontendRef(r proxyRef) {
	switch {
	case r.Frontend == "" && r.in.Cap != CapDef && !r.in.IsFrontend():
		b.d.Errorf(r.pos, "%s '%s': '%s' without a frontend name reads the rule's own frontend, which a backend does not have; write %s(<frontend>).", sectionWord(r.in), r.in.Name, r.Fetch, r.Fetch)
	case r.Frontend != "" && b.cfg.frontends[r.Frontend] == nil:
		b.d.Errorf(r.pos, "%s '%s': '%s' names frontend '%s', which is not declared.", sectionWord(r.in), r.in.Name, r.Fetch, r.Frontend)
	}
}

func hasServer(p *Proxy, name string) bool {
	for _, s := range p.Servers {
		if s.Name == name {
			return true
		}
	}
	return false
}

// checkWithoutPort tells whether the checks of s have no port to go to: no
// "port", and neither the address nor "addr" gives one. A UNIX socket
// needs none: the checks of a UNIX socket server go to it whatever "port"
// says (as haproxy's), unless "addr" names an IP address.
func checkWithoutPort(s *Server) bool {
	a := s.Options["addr"]
	if _, ok := UnixSocket(a); ok || s.Port != 0 || s.SRV != "" {
		return false
	}
	if s.Unix {
		return a != "" && !strings.Contains(a, ":")
	}
	return strings.HasSuffix(s.Addr, ":0") && !strings.Contains(a, ":")
}
