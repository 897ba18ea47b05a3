package model

import (
	"strconv"

	"dhproxy/internal/cache"
	"dhproxy/internal/config"
	"dhproxy/internal/rules"
)

// "cache <name>" sections (haproxy 2.6's small object cache, see
// internal/cache and docs/cache.md) and "filter cache <name>", which
// declares what http-request cache-use and http-response cache-store
// declare implicitly.
//
//	cache static
//	    total-max-size 4      # MB, mandatory, at most 4095
//	    max-object-size 10000 # bytes; default a 256th of total-max-size
//	    max-age 60            # seconds
//	    process-vary on
//	    max-secondary-entries 10

// CacheSection is a cache section and the cache it runs.
type CacheSection struct {
	Pos   config.Pos
	Order int // its place among the cache sections of the files
	Cache *cache.Cache
}

// cacheFilter is a "filter cache <name>" line, checked once every
// section is read.
type cacheFilter struct {
	name string
	pos  config.Pos
}

func init() {
}

// maxCacheMB is haproxy's bound: total-max-size in bytes must fit 32 bits.
const maxCacheMB = 4095

var cacheKeywords = []string{"total-max-size", "max-object-size", "max-age", "process-vary", "max-secondary-entries"}

func (b *builder) buildCache(s *config.Section) {
	if len(s.Args) == 0 || s.Args[0] == "" {
		b.d.Errorf(s.Pos, "'cache' expects a <name> argument.")
		return
	}
	if len(s.Args) > 1 {
		b.d.Errorf(s.Pos, "'cache' cannot handle unexpected argument '%s'.", s.Args[1])
		return
	}
	name := s.Args[0]
	if len(name) > 32 {
		name = name[:32]
		b.d.Warnf(s.Pos, "cache name is limited to 32 characters, truncate to '%s'.", name)
	}
	if other, dup := b.cfg.Caches[name]; dup {
		b.d.Errorf(s.Pos, "Duplicate cache name '%s' (first declared at %s).", name, other.Pos)
		return
	}
	c := cache.Config{Name: name, MaxAge: 60, MaxSecondary: 10}
	sizeSet, objSet := false, false
	for _, l := range s.Lines {
		kw := l.Args[0]
		known := false
		for _, k := range cacheKeywords {
			known = known || k == kw
		}
		if !known {
			b.errorf(l, "unknown keyword '%s' in 'cache' section%s", kw, suggest(kw, cacheKeywords))
			continue
		}
		if len(l.Args) > 2 {
			b.errorf(l, "'%s' cannot handle unexpected argument '%s'.", kw, l.Args[2])
			continue
		}
		arg := ""
		if len(l.Args) > 1 {
			arg = l.Args[1]
		}
		switch kw {
		case "total-max-size":
			n, err := strconv.ParseUint(arg, 10, 64)
			if err != nil {
				b.errorf(l, "total-max-size wrong value '%s'; write a size in megabytes.", arg)
				continue
			}
			if n > maxCacheMB {
				b.errorf(l, "\"total-max-size\" (%s) must not be greater than %d.", arg, maxCacheMB)
				continue
			}
			c.TotalMax, sizeSet = int64(n)<<20, n > 0
		case "max-object-size":
			n, err := strconv.ParseUint(arg, 10, 32)
			if err != nil {
				b.errorf(l, "max-object-size wrong value '%s'; write a size in bytes.", arg)
				continue
			}
			c.MaxObject, objSet = int64(n), n > 0
		case "max-age":
			if arg == "" {
				b.warnf(l, "'max-age' expects an age parameter in seconds.")
			}
			c.MaxAge = atoiC(arg)
		case "process-vary":
			switch arg {
			case "on", "off":
				c.ProcessVary = arg == "on"
			default:
				b.warnf(l, "'process-vary' expects \"on\" or \"off\" (enable or disable vary processing).")
			}
		case "max-secondary-entries":
			n, err := strconv.ParseUint(arg, 10, 32)
			if err != nil || n == 0 {
				b.errorf(l, "max-secondary-entries wrong value '%s'; write a strictly positive number.", arg)
				continue
			}
			c.MaxSecondary = int(n)
		}
	}
	if !sizeSet {
		b.d.Errorf(s.Pos, "Size not specified for cache '%s'; write 'total-max-size <megabytes>' in it.", name)
		return
	}
	if !objSet {
		c.MaxObject = c.TotalMax / 256
	} else if c.MaxObject > c.TotalMax/2 {
		b.d.Errorf(s.Pos, "\"max-object-size\" is limited to an half of \"total-max-size\" => %d.", c.TotalMax/2)
		return
	}
	if b.cfg.Caches == nil {
		b.cfg.Caches = map[string]*CacheSection{}
	}
	b.cfg.Caches[name] = &CacheSection{Pos: s.Pos, Order: len(b.cfg.Caches), Cache: cache.New(c)}
}

// atoiC reads a number as C's atoi: leading digits (a sign allowed), 0
// without any.
func atoiC(s string) int64 {
	i, neg := 0, false
	if i < len(s) && (s[i] == '-' || s[i] == '+') {
		neg, i = s[i] == '-', 1
	}
	var n int64
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 1<<31; i++ {
		n = n*10 + int64(s[i]-'0')
	}
	if neg {
		return -n
	}
	return n
}

// parseCacheFilter is "filter cache <name>" (kw_filter.go's parseFilter
// hands it over); false when the line is wrong.
func parseCacheFilter(b *builder, p *Proxy, l config.Line) bool {
	if len(l.Args) != 3 {
		b.errorf(l, "'filter cache' expects a cache name as its only argument.")
		return false
	}
	p.cacheFilters = append(p.cacheFilters, cacheFilter{l.Args[2], l.Pos})
	return true
}

// resolveCaches gives each cache-use and cache-store rule its cache and
// checks that the caches filter lines name exist.
func (b *builder) resolveCaches() {
	for _, p := range b.cfg.Proxies {
		for _, f := range p.cacheFilters {
			if b.cfg.Caches[f.name] == nil {
				b.d.Errorf(f.pos, "%s '%s': unable to find the cache '%s' referenced by the filter 'cache'.", sectionWord(p), p.Name, f.name)
			}
		}
		for _, list := range [][]*rules.Rule{p.HTTPRequestRules, p.HTTPResponseRules} {
			for _, r := range list {
				if r.Action != rules.CacheUse && r.Action != rules.CacheStore {
					continue
				}
				c := b.cfg.Caches[r.CacheName]
				if c == nil {
					b.d.Errorf(r.Pos, "%s '%s': unable to find the cache '%s' referenced by the filter 'cache'; declare 'cache %s' with its 'total-max-size'.", sectionWord(p), p.Name, r.CacheName, r.CacheName)
					continue
				}
				r.Cache = c.Cache
			}
		}
	}
}
