package keepalived

import (
	"bytes"
	"fmt"
	"math"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/config"
)

// instExtra keeps what can only be checked once the whole file is read.
type instExtra struct {
	advert     *node
	version    *node
	auth       *node
	preemptDel *node
	accept     *node
	unicast    *node
	unicastSrc *node // unicast_src_ip (mcast_src_ip sets the same address without it)
	vmac       *node
	vmacMAC    string // use_vmac's MAC as written (5 octets take the VRID as the sixth)
	xmitBase   *node
	unicastTTL *node
}

func (p *parser) vrrpInstance(n *node) {
	if !p.args(n, 1, 1, true, "vrrp_instance <name> { ... }") {
		return
	}
	v := &VRRPInstance{Pos: n.pos, Name: n.words[1], State: "BACKUP", Priority: 100, AdvertInt: time.Second, Accept: true, UnicastTTL: 255}
	x := &instExtra{}
	if p.extras == nil {
		p.extras = map[*VRRPInstance]*instExtra{}
	}
	p.extras[v] = x
	where := fmt.Sprintf("'vrrp_instance %s'", v.Name)
	vridSet := false
	gmd := false
	p.block(n.kids, where, map[string]handler{
		"state": func(n *node) {
			if !p.args(n, 1, 1, false, "state MASTER|BACKUP") {
				return
			}
			switch n.words[1] {
			case "MASTER", "BACKUP":
				v.State = n.words[1]
			default:
				p.configError(n.pos, "(%s) unknown state '%s', ignored as keepalived ignores it (the instance starts as BACKUP); write 'state MASTER' or 'state BACKUP'", v.Name, n.words[1])
			}
		},
		"interface": p.word(&v.Interface),
		"virtual_router_id": func(n *node) {
			vridSet = true // a bad value is reported once, not also as missing
			if !p.args(n, 1, 1, false, "virtual_router_id <1-255>") {
				return
			}
			if id, ok := p.intArg(n, n.words[1], 1, 255); ok {
				v.VRID = id
			}
		},
		"priority": func(n *node) {
			if !p.args(n, 1, 1, false, "priority <1-255>") {
				return
			}
			if pr, ok := p.intArg(n, n.words[1], 1, 255); ok {
				v.Priority = pr
			}
		},
		"advert_int":   func(n *node) { x.advert = n },
		"vrrp_version": p.older(func(n *node) { x.version = n }, "version"),
		"version":      func(n *node) { x.version = n }, // keepalived's own spelling inside vrrp_instance
		"authentication": func(n *node) {
			if !p.args(n, 0, 0, true, "authentication { auth_type PASS; auth_pass <secret> }") {
				return
			}
			x.auth = n
			p.block(n.kids, "'authentication'", map[string]handler{
				"auth_type": func(n *node) {
					if !p.args(n, 1, 1, false, "auth_type PASS|AH") {
						return
					}
					switch n.words[1] {
					case "PASS", "AH":
						v.AuthType = n.words[1]
					default:
						p.d.Errorf(n.pos, "(%s) unknown auth_type '%s'; write 'auth_type PASS' or 'auth_type AH'", v.Name, n.words[1])
					}
				},
				"auth_pass": func(n *node) {
					if !p.args(n, 1, 1, false, "auth_pass <up to 8 characters>") {
						return
					}
					pw := n.words[1]
					if len(pw) > 8 {
						p.d.Warnf(n.pos, "(%s) auth_pass is %d characters long: only the first 8 ('%s') are used, as keepalived does; shorten it to 8", v.Name, len(pw), pw[:8])
						pw = pw[:8]
					}
					v.AuthPass = pw
				},
			})
		},
		"virtual_ipaddress":          func(n *node) { v.VIPs = append(v.VIPs, p.vips(n, v)...) },
		"virtual_ipaddress_excluded": func(n *node) { v.ExcludedVIPs = append(v.ExcludedVIPs, p.vips(n, v)...) },
		"virtual_routes":             func(n *node) { v.Routes = append(v.Routes, p.routes(n, v.Name)...) },
		"virtual_rules":              func(n *node) { v.Rules = append(v.Rules, p.rules(n, v.Name)...) },
		"nopreempt":                  p.set(&v.NoPreempt, true),
		"preempt": func(n *node) {
			if p.args(n, 0, 0, false, "preempt") {
				v.NoPreempt = false
			}
		},
		"preempt_delay": func(n *node) {
			x.preemptDel = n
			p.secs(&v.PreemptDelay, 0, 1000)(n)
		},
		"unicast_src_ip": func(n *node) {
			x.unicastSrc = n
			p.srcIP(n, v)
		},
		"mcast_src_ip": func(n *node) { p.srcIP(n, v) },
		"unicast_ttl": func(n *node) {
			if !p.args(n, 1, 1, false, "unicast_ttl <0-255>") {
				return
			}
			if ttl, ok := p.intArg(n, n.words[1], 0, 255); ok {
				v.UnicastTTL, x.unicastTTL = ttl, n
			}
		},
		"unicast_peer": func(n *node) {
			if !p.args(n, 0, 0, true, "unicast_peer { <ip> ... }") {
				return
			}
			x.unicast = n
			for _, k := range n.kids {
				if len(k.words) == 0 {
					continue
				}
				// <ip> [min_ttl N] [max_ttl N]
				a, ok := p.skipBadAddr(k.pos, v, "unicast_peer", k.words[0])
				if ok {
					if slices.Contains(v.UnicastPeers, a) {
						p.d.Warnf(k.pos, "(%s) unicast peer %s is listed twice; remove the duplicate", v.Name, a)
					} else {
						v.UnicastPeers = append(v.UnicastPeers, a)
					}
				}
				rest := k.words[1:]
				ttl, ttlSet := TTLRange{0, 255}, false
				for len(rest) > 0 {
					if (rest[0] == "min_ttl" || rest[0] == "max_ttl") && len(rest) > 1 {
						if n, ok := p.intArg(&node{pos: k.pos, words: []string{rest[0]}}, rest[1], 0, 255); ok {
							if rest[0] == "min_ttl" {
								ttl.Min = n
							} else {
								ttl.Max = n
							}
							ttlSet = true
						}
						rest = rest[2:]
						continue
					}
					p.d.Errorf(k.pos, "(%s) unknown unicast_peer option '%s'; write '<ip> [min_ttl N] [max_ttl N]'", v.Name, rest[0])
					break
				}
				if ttl.Min > ttl.Max {
					p.configError(k.pos, "(%s) unicast peer %s: min_ttl %d > max_ttl %d, so every advert from it is dropped (as keepalived does); fix the range", v.Name, k.words[0], ttl.Min, ttl.Max)
				}
				if ok && ttlSet {
					if v.PeerTTL == nil {
						v.PeerTTL = map[netip.Addr]TTLRange{}
					}
					v.PeerTTL[a] = ttl
				}
			}
		},
		"use_vmac": func(n *node) {
			if !p.args(n, 0, 2, false, "use_vmac [<interface name>] [<MAC address>]") {
				return
			}
			x.vmac = n
			for _, w := range n.words[1:] {
				switch {
				case strings.Contains(w, ":"):
					x.vmacMAC = w
				case v.VMAC != "":
					p.configError(n.pos, "(%s) use_vmac: the VMAC interface name is already given ('%s'), '%s' ignored as keepalived ignores it", v.Name, v.VMAC, w)
				default:
					v.VMAC = w
				}
			}
		},
		"vmac_xmit_base": func(n *node) {
			if p.args(n, 0, 0, false, "vmac_xmit_base") {
				x.xmitBase = n
				v.VMACXmitBase = true
			}
		},
		"track_interface": func(n *node) { v.TrackInterfaces = append(v.TrackInterfaces, p.tracks(n, v, 254)...) },
		"track_script":    func(n *node) { v.TrackScripts = append(v.TrackScripts, p.tracks(n, v, 253)...) },
		"track_file":      func(n *node) { v.TrackFiles = append(v.TrackFiles, p.tracks(n, v, 254)...) },
		"notify_master":   p.str(&v.NotifyMaster),
		"notify_backup":   p.str(&v.NotifyBackup),
		"notify_fault":    p.str(&v.NotifyFault),
		"notify_stop":     p.str(&v.NotifyStop),
		"notify":          p.str(&v.Notify),
		"smtp_alert":      p.flag(&v.SMTPAlert),
		"garp_master_delay": func(n *node) {
			// keepalived takes whole seconds up to 4294 here.
			if !p.args(n, 1, 1, false, "garp_master_delay <seconds>") {
				return
			}
			if d, ok := p.intArg(n, n.words[1], 0, 4294); ok {
				v.GARPMasterDelay, gmd = time.Duration(d)*time.Second, true
			}
		},
		"dont_track_primary": p.set(&v.DontTrackPrimary, true),
		"accept": func(n *node) {
			x.accept = n
			p.set(&v.Accept, true)(n)
		},
		"no_accept": p.set(&v.Accept, false),
	})
	if v.Interface == "" {
		p.d.Errorf(n.pos, "(%s) no 'interface' given; add 'interface eth0' (the interface the adverts are sent on)", v.Name)
	}
	if !vridSet {
		p.d.Errorf(n.pos, "(%s) no 'virtual_router_id' given; add 'virtual_router_id <1-255>', the same on every router of this instance", v.Name)
	}
	if !gmd {
		v.GARPMasterDelay = -1 // filled from global_defs in finish
	}
	for _, o := range p.c.Instances {
		if o.Name == v.Name {
			p.d.Errorf(n.pos, "vrrp_instance '%s' is already defined at %s; rename one of them", v.Name, o.Pos)
			return
		}
	}
	p.c.Instances = append(p.c.Instances, v)
}

// srcIP parses unicast_src_ip / mcast_src_ip: keepalived keeps one source
// address for adverts, whichever keyword set it.
func (p *parser) srcIP(n *node, v *VRRPInstance) {
	if p.args(n, 1, 1, false, n.words[0]+" <ip>") {
		if a, ok := p.skipBadAddr(n.pos, v, n.words[0], n.words[1]); ok {
			v.UnicastSrcIP = a
		}
	}
}

// skipBadAddr parses an advert source or unicast peer: keepalived logs a
// malformed one as a configuration error and skips it.
func (p *parser) skipBadAddr(pos config.Pos, v *VRRPInstance, kw, s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		p.configError(pos, "(%s) %s: malformed address '%s', skipped as keepalived skips it; write an IPv4 or IPv6 address such as 192.168.1.10", v.Name, kw, s)
		return netip.Addr{}, false
	}
	return a, true
}

// vips parses a virtual_ipaddress block: addr[/prefix] [dev X] [label L]
// [brd B] [scope S] per line.
func (p *parser) vips(n *node, v *VRRPInstance) []VIP {
	if !p.args(n, 0, 0, true, n.words[0]+" { 192.168.1.100/24 dev eth0 }") {
		return nil
	}
	var out []VIP
	for _, k := range n.kids {
		if len(k.words) == 0 {
			continue
		}
		if k.block {
			p.d.Errorf(k.pos, "(%s) unexpected block in '%s'; write one address per line", v.Name, n.words[0])
			continue
		}
		vip := VIP{Pos: k.pos}
		s := k.words[0]
		var pfx netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			pfx, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			a, err = netip.ParseAddr(s)
			if err == nil {
				pfx = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil || pfx.Addr().Zone() != "" {
			p.d.Errorf(k.pos, "(%s) '%s' is not a valid virtual address; write an address with an optional prefix length, as in '192.168.1.100/24'", v.Name, s)
			continue
		}
		vip.Prefix = pfx
		opts := k.words[1:]
		for len(opts) > 0 {
			o := opts[0]
			if len(opts) < 2 {
				p.d.Errorf(k.pos, "(%s) virtual address option '%s' needs a value; write e.g. 'dev eth0', 'label eth0:1', 'brd 192.168.1.255' or 'scope global'", v.Name, o)
				break
			}
			val := opts[1]
			opts = opts[2:]
			switch o {
			case "dev":
				vip.Dev = val
			case "label":
				vip.Label = val
			case "brd", "broadcast":
				if val == "+" || val == "-" {
					continue
				}
				a, err := netip.ParseAddr(val)
				if err != nil || !a.Is4() {
					p.d.Errorf(k.pos, "(%s) broadcast '%s' is not an IPv4 address; write e.g. 'brd 192.168.1.255'", v.Name, val)
					continue
				}
				vip.Brd = a
			case "scope":
				switch val {
				case "global", "site", "link", "host", "nowhere":
					vip.Scope = val
				default:
					if _, err := strconv.ParseUint(val, 10, 8); err != nil {
						p.d.Errorf(k.pos, "(%s) unknown scope '%s'; write global, site, link, host or nowhere", v.Name, val)
					}
					vip.Scope = val
				}
			default:
				p.d.Errorf(k.pos, "(%s) unknown virtual address option '%s'; write 'dev', 'label', 'brd' or 'scope'", v.Name, o)
				opts = nil
			}
		}
		out = append(out, vip)
	}
	return out
}

// tracks parses track_interface/track_script/track_file blocks: one name
// per line with an optional "weight N [reverse]".
func (p *parser) tracks(n *node, v *VRRPInstance, maxW int) []Track {
	if !p.args(n, 0, 0, true, n.words[0]+" { <name> [weight N] }") {
		return nil
	}
	var out []Track
	for _, k := range n.kids {
		ws := k.words
		for len(ws) > 0 {
			t := Track{Pos: k.pos, Name: ws[0]}
			ws = ws[1:]
			if len(ws) > 0 && ws[0] == "weight" {
				if len(ws) < 2 {
					p.d.Errorf(k.pos, "(%s) 'weight' after '%s' needs a value; write 'weight <%d..%d>'", v.Name, t.Name, -maxW, maxW)
					break
				}
				if w, ok := p.intArg(&node{pos: k.pos, words: []string{"weight"}}, ws[1], -maxW, maxW); ok {
					t.Weight, t.HasWeight = w, true
				}
				ws = ws[2:]
				if len(ws) > 0 && ws[0] == "reverse" {
					t.Reverse = true
					ws = ws[1:]
				}
			}
			out = append(out, t)
		}
	}
	return out
}

// finish runs the cross-checks that need the whole configuration.
func (p *parser) finish() {
	g := &p.c.Global
	// keepalived removes an instance without a (valid) virtual_router_id.
	kept := p.c.Instances[:0]
	for _, v := range p.c.Instances {
		if v.VRID == 0 {
			p.configError(v.Pos, "(%s) the virtual router id must be set: keepalived removes this instance, and so does dhproxy; add 'virtual_router_id <1-255>'", v.Name)
			continue
		}
		kept = append(kept, v)
	}
	p.c.Instances = kept
	if g.Strict && len(p.c.Instances) > 0 {
		p.d.Warnf(g.Pos, "vrrp_strict: instances with a priority below 255 refuse traffic to their virtual addresses (no_accept), so a proxy bound on a VIP is unreachable; remove vrrp_strict unless you need strict RFC compliance")
	}
	for _, v := range p.c.Instances {
		x := p.extras[v]
		v.Version = g.VRRPVersion
		if x.version != nil {
			p.one(&v.Version, 2, 3)(x.version)
		}
		if v.GARPMasterDelay < 0 {
			v.GARPMasterDelay = g.GARPMasterDelay
		}
		if x.advert != nil {
			n := x.advert
			if p.args(n, 1, 1, false, "advert_int <seconds>") {
				if v.Version == 3 {
					if d, ok := p.secsArg(n, n.words[1], 0.01, 40.95); ok {
						v.AdvertInt = d.Round(10 * time.Millisecond)
					}
				} else if d, ok := p.secsArg(n, n.words[1], 1, 255); ok {
					if d%time.Second != 0 {
						r := time.Duration(math.Round(d.Seconds())) * time.Second
						p.d.Warnf(n.pos, "(%s) VRRP version 2 sends advert_int in whole seconds: %s is rounded to %s; write a whole number or set 'vrrp_version 3'", v.Name, n.words[1], r)
						d = r
					}
					v.AdvertInt = d
				}
			}
		}
		if x.auth != nil {
			if v.AuthType == "" {
				p.d.Errorf(x.auth.pos, "(%s) authentication block without 'auth_type'; add 'auth_type PASS' or remove the block", v.Name)
			} else if v.AuthType == "PASS" && v.AuthPass == "" {
				p.d.Errorf(x.auth.pos, "(%s) auth_type PASS without 'auth_pass'; add 'auth_pass <up to 8 characters>'", v.Name)
			}
			if v.Version == 3 {
				p.d.Warnf(x.auth.pos, "(%s) VRRP version 3 has no authentication: the authentication block is ignored; remove it", v.Name)
				v.AuthType, v.AuthPass = "", ""
			}
		}
		if v.NoPreempt && v.State == "MASTER" {
			// keepalived clears nopreempt in this case, with a warning.
			p.d.Warnf(v.Pos, "(%s) nopreempt does not work with 'state MASTER' and is ignored; write 'state BACKUP' on every router (the highest priority still wins the first election)", v.Name)
			v.NoPreempt = false
		}
		for _, vip := range v.VIPs {
			if v.Version == 2 && vip.Prefix.Addr().Is6() && !vip.Prefix.Addr().Is4In6() {
				p.d.Warnf(vip.Pos, "(%s) IPv6 address %s in a VRRP version 2 instance is not advertised; add 'vrrp_version 3' or move it to virtual_ipaddress_excluded", v.Name, vip.Prefix.Addr())
			}
		}
		if len(v.VIPs) == 0 && len(v.ExcludedVIPs) == 0 {
			p.d.Warnf(v.Pos, "(%s) no virtual_ipaddress: this instance moves no address; add 'virtual_ipaddress { <ip> }'", v.Name)
		}
		if x.unicastSrc != nil && len(v.UnicastPeers) == 0 {
			p.configError(v.Pos, "(%s) unicast_src_ip without unicast_peer: adverts are multicast; add 'unicast_peer { <peer ip> }' or remove unicast_src_ip", v.Name)
		}
		if x.unicastTTL != nil && len(v.UnicastPeers) == 0 {
			p.configError(x.unicastTTL.pos, "(%s) unicast_ttl without unicast peers is reset, as keepalived resets it (multicast adverts use TTL 255); remove it or add 'unicast_peer { <peer ip> }'", v.Name)
			v.UnicastTTL = 255
		}
		p.finishVMAC(v, x)
		if g.Strict {
			if v.VMACXmitBase {
				p.configError(x.xmitBase.pos, "(%s) vrrp_strict does not allow vmac_xmit_base: it is reset as keepalived resets it (adverts go out on the VMAC); remove it or vrrp_strict", v.Name)
				v.VMACXmitBase = false
			}
			if v.AuthType != "" {
				p.d.Warnf(x.auth.pos, "(%s) vrrp_strict does not allow authentication: it is ignored; remove the authentication block or vrrp_strict", v.Name)
				v.AuthType, v.AuthPass = "", ""
			}
			if x.preemptDel != nil {
				p.d.Warnf(x.preemptDel.pos, "(%s) vrrp_strict does not allow preempt_delay: it is ignored; remove it or vrrp_strict", v.Name)
				v.PreemptDelay = 0
			}
			if len(v.UnicastPeers) > 0 {
				p.d.Errorf(x.unicast.pos, "(%s) vrrp_strict does not allow unicast peers; remove unicast_peer or vrrp_strict", v.Name)
			}
			if v.Priority != 255 {
				if x.accept != nil {
					p.d.Warnf(x.accept.pos, "(%s) vrrp_strict forces no_accept when priority is not 255: 'accept' is ignored; remove vrrp_strict to accept traffic on the VIPs", v.Name)
				}
				v.Accept = false
			}
		}
		kept := v.TrackScripts[:0]
		for _, t := range v.TrackScripts {
			switch _, ok := p.c.Scripts[t.Name]; {
			case ok:
				kept = append(kept, t)
			case p.droppedScripts[t.Name]:
				p.configError(t.Pos, "(%s) track_script '%s' names a vrrp_script removed above; ignored, as keepalived ignores it", v.Name, t.Name)
			default:
				p.configError(t.Pos, "(%s) track_script '%s' names no vrrp_script%s, ignored as keepalived ignores it; define 'vrrp_script %s { script ... }' or fix the name", v.Name, t.Name, suggest(t.Name, keys(p.c.Scripts)), t.Name)
			}
		}
		v.TrackScripts = kept
		keptFiles := v.TrackFiles[:0]
		for _, t := range v.TrackFiles {
			if _, ok := p.c.TrackFiles[t.Name]; ok {
				keptFiles = append(keptFiles, t)
				continue
			}
			p.configError(t.Pos, "(%s) track_file '%s' names no vrrp_track_file%s, ignored as keepalived ignores it; define 'vrrp_track_file %s { file /path }' or fix the name", v.Name, t.Name, suggest(t.Name, keys(p.c.TrackFiles)), t.Name)
		}
		v.TrackFiles = keptFiles
	}
	// Sync groups: members exist, belong to one group only.
	byName := map[string]*VRRPInstance{}
	var names []string
	for _, v := range p.c.Instances {
		byName[v.Name] = v
		names = append(names, v.Name)
	}
	for _, sg := range p.c.SyncGroups {
		for _, m := range sg.Members {
			v, ok := byName[m]
			if !ok {
				p.configError(sg.Pos, "vrrp_sync_group '%s': member '%s' is not a vrrp_instance%s, ignored as keepalived ignores it; define it or remove it from the group", sg.Name, m, suggest(m, names))
				continue
			}
			if v.SyncGroup != "" && v.SyncGroup != sg.Name {
				p.d.Errorf(sg.Pos, "vrrp_sync_group '%s': instance '%s' is already in sync group '%s'; an instance belongs to one group only", sg.Name, m, v.SyncGroup)
				continue
			}
			v.SyncGroup = sg.Name
		}
		if len(sg.Members) == 1 {
			p.d.Warnf(sg.Pos, "vrrp_sync_group '%s' has a single member; a sync group needs at least two instances to be useful", sg.Name)
		}
	}
	// Same VRID on one interface, unless unicast with disjoint peers.
	for i, a := range p.c.Instances {
		for _, b := range p.c.Instances[:i] {
			if a.Interface == "" || a.Interface != b.Interface || a.VRID == 0 || a.VRID != b.VRID {
				continue
			}
			if a.VIPs != nil && b.VIPs != nil && a.VIPs[0].Prefix.Addr().Is4() != b.VIPs[0].Prefix.Addr().Is4() {
				continue // IPv4 and IPv6 instances may share a VRID
			}
			if len(a.UnicastPeers) > 0 && len(b.UnicastPeers) > 0 && !overlap(a.UnicastPeers, b.UnicastPeers) {
				continue
			}
			p.d.Errorf(a.Pos, "(%s) virtual_router_id %d is already used on interface %s by vrrp_instance '%s' at %s; give each instance on one interface its own virtual_router_id", a.Name, a.VRID, a.Interface, b.Name, b.Pos)
		}
	}
	p.finishLVS()
}

// finishVMAC fills use_vmac's defaults once the VRID and family are known.
func (p *parser) finishVMAC(v *VRRPInstance, x *instExtra) {
	if x.vmac == nil {
		if v.VMACXmitBase {
			p.configError(x.xmitBase.pos, "(%s) vmac_xmit_base is only valid with use_vmac, ignored as keepalived ignores it; remove it or add 'use_vmac'", v.Name)
			v.VMACXmitBase = false
		}
		return
	}
	v6 := v.Version == 3 && len(v.VIPs) > 0 && v.VIPs[0].Prefix.Addr().Is6() || v.UnicastSrcIP.Is6()
	if v6 {
		p.d.Errorf(x.vmac.pos, "(%s) use_vmac on an IPv6 instance is not supported by dhproxy yet; remove it (or keep running keepalived for this instance)", v.Name)
		return
	}
	if v.VMAC == "" {
		v.VMAC = fmt.Sprintf("vrrp.%d", v.VRID)
	}
	if len(v.VMAC) > 15 {
		p.d.Errorf(x.vmac.pos, "(%s) VMAC interface name '%s' is longer than 15 characters; choose a shorter name", v.Name, v.VMAC)
	}
	v.VMACAddr = net.HardwareAddr{0, 0, 0x5e, 0, 1, byte(v.VRID)}
	if x.vmacMAC != "" {
		mac := x.vmacMAC
		if strings.Count(mac, ":") == 4 {
			mac += fmt.Sprintf(":%02x", v.VRID)
		}
		hw, err := net.ParseMAC(mac)
		switch {
		case err != nil || len(hw) != 6 || hw[0]&1 != 0:
			p.configError(x.vmac.pos, "(%s) use_vmac: '%s' is not a valid unicast MAC address, ignored as keepalived ignores it (%s is used); write 6 (or 5) octets such as 02:00:00:00:01", v.Name, x.vmacMAC, v.VMACAddr)
		case bytes.HasPrefix(hw, []byte{0, 0, 0x5e, 0, 1}) || bytes.HasPrefix(hw, []byte{0, 0, 0x5e, 0, 2}):
			// keepalived refuses the RFC 5798 prefix with another VRID and keeps its default
			p.configError(x.vmac.pos, "(%s) use_vmac: the MAC address may not be an RFC 5798 address (%s), ignored as keepalived ignores it; omit it to use %s", v.Name, x.vmacMAC, v.VMACAddr)
		default:
			v.VMACAddr = hw
		}
	}
	if len(v.UnicastPeers) > 0 && !v.VMACXmitBase {
		p.configError(x.vmac.pos, "(%s) use_vmac with unicast peers needs vmac_xmit_base; adverts are sent on the base interface as if it were set; add 'vmac_xmit_base'", v.Name)
		v.VMACXmitBase = true
	}
}

func overlap(a, b []netip.Addr) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// suggest returns "; did you mean 'x'?" for a close name, or "".
func suggest(name string, names []string) string {
	best, bestD := "", 1+len(name)/3
	for _, n := range names {
		if d := config.EditDistance(name, n); d <= bestD && (best == "" || d < config.EditDistance(name, best)) {
			best = n
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean '%s'?)", best)
}
