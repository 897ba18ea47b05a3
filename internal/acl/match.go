// Package acl is HAProxy's condition language: pattern matchers (-m
// methods, -f files, maps), "acl" declarations, the predefined ACLs and
// "if|unless" conditions, compiled at load time against the sample
// registry. Patterns compile to the matcher that fits their method: a hash
// set for str, tables keyed by length for beg and end, prefix tables for
// ip, RE2 for reg, so a long -f file costs about what one pattern does.
package acl

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"dhproxy/internal/sample"
)

// Method is a pattern matching method ("-m").
type Method uint8

const (
	MatchFound Method = iota + 1
	MatchBool
	MatchInt
	MatchIP
	MatchStr
	MatchBeg
	MatchEnd
	MatchSub
	MatchDir
	MatchDom
	MatchReg
	MatchLen
	MatchBin // hex patterns, equal bytes
)

var methodNames = map[string]Method{
	"found": MatchFound, "bool": MatchBool, "int": MatchInt, "ip": MatchIP,
	"str": MatchStr, "beg": MatchBeg, "end": MatchEnd, "sub": MatchSub,
	"dir": MatchDir, "dom": MatchDom, "reg": MatchReg, "len": MatchLen, "bin": MatchBin,
}

// defaultMethod is the method an ACL uses without "-m": the one fitting
// the fetch's output type, as HAProxy chooses it.
func defaultMethod(t sample.Type) Method {
	switch t {
	case sample.TypeBool:
		return MatchBool
	case sample.TypeInt:
		return MatchInt
	case sample.TypeIP:
		return MatchIP
	}
	return MatchStr
}

type intRange struct {
	min, max int64
	hasMin   bool
	hasMax   bool
}

func (r intRange) contains(n int64) bool {
	return (!r.hasMin || n >= r.min) && (!r.hasMax || n <= r.max)
}

// Patterns is the compiled pattern list of one ACL expression or map.
// Lookup returns the index of the matching pattern, in the order they
// were given, so that a map can answer with the matching line's value.
type Patterns struct {
	method Method
	icase  bool
	dotted bool // int patterns written MAJOR.MINOR (req.ssl_ver without -m)
	comp   *sample.Compiler
	n      int

	exact  strTable        // str, bin: pattern → first index
	byLen  []lenTable      // beg/end: patterns grouped by length, shortest first
	list   [][]byte        // sub/dir/dom, in order
	res    []*sample.Regex // reg, in order
	ranges []intRange      // int/len, in order
	nets   []netTable      // ip: one table per prefix length, longest first
}

// lenTable holds the beg/end patterns of one length.
type lenTable struct {
	n    int
	pats strTable
}

// strTable finds a string among patterns. A few are compared in turn,
// which costs less than hashing the key (an ACL usually lists a handful);
// more are hashed, so that a long -f file costs about what one does.
type strTable struct {
	few  []strEntry
	many map[string]int
}

type strEntry struct {
	s   string
	idx int
}

// fewStrings is the most patterns a strTable compares in turn.
const fewStrings = 8

// add records s with index idx unless s is there already (the first
// index stays).
func (t *strTable) add(s string, idx int) {
	if _, dup := t.get([]byte(s)); dup {
		return
	}
	if t.many == nil && len(t.few) < fewStrings {
		t.few = append(t.few, strEntry{s, idx})
		return
	}
	if t.many == nil {
		t.many = make(map[string]int, 2*fewStrings)
		for _, e := range t.few {
			t.many[e.s] = e.idx
		}
		t.few = nil
	}
	t.many[s] = idx
}

// get returns the index of the pattern equal to b.
func (t *strTable) get(b []byte) (int, bool) {
	if t.many != nil {
		idx, ok := t.many[string(b)]
		return idx, ok
	}
	for i := range t.few {
		// the last bytes first: most patterns of a length differ there
		// (.jpg .png), and that spares calling memequal
		if e := &t.few[i]; len(e.s) == len(b) && (len(b) == 0 || e.s[len(b)-1] == b[len(b)-1]) && e.s == string(b) {
			return e.idx, true
		}
	}
	return 0, false
}

type netTable struct {
	bits int
	v6   bool
	idx  map[netip.Addr]int // masked address → first index
}

// newPatterns prepares an empty pattern list for method m; c compiles
// its regexes.
func newPatterns(c *sample.Compiler, m Method, icase bool) *Patterns {
	return &Patterns{method: m, icase: icase, comp: c}
}

// Len is the number of patterns.
func (p *Patterns) Len() int { return p.n }

// Add compiles one pattern. op is an operator word (eq, ge, gt, le, lt)
// that preceded an int/len pattern, or "".
func (p *Patterns) Add(pat string, op string) error {
	idx := p.n
	switch p.method {
	case MatchFound, MatchBool:
		return fmt.Errorf("'-m %s' takes no pattern, got '%s'", methodName(p.method), pat)
	case MatchBin:
		b, err := hex.DecodeString(pat)
		if err != nil {
			return fmt.Errorf("'%s' is not a hexadecimal string of whole bytes", pat)
		}
		p.exact.add(string(b), idx)
	case MatchStr:
		if p.icase {
			pat = strings.ToLower(pat)
		}
		p.exact.add(pat, idx)
	case MatchBeg, MatchEnd:
		if p.icase {
			pat = strings.ToLower(pat)
		}
		i, found := slices.BinarySearchFunc(p.byLen, len(pat), func(lt lenTable, n int) int { return lt.n - n })
		if !found {
			p.byLen = slices.Insert(p.byLen, i, lenTable{n: len(pat)})
		}
		p.byLen[i].pats.add(pat, idx)
	case MatchSub, MatchDir, MatchDom:
		if p.icase {
			pat = strings.ToLower(pat)
		}
		if p.method != MatchSub {
			// delimiters around the pattern are ignored, as HAProxy does
			pat = strings.Trim(pat, delimiters(p.method))
		}
		p.list = append(p.list, []byte(pat))
	case MatchReg:
		re, err := p.comp.CompileRegex(pat, p.icase, false)
		if err != nil {
			return err
		}
		p.res = append(p.res, re)
	case MatchInt, MatchLen:
		r, err := parseRange(pat, op, p.dotted)
		if err != nil {
			return err
		}
		p.ranges = append(p.ranges, r)
	case MatchIP:
		pfx, err := parseNet(pat)
		if err != nil {
			return err
		}
		p.addNet(pfx, idx)
	}
	p.n++
	return nil
}

func methodName(m Method) string {
	for n, v := range methodNames {
		if v == m {
			return n
		}
	}
	return "?"
}

func delimiters(m Method) string {
	if m == MatchDir {
		return "/?"
	}
	return "/?.:"
}

// parseRange reads an int pattern: "N", "N:M", ":M", "N:", or a value
// after an operator word. With dotted, each number is a version
// MAJOR[.MINOR], worth MAJOR*65536+MINOR as req.ssl_ver gives it.
func parseRange(pat, op string, dotted bool) (intRange, error) {
	num := func(s string) (int64, error) {
		if dotted {
			return parseDottedVersion(s, pat)
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("'%s' is not an integer or a range (N, N:M, :M, N:, or eq|ge|gt|le|lt N)", pat)
		}
		return n, nil
	}
	if op != "" {
		n, err := num(pat)
		if err != nil {
			return intRange{}, err
		}
		switch op {
		case "eq":
			return intRange{min: n, max: n, hasMin: true, hasMax: true}, nil
		case "ge":
			return intRange{min: n, hasMin: true}, nil
		case "gt":
			return intRange{min: n + 1, hasMin: true}, nil
		case "le":
			return intRange{max: n, hasMax: true}, nil
		case "lt":
			return intRange{max: n - 1, hasMax: true}, nil
		}
	}
	lo, hi, isRange := strings.Cut(pat, ":")
	if !isRange {
		n, err := num(pat)
		return intRange{min: n, max: n, hasMin: true, hasMax: true}, err
	}
	var r intRange
	var err error
	if lo != "" {
		if r.min, err = num(lo); err != nil {
			return r, err
		}
		r.hasMin = true
	}
	if hi != "" {
		if r.max, err = num(hi); err != nil {
			return r, err
		}
		r.hasMax = true
	}
	if !r.hasMin && !r.hasMax {
		return r, fmt.Errorf("'%s' is an empty range", pat)
	}
	return r, nil
}

// dottedVersionFetches are the fetches whose ACL patterns are versions
// (HAProxy's pat_parse_dotted_ver), unless "-m int" asks for numbers.
var dottedVersionFetches = map[string]bool{"req.ssl_ver": true, "req_ssl_ver": true}

// parseDottedVersion reads MAJOR[.MINOR] (each below 65536) of pattern pat.
func parseDottedVersion(s, pat string) (int64, error) {
	major, minor, hasMinor := strings.Cut(s, ".")
	ma, err := strconv.ParseUint(major, 10, 16)
	mi := uint64(0)
	if err == nil && hasMinor {
		mi, err = strconv.ParseUint(minor, 10, 16)
	}
	if err != nil {
		return 0, fmt.Errorf("'%s' is not a version or a range of versions (MAJOR.MINOR, A.B:C.D, :C.D, A.B:, or eq|ge|gt|le|lt A.B)", pat)
	}
	return int64(ma<<16 | mi), nil
}

// parseNet reads an IP pattern: an address, optionally with /bits or (for
// IPv4) a dotted mask. Host names are refused: dhproxy does not resolve
// names in patterns.
func parseNet(pat string) (netip.Prefix, error) {
	addrPart, mask, hasMask := strings.Cut(pat, "/")
	a, err := netip.ParseAddr(addrPart)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("'%s' is not an IPv4 or IPv6 address or network (dhproxy does not resolve host names in patterns)", pat)
	}
	a = a.Unmap()
	bits := a.BitLen()
	if hasMask {
		if n, err := strconv.Atoi(mask); err == nil && n >= 0 && n <= a.BitLen() {
			bits = n
		} else if m, err := netip.ParseAddr(mask); err == nil && m.Is4() && a.Is4() {
			bits = 0
			v := m.As4()
			u := uint32(v[0])<<24 | uint32(v[1])<<16 | uint32(v[2])<<8 | uint32(v[3])
			for u&0x80000000 != 0 {
				bits++
				u <<= 1
			}
			if u != 0 {
				return netip.Prefix{}, fmt.Errorf("'%s': the mask is not contiguous", pat)
			}
		} else {
			return netip.Prefix{}, fmt.Errorf("'%s': invalid network mask '%s'", pat, mask)
		}
	}
	return a.Prefix(bits)
}

func (p *Patterns) addNet(pfx netip.Prefix, idx int) {
	v6 := pfx.Addr().Is6()
	for i := range p.nets {
		t := &p.nets[i]
		if t.bits == pfx.Bits() && t.v6 == v6 {
			if _, dup := t.idx[pfx.Addr()]; !dup {
				t.idx[pfx.Addr()] = idx
			}
			return
		}
	}
	p.nets = append(p.nets, netTable{bits: pfx.Bits(), v6: v6, idx: map[netip.Addr]int{pfx.Addr(): idx}})
	// longest prefix first: a map answers with the most specific network
	slices.SortFunc(p.nets, func(a, b netTable) int { return b.bits - a.bits })
}

// Lookup matches v against the patterns and returns the index of the
// pattern that matched: the first one in order, except str (the only
// equal one), beg and ip (the longest prefix), as HAProxy's lookups answer.
// Folding (-i) writes to the transaction's scratch.
func (p *Patterns) Lookup(t sample.Txn, v *sample.Value) (int, bool) {
	switch p.method {
	case MatchFound:
		return 0, true
	case MatchBool:
		if !sample.Cast(v, sample.TypeBool, t.Scratch()) {
			return 0, false
		}
		return 0, v.Int != 0
	case MatchInt, MatchLen:
		var n int64
		if p.method == MatchLen {
			if !sample.CastIn(t, v, sample.TypeStr) {
				return 0, false
			}
			n = int64(len(v.Bytes))
		} else {
			if !sample.Cast(v, sample.TypeInt, t.Scratch()) {
				return 0, false
			}
			n = v.Int
		}
		for i, r := range p.ranges {
			if r.contains(n) {
				return i, true
			}
		}
		return 0, false
	case MatchIP:
		if !sample.Cast(v, sample.TypeIP, t.Scratch()) {
			return 0, false
		}
		a := v.IP.Unmap()
		for i := range p.nets {
			nt := &p.nets[i]
			if nt.v6 != a.Is6() {
				continue
			}
			masked, err := a.Prefix(nt.bits)
			if err != nil {
				continue
			}
			if idx, ok := nt.idx[masked.Addr()]; ok {
				return idx, true
			}
		}
		return 0, false
	case MatchBin:
		// the sample's own bytes (a string as it is), never folded
		if v.Type != sample.TypeStr && v.Type != sample.TypeBin && !sample.Cast(v, sample.TypeBin, t.Scratch()) {
			return 0, false
		}
		return p.exact.get(v.Bytes)
	}
	if !sample.CastIn(t, v, sample.TypeStr) {
		return 0, false
	}
	s := v.Bytes
	if p.icase && p.method != MatchReg {
		s = lowerInto(t.Scratch(), s)
	}
	switch p.method {
	case MatchStr:
		return p.exact.get(s)
	case MatchBeg:
		// the longest prefix, as HAProxy's prefix tree answers a map_beg
		for i := len(p.byLen) - 1; i >= 0; i-- {
			if lt := &p.byLen[i]; lt.n <= len(s) {
				if idx, ok := lt.pats.get(s[:lt.n]); ok {
					return idx, true
				}
			}
		}
	case MatchEnd:
		// the first suffix in pattern order, as HAProxy's list answers
		best, found := 0, false
		for i := range p.byLen {
			lt := &p.byLen[i]
			if lt.n > len(s) {
				break
			}
			if idx, ok := lt.pats.get(s[len(s)-lt.n:]); ok && (!found || idx < best) {
				best, found = idx, true
			}
		}
		return best, found
	case MatchSub:
		for i, pat := range p.list {
			if bytes.Contains(s, pat) {
				return i, true
			}
		}
	case MatchDir, MatchDom:
		d := delimiters(p.method)
		for i, pat := range p.list {
			if matchWord(s, pat, d) {
				return i, true
			}
		}
	case MatchReg:
		for i, re := range p.res {
			if re.Match(s) {
				return i, true
			}
		}
	}
	return 0, false
}

// matchWord tells whether pat occurs in s between delimiters (or the ends).
func matchWord(s, pat []byte, delims string) bool {
	if len(pat) == 0 {
		return false
	}
	isDelim := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	for off := 0; off+len(pat) <= len(s); {
		i := bytes.Index(s[off:], pat)
		if i < 0 {
			return false
		}
		start, end := off+i, off+i+len(pat)
		if (start == 0 || isDelim(s[start-1])) && (end == len(s) || isDelim(s[end])) {
			return true
		}
		off = start + 1
	}
	return false
}

// lowerInto returns s in lower case: s itself when it has no upper case
// letter (the usual case of a host name), else a copy in scratch.
func lowerInto(scratch *[]byte, s []byte) []byte {
	first := sample.FirstUpper(s)
	if first < 0 {
		return s
	}
	start := len(*scratch)
	*scratch = append(*scratch, s...)
	out := (*scratch)[start:len(*scratch):len(*scratch)]
	for i := first; i < len(out); i++ {
		if c := out[i]; c >= 'A' && c <= 'Z' {
			out[i] = c + 'a' - 'A'
		}
	}
	return out
}

// parsePatternFile reads a pattern file: one pattern per line, leading
// and trailing blanks removed, empty lines and lines starting with '#'
// ignored. Each pattern is handed to add with its line number.
func parsePatternFile(data []byte, add func(line int, pat string) error) error {
	for n, line := range strings.Split(string(data), "\n") {
		line = strings.Trim(line, " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		if err := add(n+1, line); err != nil {
			return err
		}
	}
	return nil
}
