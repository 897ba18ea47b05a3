package model

import (
	"strconv"

	"dhproxy/internal/acl"
	"dhproxy/internal/config"
	"dhproxy/internal/sample"
)

// "fcgi-app <name>" sections (haproxy 2.6's FastCGI applications, section
// 10 of its manual), "use-fcgi-app <name>" in a backend and servers with
// "proto fcgi" (internal/fcgi speaks the protocol):
//
//	fcgi-app php
//	    docroot /var/www/app          # mandatory
//	    index index.php
//	    path-info ^(/.+\.php)(/.*)?$
//	    set-param REDIRECT_STATUS 200
//	    pass-header Authorization if { hdr(x-trusted) 1 }
//	    log-stderr global
//	    option keep-conn               # the default
//	backend php
//	    use-fcgi-app php
//	    server fpm 127.0.0.1:9000 proto fcgi

// FcgiApp is a fcgi-app section.
type FcgiApp struct {
	Pos            config.Pos
	Name           string
	DocRoot, Index string
	PathInfo       *sample.Regex
	KeepConn       bool
	GetValues      bool
	MpxsConns      bool
	MaxReqs        int
	ACLs           acl.Set
	// Rules are the set-param and pass-header lines after the implicit
	// ones haproxy starts every application with (REMOTE_USER, AUTH_TYPE,
	// hop-by-hop and credential headers hidden), in order.
	Rules     []FcgiRule
	LogStderr []LogTarget
}

// FcgiRule is a set-param (Value set) or a pass-header/hidden header rule.
type FcgiRule struct {
	Pos   config.Pos
	Name  string         // set-param: the parameter's name as sent; headers: lower case
	Value *sample.Format // set-param only
	Pass  bool           // a header: pass it (pass-header) or hide it (implicit rules)
	Cond  *acl.Cond
}

// fcgiHidden are the headers haproxy hides from every application unless
// a pass-header names them.
var fcgiHidden = []string{"connection", "keep-alive", "authorization", "proxy", "proxy-authorization", "proxy-authenticate", "te", "trailers", "transfer-encoding", "upgrade"}

func init() {
	registerProxy("use-fcgi-app", CapBE, func(b *builder, p *Proxy, l config.Line) {
		if len(l.Args) < 2 || l.Args[1] == "" {
			b.errorf(l, "'use-fcgi-app' expects <name> as argument.")
			return
		}
		if p.UseFcgiApp != "" && p.UseFcgiApp != l.Args[1] {
			b.errorf(l, "'use-fcgi-app' : only one fcgi-app supported per backend.")
			return
		}
		p.UseFcgiApp, p.useFcgiPos = l.Args[1], l.Pos
	})
}

var fcgiKeywords = []string{"acl", "docroot", "index", "path-info", "set-param", "pass-header", "log-stderr", "option", "no"}

func (b *builder) buildFcgiApp(s *config.Section) {
	if len(s.Args) == 0 || s.Args[0] == "" {
		b.d.Errorf(s.Pos, "'fcgi-app' expects <name> as argument.")
		return
	}
	if len(s.Args) > 1 {
		b.d.Errorf(s.Pos, "'fcgi-app' cannot handle unexpected argument '%s'.", s.Args[1])
		return
	}
	name := s.Args[0]
	if err := checkName(name); err != "" {
		b.d.Errorf(s.Pos, "character '%s' is not permitted in 'fcgi-app' name '%s'.", err, name)
		return
	}
	if other, dup := b.cfg.FcgiApps[name]; dup {
		b.d.Errorf(s.Pos, "fcgi-app section '%s' has the same name as another one declared at %s.", name, other.Pos)
		return
	}
	app := &FcgiApp{Pos: s.Pos, Name: name, KeepConn: true, MaxReqs: 1}
	const phase = sample.PhaseReq | sample.PhaseContent
	for _, n := range []string{"REMOTE_USER", "AUTH_TYPE"} {
		f, _ := b.comp.CompileFormat("%["+map[string]string{"REMOTE_USER": "http_auth_user", "AUTH_TYPE": "http_auth_type"}[n]+"]", phase)
		app.Rules = append(app.Rules, FcgiRule{Pos: s.Pos, Name: n, Value: f})
	}
	for _, h := range fcgiHidden {
		app.Rules = append(app.Rules, FcgiRule{Pos: s.Pos, Name: h})
	}
	for _, l := range s.Lines {
		kw := l.Args[0]
		switch kw {
		case "acl":
			if err := app.ACLs.Declare(b.comp, l.Args[1:]); err != nil {
				b.errorf(l, "%v.", err)
			}
		case "docroot", "index":
			if len(l.Args) < 2 || l.Args[1] == "" {
				what := "<path>"
				if kw == "index" {
					what = "<filename>"
				}
				b.errorf(l, "'%s' expects %s as argument.", kw, what)
				continue
			}
			if len(l.Args) > 2 {
				b.errorf(l, "'%s' cannot handle unexpected argument '%s'.", kw, l.Args[2])
				continue
			}
			if kw == "docroot" {
				app.DocRoot = l.Args[1]
			} else {
				app.Index = l.Args[1]
			}
		case "path-info":
			if len(l.Args) < 2 || l.Args[1] == "" {
				b.errorf(l, "'path-info' expects <regex> as argument.")
				continue
			}
			if len(l.Args) > 2 {
				b.errorf(l, "'path-info' cannot handle unexpected argument '%s'.", l.Args[2])
				continue
			}
			re, err := b.comp.CompileRegex(l.Args[1], false, true)
			if err != nil {
				b.errorf(l, "'path-info' : %v.", err)
				continue
			}
			app.PathInfo = re
		case "set-param", "pass-header":
			b.fcgiRule(app, l)
		case "log-stderr":
			if t, ok := parseLogTarget(b, l, true); ok {
				app.LogStderr = append(app.LogStderr, t)
			}
		case "option", "no":
			b.fcgiOption(app, l)
		default:
			b.errorf(l, "unknown keyword '%s' in 'fcgi-app' section%s", kw, suggest(kw, fcgiKeywords))
		}
	}
	if b.cfg.FcgiApps == nil {
		b.cfg.FcgiApps = map[string]*FcgiApp{}
	}
	b.cfg.FcgiApps[name] = app
	b.fcgiOrder = append(b.fcgiOrder, app)
}

func (b *builder) fcgiRule(app *FcgiApp, l config.Line) {
	kw := l.Args[0]
	r := FcgiRule{Pos: l.Pos}
	args := l.Args[1:]
	if kw == "set-param" {
		if len(args) < 2 || args[0] == "" || args[1] == "" {
			b.errorf(l, "'set-param' expects <name> and <fmt> as arguments.")
			return
		}
		name := []byte(nil)
		for _, c := range []byte(args[0]) {
			switch {
			case c >= 'a' && c <= 'z':
				name = append(name, c-'a'+'A')
			case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
				name = append(name, c)
			default:
				name = append(name, '_')
			}
		}
		r.Name = string(name)
		f, err := b.comp.CompileFormat(args[1], sample.PhaseReq|sample.PhaseContent)
		if err != nil {
			b.errorf(l, "'set-param %s' : %v.", args[0], err)
			return
		}
		r.Value, args = f, args[2:]
	} else {
		if len(args) < 1 || args[0] == "" {
			b.errorf(l, "'pass-header' expects <name> as argument.")
			return
		}
		lower := []byte(args[0])
		for i, c := range lower {
			if c >= 'A' && c <= 'Z' {
				lower[i] = c + 'a' - 'A'
			}
		}
		r.Name, r.Pass, args = string(lower), true, args[1:]
	}
	if len(args) > 0 {
		if args[0] != "if" && args[0] != "unless" {
			b.errorf(l, "'%s' : expects 'if' or 'unless' followed by a condition, found '%s'.", kw, args[0])
			return
		}
		c, warns, err := app.ACLs.ParseCond(b.comp, args, sample.PhaseReq|sample.PhaseContent, kw)
		if err != nil {
			b.errorf(l, "'%s' : %v.", kw, err)
			return
		}
		for _, w := range warns {
			b.warnf(l, "%s.", w)
		}
		r.Cond = c
	}
	app.Rules = append(app.Rules, r)
}

func (b *builder) fcgiOption(app *FcgiApp, l config.Line) {
	neg := l.Args[0] == "no"
	args := l.Args[1:]
	if neg {
		if len(args) == 0 || args[0] != "option" {
			b.errorf(l, "unknown keyword 'no' in 'fcgi-app' section; write 'no option <name>'.")
			return
		}
		args = args[1:]
	}
	if len(args) == 0 {
		b.errorf(l, "'option' expects an option name.")
		return
	}
	opt := args[0]
	var flag *bool
	switch opt {
	case "keep-conn":
		flag = &app.KeepConn
	case "get-values":
		flag = &app.GetValues
	case "mpxs-conns":
		flag = &app.MpxsConns
	case "max-reqs":
		if neg {
			b.errorf(l, "'%s' : negation is not supported for option '%s'.", l.Args[0], opt)
			return
		}
		if len(args) < 2 {
			b.errorf(l, "'%s' expects an integer argument.", opt)
			return
		}
		n, err := strconv.Atoi(args[1])
		if err != nil || n <= 0 {
			b.errorf(l, "'%s' expects a strictly positive integer argument.", opt)
			return
		}
		app.MaxReqs = n
		return
	default:
		b.errorf(l, "unknown option '%s' in 'fcgi-app' section (haproxy 2.6 has keep-conn, get-values, mpxs-conns and max-reqs).", opt)
		return
	}
	if len(args) > 1 {
		b.errorf(l, "'option %s' cannot handle unexpected argument '%s'.", opt, args[1])
		return
	}
	*flag = !neg
}

// resolveFcgiApps checks the fcgi-app sections and their users as haproxy
// does once every section is read.
func (b *builder) resolveFcgiApps() {
	for _, p := range b.cfg.Proxies {
		fcgiServers := 0
		for _, s := range p.Servers {
			if s.Proto != "fcgi" {
				continue
			}
			fcgiServers++
			if s.Check && s.CheckProto == "" && p.HTTPCheck() {
				b.d.Warnf(s.Pos, "server '%s/%s': dhproxy sends HTTP checks to a 'proto fcgi' server as HTTP/1, not over FastCGI as haproxy does, so the application will fail them; use a TCP check (no 'option httpchk').", p.Name, s.Name)
			}
		}
		if p.UseFcgiApp == "" {
			for _, s := range p.Servers {
				if s.Proto == "fcgi" {
					b.d.Errorf(s.Pos, "proxy '%s': FCGI server '%s' has no FCGI app configured; add 'use-fcgi-app <name>' to the backend.", p.Name, s.Name)
				}
			}
			continue
		}
		app := b.cfg.FcgiApps[p.UseFcgiApp]
		switch {
		case app == nil:
			b.d.Errorf(p.useFcgiPos, "proxy '%s' : unable to find FCGI application '%s'.", p.Name, p.UseFcgiApp)
		case p.Mode != ModeHTTP:
			b.d.Errorf(p.useFcgiPos, "proxy '%s': FCGI application cannot be used in non-HTTP mode.", p.Name)
		case fcgiServers == 0:
			b.d.Errorf(p.useFcgiPos, "proxy '%s': FCGI app configured but no FCGI server found.", p.Name)
		default:
			p.FcgiApp = app
		}
	}
	for _, app := range b.fcgiOrder {
		if app.DocRoot == "" {
			b.d.Errorf(app.Pos, "fcgi-app '%s': no docroot configured; write 'docroot <path>' in it.", app.Name)
		}
		if !app.MpxsConns && !app.GetValues && app.MaxReqs > 1 {
			// haproxy 2.6.12 warns, then refuses the configuration
			// ("Fatal errors found") without saying why.
			b.d.Errorf(app.Pos, "fcgi-app '%s': multiplexing not supported, 'option max-reqs %d' needs 'option mpxs-conns' or 'option get-values' (haproxy 2.6 refuses it too); remove it.", app.Name, app.MaxReqs)
		}
	}
}
