// Package auth holds HAProxy's userlists: users with crypt(3) password
// hashes or plain passwords, groups, and the HTTP Basic credentials
// check behind http_auth and http_auth_group.
package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"errors"
	"hash"
	"strconv"
	"strings"
)

// The crypt(3) schemes HAProxy's userlists meet in practice, written from
// their published descriptions: MD5-crypt ("$1$", Poul-Henning Kamp's) and
// SHA-crypt ("$5$" SHA-256, "$6$" SHA-512, Ulrich Drepper's
// specification). Each returns the whole hash string, salt included, so a
// password is checked by comparing it with the stored one.

const crypt64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// b64From24 appends n characters of the 24-bit group b2 b1 b0, least
// significant 6 bits first (crypt's own base 64).
func b64From24(dst []byte, b2, b1, b0 byte, n int) []byte {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for ; n > 0; n-- {
		dst = append(dst, crypt64[w&0x3f])
		w >>= 6
	}
	return dst
}

// ErrUnsupported is returned for a hash of a scheme not implemented here.
var ErrUnsupported = errors.New("unsupported password hash type (dhproxy supports $1$ MD5-crypt, $5$ SHA-256-crypt and $6$ SHA-512-crypt)")

// ErrMalformed is returned for a hash string that is not well formed.
var ErrMalformed = errors.New("malformed password hash")

// Check tells whether password matches the crypt(3) hash stored.
func Check(password, stored string) (bool, error) {
	got, err := Crypt(password, stored)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(stored)) == 1, nil
}

// Crypt hashes password with the scheme and salt of setting (a hash
// string or its "$id$salt" prefix).
func Crypt(password, setting string) (string, error) {
	switch {
	case strings.HasPrefix(setting, "$1$"):
		return md5Crypt(password, setting[3:]), nil
	case strings.HasPrefix(setting, "$5$"):
		return shaCrypt(password, setting[3:], "$5$", sha256.New, sha256Order[:])
	case strings.HasPrefix(setting, "$6$"):
		return shaCrypt(password, setting[3:], "$6$", sha512.New, sha512Order[:])
	}
	return "", ErrUnsupported
}

// Supported tells whether h is a hash Crypt can check.
func Supported(h string) bool {
	_, err := Crypt("", h)
	return err == nil
}

// md5Crypt is "$1$": salt up to 8 characters, up to the next '$'.
func md5Crypt(pw, salt string) string {
	if i := strings.IndexByte(salt, '$'); i >= 0 {
		salt = salt[:i]
	}
	if len(salt) > 8 {
		salt = salt[:8]
	}
	alt := md5.Sum([]byte(pw + salt + pw))
	h := md5.New()
	h.Write([]byte(pw + "$1$" + salt))
	for n := len(pw); n > 0; n -= 16 {
		h.Write(alt[:min(n, 16)])
	}
	for n := len(pw); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write([]byte{0})
		} else {
			h.Write([]byte{pw[0]})
		}
	}
	final := h.Sum(nil)
	for i := 0; i < 1000; i++ {
		h.Reset()
		if i&1 != 0 {
			h.Write([]byte(pw))
		} else {
			h.Write(final)
		}
		if i%3 != 0 {
			h.Write([]byte(salt))
		}
		if i%7 != 0 {
			h.Write([]byte(pw))
		}
		if i&1 != 0 {
			h.Write(final)
		} else {
			h.Write([]byte(pw))
		}
		final = h.Sum(final[:0])
	}
	out := []byte("$1$" + salt + "$")
	out = b64From24(out, final[0], final[6], final[12], 4)
	out = b64From24(out, final[1], final[7], final[13], 4)
	out = b64From24(out, final[2], final[8], final[14], 4)
	out = b64From24(out, final[3], final[9], final[15], 4)
	out = b64From24(out, final[4], final[10], final[5], 4)
	out = b64From24(out, 0, 0, final[11], 2)
	return string(out)
}

// The byte order of SHA-crypt's final encoding: groups of three bytes,
// the last group of each table shorter.
var sha256Order = [...][3]int{
	{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14},
	{15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29},
	{-1, 31, 30}, // 3 characters
}

var sha512Order = [...][3]int{
	{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4},
	{47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51},
	{31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35},
	{15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19},
	{62, 20, 41},
	{-1, -1, 63}, // 2 characters
}

const (
	shaRoundsDefault = 5000
	shaRoundsMin     = 1000
	shaRoundsMax     = 999999999
)

// shaCrypt is "$5$" and "$6$": an optional "rounds=N$", a salt of up to
// 16 characters up to the next '$'.
func shaCrypt(pw, rest, magic string, newHash func() hash.Hash, order [][3]int) (string, error) {
	rounds, custom := shaRoundsDefault, false
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		i := strings.IndexByte(r, '$')
		if i < 0 {
			return "", ErrMalformed
		}
		n, err := strconv.ParseUint(r[:i], 10, 64)
		if err != nil {
			return "", ErrMalformed
		}
		rounds = int(min(max(n, shaRoundsMin), shaRoundsMax))
		custom, rest = true, r[i+1:]
	}
	salt := rest
	if i := strings.IndexByte(salt, '$'); i >= 0 {
		salt = salt[:i]
	}
	if len(salt) > 16 {
		salt = salt[:16]
	}
	p, s := []byte(pw), []byte(salt)

	h := newHash()
	h.Write(p)
	h.Write(s)
	h.Write(p)
	b := h.Sum(nil)
	size := len(b)

	h.Reset()
	h.Write(p)
	h.Write(s)
	n := len(p)
	for ; n > size; n -= size {
		h.Write(b)
	}
	h.Write(b[:n])
	for n := len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			h.Write(b)
		} else {
			h.Write(p)
		}
	}
	a := h.Sum(nil)

	// P: the password hashed len(p) times, stretched to len(p) bytes.
	h.Reset()
	for range len(p) {
		h.Write(p)
	}
	dp := h.Sum(nil)
	pseq := make([]byte, 0, len(p))
	for len(pseq) < len(p) {
		pseq = append(pseq, dp[:min(size, len(p)-len(pseq))]...)
	}
	// S: the salt hashed 16+a[0] times, stretched to len(s) bytes.
	h.Reset()
	for range 16 + int(a[0]) {
		h.Write(s)
	}
	ds := h.Sum(nil)
	sseq := make([]byte, 0, len(s))
	for len(sseq) < len(s) {
		sseq = append(sseq, ds[:min(size, len(s)-len(sseq))]...)
	}

	c := a
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(pseq)
		} else {
			h.Write(c)
		}
		if i%3 != 0 {
			h.Write(sseq)
		}
		if i%7 != 0 {
			h.Write(pseq)
		}
		if i&1 != 0 {
			h.Write(c)
		} else {
			h.Write(pseq)
		}
		c = h.Sum(c[:0])
	}

	out := []byte(magic)
	if custom {
		out = append(out, "rounds="+strconv.Itoa(rounds)+"$"...)
	}
	out = append(out, salt...)
	out = append(out, '$')
	at := func(i int) byte {
		if i < 0 {
			return 0
		}
		return c[i]
	}
	for k, g := range order {
		chars := 4
		if k == len(order)-1 {
			chars = 4 - countNeg(g)
		}
		out = b64From24(out, at(g[0]), at(g[1]), at(g[2]), chars)
	}
	return string(out), nil
}

func countNeg(g [3]int) int {
	n := 0
	for _, i := range g {
		if i < 0 {
			n++
		}
	}
	return n
}
