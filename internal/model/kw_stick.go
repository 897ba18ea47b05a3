package model

import (
	"fmt"
	"strings"
	"time"

	"dhproxy/internal/acl"
	"dhproxy/internal/config"
	"dhproxy/internal/sample"
	"dhproxy/internal/stick"
)

// stick-table and the stick rules (HAProxy's configuration manual 4.2,
// "stick-table", "stick on", "stick match", "stick store-request"): a client
// key (address, cookie, header, parameter) remembered with the server it
// went to, so that later requests with the same key go there again.

// StickTable is a "stick-table" line.
type StickTable struct {
	Pos     config.Pos
	Type    string // ip, ipv6, integer, string
	Len     int    // string keys: bytes kept
	Size    int
	Expire  time.Duration // 0: never
	NoPurge bool
	// Store, Period and Elems are the "store" data types, their rates'
	// periods and their arrays' sizes.
	Store  [stick.NumData]bool
	Period [stick.NumData]time.Duration
	Elems  [stick.NumData]int
	// Peers is "peers <name>": the section the table is shared through
	// (resolved into PeersSection).
	Peers        string
	PeersSection *Peers
}

// StickRule is a "stick on", "stick match" or "stick store-request" line.
type StickRule struct {
	Pos          config.Pos
	Match, Store bool         // "stick on" does both
	Expr         *sample.Expr // the key
	Cond         *acl.Cond    // "if|unless": the rule applies only then (nil: always)
	Table        string       // "table <name>"; empty: the backend's own
	TableProxy   *Proxy       // resolved: the proxy holding the table
}

func init() {
	// A frontend may hold a table too (for track-sc* rules, or for the
	// stick rules of backends that name it with "table").
	registerProxy("stick-table", CapFE|CapBE, parseStickTable)
	registerProxy("stick", CapBE, parseStick)
	// "non-stick": stick rules never store this server; "stick" undoes a
	// default-server's "non-stick".
	serverOptions["non-stick"] = serverOpt{0, flagOpt(func(s *Server) *bool { return &s.NonStick }, true), ""}
	serverOptions["stick"] = serverOpt{0, flagOpt(func(s *Server) *bool { return &s.NonStick }, false), ""}
}

// stickStringLen is HAProxy's default "len" of string keys.
const stickStringLen = 32

func parseStickTable(b *builder, p *Proxy, l config.Line) {
	const usage = "stick-table type {ip | ipv6 | integer | string [len <length>]} size <size> [expire <expire>] [nopurge]"
	if !b.wantArgs(l, 2, -1, usage) {
		return
	}
	if p.StickTable != nil {
		b.errorf(l, "only one 'stick-table' per section is allowed (the first is at %s); declare another backend to hold a second table.", p.StickTable.Pos)
		return
	}
	t := &StickTable{Pos: l.Pos}
	args := l.Args[1:]
	for i := 0; i < len(args); i++ {
		o := args[i]
		val := func() (string, bool) {
			if i+1 >= len(args) {
				b.errorf(l, "'stick-table %s' expects a value.", o)
				return "", false
			}
			i++
			return args[i], true
		}
		switch o {
		case "type":
			v, ok := val()
			if !ok {
				return
			}
			switch v {
			case "ip", "ipv6", "integer", "string":
				t.Type = v
			case "binary":
				b.errorf(l, "'stick-table type binary' is not supported by dhproxy yet; use 'type string'.")
				return
			default:
				b.errorf(l, "'stick-table type %s': unknown type; use ip, ipv6, integer or string.", v)
				return
			}
			if v == "string" && i+2 < len(args) && args[i+1] == "len" {
				i++
				n, err := parseCount(args[i+1])
				if err != nil || n == 0 {
					b.errorf(l, "'stick-table type string len %s': the length must be a positive integer.", args[i+1])
					return
				}
				t.Len = n
				i++
			}
		case "size":
			v, ok := val()
			if !ok {
				return
			}
			n, err := parseSize(v)
			if err != nil || n == 0 {
				b.errorf(l, "'stick-table size %s': the size must be a positive number of entries, with an optional k, m or g suffix.", v)
				return
			}
			t.Size = n
		case "expire":
			v, ok := val()
			if !ok {
				return
			}
			d, err := parseDuration(v)
			if err != nil {
				b.errorf(l, "'stick-table expire': %v.", err)
				return
			}
			t.Expire = d
		case "nopurge":
			t.NoPurge = true
		case "srvkey":
			// Entries point at servers of this process either way.
			if _, ok := val(); !ok {
				return
			}
		case "store":
			v, ok := val()
			if !ok {
				return
			}
			if err := parseStore(t, v); err != nil {
				b.errorf(l, "'stick-table store %s': %v.", v, err)
				return
			}
		case "peers":
			v, ok := val()
			if !ok {
				return
			}
			t.Peers = v
		case "write-to":
			if _, ok := val(); !ok {
				return
			}
			b.notYetOnce(l, "'stick-table "+o+"'", "stick-table "+o)
		default:
			b.errorf(l, "'stick-table': unknown argument '%s'; usage: %s", o, usage)
			return
		}
	}
	if t.Type == "" {
		b.errorf(l, "'stick-table' needs a 'type'; usage: %s", usage)
		return
	}
	if t.Size == 0 {
		b.errorf(l, "'stick-table' needs a 'size'; usage: %s", usage)
		return
	}
	if t.Type == "string" && t.Len == 0 {
		t.Len = stickStringLen
	}
	p.StickTable = t
}

// parseStore reads "type[(arg)],type..." into t: a rate's argument is its
// period, an array's its element count (and then period, for gpc_rate).
func parseStore(t *StickTable, list string) error {
	for _, w := range splitStore(list) {
		name, arg, hasArg := strings.Cut(w, "(")
		if name == "server_id" && !hasArg {
			continue // kept by every entry a stick rule stores a server in
		}
		d, ok := stick.LookupData(name)
		if !ok {
			return fmt.Errorf("unknown data type '%s' (dhproxy stores %s)", name, storeNames())
		}
		if hasArg && !strings.HasSuffix(arg, ")") {
			return fmt.Errorf("data type '%s': missing ')' after '%s'", name, arg)
		}
		arg = strings.TrimSuffix(arg, ")")
		if !d.IsRate() && !d.IsArray() {
			if hasArg {
				return fmt.Errorf("data type '%s' takes no argument", name)
			}
			t.Store[d] = true
			continue
		}
		if !hasArg {
			return fmt.Errorf("data type '%s' needs %s, as in '%s'", name, storeArgs(d), storeExample(d))
		}
		if d.IsArray() {
			n, rest, _ := strings.Cut(arg, ",")
			elems, err := parseCount(n)
			if err != nil || elems < 1 || elems > stick.MaxElems {
				return fmt.Errorf("data type '%s': array size '%s' is out of the allowed range (1-%d)", name, n, stick.MaxElems)
			}
			if d.IsRate() != (rest != "") {
				return fmt.Errorf("data type '%s' takes %s, as in '%s'", name, storeArgs(d), storeExample(d))
			}
			t.Elems[d], arg = elems, rest
		}
		if d.IsRate() {
			p, err := parseDuration(arg)
			if err != nil || p <= 0 || p > 24*time.Hour {
				return fmt.Errorf("data type '%s': '%s' is not a period between 1ms and 24h", name, arg)
			}
			t.Period[d] = p
		}
		t.Store[d] = true
	}
	// haproxy 2.6 refuses an array beside the single counters it replaces.
	for _, c := range []struct {
		array  stick.DataType
		single []stick.DataType
		names  string
	}{
		{stick.GPT, []stick.DataType{stick.GPT0}, "gpt0"},
		{stick.GPC, []stick.DataType{stick.GPC0, stick.GPC1}, "gpc0/gpc1"},
		{stick.GPCRate, []stick.DataType{stick.GPC0Rate, stick.GPC1Rate}, "gpc0_rate/gpc1_rate"},
	} {
		for _, s := range c.single {
			if t.Store[c.array] && t.Store[s] {
				return fmt.Errorf("'%s' and '%s' cannot be stored in the same table: '%s' replaces %s (keep one of them)", c.array, s, c.array, c.names)
			}
		}
	}
	return nil
}

// splitStore splits a store list at the commas outside parentheses
// ("gpc_rate(2,10s),gpt(1)").
func splitStore(list string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range list {
		switch c {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, list[start:i])
				start = i + 1
			}
		}
	}
	return append(out, list[start:])
}

func storeArgs(d stick.DataType) string {
	switch {
	case d.IsArray() && d.IsRate():
		return "an element count and a period"
	case d.IsArray():
		return "an element count"
	}
	return "a period"
}

func storeExample(d stick.DataType) string {
	switch {
	case d.IsArray() && d.IsRate():
		return d.String() + "(2,10s)"
	case d.IsArray():
		return d.String() + "(2)"
	}
	return d.String() + "(10s)"
}

func storeNames() string {
	var names []string
	for d := range stick.NumData {
		names = append(names, d.String())
	}
	return strings.Join(names, ", ")
}

func parseStick(b *builder, p *Proxy, l config.Line) {
	const usage = "stick {on | match | store-request} <pattern> [table <table>] [{if | unless} <condition>]"
	if !b.wantArgs(l, 2, -1, usage) {
		return
	}
	r := StickRule{Pos: l.Pos}
	switch l.Args[1] {
	case "on":
		r.Match, r.Store = true, true
	case "match":
		r.Match = true
	case "store-request":
		r.Store = true
	case "store-response":
		b.errorf(l, "'stick store-response' is not supported by dhproxy yet; use 'stick store-request' or 'stick on'.")
		return
	default:
		b.errorf(l, "'stick %s': unknown rule; usage: %s", l.Args[1], usage)
		return
	}
	e, err := b.comp.Compile(l.Args[2], 0) // the phase is checked once the mode is known
	if err != nil {
		b.errorf(l, "'stick %s %s': %v.", l.Args[1], l.Args[2], err)
		return
	}
	if e.Fetch.Phases&(sample.PhaseConn|sample.PhaseReq) == 0 {
		b.errorf(l, "'stick %s %s': sample fetch '%s' needs %s, which does not exist when the server is chosen.", l.Args[1], l.Args[2], e.Fetch.Name, e.Fetch.Needs)
		return
	}
	r.Expr = e
	rest := l.Args[3:]
	if len(rest) >= 2 && rest[0] == "table" {
		r.Table, rest = rest[1], rest[2:]
	} else if len(rest) == 1 && rest[0] == "table" {
		b.errorf(l, "'stick %s': 'table' expects a table name.", l.Args[1])
		return
	}
	if len(rest) > 0 {
		if rest[0] != "if" && rest[0] != "unless" {
			b.errorf(l, "'stick %s': unexpected '%s'; usage: %s", l.Args[1], strings.Join(rest, " "), usage)
			return
		}
		c, warns, err := p.ACLs.ParseCond(b.comp, rest, sample.PhaseReq, "backend stick rule")
		if err != nil {
			b.errorf(l, "error detected while parsing a 'stick %s' condition : %v.", l.Args[1], err)
			return
		}
		for _, w := range warns {
			b.warnf(l, "%s.", w)
		}
		r.Cond = c
	}
	p.StickRules = append(p.StickRules, r)
}

// warnUnusedStickTables warns about tables no stick or track-sc* rule
// uses: nothing would ever fill them. It checks the track-sc* rules' tables
// on the way.
func (b *builder) warnUnusedStickTables() {
	used := map[*Proxy]bool{}
	for _, p := range b.cfg.Proxies {
		for _, r := range p.StickRules {
			used[r.TableProxy] = true
		}
		b.resolveTrack(p, used)
	}
	for _, p := range b.cfg.Proxies {
		if p.StickTable != nil && !used[p] {
			b.d.Warnf(p.StickTable.Pos, "the 'stick-table' of %s '%s' is not used by any 'stick' or 'track-sc*' rule: it stays empty.", sectionWord(p), p.Name)
		}
	}
}

// resolveStick links each stick rule to its table and checks that its
// fetch is available in the proxy's mode.
func (b *builder) resolveStick(p *Proxy) {
	for i := range p.StickRules {
		r := &p.StickRules[i]
		tp := p
		if r.Table != "" {
			// The name may be a frontend's and a backend's: take the
			// one holding a table.
			tp = b.cfg.backends[r.Table]
			if pt := b.cfg.peerTables[r.Table]; pt != nil {
				tp = pt
			} else if f := b.cfg.frontends[r.Table]; tp == nil || tp.StickTable == nil && f != nil {
				tp = f
			}
		}
		switch {
		case tp == nil:
			b.d.Errorf(r.Pos, "stick rule in %s '%s': table '%s' not found; declare a backend '%s' with a 'stick-table'.", sectionWord(p), p.Name, r.Table, r.Table)
			continue
		case tp.StickTable == nil && r.Table == "":
			b.d.Errorf(r.Pos, "stick rule in %s '%s': this section has no 'stick-table'; add one or name another with 'table <name>'.", sectionWord(p), p.Name)
			continue
		case tp.StickTable == nil:
			b.d.Errorf(r.Pos, "stick rule in %s '%s': '%s' has no 'stick-table'.", sectionWord(p), p.Name, r.Table)
			continue
		}
		r.TableProxy = tp
		if p.Mode == ModeTCP && r.Cond != nil {
			b.d.Errorf(r.Pos, "stick rule in %s '%s': conditions on stick rules are not supported by dhproxy in mode tcp yet.", sectionWord(p), p.Name)
		}
		if p.Mode == ModeTCP && r.Expr.Fetch.Phases&sample.PhaseConn == 0 {
			b.d.Errorf(r.Pos, "stick rule in %s '%s': this fetch needs HTTP request data, which mode tcp does not have; use 'src' or 'mode http'.", sectionWord(p), p.Name)
		}
	}
}
