package acl

import (
	"fmt"
	"net/netip"
	"strconv"
	"sync/atomic"

	"dhproxy/internal/sample"
)

// The map converters: map(FILE[,default]) and map_<match>[_<output>],
// registered in the sample registry from here because they look keys up
// with this package's matchers. A map file holds "key value" lines (the
// value is the rest of the line); it is read once at load time, however
// many rules name it, and the runtime API edits it (ref.go).

type mapTable struct {
	pats   *Patterns
	values []sample.Value
}

// mapHandle is a map file compiled for one converter (its match method and
// output type); the runtime API's edits replace its table.
type mapHandle struct {
	cur atomic.Pointer[mapTable]
}

// mapUse is one use of a converter: the handle and this use's default.
type mapUse struct {
	h      *mapHandle
	def    sample.Value
	hasDef bool
}

func init() {
	inputs := []struct {
		name string
		m    Method
		in   sample.Type
	}{
		{"str", MatchStr, sample.TypeStr}, {"beg", MatchBeg, sample.TypeStr}, {"end", MatchEnd, sample.TypeStr},
		{"sub", MatchSub, sample.TypeStr}, {"dir", MatchDir, sample.TypeStr}, {"dom", MatchDom, sample.TypeStr},
		{"reg", MatchReg, sample.TypeStr}, {"int", MatchInt, sample.TypeInt}, {"ip", MatchIP, sample.TypeIP},
	}
	outputs := []struct {
		name string
		t    sample.Type
	}{{"", sample.TypeStr}, {"_str", sample.TypeStr}, {"_int", sample.TypeInt}, {"_ip", sample.TypeIP}}
	reg := func(name string, m Method, in, out sample.Type) {
		sample.RegisterConverter(&sample.ConvDef{
			Name: name, Args: []sample.ArgType{sample.ArgStr, sample.ArgStr}, MinArgs: 1, In: in, Out: out,
			Fn: mapLookup,
			Prepare: func(c *sample.Compiler, a *sample.Args) error {
				return prepareMap(c, a, name, m, out)
			},
		})
	}
	reg("map", MatchStr, sample.TypeStr, sample.TypeStr)
	for _, i := range inputs {
		for _, o := range outputs {
			reg("map_"+i.name+o.name, i.m, i.in, o.t)
		}
	}
}

func mapLookup(t sample.Txn, a *sample.Args, v *sample.Value) bool {
	u := a.Data.(*mapUse)
	mt := u.h.cur.Load()
	if idx, ok := mt.pats.Lookup(t, v); ok {
		*v = mt.values[idx]
		return true
	}
	if u.hasDef {
		*v = u.def
		return true
	}
	return false
}

// typedValue parses a map value (or default) for the converter's output.
func typedValue(s string, t sample.Type) (sample.Value, error) {
	var v sample.Value
	switch t {
	case sample.TypeInt:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return v, fmt.Errorf("'%s' is not an integer", s)
		}
		v.SetInt(n)
	case sample.TypeIP:
		ip, err := netip.ParseAddr(s)
		if err != nil {
			return v, fmt.Errorf("'%s' is not an IP address", s)
		}
		v.SetIP(ip.Unmap())
	default:
		v.SetStr([]byte(s))
	}
	return v, nil
}

func prepareMap(c *sample.Compiler, a *sample.Args, conv string, m Method, out sample.Type) error {
	file := a.Str[0]
	if file == "" {
		return fmt.Errorf("expects a map file name")
	}
	built, err := c.Cached(conv+":"+file, func() (any, error) {
		ref, err := refFor(c, file, true)
		if err != nil {
			return nil, fmt.Errorf("failed to open map file <%s>: %v", file, err)
		}
		h := &mapHandle{}
		return h, ref.use(func(es []RefEntry) error {
			mt := &mapTable{pats: newPatterns(c, m, false)}
			for _, e := range es {
				tv, err := typedValue(e.Value, out)
				if err != nil {
					return fmt.Errorf("%s: %v", e.where(file), err)
				}
				if err := mt.pats.Add(e.Key, ""); err != nil {
					return fmt.Errorf("%s: %v", e.where(file), err)
				}
				mt.values = append(mt.values, tv)
			}
			h.cur.Store(mt)
			return nil
		})
	})
	if err != nil {
		return err
	}
	u := &mapUse{h: built.(*mapHandle)}
	if a.N > 1 {
		def, err := typedValue(a.Str[1], out)
		if err != nil {
			return fmt.Errorf("default value: %v", err)
		}
		u.def, u.hasDef = def, true
	}
	a.Data = u
	return nil
}
