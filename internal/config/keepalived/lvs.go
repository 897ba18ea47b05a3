package keepalived

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/config"
)

// lvsMaxTimeout is keepalived's LVS_MAX_TIMEOUT (31 days).
const lvsMaxTimeout = 86400 * 31

var schedulers = []string{"rr", "wrr", "lc", "wlc", "lblc", "lblcr", "sh", "dh", "mh", "sed", "nq", "fo", "ovf", "twos"}

// vsTarget parses "IP [PORT]" | "fwmark N" | "group NAME".
func (p *parser) virtualServer(n *node) {
	usage := "virtual_server <ip> <port> { ... } (or 'virtual_server fwmark <n>', 'virtual_server group <name>')"
	if !p.args(n, 1, 2, true, usage) {
		return
	}
	vs := &VirtualServer{Pos: n.pos, DelayLoop: 60 * time.Second, Sched: "wlc", Method: "NAT", Protocol: "TCP", Quorum: 1, Retry: -1, Warmup: -1}
	switch n.words[1] {
	case "fwmark":
		if len(n.words) < 3 {
			p.d.Errorf(n.pos, "'virtual_server fwmark' needs the mark; write 'virtual_server fwmark <1-4294967295> {'")
			return
		}
		m, err := strconv.ParseUint(n.words[2], 0, 32)
		if err != nil || m == 0 {
			p.d.Errorf(n.pos, "fwmark '%s' is not valid; write a number between 1 and 4294967295", n.words[2])
			return
		}
		vs.FWMark = uint32(m)
	case "group":
		if len(n.words) < 3 {
			p.d.Errorf(n.pos, "'virtual_server group' needs a name; write 'virtual_server group <name> {'")
			return
		}
		vs.Group = n.words[2]
	default:
		a, ok := p.addrArg(n, n.words[1])
		if !ok {
			return
		}
		vs.Addr = a
		if len(n.words) >= 3 {
			if port, ok := p.portArg(n, n.words[2]); ok {
				vs.Port = port
			}
		}
	}
	where := fmt.Sprintf("'virtual_server %s'", strings.Join(n.words[1:], " "))
	var ipFamilyPos, sorryMethodPos config.Pos
	var sorryMethod string
	sched := func(n *node) {
		if !p.args(n, 1, 1, false, n.words[0]+" rr|wrr|lc|wlc|sh|dh|sed|nq|mh|lblc|lblcr") {
			return
		}
		for _, s := range schedulers {
			if s == n.words[1] {
				vs.Sched = s
				return
			}
		}
		p.configError(n.pos, "unknown scheduler '%s', ignored as keepalived ignores it (the scheduler stays %s); write one of %s", n.words[1], vs.Sched, strings.Join(schedulers, ", "))
	}
	method := func(n *node) {
		if !p.args(n, 1, -1, false, n.words[0]+" NAT|DR|TUN") {
			return
		}
		// keepalived is case-sensitive here and keeps its default (NAT)
		// for an unknown method, as it does for tunnel options after NAT
		// or DR.
		switch m := n.words[1]; m {
		case "NAT", "DR", "TUN":
			vs.Method = m
		default:
			p.configError(n.pos, "unknown forwarding method '%s', ignored as keepalived ignores it (the method stays %s); write NAT, DR or TUN", m, vs.Method)
			return
		}
		switch opts := n.words[2:]; {
		case len(opts) == 0:
		case vs.Method == "TUN" && len(opts) == 2 && opts[0] == "type" && opts[1] == "ipip":
		case vs.Method == "TUN" && opts[0] == "type":
			p.d.Errorf(n.pos, "tunnel type '%s' is not supported by dhproxy yet (only ipip); remove '%s'", strings.Join(opts[1:], " "), strings.Join(opts, " "))
		default:
			p.configError(n.pos, "invalid tunnel option '%s' for virtual server, ignored as keepalived ignores it; write '%s %s' alone", opts[0], n.words[0], vs.Method)
		}
	}
	p.block(n.kids, where, map[string]handler{
		"delay_loop": p.secs(&vs.DelayLoop, 0.001, 86400),
		"lb_algo":    sched,
		"lvs_sched":  sched,
		"lb_kind":    method,
		"lvs_method": method,
		"persistence_timeout": func(n *node) {
			if !p.args(n, 0, 1, false, "persistence_timeout [seconds]") {
				return
			}
			vs.Persistent = true
			vs.PersistenceTimeout = 360 * time.Second
			if len(n.words) >= 2 {
				if t, ok := p.intArg(n, n.words[1], 1, lvsMaxTimeout); ok {
					vs.PersistenceTimeout = time.Duration(t) * time.Second
				}
			}
		},
		"persistence_granularity": func(n *node) {
			if !p.args(n, 1, 1, false, "persistence_granularity <netmask> | <IPv6 prefix length>") {
				return
			}
			// IPv6 services give a prefix length, as keepalived takes it.
			if bits, err := strconv.Atoi(n.words[1]); err == nil {
				if bits < 1 || bits > 128 {
					p.d.Errorf(n.pos, "persistence_granularity %s: an IPv6 prefix length is 1 to 128", n.words[1])
					return
				}
				vs.PersistenceGranularity = prefixMask6(bits)
				return
			}
			if a, ok := p.addrArg(n, n.words[1]); ok {
				vs.PersistenceGranularity = a
			}
		},
		"protocol": func(n *node) {
			if !p.args(n, 1, 1, false, "protocol TCP|UDP|SCTP") {
				return
			}
			switch pr := strings.ToUpper(n.words[1]); pr {
			case "TCP", "UDP", "SCTP":
				vs.Protocol = pr
			default:
				p.configError(n.pos, "unknown protocol '%s', ignored as keepalived ignores it (the protocol stays %s); write TCP, UDP or SCTP", n.words[1], vs.Protocol)
			}
		},
		"sorry_server": func(n *node) {
			if !p.args(n, 1, 2, false, "sorry_server <ip> [port]") {
				return
			}
			a, ok := p.addrArg(n, n.words[1])
			if !ok {
				return
			}
			e := &Endpoint{Pos: n.pos, Addr: a, Port: vs.Port}
			if len(n.words) >= 3 {
				if port, ok := p.portArg(n, n.words[2]); ok {
					e.Port = port
				}
			}
			vs.SorryServer = e
		},
		"sorry_server_inhibit": func(n *node) {
			if p.args(n, 0, 0, false, "sorry_server_inhibit") {
				vs.SorryInhibit = true
			}
		},
		"sorry_server_lvs_method": func(n *node) {
			if !p.args(n, 1, 1, false, "sorry_server_lvs_method NAT|DR|TUN") {
				return
			}
			m := strings.ToUpper(n.words[1])
			if m != "NAT" && m != "DR" && m != "TUN" {
				p.d.Errorf(n.pos, "unknown forwarding method '%s'; write NAT, DR or TUN", n.words[1])
				return
			}
			sorryMethod, sorryMethodPos = m, n.pos
		},
		"ha_suspend": func(n *node) {
			if !p.args(n, 0, 0, false, "ha_suspend") {
				return
			}
			if !vs.Addr.IsValid() {
				p.d.Warnf(n.pos, "ha_suspend follows the virtual server's address, which a fwmark or group virtual server has not: ignored")
				return
			}
			vs.HASuspend = true
		},
		"nat_mask": func(n *node) {
			if p.args(n, 1, 1, false, "nat_mask <netmask>") {
				p.configError(n.pos, "nat_mask is obsolete and ignored, as by keepalived (which reports it as an unknown keyword); remove it")
			}
		},
		"persistence_engine": func(n *node) {
			if p.args(n, 1, 1, false, "persistence_engine sip") {
				p.d.Errorf(n.pos, "persistence_engine %s is not supported by dhproxy (no SIP Call-ID persistence in its datapaths); remove it and use persistence_timeout", n.words[1])
			}
		},
		"ip_family": func(n *node) {
			if !p.args(n, 1, 1, false, "ip_family inet|inet6") {
				return
			}
			if n.words[1] != "inet" && n.words[1] != "inet6" {
				p.d.Errorf(n.pos, "unknown ip_family '%s'; write inet or inet6", n.words[1])
				return
			}
			vs.IPFamily = n.words[1]
			ipFamilyPos = n.pos
		},
		"quorum":             p.one(&vs.Quorum, 1, 1<<30),
		"quorum_up":          p.str(&vs.QuorumUp),
		"quorum_down":        p.str(&vs.QuorumDown),
		"hysteresis":         p.one(&vs.Hysteresis, 0, 1<<30),
		"alpha":              p.on(&vs.Alpha),
		"omega":              p.on(&vs.Omega),
		"inhibit_on_failure": p.on(&vs.InhibitOnFailure),
		"virtualhost":        p.word(&vs.VirtualHost),
		"connect_timeout":    p.secs(&vs.ConnectTimeout, 0.001, 86400),
		"retry":              p.one(&vs.Retry, 0, 1<<30),
		"nb_get_retry":       p.older(p.one(&vs.Retry, 0, 1<<30), "retry"),
		"delay_before_retry": p.secs(&vs.DelayBeforeRetry, 0, 86400),
		"warmup":             p.secs(&vs.Warmup, 0, 86400),
		"real_server":        func(n *node) { p.realServer(n, vs) },
	})
	if vs.Hysteresis >= vs.Quorum && vs.Hysteresis > 0 {
		p.d.Warnf(n.pos, "hysteresis %d is not below quorum %d; keepalived would never see quorum lost; lower it", vs.Hysteresis, vs.Quorum)
	}
	if sorryMethod != "" && sorryMethod != vs.Method {
		p.d.Errorf(sorryMethodPos, "sorry_server_lvs_method %s differs from the virtual server's lvs_method %s: dhproxy's datapaths forward a virtual server with one method; write 'sorry_server_lvs_method %s' or remove it", sorryMethod, vs.Method, vs.Method)
	}
	if vs.SorryInhibit && vs.SorryServer == nil {
		p.configError(n.pos, "sorry_server_inhibit without a sorry_server is ignored; add 'sorry_server <ip> <port>'")
	}
	if vs.IPFamily != "" {
		// keepalived: the family must match the virtual and real servers'.
		want6 := vs.IPFamily == "inet6"
		addrs := []netip.Addr{vs.Addr}
		for _, rs := range vs.RealServers {
			addrs = append(addrs, rs.Addr)
		}
		if vs.SorryServer != nil {
			addrs = append(addrs, vs.SorryServer.Addr)
		}
		for _, a := range addrs {
			if a.IsValid() && a.Is6() != want6 {
				p.d.Errorf(ipFamilyPos, "ip_family %s conflicts with %s in this virtual_server; use one address family", vs.IPFamily, a)
				break
			}
		}
	}
	if len(vs.RealServers) == 0 && vs.SorryServer == nil {
		p.d.Warnf(n.pos, "virtual_server has no real_server; add 'real_server <ip> <port> { ... }'")
	}
	p.c.VirtualServers = append(p.c.VirtualServers, vs)
}

func (p *parser) realServer(n *node, vs *VirtualServer) {
	if !p.args(n, 1, 2, true, "real_server <ip> <port> { ... }") {
		return
	}
	a, ok := p.addrArg(n, n.words[1])
	if !ok {
		return
	}
	rs := &RealServer{Pos: n.pos, Addr: a, Port: vs.Port, Weight: 1, Retry: -1, Warmup: -1}
	if len(n.words) >= 3 {
		if port, ok := p.portArg(n, n.words[2]); ok {
			rs.Port = port
		}
	}
	where := fmt.Sprintf("'real_server %s'", strings.Join(n.words[1:], " "))
	hs := map[string]handler{
		"weight":             p.one(&rs.Weight, 0, 65535),
		"notify_up":          p.str(&rs.NotifyUp),
		"notify_down":        p.str(&rs.NotifyDown),
		"inhibit_on_failure": p.flag(&rs.InhibitOnFailure),
		"connect_timeout":    p.secs(&rs.ConnectTimeout, 0.001, 86400),
		"retry":              p.one(&rs.Retry, 0, 1<<30),
		"nb_get_retry":       p.older(p.one(&rs.Retry, 0, 1<<30), "retry"),
		"delay_before_retry": p.secs(&rs.DelayBeforeRetry, 0, 86400),
		"delay_loop":         p.secs(&rs.DelayLoop, 0.001, 86400),
		"warmup":             p.secs(&rs.Warmup, 0, 86400),
		"alpha":              p.optFlag(&rs.Alpha),
		"virtualhost":        p.word(&rs.VirtualHost),
	}
	for _, kind := range checkerKinds {
		hs[kind] = func(n *node) { p.check(n, rs) }
	}
	p.block(n.kids, where, hs)
	if vs.InhibitOnFailure {
		rs.InhibitOnFailure = true
	}
	for _, o := range vs.RealServers {
		if o.Addr == rs.Addr && o.Port == rs.Port {
			p.d.Errorf(n.pos, "real_server %s is already defined at %s in this virtual_server; remove the duplicate", netip.AddrPortFrom(rs.Addr, rs.Port), o.Pos)
			return
		}
	}
	vs.RealServers = append(vs.RealServers, rs)
}

// checkerKinds are the checker blocks of a real_server.
var checkerKinds = []string{"TCP_CHECK", "HTTP_GET", "SSL_GET", "MISC_CHECK", "SMTP_CHECK", "DNS_CHECK", "UDP_CHECK", "PING_CHECK", "FILE_CHECK"}

// ipvsWeightMax is IPVS' largest weight, the bound of FILE_CHECK's weight.
const ipvsWeightMax = 65535

// dnsTypes are the query types of DNS_CHECK, as keepalived names them.
var dnsTypes = []string{"A", "NS", "CNAME", "SOA", "MX", "TXT", "AAAA"}

func (p *parser) check(n *node, rs *RealServer) {
	kind := n.words[0]
	if !p.args(n, 0, 0, true, kind+" { ... }") {
		return
	}
	c := &Check{Pos: n.pos, Kind: kind, Retry: -1, Warmup: -1}
	var hosts []*Check // SMTP_CHECK host blocks
	if kind == "FILE_CHECK" {
		p.fileCheck(n, c)
		rs.Checks = append(rs.Checks, c)
		return
	}
	var alpha *bool
	hs := map[string]handler{
		"retry":              p.one(&c.Retry, 0, 1<<30),
		"nb_get_retry":       p.older(p.one(&c.Retry, 0, 1<<30), "retry"),
		"delay_before_retry": p.secs(&c.DelayBeforeRetry, 0, 86400),
		"delay_loop":         p.secs(&c.DelayLoop, 0.001, 86400),
		"warmup":             p.secs(&c.Warmup, 0, 86400),
		"alpha":              p.optFlag(&alpha),
		"log_all_failures":   p.flag(&c.LogAllFailures),
	}
	// cur: the checker whose connection the connection keywords set; an
	// SMTP_CHECK host block sets its own.
	cur := c
	if kind != "MISC_CHECK" {
		// MISC_CHECK opens no connection, so keepalived gives it none of these.
		hs["connect_timeout"] = func(n *node) { p.secs(&cur.ConnectTimeout, 0.001, 86400)(n) }
		hs["connect_port"] = func(n *node) {
			if kind == "PING_CHECK" {
				p.d.Warnf(n.pos, "PING_CHECK sends ICMP echo requests, which have no port: connect_port is ignored")
				return
			}
			if p.args(n, 1, 1, false, "connect_port <port>") {
				if port, ok := p.checkerPort(n, n.words[1]); ok {
					cur.ConnectPort = port
				}
			}
		}
		hs["connect_ip"] = func(n *node) {
			if p.args(n, 1, 1, false, "connect_ip <ip>") {
				if a, ok := p.checkerAddr(n, n.words[1]); ok {
					cur.ConnectIP = a
				}
			}
		}
		hs["bindto"] = func(n *node) {
			if p.args(n, 1, 1, false, "bindto <source ip>") {
				if a, ok := p.checkerAddr(n, n.words[1]); ok {
					cur.BindTo = a
				}
			}
		}
		hs["bind_port"] = func(n *node) {
			if kind == "PING_CHECK" {
				p.d.Warnf(n.pos, "PING_CHECK sends ICMP echo requests, which have no port: bind_port is ignored")
				return
			}
			if p.args(n, 1, 1, false, "bind_port <source port>") {
				if port, ok := p.checkerPort(n, n.words[1]); ok {
					cur.BindPort = port
				}
			}
		}
		hs["fwmark"] = func(n *node) {
			if !p.args(n, 1, 1, false, "fwmark <mark>") {
				return
			}
			m, err := strconv.ParseUint(n.words[1], 0, 32)
			if err != nil || m == 0 {
				p.d.Errorf(n.pos, "fwmark '%s' is not valid; write a number between 1 and 4294967295", n.words[1])
				return
			}
			cur.FWMark = uint32(m)
		}
		hs["bind_if"] = func(n *node) {
			if !p.args(n, 1, 1, false, "bind_if <interface>") {
				return
			}
			if len(n.words[1]) > 15 || strings.ContainsAny(n.words[1], "/ ") {
				p.d.Errorf(n.pos, "bind_if '%s' is not an interface name (at most 15 characters, no '/'); write e.g. 'bind_if eth0'", n.words[1])
				return
			}
			cur.BindIf = n.words[1]
		}
	}
	switch kind {
	case "HTTP_GET", "SSL_GET":
		hs["url"] = func(n *node) { p.url(n, c) }
		hs["virtualhost"] = p.word(&c.VirtualHost)
		hs["fast_recovery"] = p.flag(&c.FastRecovery)
		hs["http_protocol"] = func(n *node) {
			if !p.args(n, 1, 1, false, "http_protocol 1.0|1.0C|1.1") {
				return
			}
			switch v := strings.ToUpper(n.words[1]); v {
			case "1.0", "1.0C", "1.1":
				c.HTTPProtocol = v
			default:
				p.d.Errorf(n.pos, "http_protocol '%s' is not known; write 1.0, 1.0C (HTTP/1.0 with Connection: close) or 1.1", n.words[1])
			}
		}
		if kind == "SSL_GET" {
			hs["enable_sni"] = p.flag(&c.EnableSNI)
			hs["sni_name"] = p.word(&c.SNIName)
		}
	case "MISC_CHECK":
		hs["misc_path"] = p.str(&c.MiscPath)
		hs["misc_timeout"] = p.secs(&c.MiscTimeout, 0.001, 86400)
		hs["misc_dynamic"] = p.flag(&c.MiscDynamic)
		hs["user"] = func(n *node) {
			if p.args(n, 1, 2, false, "user <user> [group]") {
				c.User = n.words[1]
				if len(n.words) > 2 {
					c.Group = n.words[2]
				}
			}
		}
	case "SMTP_CHECK":
		hs["helo_name"] = p.word(&c.HeloName)
		// keepalived 2.2 still reads the deprecated host blocks: each is one
		// more SMTP check, its connection the checker's (as set before the
		// block) with the block's own connection keywords applied.
		hs["host"] = func(n *node) {
			if !p.args(n, 0, 0, true, "host { connect_ip <ip> ... }") {
				return
			}
			p.d.Warnf(n.pos, "SMTP_CHECK host blocks are deprecated (keepalived says so too): this one is one more SMTP check; write a separate SMTP_CHECK per address instead")
			h := *c
			h.Pos = n.pos
			inner := map[string]handler{}
			for k, v := range hs {
				if k != "host" && k != "helo_name" {
					inner[k] = v
				}
			}
			cur = &h
			p.block(n.kids, "'host'", inner)
			cur = c
			hosts = append(hosts, &h)
		}
	case "DNS_CHECK":
		hs["type"] = func(n *node) {
			if !p.args(n, 1, 1, false, "type A|NS|CNAME|SOA|MX|TXT|AAAA") {
				return
			}
			for _, t := range dnsTypes {
				if strings.EqualFold(t, n.words[1]) {
					c.DNSType = t
					return
				}
			}
			p.d.Errorf(n.pos, "DNS_CHECK type '%s' is not supported; write one of %s", n.words[1], strings.Join(dnsTypes, ", "))
		}
		hs["name"] = func(n *node) {
			if !p.args(n, 1, 1, false, "name <domain name>") {
				return
			}
			name := n.words[1]
			if name != "." && (strings.HasPrefix(name, ".") || strings.Contains(name, "..")) || len(name) > 253 {
				p.d.Errorf(n.pos, "DNS_CHECK name '%s' has an empty label or is too long; write e.g. 'name example.com' or 'name .'", name)
				return
			}
			for _, l := range strings.Split(strings.TrimSuffix(name, "."), ".") {
				if len(l) > 63 {
					p.d.Errorf(n.pos, "DNS_CHECK name '%s' has a label longer than 63 characters", name)
					return
				}
			}
			c.DNSName = name
		}
	case "UDP_CHECK":
		c.MaxReplyLen = 255
		hs["payload"] = func(n *node) {
			if !p.args(n, 1, -1, false, "payload <hex bytes>") {
				return
			}
			data, _, err := ParseHex(strings.Join(n.words[1:], " "), false)
			if err != nil {
				p.d.Errorf(n.pos, "UDP_CHECK payload: %v; write hex bytes such as '0a1b 2c'", err)
				return
			}
			c.Payload = data
		}
		hs["require_reply"] = func(n *node) {
			c.RequireReply = true
			if len(n.words) == 1 {
				return
			}
			data, mask, err := ParseHex(strings.Join(n.words[1:], " "), true)
			if err != nil {
				p.d.Errorf(n.pos, "UDP_CHECK require_reply: %v; write hex bytes, x for any nibble, such as '0a1b xx'", err)
				return
			}
			c.ReplyData, c.ReplyMask = data, mask
		}
		hs["min_reply_length"] = p.one(&c.MinReplyLen, 0, 65535)
		hs["max_reply_length"] = p.one(&c.MaxReplyLen, 0, 65535)
	}
	p.block(n.kids, "'"+kind+"'", hs)
	c.alphaSet = alpha
	for _, ch := range append([]*Check{c}, hosts...) {
		if ch.BindTo.IsValid() && ch.ConnectIP.IsValid() && ch.BindTo.Is4() != ch.ConnectIP.Is4() {
			p.d.Errorf(ch.Pos, "%s: bindto %s and connect_ip %s are of different address families; use one family", kind, ch.BindTo, ch.ConnectIP)
		}
	}
	switch kind {
	case "HTTP_GET", "SSL_GET":
		if len(c.URLs) == 0 {
			p.d.Errorf(n.pos, "%s has no 'url' block; add 'url { path / status_code 200 }'", kind)
		}
		if c.HTTPProtocol == "" {
			c.HTTPProtocol = "1.0"
		}
	case "MISC_CHECK":
		if c.MiscPath == "" {
			p.d.Errorf(n.pos, "MISC_CHECK has no 'misc_path'; add 'misc_path \"/path/to/check args\"'")
		}
	case "SMTP_CHECK":
		if c.HeloName == "" {
			c.HeloName = "smtpchecker.keepalived.org"
		}
	case "DNS_CHECK":
		if c.DNSType == "" {
			c.DNSType = "SOA"
		}
		if c.DNSName == "" {
			c.DNSName = "."
		}
	case "UDP_CHECK":
		if c.MinReplyLen > c.MaxReplyLen {
			p.d.Errorf(n.pos, "UDP_CHECK min_reply_length %d is above max_reply_length %d: the check would always fail", c.MinReplyLen, c.MaxReplyLen)
		}
	}
	rs.Checks = append(rs.Checks, c)
	for _, h := range hosts {
		// The checker's settings as they ended, the host's connection.
		hc := *c
		hc.Pos, hc.ConnectIP, hc.ConnectPort, hc.BindTo, hc.BindPort = h.Pos, h.ConnectIP, h.ConnectPort, h.BindTo, h.BindPort
		hc.BindIf, hc.FWMark, hc.ConnectTimeout = h.BindIf, h.FWMark, h.ConnectTimeout
		rs.Checks = append(rs.Checks, &hc)
	}
}

// ParseHex reads keepalived's hex strings: pairs of hex digits, blanks
// allowed between bytes (a lone digit before a blank is one byte). With
// wildcards an x or X nibble matches anything; mask has those bits set
// (nil when there is none).
func ParseHex(s string, wildcards bool) (data, mask []byte, err error) {
	nibble := func(ch byte) (v, m byte, ok bool) {
		switch {
		case ch >= '0' && ch <= '9':
			return ch - '0', 0, true
		case ch >= 'a' && ch <= 'f':
			return ch - 'a' + 10, 0, true
		case ch >= 'A' && ch <= 'F':
			return ch - 'A' + 10, 0, true
		case wildcards && (ch == 'x' || ch == 'X'):
			return 0, 0xf, true
		}
		return 0, 0, false
	}
	masked := false
	for i := 0; i < len(s); {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		v, m, ok := nibble(s[i])
		if !ok {
			return nil, nil, fmt.Errorf("'%c' is not a hex digit", s[i])
		}
		i++
		if i < len(s) && s[i] != ' ' && s[i] != '\t' {
			v2, m2, ok := nibble(s[i])
			if !ok {
				return nil, nil, fmt.Errorf("'%c' is not a hex digit", s[i])
			}
			v, m = v<<4|v2, m<<4|m2
			i++
		}
		data = append(data, v)
		mask = append(mask, m)
		masked = masked || m != 0
	}
	if len(data) == 0 {
		return nil, nil, fmt.Errorf("no bytes given")
	}
	if !masked {
		mask = nil
	}
	return data, mask, nil
}

// pcreOnly are regex_options of keepalived's PCRE2 that Go's RE2 cannot
// honour.
var pcreOnly = map[string]string{
	"extended":            "RE2 has no extended (x) mode; remove the blanks and comments from the regex",
	"extended_more":       "RE2 has no extended (x) mode; remove the blanks and comments from the regex",
	"firstline":           "RE2 cannot restrict a match to the first line; anchor the regex with ^ and avoid \\n",
	"allow_empty_class":   "RE2 has no empty character class",
	"alt_bsux":            "RE2 has no alternative \\u \\x handling",
	"alt_circumflex":      "RE2 has no alt_circumflex",
	"alt_verbnames":       "RE2 has no verbs",
	"auto_callout":        "RE2 has no callouts",
	"match_unset_backref": "RE2 has no back references",
	"never_backslash_c":   "RE2 has no \\C",
	"match_invalid_utf":   "RE2 has no match_invalid_utf",
}

// re2Options are the regex_options that map onto RE2 flags ("" = RE2
// behaves so already, or the option only tunes PCRE2's speed).
var re2Options = map[string]string{
	"caseless": "i", "multiline": "m", "dotall": "s", "ungreedy": "U",
	"dollar_endonly": "", "utf": "", "ucp": "", "never_ucp": "", "never_utf": "",
	"no_auto_capture": "", "no_auto_possess": "", "no_dotstar_anchor": "",
	"no_start_optimize": "", "dupnames": "", "use_offset_limit": "", "literal": "",
}

// CompileRegex compiles a url's regex with its regex_options in Go's RE2
// syntax (linear-time matching).
func CompileRegex(pattern string, options []string) (*regexp.Regexp, error) {
	flags := ""
	for _, o := range options {
		if o == "literal" {
			pattern = regexp.QuoteMeta(pattern)
		}
		flags += re2Options[o]
	}
	if flags != "" {
		pattern = "(?" + flags + ")" + pattern
	}
	return regexp.Compile(pattern)
}

func (p *parser) url(n *node, c *Check) {
	if !p.args(n, 0, 0, true, "url { path /; status_code 200 }") {
		return
	}
	u := URL{Pos: n.pos}
	p.block(n.kids, "'url'", map[string]handler{
		"path":        p.word(&u.Path),
		"virtualhost": p.word(&u.VirtualHost),
		"regex": func(n *node) {
			if p.args(n, 1, -1, false, "regex \"<regular expression>\"") {
				u.Regex = strings.Join(n.words[1:], " ")
			}
		},
		"regex_no_match": func(n *node) {
			if p.args(n, 0, 0, false, "regex_no_match") {
				u.RegexNoMatch = true
			}
		},
		"regex_options": func(n *node) {
			if !p.args(n, 1, -1, false, "regex_options caseless [multiline ...]") {
				return
			}
			for _, o := range n.words[1:] {
				if why, bad := pcreOnly[o]; bad {
					p.d.Errorf(n.pos, "regex_options %s is a PCRE2 option that dhproxy's RE2 regexes cannot honour: %s", o, why)
					continue
				}
				if _, ok := re2Options[o]; !ok {
					p.d.Errorf(n.pos, "unknown regex_options '%s'; write caseless, multiline, dotall, ungreedy or literal", o)
					continue
				}
				u.RegexOptions = append(u.RegexOptions, o)
			}
		},
		"regex_min_offset": p.one(&u.RegexMinOffset, 0, 1<<30),
		"regex_max_offset": func(n *node) {
			p.one(&u.RegexMaxOffset, 0, 1<<30)(n)
			u.RegexMaxSet = true
		},
		"regex_stack": func(n *node) {
			// PCRE2's JIT stack size: RE2 needs none.
			p.args(n, 2, 2, false, "regex_stack <start> <max>")
		},
		"digest": func(n *node) {
			if !p.args(n, 1, 1, false, "digest <md5 hex>") {
				return
			}
			dg := strings.ToLower(n.words[1])
			if len(dg) != 32 || strings.Trim(dg, "0123456789abcdef") != "" {
				p.d.Errorf(n.pos, "digest '%s' is not an MD5 sum; write the 32 hex digits printed by genhash", n.words[1])
				return
			}
			u.Digest = dg
		},
		"status_code": func(n *node) {
			if !p.args(n, 1, -1, false, "status_code 200 [300-399 ...]") {
				return
			}
			for _, w := range n.words[1:] {
				lo, hi, isRange := strings.Cut(w, "-")
				if !isRange {
					hi = lo
				}
				a, ok1 := p.intArg(n, lo, 100, 599)
				if !ok1 {
					continue
				}
				b, ok2 := p.intArg(n, hi, 100, 599)
				if !ok2 {
					continue
				}
				if b < a {
					p.d.Errorf(n.pos, "status_code range '%s' is reversed; write '%d-%d'", w, b, a)
					continue
				}
				u.StatusCodes = append(u.StatusCodes, [2]int{a, b})
			}
		},
	})
	if u.Path == "" {
		p.d.Errorf(n.pos, "url block has no 'path'; add 'path /'")
	}
	if len(u.StatusCodes) == 0 && u.Digest == "" {
		u.StatusCodes = [][2]int{{200, 299}}
	}
	if u.Regex == "" && (u.RegexNoMatch || len(u.RegexOptions) > 0 || u.RegexMinOffset > 0 || u.RegexMaxSet) {
		p.d.Errorf(n.pos, "url has regex_* options but no 'regex'; add 'regex \"<expression>\"'")
	}
	if u.Regex != "" {
		if _, err := CompileRegex(u.Regex, u.RegexOptions); err != nil {
			p.d.Errorf(n.pos, "regex %q is not valid RE2 syntax (Go's regexp: no back references or lookaround): %v", u.Regex, err)
		}
	}
	if u.RegexMaxSet && u.RegexMinOffset > u.RegexMaxOffset {
		p.d.Errorf(n.pos, "regex_min_offset %d is above regex_max_offset %d; the regex could never match", u.RegexMinOffset, u.RegexMaxOffset)
	}
	c.URLs = append(c.URLs, u)
}

func (p *parser) vsGroup(n *node) {
	if !p.args(n, 1, 1, true, "virtual_server_group <name> { <ip>[-<last octet>] <port> ... }") {
		return
	}
	g := &VSGroup{Pos: n.pos, Name: n.words[1]}
	for _, k := range n.kids {
		if len(k.words) == 0 {
			continue
		}
		e := VSGroupEntry{Pos: k.pos}
		if k.words[0] == "fwmark" {
			if len(k.words) != 2 {
				p.d.Errorf(k.pos, "write 'fwmark <n>' alone on its line")
				continue
			}
			m, err := strconv.ParseUint(k.words[1], 0, 32)
			if err != nil || m == 0 {
				p.d.Errorf(k.pos, "fwmark '%s' is not valid; write a number between 1 and 4294967295", k.words[1])
				continue
			}
			e.FWMark = uint32(m)
			g.Entries = append(g.Entries, e)
			continue
		}
		if len(k.words) > 2 {
			p.d.Errorf(k.pos, "virtual_server_group entry has extra words; write '<ip>[-<last>] [port]' or 'fwmark <n>'")
			continue
		}
		first, last, isRange := strings.Cut(k.words[0], "-")
		a, err := netip.ParseAddr(first)
		if err != nil {
			p.d.Errorf(k.pos, "'%s' is not a valid address or range; write e.g. '10.0.0.1-10' and a port", k.words[0])
			continue
		}
		e.First, e.Last = a, a
		if isRange {
			end, err := strconv.ParseUint(last, 10, 16)
			b := a.As16()
			if a.Is4() && err == nil && end <= 255 && int(end) >= int(b[15]) {
				b[15] = byte(end)
				e.Last = netip.AddrFrom16(b).Unmap()
			} else if a.Is6() && err == nil && int(end) >= int(b[14])<<8|int(b[15]) {
				b[14], b[15] = byte(end>>8), byte(end)
				e.Last = netip.AddrFrom16(b)
			} else {
				p.d.Errorf(k.pos, "bad range end '%s' in '%s'; write the last value of the final part, not below its start, as in '10.0.0.1-10'", last, k.words[0])
				continue
			}
		}
		if len(k.words) == 2 {
			if port, ok := p.portArg(&node{pos: k.pos, words: []string{"virtual_server_group"}}, k.words[1]); ok {
				e.Port = port
			}
		}
		g.Entries = append(g.Entries, e)
	}
	if old, dup := p.c.VSGroups[g.Name]; dup {
		p.d.Errorf(n.pos, "virtual_server_group '%s' is already defined at %s; rename one of them", g.Name, old.Pos)
		return
	}
	p.c.VSGroups[g.Name] = g
}

// finishLVS checks references and cascades checker timers:
// virtual_server → real_server → checker, then keepalived's defaults.
func (p *parser) finishLVS() {
	seen := map[string]*VirtualServer{}
	for _, vs := range p.c.VirtualServers {
		if vs.Group != "" {
			if _, ok := p.c.VSGroups[vs.Group]; !ok {
				p.d.Errorf(vs.Pos, "virtual_server group '%s' names no virtual_server_group%s; define 'virtual_server_group %s { ... }'", vs.Group, suggest(vs.Group, keys(p.c.VSGroups)), vs.Group)
			}
		}
		key := fmt.Sprintf("%s|%d|%d|%s|%s", vs.Addr, vs.Port, vs.FWMark, vs.Group, vs.Protocol)
		if o, dup := seen[key]; dup {
			p.d.Errorf(vs.Pos, "this virtual_server is already defined at %s (same address, port and protocol); merge the two blocks", o.Pos)
		}
		seen[key] = vs
		if vs.Addr.IsValid() && vs.Port == 0 && !vs.Persistent {
			p.d.Warnf(vs.Pos, "virtual_server %s has no port: it matches every port; write 'virtual_server %s <port>'", vs.Addr, vs.Addr)
		}
		for _, rs := range vs.RealServers {
			for _, c := range rs.Checks {
				if c.Kind == "FILE_CHECK" {
					p.resolveFileCheck(c)
					continue
				}
				c.LogAllFailures = c.LogAllFailures || p.c.Global.CheckerLogAllFailures
				if c.ConnectTimeout == 0 {
					c.ConnectTimeout = first(rs.ConnectTimeout, vs.ConnectTimeout, 5*time.Second)
				}
				if c.Retry < 0 {
					c.Retry = rs.Retry
				}
				if c.Retry < 0 {
					c.Retry = vs.Retry
				}
				if c.Retry < 0 {
					switch c.Kind {
					case "MISC_CHECK":
						c.Retry = 0
					case "DNS_CHECK":
						c.Retry = 3
					default:
						c.Retry = 1
					}
				}
				if c.DelayLoop == 0 {
					c.DelayLoop = first(rs.DelayLoop, vs.DelayLoop)
				}
				if c.DelayBeforeRetry == 0 {
					def := time.Second
					switch c.Kind {
					case "HTTP_GET", "SSL_GET":
						def = 3 * time.Second
					case "DNS_CHECK":
						def = c.DelayLoop
					}
					c.DelayBeforeRetry = first(rs.DelayBeforeRetry, vs.DelayBeforeRetry, def)
				}
				if c.Warmup < 0 {
					c.Warmup = rs.Warmup
				}
				if c.Warmup < 0 {
					c.Warmup = vs.Warmup
				}
				if c.Warmup < 0 {
					c.Warmup = c.DelayLoop
				}
				switch {
				case c.alphaSet != nil:
					c.Alpha = *c.alphaSet
				case rs.Alpha != nil:
					c.Alpha = *rs.Alpha
				default:
					c.Alpha = vs.Alpha
				}
				if c.Kind == "MISC_CHECK" && c.MiscTimeout == 0 {
					c.MiscTimeout = c.DelayLoop
				}
			}
		}
	}
}

// optFlag parses "kw [BOOL]" into a setting that may be left unset (nil),
// for values that cascade from an enclosing block.
func (p *parser) optFlag(dst **bool) handler {
	return func(n *node) {
		var v bool
		p.flag(&v)(n)
		*dst = &v
	}
}

func first(ds ...time.Duration) time.Duration {
	for _, d := range ds {
		if d != 0 {
			return d
		}
	}
	return 0
}

// prefixMask6 is the IPv6 netmask of a prefix length.
func prefixMask6(bits int) netip.Addr {
	var m [16]byte
	for i := range m {
		switch {
		case bits >= 8:
			m[i] = 0xff
			bits -= 8
		case bits > 0:
			m[i] = byte(0xff << (8 - bits))
			bits = 0
		}
	}
	return netip.AddrFrom16(m)
}

// fileCheck parses FILE_CHECK { track_file <name>; weight <n> [reverse] }:
// the real server follows a track_file block, as keepalived's check_file.c.
func (p *parser) fileCheck(n *node, c *Check) {
	p.block(n.kids, "'FILE_CHECK'", map[string]handler{
		"track_file": p.word(&c.TrackFile),
		"weight": func(n *node) {
			if !p.args(n, 1, 2, false, "weight <-65535..65535> [reverse|noreverse]") {
				return
			}
			if w, ok := p.intArg(n, n.words[1], -ipvsWeightMax, ipvsWeightMax); ok {
				c.FileWeight = w
			}
			if len(n.words) >= 3 {
				switch n.words[2] {
				case "reverse":
					c.FileReverse = true
				case "noreverse":
					c.FileReverse = false
				default:
					p.d.Errorf(n.pos, "unknown weight option '%s'; write 'weight %s reverse' or leave it out", n.words[2], n.words[1])
				}
			}
		},
	})
	if c.TrackFile == "" {
		p.d.Errorf(n.pos, "FILE_CHECK has no 'track_file'; add 'track_file <name>' naming a 'track_file <name> { file /path }' block")
	}
}

// resolveFileCheck checks that a FILE_CHECK's track_file exists and,
// without a weight of its own (or with weight 0), takes the track_file's.
func (p *parser) resolveFileCheck(c *Check) {
	if c.TrackFile == "" {
		return
	}
	f, ok := p.c.TrackFiles[c.TrackFile]
	if !ok {
		p.d.Errorf(c.Pos, "FILE_CHECK track_file '%s' names no track_file block%s; define 'track_file %s { file /path }'", c.TrackFile, suggest(c.TrackFile, keys(p.c.TrackFiles)), c.TrackFile)
		return
	}
	if c.FileWeight == 0 {
		c.FileWeight, c.FileReverse = f.Weight, f.Reverse
	}
}
