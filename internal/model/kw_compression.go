package model

import (
	"slices"

	"dhproxy/internal/compression"
	"dhproxy/internal/config"
)

// Compression is a proxy's "compression" lines (internal/compression
// applies them): a backend's algorithms and types win over its
// frontend's, offload on either side applies.
type Compression struct {
	Algos   []compression.Algo // "compression algo", in configuration order
	Types   []string           // "compression type": Content-Type prefixes
	Offload bool               // "compression offload": the server does not see Accept-Encoding
}

// inheritCompression gives a proxy its own copy of its defaults' lines,
// which its own lines then extend (haproxy adds to the inherited lists).
func inheritCompression(def *Compression) *Compression {
	if def == nil {
		return nil
	}
	return &Compression{Algos: slices.Clone(def.Algos), Types: slices.Clone(def.Types), Offload: def.Offload}
}

func init() {
	registerProxy("compression", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		word := ""
		if len(l.Args) > 1 {
			word = l.Args[1]
		}
		args := l.Args[min(2, len(l.Args)):]
		switch word {
		case "algo":
			if len(args) == 0 {
				b.errorf(l, "'compression algo' expects <algorithm>: identity, gzip, deflate or raw-deflate.")
				return
			}
			var algos []compression.Algo
			for _, name := range args {
				a, ok := compression.ParseAlgo(name)
				if !ok {
					b.errorf(l, "'compression' : '%s' is not a supported algorithm; use identity, gzip, deflate or raw-deflate.", name)
					return
				}
				algos = append(algos, a)
			}
			comp(p).Algos = append(comp(p).Algos, algos...)
		case "type":
			if len(args) == 0 {
				b.errorf(l, "'compression type' expects <type>, a Content-Type prefix such as text/html.")
				return
			}
			comp(p).Types = append(comp(p).Types, args...)
		case "offload":
			if p.Cap&CapDef != 0 {
				b.warnf(l, "'compression' : 'offload' ignored in 'defaults' section.")
				return
			}
			if len(args) > 0 {
				b.warnf(l, "'compression offload' takes no argument: '%s' ignored.", args[0])
			}
			comp(p).Offload = true
		default:
			b.errorf(l, "'compression' expects 'algo', 'type' or 'offload'.")
		}
	})
}

// haproxy's limits that turn compression down or off under load: their
// argument is checked, then a warning says that dhproxy compresses
// whatever qualifies.
var compLimits = map[string]tuneSetting{
	"maxcomprate":     {tuneInt, 0, maxInt32, "dhproxy does not limit the compression rate"},
	"maxcompcpuusage": {tuneInt, 0, 100, "dhproxy does not turn compression off when the CPU is busy"},
	"maxzlibmem":      {tuneInt, 0, maxInt32, "dhproxy's pooled compressors have no memory limit"},
}

func init() {
	for name, t := range compLimits {
		registerGlobal(name, func(b *builder, g *Global, l config.Line) {
			if t.check(b, l) {
				b.warnf(l, "'%s' has no effect in dhproxy: %s.", name, t.why)
			}
		})
	}
}

func comp(p *Proxy) *Compression {
	if p.Compression == nil {
		p.Compression = &Compression{}
	}
	return p.Compression
}
