package keepalived

import (
	"fmt"
	"math"
	"net/netip"
	"os"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/config"
)

// Load reads the keepalived.conf at path (and the files it includes) and
// returns the validated model, or nil when d holds errors. The config id
// used by '@id' line prefixes is DefaultConfigID().
func Load(path string, d *config.Diags) *Config {
	return LoadWithID(path, DefaultConfigID(), d)
}

// DefaultConfigID is keepalived's config id when -i is not given: the
// host name up to its first dot.
func DefaultConfigID() string {
	id, _ := os.Hostname()
	id, _, _ = strings.Cut(id, ".")
	return id
}

// LoadWithID is Load with an explicit config id (keepalived's -i /
// --config-id): a line '@ID ...' is used only when ID is configID, a line
// '@^ID ...' only when it is not, in included files too.
func LoadWithID(path, configID string, d *config.Diags) *Config {
	l := &lexer{d: d, configID: configID, defs: map[string]def{}, active: map[string]bool{}}
	l.readFile(path, config.Pos{File: path}, 0)
	tree := parseTree(l.toks, d)
	p := &parser{d: d, rulePref: 16384, c: &Config{
		Scripts:    map[string]*VRRPScript{},
		TrackFiles: map[string]*TrackFile{},
		VSGroups:   map[string]*VSGroup{},
	}}
	p.c.Global = defaultGlobal()
	p.top(tree)
	p.finish()
	if d.HasErrors() {
		return nil
	}
	return p.c
}

func defaultGlobal() GlobalDefs {
	return GlobalDefs{
		SMTPPort:           25,
		SMTPConnectTimeout: 30 * time.Second,
		GARPMasterDelay:    5 * time.Second,
		GARPMasterRepeat:   5,
		VRRPVersion:        2,
	}
}

type parser struct {
	d      *config.Diags
	c      *Config
	extras map[*VRRPInstance]*instExtra
	// droppedScripts are vrrp_scripts keepalived removes while parsing
	// (their user does not exist): tracking them is ignored.
	droppedScripts map[string]bool
	// rulePref is the preference keepalived gives the next rule written
	// without one.
	rulePref uint32
}

// accountError tells why keepalived could not set a script's user and
// group, or "" when both exist (keepalived resolves them while parsing).
func accountError(name, group string) string {
	if _, err := user.Lookup(name); err != nil {
		return fmt.Sprintf("user '%s' does not exist", name)
	}
	if group != "" {
		if _, err := user.LookupGroup(group); err != nil {
			return fmt.Sprintf("group '%s' does not exist", group)
		}
	}
	return ""
}

// handler parses one statement of a block.
type handler func(n *node)

// block dispatches the statements of a block to handlers; where names the
// block in messages.
func (p *parser) block(kids []*node, where string, hs map[string]handler) {
	for _, n := range kids {
		if len(n.words) == 0 {
			continue
		}
		h, ok := hs[n.words[0]]
		if !ok {
			p.unknown(n, where, hs)
			continue
		}
		h(n)
	}
}

func (p *parser) unknown(n *node, where string, hs map[string]handler) {
	kw := n.words[0]
	if notYet[kw] {
		p.d.Errorf(n.pos, "keepalived keyword '%s' in %s is not supported by dhproxy yet; remove it (or keep running keepalived for this configuration)", kw, where)
		return
	}
	// keepalived logs "Unknown keyword", skips the line (and its block)
	// and runs: so does dhproxy.
	best, bestD := "", 4
	for k := range hs {
		if dd := config.EditDistance(kw, k); dd < bestD || dd == bestD && k < best {
			best, bestD = k, dd
		}
	}
	hint := ""
	if best != "" && bestD <= max(1, len(kw)/3) {
		hint = fmt.Sprintf("; did you mean '%s'?", best)
	} else {
		keys := make([]string, 0, len(hs))
		for k := range hs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		if len(keys) <= 12 {
			hint = "; expected one of: " + strings.Join(keys, ", ")
		} else {
			hint = "; remove it or check the spelling in keepalived.conf(5)"
		}
	}
	p.configError(n.pos, "unknown keyword '%s' in %s, ignored as keepalived ignores it%s", kw, where, hint)
}

// args checks that n has between lo and hi arguments (hi < 0: no limit)
// and, per wantBlock, a block or none. usage is what to write.
func (p *parser) args(n *node, lo, hi int, wantBlock bool, usage string) bool {
	na := len(n.words) - 1
	ok := true
	switch {
	case na < lo:
		p.d.Errorf(n.pos, "'%s' expects %s; write '%s'", n.words[0], plural(lo, hi), usage)
		ok = false
	case hi >= 0 && na > hi:
		// keepalived's handlers read the words they know and ignore the
		// rest, without a message.
		p.d.Warnf(n.pos, "'%s': extra argument(s) '%s' ignored, as keepalived ignores them; write '%s'", n.words[0], strings.Join(n.words[hi+1:], " "), usage)
	}
	if wantBlock && !n.block {
		p.d.Errorf(n.pos, "'%s' needs a block in braces; write '%s'", n.words[0], usage)
		ok = false
	}
	if !wantBlock && n.block {
		p.d.Errorf(n.pos, "'%s' takes no block; write '%s' without braces", n.words[0], usage)
		ok = false
	}
	return ok
}

func plural(lo, hi int) string {
	switch {
	case lo == hi && lo == 0:
		return "no argument"
	case lo == hi && lo == 1:
		return "one argument"
	case lo == hi:
		return fmt.Sprintf("%d arguments", lo)
	case hi < 0:
		return fmt.Sprintf("at least %d argument(s)", lo)
	default:
		return fmt.Sprintf("%d to %d arguments", lo, hi)
	}
}

// configError reports what keepalived logs as a configuration error and
// then runs through: a warning, counted in Config.ConfigErrors so that a
// configuration test fails where "keepalived -t" does.
func (p *parser) configError(pos config.Pos, format string, args ...any) {
	p.d.Warnf(pos, format, args...)
	p.c.ConfigErrors++
}

// intArg parses an integer in [lo, hi]. keepalived reports a bad value and
// ignores it (the setting keeps its default), so callers do the same.
func (p *parser) intArg(n *node, s string, lo, hi int) (int, bool) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.configError(n.pos, "'%s' value '%s' is not a number, ignored as keepalived ignores it; write an integer between %d and %d", n.words[0], s, lo, hi)
		return 0, false
	}
	if v < int64(lo) || v > int64(hi) {
		p.configError(n.pos, "'%s' value '%s' is out of range, ignored as keepalived ignores it; write an integer between %d and %d", n.words[0], s, lo, hi)
		return 0, false
	}
	return int(v), true
}

// one parses "kw N" with N in [lo, hi] into *dst.
func (p *parser) one(dst *int, lo, hi int) handler {
	return func(n *node) {
		if !p.args(n, 1, 1, false, n.words[0]+" <number>") {
			return
		}
		if v, ok := p.intArg(n, n.words[1], lo, hi); ok {
			*dst = v
		}
	}
}

// secsArg parses seconds, fractions allowed, in [lo, hi] seconds; a bad
// value is ignored as intArg's.
func (p *parser) secsArg(n *node, s string, lo, hi float64) (time.Duration, bool) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || strings.ContainsAny(s, "xXpPeEnN_") {
		p.configError(n.pos, "'%s' value '%s' is not a number of seconds, ignored as keepalived ignores it; write a value such as '1' or '0.5'", n.words[0], s)
		return 0, false
	}
	if v < lo || v > hi {
		p.configError(n.pos, "'%s' value '%s' is out of range, ignored as keepalived ignores it; write between %g and %g seconds", n.words[0], s, lo, hi)
		return 0, false
	}
	return time.Duration(math.Round(v * float64(time.Second))), true
}

// secs parses "kw SECONDS" into *dst.
func (p *parser) secs(dst *time.Duration, lo, hi float64) handler {
	return func(n *node) {
		if !p.args(n, 1, 1, false, n.words[0]+" <seconds>") {
			return
		}
		if v, ok := p.secsArg(n, n.words[1], lo, hi); ok {
			*dst = v
		}
	}
}

// str parses "kw WORD..." into *dst, joining the words with blanks as
// keepalived does for scripts.
func (p *parser) str(dst *string) handler {
	return func(n *node) {
		if !p.args(n, 1, -1, false, n.words[0]+" <value>") {
			return
		}
		*dst = strings.Join(n.words[1:], " ")
	}
}

// word parses "kw WORD" into *dst.
func (p *parser) word(dst *string) handler {
	return func(n *node) {
		if !p.args(n, 1, 1, false, n.words[0]+" <value>") {
			return
		}
		*dst = n.words[1]
	}
}

// flag parses "kw [BOOL]" into *dst (on when the value is omitted). An
// invalid value is a keepalived configuration error that leaves *dst as
// it was.
func (p *parser) flag(dst *bool) handler {
	return func(n *node) {
		if !p.args(n, 0, 1, false, n.words[0]+" [on|off]") {
			return
		}
		if len(n.words) == 1 {
			*dst = true
			return
		}
		switch strings.ToLower(n.words[1]) {
		case "on", "true", "yes":
			*dst = true
		case "off", "false", "no":
			*dst = false
		default:
			p.configError(n.pos, "'%s' value '%s' is not a boolean (keepalived reports it and ignores the line); write on, off, true, false, yes or no (or nothing for on)", n.words[0], n.words[1])
		}
	}
}

// older parses a keyword of older keepalived versions that keepalived
// 2.2.7 no longer knows (it logs "Unknown keyword" and goes on): dhproxy
// still applies it, and counts the configuration error keepalived -t
// reports.
func (p *parser) older(h handler, current string) handler {
	return func(n *node) {
		p.configError(n.pos, "'%s' is not a keepalived 2.2.7 keyword (keepalived reports it as unknown and ignores it); dhproxy applies it, write '%s' instead", n.words[0], current)
		h(n)
	}
}

// on parses a keyword that keepalived turns on whatever follows it: a
// value such as "off" is ignored, with a warning since it reads as the
// opposite.
func (p *parser) on(dst *bool) handler {
	return func(n *node) {
		if len(n.words) > 1 {
			p.d.Warnf(n.pos, "'%s' takes no value: keepalived ignores '%s' and turns it on, and so does dhproxy; write '%s' alone, or remove the line to keep it off", n.words[0], strings.Join(n.words[1:], " "), n.words[0])
		}
		if p.args(n, 0, -1, false, n.words[0]) {
			*dst = true
		}
	}
}

// set parses "kw" with no argument into *dst = v.
func (p *parser) set(dst *bool, v bool) handler {
	return func(n *node) {
		if p.args(n, 0, 0, false, n.words[0]) {
			*dst = v
		}
	}
}

func (p *parser) addrArg(n *node, s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		p.d.Errorf(n.pos, "'%s': '%s' is not a valid IP address; write an IPv4 or IPv6 address such as 192.168.1.10", n.words[0], s)
		return netip.Addr{}, false
	}
	return a, true
}

// checkerAddr is addrArg for a checker's connect_ip and bindto, which
// keepalived reports and ignores when invalid (the checker keeps its
// default).
func (p *parser) checkerAddr(n *node, s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		p.configError(n.pos, "'%s': '%s' is not a valid IP address, ignored as keepalived ignores it; write an IPv4 or IPv6 address such as 192.168.1.10", n.words[0], s)
		return netip.Addr{}, false
	}
	return a, true
}

// checkerPort is portArg for a checker's connect_port and bind_port,
// ignored when invalid as checkerAddr.
func (p *parser) checkerPort(n *node, s string) (uint16, bool) {
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil || v == 0 {
		p.configError(n.pos, "'%s': '%s' is not a valid port, ignored as keepalived ignores it; write a number between 1 and 65535", n.words[0], s)
		return 0, false
	}
	return uint16(v), true
}

func (p *parser) portArg(n *node, s string) (uint16, bool) {
	v, err := strconv.ParseUint(s, 10, 16)
	if err != nil || v == 0 {
		p.d.Errorf(n.pos, "'%s': '%s' is not a valid port; write a number between 1 and 65535", n.words[0], s)
		return 0, false
	}
	return uint16(v), true
}

// values flattens a block's words, as keepalived's read_value_block does.
func values(n *node) []*node {
	var out []*node
	for _, k := range n.kids {
		for _, w := range k.words {
			out = append(out, &node{pos: k.pos, words: []string{w}})
		}
	}
	return out
}

func (p *parser) nameList(n *node, usage string) []string {
	if !p.args(n, 0, 0, true, usage) {
		return nil
	}
	var out []string
	for _, k := range n.kids {
		if k.block {
			p.d.Errorf(k.pos, "unexpected block inside '%s'; write one name per line", n.words[0])
		}
		out = append(out, k.words...)
	}
	return out
}

// top handles the top-level keywords.
func (p *parser) top(tree []*node) {
	seenGlobal := false
	p.block(tree, "the top level (expected a block such as 'global_defs' or 'vrrp_instance')", map[string]handler{
		"global_defs": func(n *node) {
			if !p.args(n, 0, 0, true, "global_defs { ... }") {
				return
			}
			if seenGlobal {
				p.d.Warnf(n.pos, "second 'global_defs' block; its settings are merged into the first, better write a single block")
			}
			seenGlobal = true
			p.c.Global.Pos = n.pos
			p.globalDefs(n)
		},
		"vrrp_script":          p.vrrpScript,
		"vrrp_track_file":      p.trackFile,
		"track_file":           p.trackFile,
		"vrrp_instance":        p.vrrpInstance,
		"vrrp_sync_group":      p.syncGroup,
		"virtual_server":       p.virtualServer,
		"virtual_server_group": p.vsGroup,
		"static_ipaddress": func(n *node) {
			// keepalived's default_interface, eth0 unless set, holds those without dev.
			for _, a := range p.vips(n, &VRRPInstance{Name: "static_ipaddress"}) {
				if a.Dev == "" {
					a.Dev = "eth0"
				}
				p.c.StaticAddrs = append(p.c.StaticAddrs, a)
			}
		},
		"static_routes": func(n *node) { p.c.StaticRoutes = append(p.c.StaticRoutes, p.routes(n, "static_routes")...) },
		"static_rules":  func(n *node) { p.c.StaticRules = append(p.c.StaticRules, p.rules(n, "static_rules")...) },
	})
}

func (p *parser) globalDefs(n *node) {
	g := &p.c.Global
	p.block(n.kids, "'global_defs'", map[string]handler{
		"router_id": p.word(&g.RouterID),
		"notification_email": func(n *node) {
			for _, v := range values(n) {
				if !strings.Contains(v.words[0], "@") {
					p.d.Warnf(v.pos, "'%s' does not look like an e-mail address; write one address per line, as in 'admin@example.com'", v.words[0])
				}
				g.NotificationEmail = append(g.NotificationEmail, v.words[0])
			}
			p.args(n, 0, 0, true, "notification_email { admin@example.com }")
		},
		"notification_email_from": p.word(&g.NotificationEmailFrom),
		"smtp_server": func(n *node) {
			if !p.args(n, 1, 2, false, "smtp_server <ip|name> [port]") {
				return
			}
			g.SMTPServer = n.words[1]
			if len(n.words) >= 3 {
				if v, ok := p.portArg(n, n.words[2]); ok {
					g.SMTPPort = int(v)
				}
			}
		},
		"smtp_connect_timeout":     p.secs(&g.SMTPConnectTimeout, 1, 3600),
		"vrrp_skip_check_adv_addr": p.on(&g.SkipCheckAdvAddr),
		"vrrp_strict": func(n *node) {
			if p.args(n, 0, 0, false, "vrrp_strict") {
				g.Strict = true
			}
		},
		"vrrp_garp_interval":       p.secs(&g.GARPInterval, 0, 1),
		"vrrp_gna_interval":        p.secs(&g.GNAInterval, 0, 1),
		"vrrp_garp_master_delay":   p.secs(&g.GARPMasterDelay, 0, 255),
		"vrrp_garp_master_repeat":  p.one(&g.GARPMasterRepeat, 1, 255),
		"vrrp_garp_master_refresh": p.secs(&g.GARPMasterRefresh, 0, 86400),
		"enable_script_security":   p.on(&g.EnableScriptSecurity),
		"script_user": func(n *node) {
			if !p.args(n, 1, 2, false, "script_user <user> [group]") {
				return
			}
			group := ""
			if len(n.words) >= 3 {
				group = n.words[2]
			}
			if why := accountError(n.words[1], group); why != "" {
				p.configError(n.pos, "script_user: %s; ignored as keepalived ignores it (scripts run as the default script user)", why)
				return
			}
			g.ScriptUser, g.ScriptGroup = n.words[1], group
		},
		"lvs_id":                   p.older(p.word(&g.LVSID), "router_id"),
		"checker_log_all_failures": p.flag(&g.CheckerLogAllFailures),
		"vrrp_version":             p.one(&g.VRRPVersion, 2, 3),
	})
}

// vrrpScript parses a vrrp_script block.
func (p *parser) vrrpScript(n *node) {
	if !p.args(n, 1, 1, true, "vrrp_script <name> { script ... }") {
		return
	}
	s := &VRRPScript{Pos: n.pos, Name: n.words[1], Interval: time.Second, Rise: 1, Fall: 1}
	dropped := false
	p.block(n.kids, fmt.Sprintf("'vrrp_script %s'", s.Name), map[string]handler{
		"script":   p.str(&s.Script),
		"interval": p.secs(&s.Interval, 0.001, 86400),
		"timeout":  p.secs(&s.Timeout, 0.001, 86400),
		"weight": func(n *node) {
			if !p.args(n, 1, 2, false, "weight <-253..253> [reverse]") {
				return
			}
			if v, ok := p.intArg(n, n.words[1], -253, 253); ok {
				s.Weight = v
			}
			if len(n.words) >= 3 {
				if n.words[2] != "reverse" {
					p.configError(n.pos, "vrrp_script %s: unknown weight option '%s', ignored as keepalived ignores it; write 'reverse' or nothing", s.Name, n.words[2])
					return
				}
				s.Reverse = true
			}
		},
		"rise": p.one(&s.Rise, 1, 1<<30),
		"fall": p.one(&s.Fall, 1, 1<<30),
		"user": func(n *node) {
			if !p.args(n, 1, 2, false, "user <user> [group]") {
				return
			}
			s.User, s.Group = n.words[1], ""
			if len(n.words) >= 3 {
				s.Group = n.words[2]
			}
			if why := accountError(s.User, s.Group); why != "" {
				p.configError(n.pos, "vrrp_script %s: %s; keepalived removes this script, and so does dhproxy (instances tracking it ignore it)", s.Name, why)
				dropped = true
			}
		},
		"init_fail": func(n *node) { p.args(n, 0, 0, false, "init_fail") },
	})
	if dropped {
		if p.droppedScripts == nil {
			p.droppedScripts = map[string]bool{}
		}
		p.droppedScripts[s.Name] = true
		return
	}
	if s.Script == "" {
		p.d.Errorf(n.pos, "vrrp_script '%s' has no 'script' line; add 'script \"/path/to/check args\"'", s.Name)
	}
	if old, dup := p.c.Scripts[s.Name]; dup {
		p.d.Errorf(n.pos, "vrrp_script '%s' is already defined at %s; rename one of them", s.Name, old.Pos)
		return
	}
	p.c.Scripts[s.Name] = s
}

func (p *parser) trackFile(n *node) {
	if !p.args(n, 1, 1, true, n.words[0]+" <name> { file <path> }") {
		return
	}
	// keepalived's default weight is 1: the file's number is added as it is.
	t := &TrackFile{Pos: n.pos, Name: n.words[1], Weight: 1}
	p.block(n.kids, fmt.Sprintf("'%s %s'", n.words[0], t.Name), map[string]handler{
		"file": p.word(&t.File),
		"weight": func(n *node) {
			if !p.args(n, 1, 2, false, "weight <-254..254> [reverse]") {
				return
			}
			if w, ok := p.intArg(n, n.words[1], -254, 254); ok {
				t.Weight = w
			}
			if len(n.words) >= 3 {
				if n.words[2] != "reverse" {
					p.configError(n.pos, "unknown weight option '%s', ignored as keepalived ignores it; write 'weight %s reverse' or leave it out", n.words[2], n.words[1])
					return
				}
				t.Reverse = true
			}
		},
		"init_file": func(n *node) { p.args(n, 0, 2, false, "init_file [value] [overwrite]") },
	})
	if t.File == "" {
		p.d.Errorf(n.pos, "%s '%s' has no 'file' line; add 'file /path/to/file'", n.words[0], t.Name)
	}
	if old, dup := p.c.TrackFiles[t.Name]; dup {
		p.d.Errorf(n.pos, "track_file '%s' is already defined at %s; rename one of them", t.Name, old.Pos)
		return
	}
	p.c.TrackFiles[t.Name] = t
}

func (p *parser) syncGroup(n *node) {
	if !p.args(n, 1, 1, true, "vrrp_sync_group <name> { group { VI_1 VI_2 } }") {
		return
	}
	g := &SyncGroup{Pos: n.pos, Name: n.words[1]}
	seenGroup := false
	p.block(n.kids, fmt.Sprintf("'vrrp_sync_group %s'", g.Name), map[string]handler{
		"group": func(n *node) {
			seenGroup = true
			g.Members = append(g.Members, p.nameList(n, "group { VI_1 VI_2 }")...)
		},
		"notify_master": p.str(&g.NotifyMaster),
		"notify_backup": p.str(&g.NotifyBackup),
		"notify_fault":  p.str(&g.NotifyFault),
		"notify_stop":   p.str(&g.NotifyStop),
		"notify":        p.str(&g.Notify),
		"smtp_alert":    p.flag(&g.SMTPAlert),
	})
	if !seenGroup || len(g.Members) == 0 {
		p.d.Errorf(n.pos, "vrrp_sync_group '%s' has no members; add 'group { VI_1 VI_2 }'", g.Name)
	}
	for _, o := range p.c.SyncGroups {
		if o.Name == g.Name {
			p.d.Errorf(n.pos, "vrrp_sync_group '%s' is already defined at %s; rename one of them", g.Name, o.Pos)
			return
		}
	}
	p.c.SyncGroups = append(p.c.SyncGroups, g)
}

// notYet lists keepalived keywords that dhproxy recognises but does not
// implement yet, so that the message says so instead of "unknown".
var notYet = map[string]bool{}

func init() {
	for _, kw := range strings.Fields(`
		linkbeat_use_polling
		vrrp_mcast_group4 vrrp_mcast_group6 vrrp_iptables vrrp_ipsets nftables
		smtp_helo_name smtp_alert smtp_alert_vrrp smtp_alert_checker no_email_faults
		notify_fifo notify_fifo_script vrrp_notify_fifo vrrp_notify_fifo_script
		lvs_notify_fifo lvs_notify_fifo_script vrrp_check_unicast_src
		vrrp_lower_prio_no_advert vrrp_higher_prio_send_advert vrrp_priority
		checker_priority bfd_priority vrrp_no_swap checker_no_swap max_auto_priority
		dynamic_interfaces lvs_sync_daemon lvs_flush lvs_flush_onstop lvs_timeouts
		default_interface enable_traps enable_snmp_vrrp enable_snmp_checker
		enable_snmp_rfc enable_snmp_rfcv2 enable_snmp_rfcv3 snmp_socket
		vrrp_startup_delay vrrp_garp_lower_prio_delay vrrp_garp_lower_prio_repeat
		vrrp_garp_master_refresh_repeat vrrp_min_garp vrrp_garp_extra_if
		vrrp_gna_interval_ms vrrp_rx_bufs_policy vrrp_netlink_cmd_rcv_bufs
		vrrp_netlink_monitor_rcv_bufs process_names process_name
		vrrp_process_name checker_process_name bfd_process_name
		sync_group_tracking_weight script_security router_id_hash
		use_ipvlan mcast_dst_ip
		lvs_sync_daemon_interface track_process track_bfd native_ipv6
		debug strict_mode higher_prio_send_advert lower_prio_no_advert
		garp_master_repeat garp_master_refresh garp_master_refresh_repeat
		garp_lower_prio_delay garp_lower_prio_repeat
		notify_master_rx_lower_pri skip_check_adv_addr kernel_rx_buf_size
		old_unicast_checksum check_unicast_src unicast_fault_no_peer
		down_timer_adverts notify_priority_changes track_src_ip
		no_virtual_ipaddress v3_checksum_as_v2 garp_extra_if
		vrrp_track_process track_group
		ops uthreshold lthreshold
		BFD_CHECK tls_compliant SSL real_server_group
	`) {
		notYet[kw] = true
	}
}
