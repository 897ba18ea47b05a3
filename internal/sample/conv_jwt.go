package sample

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"hash"
	"math/big"
	"strings"
)

// JSON Web Tokens in compact form (header.payload.signature, each part
// base64url): jwt_header_query and jwt_payload_query decode a part and
// run json_query on it (no path: the decoded part), jwt_verify checks the
// signature as haproxy 2.6 does: 1 valid, 0 invalid, -1 unknown
// algorithm, -2 PS* (haproxy 2.6 does not verify them), -3 bad token,
// -5 a public key file not loaded at configuration time. The header's
// "alg" is not compared with the algorithm given, as in haproxy.

func init() {
	for i, name := range []string{"jwt_header_query", "jwt_payload_query"} {
		RegisterConverter(&ConvDef{Name: name, Args: []ArgType{ArgStr, ArgStr}, In: TypeStr, Out: TypeAny,
			Prepare: func(c *Compiler, a *Args) error {
				if a.N == 0 {
					return nil
				}
				return prepareJSONQuery(c, a)
			},
			Fn: func(t Txn, a *Args, v *Value) bool { return jwtQuery(t, a, v, i) }})
	}
	RegisterConverter(&ConvDef{Name: "jwt_verify", Args: []ArgType{ArgStr, ArgStr}, MinArgs: 2, In: TypeStr, Out: TypeInt,
		Prepare: prepareJWTVerify, Fn: jwtVerify})
}

// jwtPart returns part i of a token (what lies between its dots).
func jwtPart(tok []byte, i int) ([]byte, bool) {
	for ; i > 0; i-- {
		dot := bytes.IndexByte(tok, '.')
		if dot < 0 {
			return nil, false
		}
		tok = tok[dot+1:]
	}
	if dot := bytes.IndexByte(tok, '.'); dot >= 0 {
		tok = tok[:dot]
	}
	return tok, true
}

func jwtQuery(t Txn, a *Args, v *Value, part int) bool {
	enc, ok := jwtPart(v.Bytes, part)
	if !ok {
		return false
	}
	s := t.Scratch()
	start := len(*s)
	out, ok := appendUB64Dec(*s, enc)
	if !ok {
		return false
	}
	*s = out
	dec := (*s)[start:len(*s):len(*s)]
	if a.N == 0 {
		v.SetStr(dec)
		return true
	}
	return jsonQuery(t, a.Data.(*jsonPath), dec, v)
}

type jwtAlg uint8

const (
	jwtUnknown jwtAlg = iota
	jwtNone
	jwtHS
	jwtRS
	jwtES
	jwtPS
)

// jwtAlgorithm reads an RFC 7518 name: its family and hash.
func jwtAlgorithm(name []byte) (jwtAlg, crypto.Hash) {
	if string(name) == "none" {
		return jwtNone, 0
	}
	if len(name) != 5 {
		return jwtUnknown, 0
	}
	var h crypto.Hash
	switch string(name[2:]) {
	case "256":
		h = crypto.SHA256
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	default:
		return jwtUnknown, 0
	}
	switch string(name[:2]) {
	case "HS":
		return jwtHS, h
	case "RS":
		return jwtRS, h
	case "ES":
		return jwtES, h
	case "PS":
		return jwtPS, h
	}
	return jwtUnknown, 0
}

// jwtKeys are the public key files the configuration named, by path: the
// only ones jwt_verify uses, so that no request reads a file.
type jwtKeys map[string]crypto.PublicKey

type jwtVerifyArgs struct {
	alg     jwtAlg
	hash    crypto.Hash
	algVar  *VarRef
	key     []byte // an HMAC secret or a key file's path
	keyVar  *VarRef
	keys    jwtKeys
	hmacNew func() hash.Hash
}

// isVarName tells whether s names a variable (haproxy takes an argument
// starting with a scope as one).
func isVarName(s string) bool {
	scope, _, ok := strings.Cut(s, ".")
	_, known := scopeNames[scope]
	return ok && known
}

func prepareJWTVerify(c *Compiler, a *Args) error {
	keysAny, _ := c.Cached("jwt_verify keys", func() (any, error) { return jwtKeys{}, nil })
	j := &jwtVerifyArgs{keys: keysAny.(jwtKeys)}
	if isVarName(a.Str[0]) {
		r, err := c.ParseVar(a.Str[0])
		if err != nil {
			return err
		}
		j.algVar = &r
	} else {
		j.alg, j.hash = jwtAlgorithm(a.Byt[0])
		switch j.alg {
		case jwtUnknown:
			return fmt.Errorf("unknown JWT algorithm '%s' (HS256, RS384, ES512, ... or none)", a.Str[0])
		case jwtPS:
			return fmt.Errorf("RSASSA-PSS signatures (%s) are not verified by haproxy 2.6's jwt_verify; use RS*, ES* or HS*", a.Str[0])
		}
	}
	if isVarName(a.Str[1]) {
		r, err := c.ParseVar(a.Str[1])
		if err != nil {
			return err
		}
		j.keyVar = &r
	} else {
		j.key = a.Byt[1]
		if j.algVar != nil || j.alg == jwtRS || j.alg == jwtES {
			if _, loaded := j.keys[a.Str[1]]; !loaded {
				key, err := loadJWTKey(c, a.Str[1])
				switch {
				case err == nil:
					j.keys[a.Str[1]] = key
				case j.algVar == nil: // a secret is no file: only a fixed RS/ES says so
					c.Notices = append(c.Notices, fmt.Sprintf("jwt_verify: %v; the converter answers -5 (unknown certificate)", err))
				}
			}
		}
	}
	a.Data = j
	return nil
}

// loadJWTKey reads a PEM public key ("BEGIN PUBLIC KEY"), as haproxy 2.6
// does: a certificate is not taken.
func loadJWTKey(c *Compiler, path string) (crypto.PublicKey, error) {
	data, err := c.Read(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the public key file: %v", err)
	}
	blk, _ := pem.Decode(data)
	if blk == nil || blk.Type != "PUBLIC KEY" {
		return nil, fmt.Errorf("'%s' holds no PEM public key (BEGIN PUBLIC KEY)", path)
	}
	key, err := x509.ParsePKIXPublicKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("'%s': %v", path, err)
	}
	return key, nil
}

func jwtVerify(t Txn, a *Args, v *Value) bool {
	j := a.Data.(*jwtVerifyArgs)
	alg, h := j.alg, j.hash
	if j.algVar != nil {
		val, ok := getVar(t, *j.algVar)
		if !ok || !Cast(&val, TypeStr, t.Scratch()) {
			return false
		}
		alg, h = jwtAlgorithm(val.Bytes)
	}
	key := j.key
	if j.keyVar != nil {
		val, ok := getVar(t, *j.keyVar)
		if !ok || !Cast(&val, TypeStr, t.Scratch()) {
			return false
		}
		key = val.Bytes
	}
	v.SetInt(int64(j.check(t, v.Bytes, alg, h, key)))
	return true
}

func (j *jwtVerifyArgs) check(t Txn, tok []byte, alg jwtAlg, h crypto.Hash, key []byte) int {
	switch alg {
	case jwtUnknown:
		return -1
	case jwtPS:
		return -2
	}
	dots := bytes.Count(tok, []byte{'.'})
	last := bytes.LastIndexByte(tok, '.')
	if alg == jwtNone {
		switch {
		case dots == 1:
			return 1
		case dots != 2:
			return -3
		case last == len(tok)-1:
			return 1
		}
		return 0 // a signature where none is expected
	}
	if dots != 2 || last == len(tok)-1 {
		return -3
	}
	s := t.Scratch()
	start := len(*s)
	out, ok := appendUB64Dec(*s, tok[last+1:])
	if !ok {
		return -3
	}
	*s = out
	sig := (*s)[start:len(*s):len(*s)]
	signed := tok[:last]
	if alg == jwtHS {
		mac := hmac.New(h.New, key)
		mac.Write(signed)
		return boolInt(hmac.Equal(mac.Sum(nil), sig))
	}
	pub, ok := j.keys[string(key)]
	if !ok {
		return -5
	}
	hh := h.New()
	hh.Write(signed)
	digest := hh.Sum(nil)
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if alg == jwtRS {
			return boolInt(rsa.VerifyPKCS1v15(k, h, digest, sig) == nil)
		}
	case *ecdsa.PublicKey:
		size := (k.Curve.Params().BitSize + 7) / 8
		if alg == jwtES && len(sig) == 2*size {
			r := new(big.Int).SetBytes(sig[:size])
			ss := new(big.Int).SetBytes(sig[size:])
			return boolInt(ecdsa.Verify(k, digest, r, ss))
		}
	}
	return 0
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
