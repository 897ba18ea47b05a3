package sample

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"

	"dhproxy/internal/http1"
	"dhproxy/internal/lb"
)

// Converters. Those producing new bytes append them to the transaction's
// scratch buffer, so that none allocates once the buffer has grown.

func init() {
	conv := func(name string, in, out Type, fn ConvFunc, minArgs int, prep PrepareFunc, args ...ArgType) {
		RegisterConverter(&ConvDef{Name: name, Args: args, MinArgs: minArgs, In: in, Out: out, Fn: fn, Prepare: prep})
	}
	conv("lower", TypeStr, TypeStr, func(t Txn, a *Args, v *Value) bool {
		changeCase(t, v, 'A', 'a')
		return true
	}, 0, nil)
	conv("upper", TypeStr, TypeStr, func(t Txn, a *Args, v *Value) bool {
		changeCase(t, v, 'a', 'A')
		return true
	}, 0, nil)
	conv("length", TypeStr, TypeInt, func(t Txn, a *Args, v *Value) bool {
		v.SetInt(int64(len(v.Bytes)))
		return true
	}, 0, nil)
	conv("field", TypeStr, TypeStr, func(t Txn, a *Args, v *Value) bool {
		v.Bytes = field(v.Bytes, a, false)
		return true
	}, 2, prepareField, ArgInt, ArgStr, ArgInt)
	conv("word", TypeStr, TypeStr, func(t Txn, a *Args, v *Value) bool {
		v.Bytes = field(v.Bytes, a, true)
		return true
	}, 2, prepareField, ArgInt, ArgStr, ArgInt)
	conv("bytes", TypeBin, TypeBin, func(t Txn, a *Args, v *Value) bool {
		off := a.Int[0]
		if off >= int64(len(v.Bytes)) {
			v.Bytes = v.Bytes[:0]
			return true
		}
		b := v.Bytes[off:]
		if a.N > 1 && a.Int[1] < int64(len(b)) {
			b = b[:a.Int[1]]
		}
		v.Bytes = b
		return true
	}, 1, func(c *Compiler, a *Args) error {
		if a.Int[0] < 0 || a.N > 1 && a.Int[1] <= 0 {
			return fmt.Errorf("the offset must be 0 or more and the length more than 0")
		}
		return nil
	}, ArgInt, ArgInt)
	conv("regsub", TypeStr, TypeStr, regsub, 2, prepareRegsub, ArgStr, ArgStr, ArgStr)
	conv("ipmask", TypeIP, TypeIP, func(t Txn, a *Args, v *Value) bool {
		bits := int(a.Int[0])
		if !v.IP.Is4() {
			if a.N < 2 {
				return false // no IPv6 mask given: HAProxy fails the sample
			}
			bits = int(a.Int[1])
		}
		p, err := v.IP.Prefix(bits)
		if err != nil {
			return false
		}
		v.IP = p.Addr()
		return true
	}, 1, prepareIPMask, ArgStr, ArgInt)
	conv("base64", TypeBin, TypeStr, func(t Txn, a *Args, v *Value) bool {
		s := t.Scratch()
		start := len(*s)
		*s = base64.StdEncoding.AppendEncode(*s, v.Bytes)
		v.SetStr((*s)[start:len(*s):len(*s)])
		return true
	}, 0, nil)
	conv("b64dec", TypeStr, TypeBin, func(t Txn, a *Args, v *Value) bool {
		s := t.Scratch()
		start := len(*s)
		out, err := base64.StdEncoding.AppendDecode(*s, v.Bytes)
		if err != nil {
			return false
		}
		*s = out
		v.Bytes, v.Type = (*s)[start:len(*s):len(*s)], TypeBin
		return true
	}, 0, nil)
	// url_dec([in_form]): %XX decoded; '+' becomes a space in a query
	// string (after a '?') or everywhere with in_form 1.
	conv("url_dec", TypeStr, TypeStr, func(t Txn, a *Args, v *Value) bool {
		s := t.Scratch()
		start := len(*s)
		plus := a.Int[0] != 0
		in := v.Bytes
		for i := 0; i < len(in); i++ {
			c := in[i]
			switch {
			case c == '?':
				plus = true
			case c == '+' && plus:
				c = ' '
			case c == '%':
				if i+2 >= len(in) || http1.HexDigit(in[i+1]) > 15 || http1.HexDigit(in[i+2]) > 15 {
					*s = (*s)[:start]
					return false // HAProxy fails the sample on a bad escape
				}
				c = http1.HexDigit(in[i+1])<<4 | http1.HexDigit(in[i+2])
				i += 2
			}
			*s = append(*s, c)
		}
		v.SetStr((*s)[start:len(*s):len(*s)])
		return true
	}, 0, nil, ArgInt)
	conv("hex", TypeBin, TypeStr, func(t Txn, a *Args, v *Value) bool {
		s := t.Scratch()
		start := len(*s)
		*s = hex.AppendEncode(*s, v.Bytes)
		b := (*s)[start:len(*s):len(*s)]
		for i, c := range b {
			if c >= 'a' {
				b[i] = c - ('a' - 'A') // HAProxy writes upper case
			}
		}
		v.SetStr(b)
		return true
	}, 0, nil)
	hash := func(name string, fn func([]byte) uint32) {
		conv(name, TypeBin, TypeInt, func(t Txn, a *Args, v *Value) bool {
			h := fn(v.Bytes)
			if a.Int[0] != 0 {
				h = lb.FullHash(h)
			}
			v.SetInt(int64(h))
			return true
		}, 0, prepareAvalanche, ArgInt)
	}
	hash("crc32", lb.HashCRC32)
	hash("djb2", lb.HashDJB2)
	hash("sdbm", lb.HashSDBM)
	hash("wt6", lb.HashWT6)
	// concat([start][,var][,end]): appended after the sample: start, the
	// variable (when set), end.
	conv("concat", TypeStr, TypeStr, func(t Txn, a *Args, v *Value) bool {
		// read the variable first: a shared one is copied to the scratch
		val, set := Value{}, false
		if r, ok := a.Data.(VarRef); ok {
			val, set = getVar(t, r)
		}
		s := t.Scratch()
		start := len(*s)
		*s = append(*s, v.Bytes...)
		*s = append(*s, a.Byt[0]...)
		if set {
			*s = appendText(*s, &val)
		}
		if a.N > 2 {
			*s = append(*s, a.Byt[2]...)
		}
		v.SetStr((*s)[start:len(*s):len(*s)])
		return true
	}, 0, func(c *Compiler, a *Args) error {
		if a.N > 1 && a.Str[1] != "" {
			r, err := c.ParseVar(a.Str[1])
			if err != nil {
				return err
			}
			a.Data = r
		}
		return nil
	}, ArgStr, ArgStr, ArgStr)
	registerIntOperation("add", func(x, y int64) int64 { return x + y })
	registerIntOperation("sub", func(x, y int64) int64 { return x - y })
	registerIntOperation("mul", func(x, y int64) int64 { return x * y })
	registerIntOperation("div", func(x, y int64) int64 {
		if y == 0 {
			return math.MaxInt64 // HAProxy's answer to a division by zero
		}
		return x / y
	})
	registerIntOperation("mod", func(x, y int64) int64 {
		if y == 0 {
			return 0
		}
		return x % y
	})
	conv("neg", TypeInt, TypeInt, func(t Txn, a *Args, v *Value) bool {
		v.SetInt(-v.Int)
		return true
	}, 0, nil)
	conv("not", TypeInt, TypeBool, func(t Txn, a *Args, v *Value) bool {
		v.SetBool(v.Int == 0)
		return true
	}, 0, nil)
	conv("bool", TypeInt, TypeBool, func(t Txn, a *Args, v *Value) bool {
		v.SetBool(v.Int != 0)
		return true
	}, 0, nil)
}

// changeCase turns the letters from..from+25 of v into to..to+25 (lower:
// 'A', 'a'). A value with none of them stays where it is, as converters
// never write into a value's bytes; else the result goes to scratch.
func changeCase(t Txn, v *Value, from, to byte) {
	v.Type = TypeStr
	var first int
	if from == 'A' {
		first = FirstUpper(v.Bytes)
	} else {
		first = firstLower(v.Bytes)
	}
	if first < 0 {
		return
	}
	s := t.Scratch()
	start := len(*s)
	*s = append(*s, v.Bytes...)
	out := (*s)[start:len(*s):len(*s)]
	for i := first; i < len(out); i++ {
		if c := out[i]; c-from < 26 {
			out[i] = c - from + to
		}
	}
	v.Bytes = out
}

func prepareField(c *Compiler, a *Args) error {
	if a.Int[0] == 0 {
		return fmt.Errorf("the index must not be 0 (1 is the first field, -1 the last)")
	}
	if a.Str[1] == "" {
		return fmt.Errorf("at least one delimiter is needed")
	}
	if a.N < 3 {
		a.Int[2] = 1
	} else if a.Int[2] < 0 {
		return fmt.Errorf("the count must be 0 (all the rest) or more")
	}
	return nil
}

// field is HAProxy's field and word: a.Int[2] fields from index a.Int[0]
// (negative: counted from the end; count 0: all the rest), fields cut at
// any byte of a.Str[1]; words skip empty fields. A missing field is empty.
func field(b []byte, a *Args, words bool) []byte {
	delims := a.Str[1]
	isDelim := func(c byte) bool { return strings.IndexByte(delims, c) >= 0 }
	idx, count := a.Int[0], a.Int[2]
	n := int64(0)
	if idx > 0 {
		start, i := -1, 0
		for {
			if words {
				for i < len(b) && isDelim(b[i]) {
					i++
				}
				if i == len(b) {
					break
				}
			}
			j := i
			for j < len(b) && !isDelim(b[j]) {
				j++
			}
			n++
			if n == idx {
				if count == 0 {
					return b[i:]
				}
				start = i
			}
			if start >= 0 && n == idx+count-1 {
				return b[start:j]
			}
			if j == len(b) {
				break
			}
			i = j + 1
		}
		if start >= 0 {
			return b[start:]
		}
		return b[:0]
	}
	end, j := -1, len(b)
	for {
		if words {
			for j > 0 && isDelim(b[j-1]) {
				j--
			}
			if j == 0 {
				break
			}
		}
		i := j
		for i > 0 && !isDelim(b[i-1]) {
			i--
		}
		n++
		if n == -idx {
			if count == 0 {
				return b[:j]
			}
			end = j
		}
		if end >= 0 && n == -idx+count-1 {
			return b[i:end]
		}
		if i == 0 {
			break
		}
		j = i - 1
	}
	if end >= 0 {
		return b[:end]
	}
	return b[:0]
}

type regsubArgs struct {
	re     *Regex
	global bool
}

func prepareRegsub(c *Compiler, a *Args) error {
	rs := &regsubArgs{}
	icase := false
	if a.N > 2 {
		for _, f := range a.Str[2] {
			switch f {
			case 'i':
				icase = true
			case 'g':
				rs.global = true
			default:
				return fmt.Errorf("unknown flag '%c'; only 'i' and 'g' exist", f)
			}
		}
	}
	re, err := c.CompileRegex(a.Str[0], icase, true)
	if err != nil {
		return err
	}
	rs.re = re
	a.Data = rs
	return nil
}

// regsub replaces the first (or with g every) match of the regex by the
// substitution, where \1 to \9 stand for the groups. Later matches are
// searched in the whole value, as HAProxy does (REG_NOTBOL): a '^'
// matches only at its start.
func regsub(t Txn, a *Args, v *Value) bool {
	rs := a.Data.(*regsubArgs)
	s := t.Scratch()
	start := len(*s)
	in := v.Bytes
	var matches [][]int
	if rs.global {
		matches = rs.re.FindAllSubmatchIndex(in)
	} else if m := rs.re.FindSubmatchIndex(in); m != nil {
		matches = [][]int{m}
	}
	pos := 0
	for _, m := range matches {
		*s = append(*s, in[pos:m[0]]...)
		sub := a.Byt[1]
		for i := 0; i < len(sub); i++ {
			if sub[i] == '\\' && i+1 < len(sub) && sub[i+1] >= '0' && sub[i+1] <= '9' {
				g := int(sub[i+1] - '0')
				if 2*g+1 < len(m) && m[2*g] >= 0 {
					*s = append(*s, in[m[2*g]:m[2*g+1]]...)
				}
				i++
				continue
			}
			*s = append(*s, sub[i])
		}
		pos = m[1]
	}
	*s = append(*s, in[pos:]...)
	v.SetStr((*s)[start:len(*s):len(*s)])
	return true
}

func prepareIPMask(c *Compiler, a *Args) error {
	m := a.Str[0]
	if n, err := strconv.Atoi(m); err == nil && n >= 0 && n <= 32 {
		a.Int[0] = int64(n)
	} else if addr, err := netip.ParseAddr(m); err == nil && addr.Is4() {
		bits := 0
		for _, b := range addr.As4() {
			for k := 7; k >= 0; k-- {
				if b&(1<<k) == 0 {
					goto counted
				}
				bits++
			}
		}
	counted:
		a.Int[0] = int64(bits)
	} else {
		return fmt.Errorf("'%s' is not an IPv4 mask (a length like 24 or a mask like 255.255.255.0)", m)
	}
	if a.N > 1 && (a.Int[1] < 0 || a.Int[1] > 128) {
		return fmt.Errorf("the IPv6 mask must be between 0 and 128")
	}
	return nil
}

func prepareAvalanche(c *Compiler, a *Args) error {
	if a.N > 0 && a.Int[0] != 0 && a.Int[0] != 1 {
		return fmt.Errorf("the avalanche argument is 0 or 1")
	}
	return nil
}

// registerIntOperation registers the converter name: the input integer
// combined by op with the argument, an integer or a variable's value (the
// sample fails when the variable is unset or no integer).
func registerIntOperation(name string, op func(x, y int64) int64) {
	RegisterConverter(&ConvDef{Name: name, Args: []ArgType{ArgStr}, MinArgs: 1, In: TypeInt, Out: TypeInt, Prepare: prepareIntOperand,
		Fn: func(t Txn, a *Args, v *Value) bool {
			y := a.Int[0]
			if r, ok := a.Data.(VarRef); ok {
				val, ok := getVar(t, r)
				if !ok || !Cast(&val, TypeInt, t.Scratch()) {
					return false
				}
				y = val.Int
			}
			v.SetInt(op(v.Int, y))
			return true
		}})
}

// prepareIntOperand reads an integer or a variable name.
func prepareIntOperand(c *Compiler, a *Args) error {
	if n, err := strconv.ParseInt(a.Str[0], 10, 64); err == nil {
		a.Int[0] = n
		return nil
	}
	r, err := c.ParseVar(a.Str[0])
	if err != nil {
		return fmt.Errorf("the operand is neither an integer nor a variable: %v", err)
	}
	a.Data = r
	return nil
}

// appendText appends v as text.
func appendText(dst []byte, v *Value) []byte {
	switch v.Type {
	case TypeInt, TypeBool:
		return strconv.AppendInt(dst, v.Int, 10)
	case TypeIP:
		return v.IP.AppendTo(dst)
	}
	return append(dst, v.Bytes...)
}

// FirstUpper is the index of the first upper case ASCII letter of b, or
// -1: eight bytes at a time, as host names and paths are mostly in lower
// case already.
func FirstUpper(b []byte) int {
	if len(b) < 8 {
		return firstUpperFrom(b, 0)
	}
	for i := 0; i+8 <= len(b); i += 8 {
		if hasUpper8(binary.LittleEndian.Uint64(b[i:])) {
			return firstUpperFrom(b, i)
		}
	}
	// the last bytes, in a word that overlaps the words seen
	if end := len(b) - 8; len(b)%8 != 0 && hasUpper8(binary.LittleEndian.Uint64(b[end:])) {
		return firstUpperFrom(b, end)
	}
	return -1
}

// hasUpper8 tells whether one of the eight bytes of x is an upper case
// ASCII letter.
func hasUpper8(x uint64) bool {
	const ones = 0x0101010101010101
	y := x & (0x7f * ones) // no carry between bytes below
	// a byte of y plus 0x3f reaches 0x80 from 'A' on, plus 0x25 from
	// 'Z'+1 on; ^x keeps the bytes below 0x80
	return (y+0x3f*ones)&^(y+0x25*ones)&^x&(0x80*ones) != 0
}

func firstUpperFrom(b []byte, i int) int {
	for ; i < len(b); i++ {
		if b[i]-'A' < 26 {
			return i
		}
	}
	return -1
}

func firstLower(b []byte) int {
	for i, c := range b {
		if c-'a' < 26 {
			return i
		}
	}
	return -1
}
