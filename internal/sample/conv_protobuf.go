package sample

import (
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// protobuf(<path>[,<type>]) and ungrpc(<path>[,<type>]): the field at a
// dotted path of field numbers in a protocol buffers message (ungrpc: in
// the gRPC messages of the input, each a 0 flag byte, a 4-byte length
// and the message). The first occurrence counts at each level. Without a
// type the field comes raw (a length-delimited one's content, a varint's
// bytes, a fixed one's 4 or 8 bytes); with one, as an integer read as
// haproxy 2.6 reads it: varints as 64-bit (sint* zigzag), fixed32 and
// float unsigned 32-bit, double and float truncated.

type pbType uint8

const (
	pbRaw pbType = iota
	pbVarint
	pbZigzag
	pbFixed64
	pbSFixed64
	pbDouble
	pbFixed32
	pbSFixed32
	pbFloat
)

var pbTypes = map[string]pbType{
	"int32": pbVarint, "int64": pbVarint, "uint32": pbVarint, "uint64": pbVarint, "bool": pbVarint, "enum": pbVarint,
	"sint32": pbZigzag, "sint64": pbZigzag,
	"fixed64": pbFixed64, "sfixed64": pbSFixed64, "double": pbDouble,
	"fixed32": pbFixed32, "sfixed32": pbSFixed32, "float": pbFloat,
}

// wire is the wire type a field of type t must have.
func (t pbType) wire() uint64 {
	switch t {
	case pbVarint, pbZigzag:
		return 0
	case pbFixed64, pbSFixed64, pbDouble:
		return 1
	}
	return 5
}

type pbArgs struct {
	path []uint64
	typ  pbType
}

func init() {
	for _, grpc := range []bool{false, true} {
		name := "protobuf"
		if grpc {
			name = "ungrpc"
		}
		RegisterConverter(&ConvDef{Name: name, Args: []ArgType{ArgStr, ArgStr}, MinArgs: 1, In: TypeBin, Out: TypeAny,
			Prepare: preparePB,
			Fn: func(t Txn, a *Args, v *Value) bool {
				p := a.Data.(*pbArgs)
				if !grpc {
					return pbLookup(p, v.Bytes, v)
				}
				for in := v.Bytes; ; {
					if len(in) < 5 || in[0] != 0 {
						return false
					}
					n := binary.BigEndian.Uint32(in[1:])
					if uint64(n) > uint64(len(in)-5) {
						return false
					}
					if pbLookup(p, in[5:5+n], v) {
						return true
					}
					in = in[5+n:]
				}
			}})
	}
}

func preparePB(c *Compiler, a *Args) error {
	p := &pbArgs{}
	parts := strings.Split(a.Str[0], ".")
	for i, s := range parts {
		if s == "" && i < len(parts)-1 { // as haproxy reads "1..2"
			p.path = append(p.path, 0)
			continue
		}
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return fmt.Errorf("'%s' is not a field number path (numbers separated by '.', like 1.2.3)", a.Str[0])
		}
		p.path = append(p.path, n)
	}
	if a.N > 1 {
		typ, ok := pbTypes[a.Str[1]]
		if !ok {
			return fmt.Errorf("unknown protocol buffers type '%s' (int32, int64, uint32, uint64, sint32, sint64, bool, enum, fixed64, sfixed64, double, fixed32, sfixed32, float; none for raw bytes)", a.Str[1])
		}
		p.typ = typ
	}
	a.Data = p
	return nil
}

// pbVarint reads a varint: at most 10 bytes; none at all reads 0, as in
// haproxy, a cut one fails.
func pbReadVarint(b []byte) (x uint64, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, true
	}
	for i := 0; i < len(b) && i < 10; i++ {
		x |= uint64(b[i]&0x7f) << (7 * i)
		if b[i] < 0x80 {
			return x, i + 1, true
		}
	}
	return 0, 0, false
}

// pbLookup walks p.path in msg and sets v to the field found.
func pbLookup(p *pbArgs, msg []byte, v *Value) bool {
	for depth, field := range p.path {
		last := depth == len(p.path)-1
		found := false
		for len(msg) > 0 {
			key, n, ok := pbReadVarint(msg)
			if !ok {
				return false
			}
			msg = msg[n:]
			wire := key & 7
			var val []byte
			switch wire {
			case 0:
				_, n, ok := pbReadVarint(msg)
				if !ok {
					return false
				}
				val, msg = msg[:n], msg[n:]
			case 1, 5:
				size := 8
				if wire == 5 {
					size = 4
				}
				if len(msg) < size {
					return false
				}
				val, msg = msg[:size], msg[size:]
			case 2:
				l, n, ok := pbReadVarint(msg)
				if !ok || l > uint64(len(msg)-n) {
					return false
				}
				val, msg = msg[n:n+int(l)], msg[n+int(l):]
			default:
				return false // groups are not read
			}
			if key>>3 != field {
				continue
			}
			if !last {
				if wire != 2 {
					return false
				}
				msg, found = val, true
				break
			}
			return pbValue(p.typ, wire, val, v)
		}
		if !found {
			return false
		}
	}
	return false
}

func pbValue(typ pbType, wire uint64, val []byte, v *Value) bool {
	if typ == pbRaw {
		v.SetBin(val)
		return true
	}
	if typ.wire() != wire {
		return false
	}
	switch typ {
	case pbVarint, pbZigzag:
		x, _, _ := pbReadVarint(val)
		if typ == pbZigzag {
			x = x>>1 ^ -(x & 1)
		}
		v.SetInt(int64(x))
	case pbFixed64, pbSFixed64:
		v.SetInt(int64(binary.LittleEndian.Uint64(val)))
	case pbDouble:
		v.SetInt(truncFloat(math.Float64frombits(binary.LittleEndian.Uint64(val))))
	case pbFixed32:
		v.SetInt(int64(binary.LittleEndian.Uint32(val)))
	case pbSFixed32:
		v.SetInt(int64(int32(binary.LittleEndian.Uint32(val))))
	case pbFloat:
		f := float64(math.Float32frombits(binary.LittleEndian.Uint32(val)))
		v.SetInt(int64(uint32(truncFloat(f))))
	}
	return true
}

// truncFloat is f without its fraction; 0 beyond the 64-bit range.
func truncFloat(f float64) int64 {
	if math.IsNaN(f) || f >= math.MaxInt64 || f < math.MinInt64 {
		return 0
	}
	return int64(f)
}
