package sample

import (
	"bytes"
	"cmp"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// More converters of HAProxy 2.6: bitwise arithmetic, parity, digests,
// trimming, JSON and URL escaping, dates, Host header parts and variable
// comparisons.

func init() {
	conv := func(name string, in, out Type, fn ConvFunc, minArgs int, prep PrepareFunc, args ...ArgType) {
		RegisterConverter(&ConvDef{Name: name, Args: args, MinArgs: minArgs, In: in, Out: out, Fn: fn, Prepare: prep})
	}
	registerIntOperation("and", func(x, y int64) int64 { return x & y })
	registerIntOperation("or", func(x, y int64) int64 { return x | y })
	registerIntOperation("xor", func(x, y int64) int64 { return x ^ y })
	conv("cpl", TypeInt, TypeInt, func(t Txn, a *Args, v *Value) bool {
		v.SetInt(^v.Int)
		return true
	}, 0, nil)
	conv("even", TypeInt, TypeBool, func(t Txn, a *Args, v *Value) bool {
		v.SetBool(v.Int&1 == 0)
		return true
	}, 0, nil)
	conv("odd", TypeInt, TypeBool, func(t Txn, a *Args, v *Value) bool {
		v.SetBool(v.Int&1 == 1)
		return true
	}, 0, nil)

	conv("sha1", TypeBin, TypeBin, func(t Txn, a *Args, v *Value) bool {
		sum := sha1.Sum(v.Bytes)
		setScratchBin(t, v, sum[:])
		return true
	}, 0, nil)
	conv("sha2", TypeBin, TypeBin, func(t Txn, a *Args, v *Value) bool {
		switch a.Int[0] {
		case 224:
			sum := sha256.Sum224(v.Bytes)
			setScratchBin(t, v, sum[:])
		case 384:
			sum := sha512.Sum384(v.Bytes)
			setScratchBin(t, v, sum[:])
		case 512:
			sum := sha512.Sum512(v.Bytes)
			setScratchBin(t, v, sum[:])
		default:
			sum := sha256.Sum256(v.Bytes)
			setScratchBin(t, v, sum[:])
		}
		return true
	}, 0, func(c *Compiler, a *Args) error {
		switch {
		case a.N == 0:
			a.Int[0] = 256
		case a.Int[0] != 224 && a.Int[0] != 256 && a.Int[0] != 384 && a.Int[0] != 512:
			return fmt.Errorf("unsupported number of bits: '%d' (224, 256, 384 or 512)", a.Int[0])
		}
		return nil
	}, ArgInt)

	trim := func(name string, left bool) {
		conv(name, TypeStr, TypeStr, func(t Txn, a *Args, v *Value) bool {
			if left {
				v.Bytes = bytes.TrimLeft(v.Bytes, a.Str[0])
			} else {
				v.Bytes = bytes.TrimRight(v.Bytes, a.Str[0])
			}
			return true
		}, 1, nil, ArgStr)
	}
	trim("ltrim", true)
	trim("rtrim", false)

	conv("json", TypeStr, TypeStr, jsonEscape, 0, func(c *Compiler, a *Args) error {
		mode, ok := jsonModes[a.Str[0]]
		if !ok {
			return fmt.Errorf("unexpected input code type '%s'; allowed: 'ascii', 'utf8', 'utf8s', 'utf8p' and 'utf8ps'", a.Str[0])
		}
		a.Int[0] = int64(mode)
		return nil
	}, ArgStr)
	conv("url_enc", TypeStr, TypeStr, func(t Txn, a *Args, v *Value) bool {
		const hexdig = "0123456789ABCDEF"
		s := t.Scratch()
		start := len(*s)
		for _, c := range v.Bytes {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
				*s = append(*s, c)
			} else {
				*s = append(*s, '%', hexdig[c>>4], hexdig[c&15])
			}
		}
		v.SetStr((*s)[start:len(*s):len(*s)])
		return true
	}, 0, func(c *Compiler, a *Args) error {
		if a.N > 0 && a.Str[0] != "query" {
			return fmt.Errorf("unexpected encode type '%s'; only 'query' exists", a.Str[0])
		}
		return nil
	}, ArgStr)

	// ltime/utime(format[,offset]): the input, a UNIX date, shifted by
	// offset seconds and formatted as strftime(3) does, in the local time
	// zone or in UTC.
	dateConv := func(name string, utc bool) {
		conv(name, TypeInt, TypeStr, func(t Txn, a *Args, v *Value) bool {
			tm := time.Unix(v.Int+a.Int[1], 0)
			if utc {
				tm = tm.UTC()
			} else {
				tm = tm.Local()
			}
			s := t.Scratch()
			start := len(*s)
			*s = appendStrftime(*s, a.Str[0], tm, utc)
			v.SetStr((*s)[start:len(*s):len(*s)])
			return true
		}, 1, nil, ArgStr, ArgInt)
	}
	dateConv("ltime", false)
	dateConv("utime", true)

	conv("port_only", TypeStr, TypeInt, func(t Txn, a *Args, v *Value) bool {
		_, port := splitHostPort(v.Bytes)
		v.SetInt(portNumber(port))
		return true
	}, 0, nil)
	conv("host_only", TypeStr, TypeStr, func(t Txn, a *Args, v *Value) bool {
		v.Bytes, _ = splitHostPort(v.Bytes)
		return true
	}, 0, nil)

	// strcmp(var): as memcmp(3), the difference of the first differing
	// bytes, else -1 or 1 for the shorter or longer string.
	conv("strcmp", TypeStr, TypeInt, func(t Txn, a *Args, v *Value) bool {
		other, ok := getVar(t, a.Data.(VarRef))
		if !ok || !Cast(&other, TypeStr, t.Scratch()) {
			return false
		}
		x, y := v.Bytes, other.Bytes
		n := min(len(x), len(y))
		for i := range n {
			if x[i] != y[i] {
				v.SetInt(int64(x[i]) - int64(y[i]))
				return true
			}
		}
		v.SetInt(int64(cmp.Compare(len(x), len(y))))
		return true
	}, 1, prepareVarArg, ArgStr)
	// secure_memcmp(var): equality in constant time for equal lengths.
	conv("secure_memcmp", TypeBin, TypeBool, func(t Txn, a *Args, v *Value) bool {
		other, ok := getVar(t, a.Data.(VarRef))
		if !ok || !Cast(&other, TypeBin, t.Scratch()) {
			return false
		}
		v.SetBool(subtle.ConstantTimeCompare(v.Bytes, other.Bytes) == 1)
		return true
	}, 1, prepareVarArg, ArgStr)
}

func prepareVarArg(c *Compiler, a *Args) error {
	r, err := c.ParseVar(a.Str[0])
	if err != nil {
		return err
	}
	a.Data = r
	return nil
}

// setScratchBin makes v a binary sample holding a copy of b.
func setScratchBin(t Txn, v *Value, b []byte) {
	s := t.Scratch()
	start := len(*s)
	*s = append(*s, b...)
	*v = Value{Type: TypeBin, Bytes: (*s)[start:len(*s):len(*s)]}
}

// setScratchStr makes v a string sample holding a copy of str.
func setScratchStr(t Txn, v *Value, str string) {
	s := t.Scratch()
	start := len(*s)
	*s = append(*s, str...)
	v.SetStr((*s)[start:len(*s):len(*s)])
}

// splitHostPort splits a Host header value ("name", "name:80", "[::1]:80")
// at its last ':' outside brackets, as HAProxy does.
func splitHostPort(b []byte) (host, port []byte) {
	for i := len(b) - 1; i >= 0 && b[i] != ']'; i-- {
		if b[i] == ':' {
			return b[:i], b[i+1:]
		}
	}
	return b, nil
}

// portNumber reads a port as HAProxy's port_only does: each byte counts
// as a digit, checked or not ("b" is 50).
func portNumber(b []byte) int64 {
	var n uint32
	for _, c := range b {
		n = n*10 + uint32(c-'0')
	}
	return int64(n)
}

type jsonMode uint8

const (
	jsonASCII jsonMode = iota
	jsonUTF8
	jsonUTF8S  // removes what cannot be decoded
	jsonUTF8P  // accepts overlong encodings
	jsonUTF8PS // both
)

var jsonModes = map[string]jsonMode{"": jsonASCII, "ascii": jsonASCII, "utf8": jsonUTF8, "utf8s": jsonUTF8S, "utf8p": jsonUTF8P, "utf8ps": jsonUTF8PS}

// jsonEscape writes the input as the inside of a JSON string, ASCII only:
// other characters become \uXXXX (each byte of the input in ascii mode,
// each decoded character in the utf8 modes).
func jsonEscape(t Txn, a *Args, v *Value) bool {
	mode := jsonMode(a.Int[0])
	s := t.Scratch()
	start := len(*s)
	in := v.Bytes
	for len(in) > 0 {
		r, n := rune(in[0]), 1
		if mode != jsonASCII && in[0] >= 0x80 {
			r, n = decodeUTF8(in, mode == jsonUTF8P || mode == jsonUTF8PS)
			if r < 0 || r > 0xffff { // undecodable, or beyond what \uXXXX holds
				if mode == jsonUTF8 || mode == jsonUTF8P {
					*s = (*s)[:start]
					return false
				}
				in = in[n:]
				continue
			}
		}
		in = in[n:]
		switch r {
		case '"', '\\', '/':
			*s = append(*s, '\\', byte(r))
		case '\b':
			*s = append(*s, '\\', 'b')
		case '\f':
			*s = append(*s, '\\', 'f')
		case '\r':
			*s = append(*s, '\\', 'r')
		case '\n':
			*s = append(*s, '\\', 'n')
		case '\t':
			*s = append(*s, '\\', 't')
		default:
			if r < 0x20 || r > 0x7e {
				const hexdig = "0123456789abcdef"
				*s = append(*s, '\\', 'u', hexdig[r>>12&15], hexdig[r>>8&15], hexdig[r>>4&15], hexdig[r&15])
			} else {
				*s = append(*s, byte(r))
			}
		}
	}
	v.SetStr((*s)[start:len(*s):len(*s)])
	return true
}

// decodeUTF8 decodes one character; -1 when the sequence is bad, out of
// range or (unless overlongOK) longer than needed. n covers the bytes to
// skip either way.
func decodeUTF8(b []byte, overlongOK bool) (r rune, n int) {
	c := b[0]
	var need int
	switch {
	case c&0xe0 == 0xc0:
		need, r = 1, rune(c&0x1f)
	case c&0xf0 == 0xe0:
		need, r = 2, rune(c&0x0f)
	case c&0xf8 == 0xf0:
		need, r = 3, rune(c&0x07)
	default:
		return -1, 1 // a lone continuation byte or an invalid lead
	}
	n = 1
	for ; n <= need; n++ {
		if n >= len(b) || b[n]&0xc0 != 0x80 {
			return -1, n
		}
		r = r<<6 | rune(b[n]&0x3f)
	}
	if !overlongOK && r < [...]rune{0, 0x80, 0x800, 0x10000}[need] {
		return -1, n
	}
	if r > utf8.MaxRune || r >= 0xd800 && r <= 0xdfff {
		return -1, n
	}
	return r, n
}

var (
	weekdays = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	months   = [...]string{"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"}
)

// appendStrftime formats tm as strftime(3) in the C locale does. utc
// marks a date from gmtime(3): its zone is "GMT", and %s reads its fields
// as local time, as glibc's mktime does.
func appendStrftime(dst []byte, format string, tm time.Time, utc bool) []byte {
	num := func(n, width int, pad byte) { // n >= 0, left-padded to width
		start := len(dst)
		dst = strconv.AppendInt(dst, int64(n), 10)
		for len(dst)-start < width {
			dst = append(dst, 0)
			copy(dst[start+1:], dst[start:])
			dst[start] = pad
		}
	}
	hour12 := func() int {
		if h := tm.Hour() % 12; h != 0 {
			return h
		}
		return 12
	}
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' || i+1 == len(format) {
			dst = append(dst, c)
			continue
		}
		i++
		switch format[i] {
		case 'a':
			dst = append(dst, weekdays[tm.Weekday()][:3]...)
		case 'A':
			dst = append(dst, weekdays[tm.Weekday()]...)
		case 'b', 'h':
			dst = append(dst, months[tm.Month()-1][:3]...)
		case 'B':
			dst = append(dst, months[tm.Month()-1]...)
		case 'c':
			dst = appendStrftime(dst, "%a %b %e %H:%M:%S %Y", tm, utc)
		case 'C':
			num(tm.Year()/100, 2, '0')
		case 'd':
			num(tm.Day(), 2, '0')
		case 'D', 'x':
			dst = appendStrftime(dst, "%m/%d/%y", tm, utc)
		case 'e':
			num(tm.Day(), 2, ' ')
		case 'F':
			dst = appendStrftime(dst, "%Y-%m-%d", tm, utc)
		case 'G':
			y, _ := tm.ISOWeek()
			num(y, 1, '0')
		case 'g':
			y, _ := tm.ISOWeek()
			num(y%100, 2, '0')
		case 'H':
			num(tm.Hour(), 2, '0')
		case 'I':
			num(hour12(), 2, '0')
		case 'j':
			num(tm.YearDay(), 3, '0')
		case 'k':
			num(tm.Hour(), 2, ' ')
		case 'l':
			num(hour12(), 2, ' ')
		case 'm':
			num(int(tm.Month()), 2, '0')
		case 'M':
			num(tm.Minute(), 2, '0')
		case 'n':
			dst = append(dst, '\n')
		case 'p', 'P':
			k := 0
			if tm.Hour() >= 12 {
				k = 2
			}
			if format[i] == 'P' {
				k += 4
			}
			dst = append(dst, "AMPMampm"[k:k+2]...)
		case 'r':
			dst = appendStrftime(dst, "%I:%M:%S %p", tm, utc)
		case 'R':
			dst = appendStrftime(dst, "%H:%M", tm, utc)
		case 's':
			secs := tm.Unix()
			if utc {
				secs = time.Date(tm.Year(), tm.Month(), tm.Day(), tm.Hour(), tm.Minute(), tm.Second(), 0, time.Local).Unix()
			}
			if secs < 0 {
				dst = append(dst, '-')
				secs = -secs
			}
			num(int(secs), 1, '0')
		case 'S':
			num(tm.Second(), 2, '0')
		case 't':
			dst = append(dst, '\t')
		case 'T', 'X':
			dst = appendStrftime(dst, "%H:%M:%S", tm, utc)
		case 'u':
			num((int(tm.Weekday())+6)%7+1, 1, '0')
		case 'U':
			num((tm.YearDay()+6-int(tm.Weekday()))/7, 2, '0')
		case 'V':
			_, w := tm.ISOWeek()
			num(w, 2, '0')
		case 'w':
			num(int(tm.Weekday()), 1, '0')
		case 'W':
			num((tm.YearDay()+6-(int(tm.Weekday())+6)%7)/7, 2, '0')
		case 'y':
			num(tm.Year()%100, 2, '0')
		case 'Y':
			num(tm.Year(), 1, '0')
		case 'z':
			_, off := tm.Zone()
			sign := byte('+')
			if off < 0 {
				sign, off = '-', -off
			}
			dst = append(dst, sign)
			num(off/3600, 2, '0')
			num(off/60%60, 2, '0')
		case 'Z':
			if utc {
				dst = append(dst, "GMT"...)
			} else {
				name, _ := tm.Zone()
				dst = append(dst, name...)
			}
		case '%':
			dst = append(dst, '%')
		default: // unknown: copied as written, as glibc does
			dst = append(dst, '%', format[i])
		}
	}
	return dst
}
