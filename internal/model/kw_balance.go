package model

import (
	"strconv"
	"strings"

	"dhproxy/internal/config"
	"dhproxy/internal/sample"
)

// balance, hash-type and hash-balance-factor: how a backend spreads
// requests over its servers (HAProxy's configuration manual, 4.2).

func init() {
	registerProxy("balance", CapBE|CapDef, parseBalance)
	registerProxy("hash-type", CapBE|CapDef, parseHashType)
	registerProxy("hash-balance-factor", CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if !b.wantArgs(l, 1, 1, "hash-balance-factor <factor>") {
			return
		}
		n, err := strconv.Atoi(l.Args[1])
		if err != nil || n != 0 && (n < 100 || n > 65535) {
			b.errorf(l, "'hash-balance-factor' expects 0 or a percentage from 100 to 65535 (got '%s').", l.Args[1])
			return
		}
		p.HashBalanceFactor = n
	})
}

func parseHashType(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 1, 3, "hash-type <map-based|consistent> [<function>] [<modifier>]") {
		return
	}
	if m := l.Args[1]; m != "map-based" && m != "consistent" {
		b.errorf(l, "'hash-type' expects 'map-based' or 'consistent' as the hash method (got '%s').", m)
		return
	}
	for i, a := range l.Args[2:] {
		if i == 0 && a != "sdbm" && a != "djb2" && a != "wt6" && a != "crc32" {
			b.errorf(l, "'hash-type' expects sdbm, djb2, wt6 or crc32 as the hash function (got '%s').", a)
			return
		}
		if i == 1 && a != "avalanche" {
			b.errorf(l, "'hash-type' only knows the modifier 'avalanche' (got '%s').", a)
			return
		}
	}
	p.HashType = append([]string(nil), l.Args[1:]...)
}

var balanceAlgos = map[string]bool{
	"roundrobin": true, "static-rr": true, "leastconn": true, "first": true, "source": true,
	"uri": true, "url_param": true, "random": true, "rdp-cookie": true, "hash": true,
}

func parseBalance(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 1, -1, "balance <algorithm> [<arguments>]") {
		return
	}
	algo := l.Args[1]
	base := algo
	if i := strings.IndexByte(algo, '('); i > 0 {
		base = algo[:i]
	}
	if _, known := balanceAlgos[base]; !known && !strings.HasPrefix(algo, "hdr(") {
		b.errorf(l, "unknown load balancing algorithm '%s'; use roundrobin, static-rr, leastconn, first, source, uri, url_param, hdr(<name>), random, rdp-cookie or hash.", algo)
		return
	}
	args := l.Args[2:]
	switch base {
	case "url_param":
		if len(args) == 0 || args[0] == "" {
			b.errorf(l, "'balance url_param' requires a URL parameter name.")
			return
		}
		// "check_post [<max_wait>]": HAProxy 2.6 ignores max_wait.
		if len(args) > 1 && (args[1] != "check_post" || len(args) > 3) {
			b.errorf(l, "'balance url_param' only accepts 'check_post' after the parameter name (got '%s').", strings.Join(args[1:], " "))
			return
		}
	case "uri":
		for i := 0; i < len(args); i++ {
			switch a := args[i]; a {
			case "whole", "path-only":
			case "len", "depth":
				if i+1 >= len(args) {
					b.errorf(l, "'balance uri %s' expects a positive integer.", a)
					return
				}
				if n, err := strconv.Atoi(args[i+1]); err != nil || n <= 0 {
					b.errorf(l, "'balance uri %s' expects a positive integer (got '%s').", a, args[i+1])
					return
				}
				i++
			default:
				b.errorf(l, "'balance uri' only accepts 'len', 'depth', 'path-only' and 'whole' (got '%s').", a)
				return
			}
		}
	case "hdr":
		if !strings.HasSuffix(algo, ")") || len(algo) <= len("hdr()") {
			b.errorf(l, "'balance hdr()' requires a header name between parentheses.")
			return
		}
	case "rdp-cookie":
		if algo != "rdp-cookie" && !strings.HasSuffix(algo, ")") {
			b.errorf(l, "'balance rdp-cookie(<name>)' is missing its closing ')'.")
			return
		}
	case "hash":
		if len(args) != 1 {
			b.errorf(l, "'balance hash' expects one sample expression, as in 'balance hash req.cook(SESSID)'.")
			return
		}
		e, err := b.comp.Compile(args[0], 0) // the phase is checked once the mode is known
		if err != nil {
			b.errorf(l, "'balance hash %s': %v.", args[0], err)
			return
		}
		if e.Fetch.Phases&(sample.PhaseConn|sample.PhaseReq) == 0 {
			b.errorf(l, "'balance hash %s': sample fetch '%s' needs %s, which does not exist when the server is chosen.", args[0], e.Fetch.Name, e.Fetch.Needs)
			return
		}
		p.Balance = Balance{Pos: l.Pos, Algo: algo, Args: append([]string(nil), args...), Expr: e}
		return
	}
	p.Balance = Balance{Pos: l.Pos, Algo: algo, Args: append([]string(nil), args...)}
}

// resolveBalance checks what needs the proxy's final mode: "balance hash"
// on HTTP data in a mode tcp backend has nothing to hash.
func (b *builder) resolveBalance(p *Proxy) {
	if p.Balance.Algo != "hash" || p.Mode != ModeTCP || len(p.Balance.Args) == 0 {
		return
	}
	if e := p.Balance.Expr; e != nil && e.Fetch.Phases&sample.PhaseConn == 0 {
		b.d.Errorf(p.Balance.Pos, "%s '%s': 'balance hash %s' needs HTTP request data, which mode tcp does not have; use 'balance hash src' or 'mode http'.", sectionWord(p), p.Name, p.Balance.Args[0])
	}
}
