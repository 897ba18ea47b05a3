package model

import (
	"slices"

	"dhproxy/internal/config"
)

// "filter <name> [param*]": haproxy's stream filters. "filter cache" is
// kw_cache.go's. dhproxy's response
// path has compression built in, so "filter compression" only declares
// it, as haproxy requires once another filter is declared; "filter trace"
// (haproxy's debugging filter, printing every filter callback on stderr)
// has no callbacks to trace here and is accepted with a warning.

func init() {
	registerProxy("filter", CapFE|CapBE, parseFilter)
}

func parseFilter(b *builder, p *Proxy, l config.Line) {
	if len(l.Args) < 2 {
		b.errorf(l, "missing argument for 'filter' in %s '%s' (write 'filter compression' or 'filter trace').", sectionWord(p), p.Name)
		return
	}
	name, args := l.Args[1], l.Args[2:]
	switch name {
	case "compression":
		if len(args) > 0 {
			b.errorf(l, "'filter compression' : unknown keyword '%s'.", args[0])
			return
		}
		if slices.Contains(p.Filters, "compression") {
			b.errorf(l, "'filter' : '%s: Proxy supports only one compression filter'.", p.Name)
			return
		}
	case "trace":
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case "name":
				if i+1 == len(args) {
					b.errorf(l, "'filter trace' : 'name' option without value.")
					return
				}
				i++
			case "quiet", "random-parsing", "random-forwarding", "hexdump":
			default:
				b.errorf(l, "'filter trace' : unknown keyword '%s'.", args[i])
				return
			}
		}
		b.warnf(l, "'filter trace' has no effect in dhproxy: its response path has no filter callbacks to trace (use the logs, 'show sess' or -d for debugging).")
	case "cache":
		if !parseCacheFilter(b, p, l) {
			return
		}
	case "fcgi-app":
		// the explicit form of use-fcgi-app (kw_fcgi.go)
		if len(args) == 0 || args[0] == "" {
			b.errorf(l, "'filter fcgi-app' : expects a <name> argument.")
			return
		}
		if p.Cap&CapBE == 0 {
			b.errorf(l, "'filter fcgi-app' : only available in backend or listen section.")
			return
		}
		if p.UseFcgiApp != "" && p.UseFcgiApp != args[0] {
			b.errorf(l, "'filter fcgi-app' : only one fcgi-app supported per backend.")
			return
		}
		p.UseFcgiApp, p.useFcgiPos = args[0], l.Pos
	case "spoe", "opentracing":
		b.errorf(l, "'filter %s' is not supported by dhproxy yet (it has 'filter cache', 'filter compression' and 'filter trace').", name)
		return
	default:
		b.errorf(l, "'filter' : unknown keyword '%s' (haproxy 2.6 has cache, compression, fcgi-app, opentracing, spoe and trace).", name)
		return
	}
	p.Filters = append(p.Filters, name)
}

// checkFilters refuses, as haproxy 2.6 does, compression in a section
// that declares other filters but not "filter compression": the
// compression's place among them would be a guess.
func (b *builder) checkFilters(p *Proxy) {
	if p.Compression == nil || len(p.Filters) == 0 || slices.Contains(p.Filters, "compression") {
		return
	}
	b.d.Errorf(p.Pos, "%s '%s': require an explicit filter declaration to use HTTP compression (add 'filter compression' where it belongs among the filters).", sectionWord(p), p.Name)
}
