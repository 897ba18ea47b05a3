package lb

import (
	"hash/crc32"
	"net/netip"
	"strconv"
	"strings"

	"dhproxy/internal/http1"
)

// HAProxy's key hash functions (src/hash.c), selected by "hash-type".

// HashSDBM is the sdbm hash, HAProxy's default.
func HashSDBM(key []byte) uint32 {
	var h uint32
	for _, c := range key {
		h = uint32(c) + (h << 6) + (h << 16) - h
	}
	return h
}

// HashDJB2 is Bernstein's djb2 hash.
func HashDJB2(key []byte) uint32 {
	h := uint32(5381)
	for _, c := range key {
		h = h*33 + uint32(c)
	}
	return h
}

// HashWT6 is Willy Tarreau's wt6 hash.
func HashWT6(key []byte) uint32 {
	h0, h1 := uint32(0xa53c965a), uint32(0x5ca6953a)
	s0, s1 := uint32(6), uint32(18)
	for _, c := range key {
		t := uint32(c)
		h0 = ^(h0 ^ t)
		h1 = ^(h1 + t)
		t = h1<<s0 | h1>>(32-s0)
		h1 = h0<<s1 | h0>>(32-s1)
		h0 = t
		t = (h0>>16 ^ h1) & 0xffff
		s0 = t & 0x1f
		s1 = t >> 11
	}
	return h0 ^ h1
}

// HashCRC32 is the IEEE CRC-32, computed byte by byte: hash/crc32's
// assembly makes its argument escape, which would cost an allocation per
// request for keys built on the stack (addresses).
func HashCRC32(key []byte) uint32 {
	h := ^uint32(0)
	for _, c := range key {
		h = crc32.IEEETable[byte(h)^c] ^ h>>8
	}
	return ^h
}

// FullHash is the avalanche mix HAProxy applies with "avalanche", to
// consistent-hash tree keys, and to source addresses under consistent hashing.
func FullHash(a uint32) uint32 {
	a = (a + 0x7ed55d16) + (a << 12)
	a = (a ^ 0xc761c23c) ^ (a >> 19)
	a = (a + 0x165667b1) + (a << 5)
	a = (a + 0xd3a2646c) ^ (a << 9)
	a = (a + 0xfd7046c5) + (a << 3)
	a = (a ^ 0xb55a4f09) ^ (a >> 16)
	// spread over the ring: times a large prime near 3/4 of 2^32
	return a * 3221225473
}

// Hash hashes key with the named function (sdbm, djb2, wt6, crc32; anything
// else is sdbm), then applies FullHash when avalanche is set.
func Hash(fn string, avalanche bool, key []byte) uint32 {
	var h uint32
	switch fn {
	case "djb2":
		h = HashDJB2(key)
	case "wt6":
		h = HashWT6(key)
	case "crc32":
		h = HashCRC32(key)
	default:
		h = HashSDBM(key)
	}
	if avalanche {
		h = FullHash(h)
	}
	return h
}

// HashKind is what a hash-based "balance" hashes.
type HashKind uint8

const (
	HashNone      HashKind = iota // not a hash-based algorithm
	HashSource                    // balance source: the client address
	HashURI                       // balance uri
	HashURLParam                  // balance url_param <name>
	HashHeader                    // balance hdr(<name>)
	HashRDPCookie                 // balance rdp-cookie[(<name>)]
	HashExpr                      // balance hash <expr>: the caller evaluates the expression
)

// HashSpec is a parsed hash-based "balance" line with its "hash-type".
type HashSpec struct {
	Kind       HashKind
	Consistent bool   // hash-type consistent (else map-based)
	Fn         string // sdbm (default), djb2, wt6, crc32
	Avalanche  bool
	// balance uri options
	Whole, PathOnly bool
	Len, Depth      int // 0: no limit
	// url_param / hdr / rdp-cookie name
	Name       string
	DomainOnly bool // hdr(...) use_domain_only
	CheckPost  bool // url_param ... check_post: look in a POST body too
	// BalanceFactor is "hash-balance-factor" (consistent hashing only):
	// no server takes more than BalanceFactor% of the average load.
	BalanceFactor int
}

// ParseHashSpec reads "balance <algo> <args>" and "hash-type <args>"; ok is
// false when algo is not a hash-based algorithm implemented here.
func ParseHashSpec(algo string, args, hashType []string) (HashSpec, bool) {
	sp := HashSpec{Fn: "sdbm"}
	switch {
	case algo == "source":
		sp.Kind = HashSource
	case algo == "uri":
		sp.Kind = HashURI
		for i := 0; i < len(args); i++ {
			switch args[i] {
			case "whole":
				sp.Whole = true
			case "path-only":
				sp.PathOnly = true
			case "len", "depth":
				if i+1 < len(args) {
					n, _ := strconv.Atoi(args[i+1])
					if n > 0 {
						if args[i] == "len" {
							sp.Len = n
						} else {
							sp.Depth = n
						}
					}
					i++
				}
			}
		}
	case algo == "url_param":
		if len(args) == 0 || args[0] == "" {
			return sp, false
		}
		sp.Kind, sp.Name = HashURLParam, args[0]
		sp.CheckPost = len(args) > 1 && args[1] == "check_post"
	case algo == "rdp-cookie":
		sp.Kind, sp.Name = HashRDPCookie, "mstshash"
	case strings.HasPrefix(algo, "rdp-cookie(") && strings.HasSuffix(algo, ")"):
		sp.Kind, sp.Name = HashRDPCookie, algo[len("rdp-cookie("):len(algo)-1]
		if sp.Name == "" {
			sp.Name = "mstshash"
		}
	case algo == "hash":
		if len(args) == 0 {
			return sp, false
		}
		sp.Kind = HashExpr
	case strings.HasPrefix(algo, "hdr(") && strings.HasSuffix(algo, ")") && len(algo) > 5:
		sp.Kind, sp.Name = HashHeader, algo[4:len(algo)-1]
		for _, a := range args {
			if a == "use_domain_only" {
				sp.DomainOnly = true
			}
		}
	default:
		return sp, false
	}
	if len(hashType) > 0 {
		sp.Consistent = hashType[0] == "consistent"
		// "hash-type consistent" alone means sdbm with avalanche (HAProxy
		// keeps 1.4's behaviour); naming a function drops the avalanche.
		sp.Avalanche = sp.Consistent && len(hashType) == 1
		for _, a := range hashType[1:] {
			switch a {
			case "sdbm", "djb2", "wt6", "crc32":
				sp.Fn = a
			case "avalanche":
				sp.Avalanche = true
			}
		}
	}
	return sp, true
}

// Key hashes an already extracted key (uri part, parameter or header value).
func (sp *HashSpec) Key(key []byte) uint32 { return Hash(sp.Fn, sp.Avalanche, key) }

// Source hashes a client address as HAProxy's "balance source" does: the
// address's 32-bit big-endian words XORed together, mixed with FullHash
// under consistent hashing (the hash function does not apply). ok is false
// for an invalid address (HAProxy then falls back to round robin).
func (sp *HashSpec) Source(a netip.Addr) (uint32, bool) {
	if !a.IsValid() {
		return 0, false
	}
	a = a.Unmap()
	var h uint32
	if a.Is4() {
		b := a.As4()
		h = be32(b[:])
	} else {
		b := a.As16()
		for i := 0; i < 16; i += 4 {
			h ^= be32(b[i:])
		}
	}
	if sp.Consistent {
		h = FullHash(h)
	}
	return h, true
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// URIKey returns the part of a request URI that "balance uri" hashes: up to
// the '?' unless whole, cut at len bytes, stopping before the (depth+1)th '/'.
// With pathOnly the URI is first reduced to its path (absolute-form URIs lose
// their scheme and authority) and the query string is kept only with whole.
func (sp *HashSpec) URIKey(uri []byte) []byte {
	if sp.PathOnly {
		uri = http1.PathQuery(uri)
	}
	if sp.Len > 0 && len(uri) > sp.Len {
		uri = uri[:sp.Len]
	}
	slashes := 0
	for i, c := range uri {
		if c == '/' {
			slashes++
			if sp.Depth > 0 && slashes == sp.Depth+1 {
				return uri[:i]
			}
		} else if c == '?' && !sp.Whole {
			return uri[:i]
		}
	}
	return uri
}

// URLParam returns the value of the first "name=value" parameter of the
// URI's query string, as "balance url_param" finds it; ok is false when the
// parameter is absent.
func URLParam(uri []byte, name string) (val []byte, ok bool) {
	for i, c := range uri {
		if c == '?' {
			return FormParam(uri[i+1:], name)
		}
	}
	return nil, false
}

// FormParam returns the value of the first "name=value" pair of an
// '&'-separated list (a query string or a form-encoded body).
func FormParam(p []byte, name string) (val []byte, ok bool) {
	if name == "" {
		return nil, false
	}
	for len(p) > len(name) {
		if p[len(name)] == '=' && string(p[:len(name)]) == name {
			v := p[len(name)+1:]
			for j, c := range v {
				if c == '&' {
					return v[:j], true
				}
			}
			return v, true
		}
		j := -1
		for k, c := range p {
			if c == '&' {
				j = k
				break
			}
		}
		if j < 0 {
			return nil, false
		}
		p = p[j+1:]
	}
	return nil, false
}

// HeaderKey reduces a header value to what "balance hdr(name)" hashes: its
// first comma-separated element; with use_domain_only, the label before the
// last dot (the main domain name without its TLD or host part).
func (sp *HashSpec) HeaderKey(v []byte) []byte {
	for i, c := range v {
		if c == ',' {
			v = v[:i]
			break
		}
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	if !sp.DomainOnly {
		return v
	}
	end, i, dot := len(v), len(v), false
	for n := len(v); n > 0; n-- {
		if dot {
			if v[i-1] == '.' {
				break
			}
		} else if i < len(v) && v[i] == '.' {
			end, dot = i, true
		}
		i--
	}
	return v[i:end]
}
