package sample

import (
	"encoding/binary"
	"net/netip"
	"strconv"
)

// Type is the type of a sample, as HAProxy types them.
type Type uint8

const (
	TypeAny  Type = iota // converters accepting whatever comes
	TypeBool             // Int holds 0 or 1
	TypeInt              // Int
	TypeIP               // IP (v4 or v6)
	TypeStr              // Bytes: text
	TypeBin              // Bytes: binary
	TypeMeth             // Bytes: an HTTP method
)

var typeNames = [...]string{"any", "bool", "int", "ip", "str", "bin", "meth"}

func (t Type) String() string { return typeNames[t] }

// Value is one sample. Bytes point into the request, into the compiled
// configuration or into the transaction's scratch buffer: they are read
// only, and valid until the transaction's scratch is reset.
type Value struct {
	Type  Type
	Int   int64
	IP    netip.Addr
	Bytes []byte
}

// SetStr, SetInt, SetBool and SetIP replace v's content.
func (v *Value) SetStr(b []byte) { *v = Value{Type: TypeStr, Bytes: b} }
func (v *Value) SetInt(n int64)  { *v = Value{Type: TypeInt, Int: n} }
func (v *Value) SetBin(b []byte) { *v = Value{Type: TypeBin, Bytes: b} }
func (v *Value) SetIP(a netip.Addr) {
	*v = Value{Type: TypeIP, IP: a}
}
func (v *Value) SetBool(b bool) {
	*v = Value{Type: TypeBool}
	if b {
		v.Int = 1
	}
}

// castable tells whether a value of type from can be converted to to, as
// HAProxy's cast table allows.
func castable(from, to Type) bool {
	if to == TypeAny || from == to || from == TypeAny {
		return true
	}
	switch to {
	case TypeStr, TypeBin:
		return true
	case TypeInt:
		return from != TypeMeth
	case TypeBool:
		return from == TypeInt || from == TypeStr
	case TypeIP:
		return from == TypeStr || from == TypeInt || from == TypeBin
	case TypeMeth:
		return from == TypeStr || from == TypeBin
	}
	return false
}

// CastIn is Cast with t's scratch, which it asks t for (an interface
// call) only when v has to change.
func CastIn(t Txn, v *Value, to Type) bool {
	if to == TypeAny || v.Type == to {
		return true
	}
	return Cast(v, to, t.Scratch())
}

// Cast converts v to type to in place, writing any new bytes to scratch.
// It reports false when the value cannot be represented (a string that is
// no address, an empty string as a number).
func Cast(v *Value, to Type, scratch *[]byte) bool {
	if to == TypeAny || v.Type == to {
		return true
	}
	switch to {
	case TypeStr, TypeBin, TypeMeth:
		switch v.Type {
		case TypeStr, TypeBin, TypeMeth:
		case TypeInt, TypeBool:
			if to == TypeBin {
				b := appendScratch(scratch, 8)
				binary.BigEndian.PutUint64(b, uint64(v.Int))
				v.Bytes = b
			} else {
				start := len(*scratch)
				*scratch = strconv.AppendInt(*scratch, v.Int, 10)
				v.Bytes = (*scratch)[start:len(*scratch):len(*scratch)]
			}
		case TypeIP:
			start := len(*scratch)
			if to == TypeBin {
				if v.IP.Is4() {
					a := v.IP.As4()
					*scratch = append(*scratch, a[:]...)
				} else {
					a := v.IP.As16()
					*scratch = append(*scratch, a[:]...)
				}
			} else {
				*scratch = v.IP.AppendTo(*scratch)
			}
			v.Bytes = (*scratch)[start:len(*scratch):len(*scratch)]
		default:
			return false
		}
	case TypeInt, TypeBool:
		switch v.Type {
		case TypeInt, TypeBool:
		case TypeStr, TypeBin:
			if len(v.Bytes) == 0 {
				return false
			}
			v.Int, _ = parseLeadingInt(v.Bytes) // "abc" is 0, as in haproxy
		case TypeIP:
			if !v.IP.Is4() {
				return false
			}
			a := v.IP.As4()
			v.Int = int64(binary.BigEndian.Uint32(a[:]))
		default:
			return false
		}
		if to == TypeBool && v.Int != 0 {
			v.Int = 1
		}
	case TypeIP:
		switch v.Type {
		case TypeStr:
			a, err := netip.ParseAddr(string(v.Bytes))
			if err != nil {
				return false
			}
			v.IP = a.Unmap()
		case TypeBin:
			a, ok := netip.AddrFromSlice(v.Bytes)
			if !ok {
				return false
			}
			v.IP = a
		case TypeInt:
			var b [4]byte
			binary.BigEndian.PutUint32(b[:], uint32(v.Int))
			v.IP = netip.AddrFrom4(b)
		default:
			return false
		}
	default:
		return false
	}
	v.Type = to
	return true
}

// parseLeadingInt reads an optional sign and the digits that follow, as
// HAProxy's string-to-integer cast does; false without any digit.
func parseLeadingInt(b []byte) (int64, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg = b[0] == '-'
		b = b[1:]
	}
	var n int64
	digits := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int64(c-'0')
		digits++
	}
	if neg {
		n = -n
	}
	return n, digits > 0
}

// appendScratch grows scratch by n bytes and returns them.
func appendScratch(scratch *[]byte, n int) []byte {
	start := len(*scratch)
	*scratch = append(*scratch, make([]byte, n)...)
	return (*scratch)[start : start+n : start+n]
}
