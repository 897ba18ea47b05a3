package sample

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha3"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"strings"
	"sync"

	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/blake2s"
	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // haproxy's digest offers OpenSSL's ripemd160
)

// digest(<alg>) and hmac(<alg>,<key>): a message digest or HMAC of the
// input with a hash named as OpenSSL 3 names it (case-insensitive, with
// its aliases). The names OpenSSL knows but its default provider refuses
// (md4, whirlpool), and HMAC on an extendable-output hash, load and fail
// every sample, as in haproxy.

func init() {
	RegisterConverter(&ConvDef{Name: "digest", Args: []ArgType{ArgStr}, MinArgs: 1, In: TypeBin, Out: TypeBin,
		Prepare: func(c *Compiler, a *Args) error {
			alg, err := lookupDigest(a.Str[0])
			a.Data = alg
			return err
		},
		Fn: func(t Txn, a *Args, v *Value) bool {
			alg := a.Data.(*digestAlg)
			s := t.Scratch()
			start := len(*s)
			switch {
			case alg.xof > 0:
				*s = alg.appendXOF(*s, v.Bytes)
			case alg.newHash != nil:
				h := alg.pool.Get().(hash.Hash)
				h.Reset()
				h.Write(v.Bytes)
				*s = h.Sum(*s)
				alg.pool.Put(h)
			default:
				return false
			}
			v.SetBin((*s)[start:len(*s):len(*s)])
			return true
		}})
	RegisterConverter(&ConvDef{Name: "hmac", Args: []ArgType{ArgStr, ArgStr}, MinArgs: 2, In: TypeBin, Out: TypeBin,
		Prepare: prepareHMAC, Fn: hmacConv})
}

// digestAlg is a hash by its OpenSSL name.
type digestAlg struct {
	newHash func() hash.Hash
	xof     int // SHAKE: the output length OpenSSL gives by default
	pool    sync.Pool
}

func (d *digestAlg) appendXOF(dst, data []byte) []byte {
	if d.xof == 16 {
		return append(dst, sha3.SumSHAKE128(data, 16)...)
	}
	return append(dst, sha3.SumSHAKE256(data, 32)...)
}

func newSHA3(f func() *sha3.SHA3) func() hash.Hash { return func() hash.Hash { return f() } }

func must(f func([]byte) (hash.Hash, error)) func() hash.Hash {
	return func() hash.Hash {
		h, err := f(nil)
		if err != nil {
			panic(err) // an unkeyed BLAKE2 cannot fail
		}
		return h
	}
}

// digestNames maps OpenSSL's names and aliases (lower case) to a hash;
// nil for the legacy ones that fail at run time.
var digestNames = map[string]func() hash.Hash{
	"md5": md5.New, "ssl3-md5": md5.New,
	"sha1": sha1.New, "sha-1": sha1.New, "ssl3-sha1": sha1.New,
	"md5-sha1": newMD5SHA1,
	"sha224":   sha256.New224, "sha2-224": sha256.New224, "sha-224": sha256.New224,
	"sha256": sha256.New, "sha2-256": sha256.New, "sha-256": sha256.New,
	"sha384": sha512.New384, "sha2-384": sha512.New384, "sha-384": sha512.New384,
	"sha512": sha512.New, "sha2-512": sha512.New, "sha-512": sha512.New,
	"sha512-224": sha512.New512_224, "sha2-512/224": sha512.New512_224, "sha-512/224": sha512.New512_224,
	"sha512-256": sha512.New512_256, "sha2-512/256": sha512.New512_256, "sha-512/256": sha512.New512_256,
	"sha3-224": newSHA3(sha3.New224), "sha3-256": newSHA3(sha3.New256),
	"sha3-384": newSHA3(sha3.New384), "sha3-512": newSHA3(sha3.New512),
	"blake2b512": must(blake2b.New512), "blake2s256": must(blake2s.New256),
	"ripemd160": ripemd160.New, "ripemd": ripemd160.New, "rmd160": ripemd160.New, "ripemd-160": ripemd160.New,
	"md4": nil, "whirlpool": nil,
}

var digestXOF = map[string]int{"shake128": 16, "shake-128": 16, "shake256": 32, "shake-256": 32}

func lookupDigest(name string) (*digestAlg, error) {
	lower := strings.ToLower(name)
	if n, ok := digestXOF[lower]; ok {
		return &digestAlg{xof: n}, nil
	}
	f, ok := digestNames[lower]
	if !ok {
		return nil, fmt.Errorf("'%s' is not a message digest name (md5, sha1, sha256, sha512, sha3-256, blake2b512, ...)", name)
	}
	alg := &digestAlg{newHash: f}
	alg.pool.New = func() any { return f() }
	return alg, nil
}

// md5sha1 is OpenSSL's MD5-SHA1: both digests, one after the other.
type md5sha1 struct{ m, s hash.Hash }

func newMD5SHA1() hash.Hash { return &md5sha1{md5.New(), sha1.New()} }

func (h *md5sha1) Write(p []byte) (int, error) {
	h.m.Write(p)
	return h.s.Write(p)
}
func (h *md5sha1) Sum(b []byte) []byte { return h.s.Sum(h.m.Sum(b)) }
func (h *md5sha1) Reset()              { h.m.Reset(); h.s.Reset() }
func (h *md5sha1) Size() int           { return md5.Size + sha1.Size }
func (h *md5sha1) BlockSize() int      { return 64 }

// hmacArgs is a compiled hmac: a literal key gives a pool of ready MACs,
// a variable holds the key in base64, decoded for each sample.
type hmacArgs struct {
	alg  *digestAlg
	key  VarRef
	pool sync.Pool // literal key: hash.Hash keyed MACs
}

// keyOrVar reads a converter's key argument as haproxy does: a
// variable when it names one (a '.' is never base64), else base64.
func keyOrVar(c *Compiler, s string) (key []byte, r VarRef, isVar bool, err error) {
	if strings.Contains(s, ".") {
		r, err = c.ParseVar(s)
		if err != nil {
			return nil, r, false, fmt.Errorf("the key is neither base64 nor a variable: %v", err)
		}
		return nil, r, true, nil
	}
	key, err = base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, r, false, fmt.Errorf("the key '%s' is neither base64 nor a variable", s)
	}
	return key, r, false, nil
}

func prepareHMAC(c *Compiler, a *Args) error {
	alg, err := lookupDigest(a.Str[0])
	if err != nil {
		return err
	}
	h := &hmacArgs{alg: alg}
	key, r, isVar, err := keyOrVar(c, a.Str[1])
	if err != nil {
		return err
	}
	if isVar {
		h.key = r
	} else if alg.newHash != nil {
		h.pool.New = func() any { return hmac.New(alg.newHash, key) }
	}
	a.Data = h
	return nil
}

func hmacConv(t Txn, a *Args, v *Value) bool {
	h := a.Data.(*hmacArgs)
	if h.alg.newHash == nil {
		return false // SHAKE or a legacy digest: OpenSSL refuses it
	}
	var mac hash.Hash
	if h.pool.New != nil {
		mac = h.pool.Get().(hash.Hash)
		defer h.pool.Put(mac)
		mac.Reset()
	} else {
		val, ok := getVar(t, h.key)
		if !ok || !Cast(&val, TypeStr, t.Scratch()) {
			return false
		}
		key, err := base64.StdEncoding.DecodeString(string(val.Bytes))
		if err != nil {
			return false
		}
		mac = hmac.New(h.alg.newHash, key)
	}
	mac.Write(v.Bytes)
	s := t.Scratch()
	start := len(*s)
	*s = mac.Sum(*s)
	v.SetBin((*s)[start:len(*s):len(*s)])
	return true
}
