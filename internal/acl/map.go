package acl

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"dhproxy/internal/sample"
)

// The map converters: map(FILE[,default]) and map_<match>[_<output>],
// registered in the sample registry from here because they look keys up
// with this package's matchers. A map file holds "key value" lines (the
// value is the rest of the line); it is read once at load time, however
// many rules name it.

type mapTable struct {
	pats    *Patterns
	values  []sample.Value
	def     sample.Value
	hasDef  bool
	outType sample.Type
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
	mt := a.Data.(*mapTable)
	if idx, ok := mt.pats.Lookup(t, v); ok {
		*v = mt.values[idx]
		return true
	}
	if mt.hasDef {
		*v = mt.def
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
		data, err := c.Read(file)
		if err != nil {
			return nil, fmt.Errorf("failed to open map file <%s>: %v", file, err)
		}
		mt := &mapTable{pats: newPatterns(c, m, false), outType: out}
		err = parsePatternFile(data, func(line int, l string) error {
			key, val, _ := strings.Cut(strings.ReplaceAll(l, "\t", " "), " ")
			tv, err := typedValue(strings.Trim(val, " "), out)
			if err != nil {
				return fmt.Errorf("%s:%d: %v", file, line, err)
			}
			if err := mt.pats.Add(key, ""); err != nil {
				return fmt.Errorf("%s:%d: %v", file, line, err)
			}
			mt.values = append(mt.values, tv)
			return nil
		})
		return mt, err
	})
	if err != nil {
		return err
	}
	mt := built.(*mapTable)
	if a.N > 1 {
		// the default belongs to this use of the map: copy the table head
		def, err := typedValue(a.Str[1], out)
		if err != nil {
			return fmt.Errorf("default value: %v", err)
		}
		cp := *mt
		cp.def, cp.hasDef = def, true
		mt = &cp
	}
	a.Data = mt
	return nil
}
