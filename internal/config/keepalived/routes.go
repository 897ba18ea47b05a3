package keepalived

import (
	"bufio"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// routeNotYet are keepalived 2.2.7 route options dhproxy does not apply
// yet: a route using one is refused rather than installed differently.
var routeNotYet = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`
		or nexthop encap expires mtu hoplimit advmss rtt rttvar reordering window
		cwnd ssthresh lock realms rto_min initcwnd initrwnd features quickack
		congctl pref fastopen_no_cookie ttl-propagate tos dsfield vrf track_group
		as local broadcast anycast multicast nat unicast`) {
		routeNotYet[w] = true
	}
}

// routeTypes are the route types before the destination that dhproxy applies.
var routeTypes = map[string]bool{"blackhole": true, "unreachable": true, "prohibit": true, "throw": true}

// routeValueWords are the route options followed by a value.
var routeValueWords = map[string]bool{"src": true, "via": true, "gw": true, "dev": true, "oif": true, "table": true,
	"metric": true, "priority": true, "preference": true, "scope": true, "protocol": true, "to": true}

// routes parses a virtual_routes or static_routes block, one
// "ip route" line each. who names the instance (or the block) in
// messages. As keepalived, a line with a bad value or an unknown word is
// reported and skipped.
func (p *parser) routes(n *node, who string) []Route {
	if !p.args(n, 0, 0, true, n.words[0]+" { 192.168.2.0/24 via 192.168.1.254 dev eth0 }") {
		return nil
	}
	var out []Route
	for _, k := range n.kids {
		if len(k.words) == 0 {
			continue
		}
		if k.block {
			p.d.Errorf(k.pos, "(%s) unexpected block in '%s'; write one route per line", who, n.words[0])
			continue
		}
		if r, ok := p.route(k, who); ok {
			out = append(out, r)
		}
	}
	return out
}

func (p *parser) route(k *node, who string) (Route, bool) {
	r := Route{Pos: k.pos, Protocol: 18}
	ws := k.words
	skip := func(format string, args ...any) (Route, bool) {
		args = append([]any{who}, args...)
		p.configError(k.pos, "(%s) "+format+"; the route is skipped, as keepalived skips it", args...)
		return Route{}, false
	}
	protoSet := false
	for i := 0; i < len(ws); i++ {
		w := ws[i]
		if routeNotYet[w] {
			p.d.Errorf(k.pos, "(%s) route option '%s' is not supported by dhproxy yet; remove it (or keep running keepalived for this configuration)", who, w)
			return Route{}, false
		}
		switch w {
		case "onlink":
			r.OnLink = true
			continue
		case "no_track":
			r.NoTrack = true
			continue
		case "add", "append", "prepend":
			r.Mode = w
			continue
		case "inet", "inet6":
			i = p.swallow(k, who, ws, i) // the addresses give the family
			continue
		}
		if routeTypes[w] {
			r.Type = w
			continue
		}
		if !routeValueWords[w] {
			if r.Dst.IsValid() {
				return skip("unknown route keyword '%s'", w)
			}
			w, i = "to", i-1
		}
		if i+1 >= len(ws) {
			return skip("route option '%s' needs a value", w)
		}
		i++
		val := ws[i]
		if (w == "via" || w == "gw") && (val == "inet" || val == "inet6") && i+1 < len(ws) {
			i++
			val = ws[i]
		}
		switch w {
		case "to":
			pfx, ok := p.routePrefix(k, who, val)
			if !ok {
				return skip("'%s' is not a valid destination; write an address with an optional prefix length, as in '192.168.2.0/24', or 'default'", val)
			}
			r.Dst = pfx
		case "src", "via", "gw":
			a, err := netip.ParseAddr(val)
			if err != nil || a.Zone() != "" {
				return skip("%s '%s' is not a valid IP address", w, val)
			}
			if w == "src" {
				r.Src = a
			} else {
				if w == "gw" {
					p.configError(k.pos, "(%s) \"gw\" for routes is deprecated (keepalived reports it and runs); write \"via\"", who)
				}
				r.Via = a
			}
		case "dev", "oif":
			r.Dev = val
		case "table":
			t, ok := iprouteNumber("rt_tables", val, 1<<32-1)
			if !ok {
				return skip("routing table '%s' not found (a number or a name in /etc/iproute2/rt_tables)", val)
			}
			r.Table = uint32(t)
			if r.Table == 254 {
				r.Table = 0
			}
		case "metric", "priority", "preference":
			m, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return skip("invalid metric '%s'; write a number", val)
			}
			r.Metric = uint32(m)
		case "scope":
			s, ok := iprouteNumber("rt_scopes", val, 255)
			if !ok {
				return skip("unknown scope '%s'; write global, site, link, host, nowhere or a number", val)
			}
			r.Scope = uint8(s)
		case "protocol":
			pr, ok := iprouteNumber("rt_protos", val, 255)
			if !ok {
				return skip("unknown protocol '%s'; write a number or a name in /etc/iproute2/rt_protos", val)
			}
			r.Protocol, protoSet = uint8(pr), true
		}
	}
	if !r.Dst.IsValid() {
		return skip("route without a destination; write e.g. '192.168.2.0/24 via 192.168.1.254'")
	}
	v6 := r.Dst.Addr().Is6()
	for _, a := range []netip.Addr{r.Src, r.Via} {
		if a.IsValid() && a.Is6() != v6 {
			return skip("%s mixes IPv4 and IPv6 addresses", r.Dst)
		}
	}
	// keepalived tracks a route (a deleted virtual route moves the
	// instance to BACKUP), which needs an interface and its own protocol.
	if r.Dev == "" && !r.NoTrack {
		p.configError(k.pos, "(%s) cannot track route %s with no interface specified (keepalived reports it and runs); add 'dev <interface>' or 'no_track'", who, r.Dst)
	}
	if protoSet && r.Protocol != 18 && r.Dev != "" && !r.NoTrack {
		p.configError(k.pos, "(%s) a tracked route's protocol must be keepalived (18): '%s' is reset as keepalived resets it; add 'no_track' to keep it", who, r.Dst)
		r.Protocol = 18
	}
	return r, true
}

// swallow skips the word after ws[i], "inet" or "inet6", as keepalived
// 2.2.7 does in routes and rules, and returns the index of the last word
// read.
func (p *parser) swallow(k *node, who string, ws []string, i int) int {
	if i+1 >= len(ws) {
		return i
	}
	p.d.Warnf(k.pos, "(%s) keepalived 2.2.7 skips the word after '%s' ('%s'), and so does dhproxy; the addresses give the family, remove '%s'", who, ws[i], ws[i+1], ws[i])
	return i + 1
}

// routePrefix parses a route destination: "default" (IPv4 in keepalived
// 2.2.7; ::/0 for IPv6), an address (a host route) or address/length. A
// length past the family's is reported and clamped, as keepalived does.
func (p *parser) routePrefix(k *node, who, s string) (netip.Prefix, bool) {
	if s == "default" {
		return netip.PrefixFrom(netip.IPv4Unspecified(), 0), true
	}
	addr, bits, hasBits := strings.Cut(s, "/")
	a, err := netip.ParseAddr(addr)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	n := a.BitLen()
	if hasBits {
		b, err := strconv.Atoi(bits)
		if err != nil || b < 0 {
			return netip.Prefix{}, false
		}
		if b > n {
			p.configError(k.pos, "(%s) invalid prefix length %d for %s: %d is used, as keepalived uses it", who, b, s, n)
			b = n
		}
		n = b
	}
	pfx := netip.PrefixFrom(a, n)
	if pfx.Masked() != pfx {
		p.d.Warnf(k.pos, "(%s) destination %s has host bits set: the kernel refuses it; write %s", who, s, pfx.Masked())
	}
	return pfx, true
}

// iprouteNumber reads a number in [0, max], or a name from iproute2's
// table file (rt_tables, rt_scopes, rt_protos, and their .d/*.conf).
func iprouteNumber(file, s string, max uint64) (uint64, bool) {
	if v, err := strconv.ParseUint(s, 0, 64); err == nil {
		return v, v <= max
	}
	builtin := map[string]map[string]uint64{
		"rt_tables": {"local": 255, "main": 254, "default": 253},
		"rt_scopes": {"global": 0, "site": 200, "link": 253, "host": 254, "nowhere": 255},
		"rt_protos": {"kernel": 2, "boot": 3, "static": 4, "keepalived": 18},
	}[file]
	if v, ok := builtin[s]; ok {
		return v, true
	}
	files, _ := filepath.Glob(filepath.Join("/etc/iproute2", file+".d", "*.conf"))
	for _, f := range append([]string{filepath.Join("/etc/iproute2", file)}, files...) {
		fh, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) >= 2 && fs[1] == s && !strings.HasPrefix(fs[0], "#") {
				if v, err := strconv.ParseUint(fs[0], 0, 64); err == nil && v <= max {
					fh.Close()
					return v, true
				}
			}
		}
		fh.Close()
	}
	return 0, false
}

// ruleNotYet are keepalived 2.2.7 rule options dhproxy does not apply yet.
var ruleNotYet = map[string]bool{}

func init() {
	for _, w := range strings.Fields(`
		tos dsfield realms uidrange l3mdev ip_proto ipproto sport dport
		suppress_prefixlength suppress_ifgroup track_group nat map-to tun_id`) {
		ruleNotYet[w] = true
	}
}

// rules parses a virtual_rules or static_rules block, one "ip rule" line
// each; a line with a bad value or an unknown word is reported and
// skipped, as keepalived does.
func (p *parser) rules(n *node, who string) []Rule {
	if !p.args(n, 0, 0, true, n.words[0]+" { from 192.168.2.0/24 table 100 preference 100 }") {
		return nil
	}
	var out []Rule
	for _, k := range n.kids {
		if len(k.words) == 0 {
			continue
		}
		if k.block {
			p.d.Errorf(k.pos, "(%s) unexpected block in '%s'; write one rule per line", who, n.words[0])
			continue
		}
		if r, ok := p.rule(k, who); ok {
			out = append(out, r)
		}
	}
	return out
}

func (p *parser) rule(k *node, who string) (Rule, bool) {
	r := Rule{Pos: k.pos, Protocol: 18}
	ws := k.words
	skip := func(format string, args ...any) (Rule, bool) {
		args = append([]any{who}, args...)
		p.configError(k.pos, "(%s) "+format+"; the rule is skipped, as keepalived skips it", args...)
		return Rule{}, false
	}
	prefSet, protoSet := false, false
	for i := 0; i < len(ws); i++ {
		w := ws[i]
		if ruleNotYet[w] {
			p.d.Errorf(k.pos, "(%s) rule option '%s' is not supported by dhproxy yet; remove it (or keep running keepalived for this configuration)", who, w)
			return Rule{}, false
		}
		switch w {
		case "not":
			r.Not = true
			continue
		case "no_track":
			r.NoTrack = true
			continue
		case "inet", "inet6":
			r.IPv6 = w == "inet6"
			i = p.swallow(k, who, ws, i)
			continue
		case "blackhole", "unreachable", "prohibit":
			r.Action = w
			continue
		case "from", "to", "table", "lookup", "preference", "priority", "order", "fwmark", "iif", "dev", "oif", "goto", "protocol":
		default:
			return skip("unknown rule option '%s'", w)
		}
		if i+1 >= len(ws) {
			return skip("rule option '%s' needs a value", w)
		}
		i++
		val := ws[i]
		switch w {
		case "from", "to":
			var pfx netip.Prefix
			if val != "all" {
				var ok bool
				if pfx, ok = p.routePrefix(k, who, val); !ok {
					return skip("'%s %s' is not a valid address; write an address with an optional prefix length, or 'all'", w, val)
				}
			}
			if w == "from" {
				r.From = pfx
			} else {
				r.To = pfx
			}
		case "table", "lookup":
			t, ok := iprouteNumber("rt_tables", val, 1<<32-1)
			if !ok {
				return skip("routing table '%s' not found (a number or a name in /etc/iproute2/rt_tables)", val)
			}
			r.Action, r.Table = "table", uint32(t)
		case "preference", "priority", "order":
			v, err := strconv.ParseUint(val, 0, 32)
			if err != nil {
				return skip("invalid preference '%s'; write a number", val)
			}
			r.Preference, prefSet = uint32(v), true
		case "goto":
			v, err := strconv.ParseUint(val, 0, 32)
			if err != nil {
				return skip("invalid goto target '%s'; write a preference", val)
			}
			r.Action, r.Goto = "goto", uint32(v)
		case "fwmark":
			mark, mask, hasMask := strings.Cut(val, "/")
			m, err := strconv.ParseUint(mark, 0, 32)
			var mk uint64
			if err == nil && hasMask {
				mk, err = strconv.ParseUint(mask, 0, 32)
			}
			if err != nil {
				return skip("invalid fwmark '%s'; write a number, with an optional /mask", val)
			}
			r.FWMark, r.FWMask = uint32(m), uint32(mk)
		case "iif", "dev":
			r.IIF = val
		case "oif":
			r.OIF = val
		case "protocol":
			v, err := strconv.ParseUint(val, 0, 8)
			if err != nil {
				// keepalived takes a number only here, and keeps the rule.
				p.configError(k.pos, "(%s) invalid rule protocol '%s', ignored as keepalived ignores it; write a number", who, val)
				continue
			}
			r.Protocol, protoSet = uint8(v), true
		}
	}
	for _, a := range []netip.Prefix{r.From, r.To} {
		if a.IsValid() {
			r.IPv6 = a.Addr().Is6()
		}
	}
	if r.From.IsValid() && r.To.IsValid() && r.From.Addr().Is6() != r.To.Addr().Is6() {
		return skip("from %s and to %s are of different families", r.From, r.To)
	}
	if r.Action == "" {
		return skip("rule without an action; add 'table <table>', 'goto <preference>' or a type such as 'blackhole'")
	}
	switch {
	case r.NoTrack && !protoSet:
		r.Protocol = 0 // keepalived leaves an untracked rule's protocol unset
	case !r.NoTrack && r.Protocol != 18:
		p.configError(k.pos, "(%s) a tracked rule's protocol must be keepalived (18): it is reset as keepalived resets it; add 'no_track' to keep it", who)
		r.Protocol = 18
	}
	if !prefSet {
		p.configError(k.pos, "(%s) rule has no preference: %d is used, as keepalived uses it; add 'preference <number>' (rules are matched in preference order)", who, p.rulePref)
		r.Preference = p.rulePref
		p.rulePref--
	}
	return r, true
}
