package model

import (
	"strings"

	"dhproxy/internal/acl"
	"dhproxy/internal/config"
	"dhproxy/internal/rules"
)

// http-request and http-response rules, and the redirect keyword,
// compiled by internal/rules against the section's ACLs. One
// "use-service" form is accepted because operators copy it from HAProxy's
// documentation to expose the built-in Prometheus exporter:
//
//	http-request use-service prometheus-exporter if { path /metrics }
//
// Actions not built yet are errors rather than silently ignored: a
// forgotten "deny" would open what the operator meant to close.

func init() {
	registerProxy("http-request", CapFE|CapBE|CapDef, parseHTTPRequest)
	registerProxy("http-response", CapFE|CapBE|CapDef, parseHTTPResponse)
	registerProxy("http-after-response", CapFE|CapBE|CapDef, parseHTTPAfterResponse)
	registerProxy("redirect", CapFE|CapBE, parseRedirect)
}

// ruleWhere names a rule list in ACL warnings, in HAProxy's words.
func ruleWhere(p *Proxy, kw string) string {
	if p.IsFrontend() {
		return "frontend " + kw + " header rule"
	}
	return "backend " + kw + " header rule"
}

func parseHTTPRequest(b *builder, p *Proxy, l config.Line) {
	if refuseRulesInDefaults(b, p, l) {
		return
	}
	a := l.Args
	if len(a) >= 2 && a[1] == "capture" {
		parseCaptureRule(b, p, l, "http-request")
		return
	}
	if len(a) >= 2 && a[1] == "use-service" {
		if len(a) == 8 && a[2] == "prometheus-exporter" && a[3] == "if" && a[4] == "{" && a[5] == "path" && a[7] == "}" {
			if !p.IsFrontend() {
				b.errorf(l, "'http-request use-service prometheus-exporter' is only supported in a frontend or listen section.")
				return
			}
			p.PrometheusPath = a[6]
			return
		}
		b.errorf(l, "'http-request use-service' is only supported as 'http-request use-service prometheus-exporter if { path <path> }' for now.")
		return
	}
	r, warns, err := rules.ParseHTTP(b.comp, &p.ACLs, a[1:], false, ruleWhere(p, "http-request"))
	if err != nil {
		b.errorf(l, "%v.", err)
		return
	}
	if r.Action == rules.NormalizeURI && !b.cfg.Global.ExposeExperimental {
		b.errorf(l, "'normalize-uri' action is experimental, must be allowed via a global 'expose-experimental-directives'.")
		return
	}
	if r.Action == rules.Auth && r.Reply == nil {
		r.Reply = rules.AuthReply(p.Name) // HAProxy's default realm
	}
	if r.Action == rules.SetTimeout && p.Cap&(CapBE|CapDef) == 0 {
		// the timeouts it sets are the backend's
		b.errorf(l, "error detected in %s '%s' while parsing 'http-request set-timeout' rule : proxy '%s' has no backend capability.", sectionWord(p), p.Name, p.Name)
		return
	}
	for _, w := range warns {
		b.warnf(l, "%s.", w)
	}
	b.notePatternEdit(r, l)
	r.Pos = l.Pos
	p.HTTPRequestRules = append(p.HTTPRequestRules, r)
}

func parseHTTPResponse(b *builder, p *Proxy, l config.Line) {
	if refuseRulesInDefaults(b, p, l) {
		return
	}
	if len(l.Args) >= 2 && l.Args[1] == "capture" {
		parseCaptureRule(b, p, l, "http-response")
		return
	}
	r, warns, err := rules.ParseHTTP(b.comp, &p.ACLs, l.Args[1:], true, ruleWhere(p, "http-response"))
	if err != nil {
		b.errorf(l, "%v.", err)
		return
	}
	for _, w := range warns {
		b.warnf(l, "%s.", w)
	}
	b.notePatternEdit(r, l)
	r.Pos = l.Pos
	p.HTTPResponseRules = append(p.HTTPResponseRules, r)
}

func parseHTTPAfterResponse(b *builder, p *Proxy, l config.Line) {
	if refuseRulesInDefaults(b, p, l) {
		return
	}
	if len(l.Args) >= 2 && l.Args[1] == "capture" {
		parseCaptureRule(b, p, l, "http-after-response")
		return
	}
	r, warns, err := rules.ParseAfterResponse(b.comp, &p.ACLs, l.Args[1:], ruleWhere(p, "http-after-response"))
	if err != nil {
		b.errorf(l, "%v.", err)
		return
	}
	for _, w := range warns {
		b.warnf(l, "%s.", w)
	}
	r.Pos = l.Pos
	p.HTTPAfterResponseRules = append(p.HTTPAfterResponseRules, r)
}

type patEdit struct {
	r *rules.Rule
	l config.Line
}

// notePatternEdit keeps an add-acl, del-acl, set-map or del-map rule for
// bindPatternEdits: its file may be loaded by a line further down.
func (b *builder) notePatternEdit(r *rules.Rule, l config.Line) {
	if r.PatFile != "" {
		b.patEdits = append(b.patEdits, patEdit{r, l})
	}
}

// bindPatternEdits gives each rule editing a pattern or map file the
// file as the ACLs and maps loaded it. haproxy looks the file up when the
// rule runs and does nothing when no ACL or map loaded it: dhproxy does
// the same, and says so.
func (b *builder) bindPatternEdits() {
	for _, e := range b.patEdits {
		if e.r.PatRef = acl.Loaded(b.comp, e.r.PatFile); e.r.PatRef == nil {
			b.warnf(e.l, "'%s': no ACL (-f) or map converter loads '%s', so this rule changes nothing (haproxy's too); load the file (it may be empty) where it is matched.", strings.Join(e.l.Args[:2], " "), e.r.PatFile)
		}
	}
}

// parseRedirect is the "redirect" keyword: HAProxy runs these after the
// section's http-request rules, whatever their order in the file.
func parseRedirect(b *builder, p *Proxy, l config.Line) {
	r, warns, err := rules.ParseHTTP(b.comp, &p.ACLs, l.Args, false, rules.RedirectKeyword)
	if err != nil {
		b.errorf(l, "%v.", err)
		return
	}
	for _, w := range warns {
		b.warnf(l, "%s.", w)
	}
	p.RedirectRules = append(p.RedirectRules, r)
}

// checkDoResolve names, as haproxy 2.6 does once every section is read, a
// do-resolve rule whose resolvers section does not exist.
func (b *builder) checkDoResolve(p *Proxy) {
	for _, r := range p.HTTPRequestRules {
		if r.Action != rules.DoResolve {
			continue
		}
		found := false
		for _, rs := range b.cfg.Resolvers {
			found = found || rs.Name == r.Resolvers
		}
		if !found {
			b.d.Errorf(r.Pos, "Proxy '%s': Can't find resolvers section '%s' for do-resolve action (declare 'resolvers %s' with its nameservers).", p.Name, r.Resolvers, r.Resolvers)
		}
	}
}
