package sample

import (
	"fmt"
	"io"
	"os"
	"strconv"
)

// debug([<prefix>][,<sink>]): passes the sample on unchanged and writes
// "[debug] <prefix>: type=<type> <value>" to the sink, as haproxy does:
// text and binary up to their first NUL byte, other bytes outside
// printable ASCII as '.'. The sinks are stdout and stderr; haproxy's
// default, the ring buffer buf0 read by "show events", is accepted but
// dhproxy has no event rings yet: the line is dropped.

// debugTypeNames are haproxy's names of the sample types.
var debugTypeNames = [...]string{TypeAny: "any", TypeBool: "bool", TypeInt: "sint", TypeIP: "ipv4", TypeStr: "str", TypeBin: "bin", TypeMeth: "meth"}

func init() {
	RegisterConverter(&ConvDef{Name: "debug", Args: []ArgType{ArgStr, ArgStr}, In: TypeAny, Out: TypeAny,
		Prepare: func(c *Compiler, a *Args) error {
			switch a.Str[1] {
			case "", "buf0":
			case "stdout":
				a.Data = io.Writer(os.Stdout)
			case "stderr":
				a.Data = io.Writer(os.Stderr)
			default:
				return fmt.Errorf("no such sink '%s'; dhproxy has stdout, stderr and buf0", a.Str[1])
			}
			return nil
		},
		Fn: func(t Txn, a *Args, v *Value) bool {
			w, ok := a.Data.(io.Writer)
			if !ok {
				return true
			}
			s := t.Scratch()
			start := len(*s)
			*s = appendDebugLine(*s, a.Byt[0], v)
			w.Write((*s)[start:])
			*s = (*s)[:start]
			return true
		}})
}

func appendDebugLine(dst, prefix []byte, v *Value) []byte {
	dst = append(dst, "[debug] "...)
	dst = append(dst, prefix...)
	dst = append(dst, ": type="...)
	typ := debugTypeNames[v.Type]
	if v.Type == TypeIP && v.IP.Is6() {
		typ = "ipv6"
	}
	dst = append(dst, typ...)
	dst = append(dst, " <"...)
	switch v.Type {
	case TypeInt, TypeBool:
		dst = strconv.AppendInt(dst, v.Int, 10)
	case TypeIP:
		dst = v.IP.AppendTo(dst)
	default:
		for _, c := range v.Bytes {
			if c == 0 {
				break
			}
			if c < 0x20 || c >= 0x7f {
				c = '.'
			}
			dst = append(dst, c)
		}
	}
	return append(dst, ">\n"...)
}
