package sample

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
)

// aes_gcm_dec(<bits>,<nonce>,<key>,<tag>): AES-GCM decryption of the
// input, the nonce, key and tag in base64, each given as is or in a
// variable. As OpenSSL does for haproxy, a key longer than bits/8 is cut,
// the nonce may have any length and the tag be a prefix of the full one
// (1 to 16 bytes); a tag that does not match gives no sample.

type aesGCMArgs struct {
	size int // key bytes
	// nonce, key and tag: decoded when given as is, else read from the
	// variable (base64) for each sample
	val [3][]byte
	ref [3]VarRef
	isV [3]bool
}

func init() {
	RegisterConverter(&ConvDef{Name: "aes_gcm_dec", Args: []ArgType{ArgInt, ArgStr, ArgStr, ArgStr}, MinArgs: 4, In: TypeBin, Out: TypeBin,
		Prepare: func(c *Compiler, a *Args) error {
			g := &aesGCMArgs{}
			switch a.Int[0] {
			case 128, 192, 256:
				g.size = int(a.Int[0] / 8)
			default:
				return fmt.Errorf("the key size must be 128, 192 or 256 (bits), not %d", a.Int[0])
			}
			for i, what := range [...]string{"nonce", "key", "tag"} {
				b, r, isVar, err := keyOrVar(c, a.Str[i+1])
				if err != nil {
					return fmt.Errorf("the %s: %v", what, err)
				}
				g.val[i], g.ref[i], g.isV[i] = b, r, isVar
			}
			a.Data = g
			return nil
		},
		Fn: aesGCMDec})
}

func aesGCMDec(t Txn, a *Args, v *Value) bool {
	g := a.Data.(*aesGCMArgs)
	var parts [3][]byte
	for i := range parts {
		if !g.isV[i] {
			parts[i] = g.val[i]
			continue
		}
		val, ok := getVar(t, g.ref[i])
		if !ok || !Cast(&val, TypeStr, t.Scratch()) {
			return false
		}
		s := t.Scratch()
		start := len(*s)
		out, err := base64.StdEncoding.AppendDecode(*s, val.Bytes)
		if err != nil {
			return false
		}
		*s = out
		parts[i] = (*s)[start:len(*s):len(*s)]
	}
	nonce, key, tag := parts[0], parts[1], parts[2]
	if len(key) < g.size || len(nonce) == 0 || len(tag) == 0 || len(tag) > 16 {
		return false
	}
	block, err := aes.NewCipher(key[:g.size])
	if err != nil {
		return false
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(nonce))
	if err != nil {
		return false
	}
	// GCM encrypts with CTR: sealing the ciphertext gives the plaintext
	// (and a tag to drop); sealing the plaintext gives the full tag, to
	// compare with the prefix given.
	s := t.Scratch()
	start := len(*s)
	*s = gcm.Seal(*s, nonce, v.Bytes, nil)
	plain := (*s)[start : len(*s)-gcm.Overhead() : len(*s)-gcm.Overhead()]
	mark := len(*s)
	*s = gcm.Seal(*s, nonce, plain, nil)
	full := (*s)[len(*s)-gcm.Overhead():]
	if subtle.ConstantTimeCompare(full[:len(tag)], tag) != 1 {
		*s = (*s)[:start]
		return false
	}
	*s = (*s)[:mark]
	v.SetBin(plain)
	return true
}
