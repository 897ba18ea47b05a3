package sample

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
	"time"

	"github.com/zeebo/xxh3"

	"dhproxy/internal/http1"
	"dhproxy/internal/lb"
)

// Converters haproxy 2.6 has that configurations use for headers, logs
// and keys: dates for HTTP headers, choices, item lists, hex and base64url
// codecs, the xxHash family and CRC32C, big-endian dumps, the preferred
// language, and backend/server lookups by name.

func init() {
	conv := func(name string, in, out Type, fn ConvFunc, minArgs int, prep PrepareFunc, args ...ArgType) {
		RegisterConverter(&ConvDef{Name: name, Args: args, MinArgs: minArgs, In: in, Out: out, Fn: fn, Prepare: prep})
	}
	conv("http_date", TypeInt, TypeStr, httpDate, 0, prepareHTTPDate, ArgInt, ArgStr)
	// iif reads its input as haproxy casts to a boolean (see truth).
	conv("iif", TypeAny, TypeStr, func(t Txn, a *Args, v *Value) bool {
		yes, ok := truth(v)
		if !ok {
			return false
		}
		if yes {
			v.SetStr(a.Byt[0])
		} else {
			v.SetStr(a.Byt[1])
		}
		return true
	}, 2, nil, ArgStr, ArgStr)
	conv("add_item", TypeStr, TypeStr, addItem, 2, prepareAddItem, ArgStr, ArgStr, ArgStr)
	conv("cut_crlf", TypeStr, TypeStr, func(t Txn, a *Args, v *Value) bool {
		if i := bytes.IndexAny(v.Bytes, "\r\n"); i >= 0 {
			v.Bytes = v.Bytes[:i]
		}
		return true
	}, 0, nil)
	// hex2i: hex digits (any count, wrapping past 64 bits) to an integer;
	// any other byte fails the sample, an empty string is 0.
	conv("hex2i", TypeStr, TypeInt, func(t Txn, a *Args, v *Value) bool {
		var n uint64
		for _, c := range v.Bytes {
			d := http1.HexDigit(c)
			if d > 15 {
				return false
			}
			n = n<<4 | uint64(d)
		}
		v.SetInt(int64(n))
		return true
	}, 0, nil)
	conv("ub64enc", TypeBin, TypeStr, func(t Txn, a *Args, v *Value) bool {
		s := t.Scratch()
		start := len(*s)
		*s = base64.RawURLEncoding.AppendEncode(*s, v.Bytes)
		v.SetStr((*s)[start:len(*s):len(*s)])
		return true
	}, 0, nil)
	conv("ub64dec", TypeStr, TypeBin, func(t Txn, a *Args, v *Value) bool {
		s := t.Scratch()
		start := len(*s)
		out, ok := appendUB64Dec(*s, v.Bytes)
		if !ok {
			return false
		}
		*s = out
		v.SetBin((*s)[start:len(*s):len(*s)])
		return true
	}, 0, nil)
	conv("xxh32", TypeBin, TypeInt, func(t Txn, a *Args, v *Value) bool {
		v.SetInt(int64(xxh32(v.Bytes, uint32(a.Int[0]))))
		return true
	}, 0, nil, ArgInt)
	conv("xxh64", TypeBin, TypeInt, func(t Txn, a *Args, v *Value) bool {
		v.SetInt(int64(XXH64(v.Bytes, uint64(a.Int[0]))))
		return true
	}, 0, nil, ArgInt)
	conv("xxh3", TypeBin, TypeInt, func(t Txn, a *Args, v *Value) bool {
		v.SetInt(int64(xxh3.HashSeed(v.Bytes, uint64(a.Int[0]))))
		return true
	}, 0, nil, ArgInt)
	conv("crc32c", TypeBin, TypeInt, func(t Txn, a *Args, v *Value) bool {
		h := crc32.Checksum(v.Bytes, castagnoli)
		if a.Int[0] != 0 {
			h = lb.FullHash(h)
		}
		v.SetInt(int64(h))
		return true
	}, 0, prepareAvalanche, ArgInt)
	conv("be2dec", TypeBin, TypeStr, be2dec, 2, func(c *Compiler, a *Args) error {
		if a.Int[1] < 1 || a.Int[1] > 8 {
			return fmt.Errorf("the chunk size must be between 1 and 8 (bytes of an integer), not %d", a.Int[1])
		}
		return nil
	}, ArgStr, ArgInt, ArgInt)
	conv("be2hex", TypeBin, TypeStr, be2hex, 0, func(c *Compiler, a *Args) error {
		if a.N > 0 && a.Str[0] != "" && a.Int[1] <= 0 || a.N > 1 && a.Int[1] < 0 {
			return fmt.Errorf("with a separator, the chunk size must be 1 or more")
		}
		return nil
	}, ArgStr, ArgInt, ArgInt)
	conv("htonl", TypeInt, TypeBin, func(t Txn, a *Args, v *Value) bool {
		b := appendScratch(t.Scratch(), 4)
		binary.BigEndian.PutUint32(b, uint32(v.Int))
		v.SetBin(b)
		return true
	}, 0, nil)
	conv("language", TypeStr, TypeStr, language, 1, prepareLanguage, ArgStr, ArgStr)
	// nbsrv: the usable servers of the backend the input names.
	conv("nbsrv", TypeStr, TypeInt, func(t Txn, a *Args, v *Value) bool {
		if len(v.Bytes) == 0 {
			return false
		}
		n := t.UsableServers(v.Bytes)
		if n < 0 {
			return false
		}
		v.SetInt(int64(n))
		return true
	}, 0, nil)
	// srv_queue: the requests queued on the server the input names,
	// "backend/server" or a server of the current backend.
	conv("srv_queue", TypeStr, TypeInt, func(t Txn, a *Args, v *Value) bool {
		be, srv := []byte(nil), v.Bytes
		if i := bytes.IndexByte(srv, '/'); i >= 0 {
			be, srv = srv[:i], srv[i+1:]
			if len(be) == 0 {
				return false
			}
		}
		if len(srv) == 0 {
			return false
		}
		n, ok := t.ProxyState(StateServerQueue, be, srv)
		if !ok {
			return false
		}
		v.SetInt(n)
		return true
	}, 0, nil)
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// truth is haproxy's cast of a sample to a boolean: a string counts as
// the integer its leading digits spell (none: 0), an empty one has no
// value.
func truth(v *Value) (yes, ok bool) {
	switch v.Type {
	case TypeBool, TypeInt:
		return v.Int != 0, true
	case TypeStr, TypeBin:
		if len(v.Bytes) == 0 {
			return false, false
		}
		n, _ := parseLeadingInt(v.Bytes)
		return n != 0, true
	case TypeIP:
		return true, true
	}
	return false, false
}

func prepareHTTPDate(c *Compiler, a *Args) error {
	switch a.Str[1] {
	case "", "s":
		a.Int[1] = 1
	case "ms":
		a.Int[1] = 1000
	case "us":
		a.Int[1] = 1000000
	default:
		return fmt.Errorf("unknown unit '%s'; use s, ms or us", a.Str[1])
	}
	return nil
}

// httpDate writes the IMF-fixdate of RFC 9110 in GMT; a date in ms or us
// gets its fraction after the seconds, as haproxy prints it (not padded).
func httpDate(t Txn, a *Args, v *Value) bool {
	per := a.Int[1]
	d := v.Int + a.Int[0]
	secs, frac := d/per, d%per
	if frac < 0 {
		secs, frac = secs-1, frac+per
	}
	tm := time.Unix(secs, 0).UTC()
	s := t.Scratch()
	start := len(*s)
	*s = tm.AppendFormat(*s, "Mon, 02 Jan 2006 15:04:05")
	if per > 1 {
		*s = append(*s, '.')
		*s = strconv.AppendInt(*s, frac, 10)
	}
	*s = append(*s, " GMT"...)
	v.SetStr((*s)[start:len(*s):len(*s)])
	return true
}

func prepareAddItem(c *Compiler, a *Args) error {
	if a.Str[1] == "" {
		if a.N < 3 || a.Str[2] == "" {
			return fmt.Errorf("a variable or a suffix is needed after the delimiter")
		}
		return nil
	}
	return prepareVarAt(c, a, 1)
}

// prepareVarAt parses argument i as a variable name into a.Data.
func prepareVarAt(c *Compiler, a *Args, i int) error {
	r, err := c.ParseVar(a.Str[i])
	if err != nil {
		return err
	}
	a.Data = r
	return nil
}

// addItem appends the delimiter (only between a non-empty sample and
// something non-empty to add), the variable's text and the suffix.
func addItem(t Txn, a *Args, v *Value) bool {
	// read the variable first: a shared one is copied to the scratch
	val, set := Value{}, false
	if r, ok := a.Data.(VarRef); ok {
		val, set = getVar(t, r)
	}
	s := t.Scratch()
	start := len(*s)
	*s = append(*s, v.Bytes...)
	mark := len(*s)
	if set {
		*s = appendText(*s, &val)
	}
	if a.N > 2 {
		*s = append(*s, a.Byt[2]...)
	}
	if mark > start && len(*s) > mark {
		*s = append(*s, a.Byt[0]...)
		added := (*s)[mark : len(*s)-len(a.Byt[0])]
		copy((*s)[mark+len(a.Byt[0]):], added) // make room: the tail moves right
		copy((*s)[mark:], a.Byt[0])
	}
	v.SetStr((*s)[start:len(*s):len(*s)])
	return true
}

// ub64Value is the value of a base64url digit; haproxy's table also reads
// '=' as 63.
func ub64Value(c byte) int {
	switch {
	case c >= 'A' && c <= 'Z':
		return int(c - 'A')
	case c >= 'a' && c <= 'z':
		return int(c-'a') + 26
	case c >= '0' && c <= '9':
		return int(c-'0') + 52
	case c == '-':
		return 62
	case c == '_', c == '=':
		return 63
	}
	return -1
}

// appendUB64Dec decodes base64url without padding as haproxy does: a
// length of 1 modulo 4 or a byte outside the alphabet fails.
func appendUB64Dec(dst, in []byte) ([]byte, bool) {
	if len(in)%4 == 1 {
		return dst, false
	}
	var acc uint32
	n := 0
	for _, c := range in {
		d := ub64Value(c)
		if d < 0 {
			return dst, false
		}
		acc = acc<<6 | uint32(d)
		n++
		if n == 4 {
			dst = append(dst, byte(acc>>16), byte(acc>>8), byte(acc))
			acc, n = 0, 0
		}
	}
	switch n {
	case 2:
		dst = append(dst, byte(acc>>4))
	case 3:
		dst = append(dst, byte(acc>>10), byte(acc>>2))
	}
	return dst, true
}

// be2dec writes each chunk of a.Int[1] bytes as an unsigned big-endian
// number, separated by a.Str[0]; a last shorter chunk too unless
// truncate (a.Int[2]) is set.
func be2dec(t Txn, a *Args, v *Value) bool {
	size := int(a.Int[1])
	in := v.Bytes
	if a.Int[2] != 0 {
		in = in[:len(in)-len(in)%size]
	}
	s := t.Scratch()
	start := len(*s)
	for i := 0; i < len(in); i += size {
		if i > 0 {
			*s = append(*s, a.Byt[0]...)
		}
		var n uint64
		for _, c := range in[i:min(i+size, len(in))] {
			n = n<<8 | uint64(c)
		}
		*s = strconv.AppendUint(*s, n, 10)
	}
	v.SetStr((*s)[start:len(*s):len(*s)])
	return true
}

// be2hex is hex in upper case, with a.Str[0] between chunks of a.Int[1]
// bytes; truncate (a.Int[2]) drops a last shorter chunk.
func be2hex(t Txn, a *Args, v *Value) bool {
	const hexdig = "0123456789ABCDEF"
	size := int(a.Int[1])
	in := v.Bytes
	if size > 0 && a.Int[2] != 0 {
		in = in[:len(in)-len(in)%size]
	}
	s := t.Scratch()
	start := len(*s)
	for i, c := range in {
		if size > 0 && i > 0 && i%size == 0 {
			*s = append(*s, a.Byt[0]...)
		}
		*s = append(*s, hexdig[c>>4], hexdig[c&15])
	}
	v.SetStr((*s)[start:len(*s):len(*s)])
	return true
}

func prepareLanguage(c *Compiler, a *Args) error {
	if a.Str[0] == "" {
		return fmt.Errorf("the list of languages (lang[;lang...]) is empty")
	}
	a.Data = strings.Split(a.Str[0], ";")
	return nil
}

// language picks, among the Accept-Language values of the input, the one
// of highest q-value (the first on a tie; q=0 excluded) that a listed
// language matches: the same tag, or its prefix up to a '-'. The answer
// is the listed language, else the default.
func language(t Txn, a *Args, v *Value) bool {
	list := a.Data.([]string)
	in := v.Bytes
	best, bestQ := -1, 0
	for len(in) > 0 {
		in = bytes.TrimLeft(in, " \t")
		end := 0
		for end < len(in) && in[end] != ',' && in[end] != ';' && in[end] != ' ' && in[end] != '\t' {
			end++
		}
		tag := in[:end]
		in = in[end:]
		q := 1000
		rest := bytes.TrimLeft(in, " \t")
		if len(rest) > 0 && rest[0] == ';' {
			rest = bytes.TrimLeft(rest[1:], " \t")
			if len(rest) > 1 && rest[0] == 'q' && rest[1] == '=' {
				q = parseQValue(rest[2:])
			}
		}
		if i := bytes.IndexByte(in, ','); i >= 0 {
			in = in[i+1:]
		} else {
			in = nil
		}
		if q <= bestQ || len(tag) == 0 {
			continue
		}
		for i, l := range list {
			if l != "" && bytes.HasPrefix(tag, []byte(l)) && (len(tag) == len(l) || tag[len(l)] == '-') {
				best, bestQ = i, q
				break
			}
		}
	}
	switch {
	case best >= 0:
		v.SetStr([]byte(list[best]))
	case a.N > 1:
		v.SetStr(a.Byt[1])
	default:
		return false
	}
	return true
}

// parseQValue reads a q-value in thousandths as haproxy does: a digit,
// then up to three decimals after a '.'; no leading digit is 1, and
// more than 1 is 1.
func parseQValue(b []byte) int {
	if len(b) == 0 || b[0] < '0' || b[0] > '9' {
		return 1000
	}
	q := int(b[0]-'0') * 1000
	if len(b) > 1 && b[1] == '.' {
		mult := 100
		for _, c := range b[2:min(len(b), 5)] {
			if c < '0' || c > '9' {
				break
			}
			q += int(c-'0') * mult
			mult /= 10
		}
	}
	return min(q, 1000)
}
