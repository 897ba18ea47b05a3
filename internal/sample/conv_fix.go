package sample

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// FIX (Financial Information eXchange) messages: tag=value fields, each
// ended by SOH (0x01). fix_is_valid checks the first message of the input
// as haproxy does: BeginString (8) first with a known version, BodyLength
// (9) second and right, MsgType (35) third, numeric tags, CheckSum (10)
// last with three digits and the right sum; an incomplete message gives
// no sample (more data may come), a bad one false. fix_tag_value(<tag>)
// returns the first non-empty value of a tag (a number, or one of the
// names haproxy knows, in any case), without validating the message.

const fixSOH = 0x01

var fixTagNames = map[string]int{"BeginString": 8, "BodyLength": 9, "MsgType": 35, "SenderCompID": 49, "TargetCompID": 56, "CheckSum": 10}

var fixVersions = []string{"FIX.4.0", "FIX.4.1", "FIX.4.2", "FIX.4.3", "FIX.4.4", "FIXT.1.1"}

func init() {
	RegisterConverter(&ConvDef{Name: "fix_is_valid", In: TypeBin, Out: TypeBool,
		Fn: func(t Txn, a *Args, v *Value) bool {
			valid, complete := fixValidate(v.Bytes)
			if !complete {
				return false
			}
			v.SetBool(valid)
			return true
		}})
	RegisterConverter(&ConvDef{Name: "fix_tag_value", Args: []ArgType{ArgStr}, MinArgs: 1, In: TypeBin, Out: TypeStr,
		Prepare: func(c *Compiler, a *Args) error {
			for name, id := range fixTagNames {
				if strings.EqualFold(name, a.Str[0]) {
					a.Int[0] = int64(id)
					return nil
				}
			}
			id, err := strconv.ParseInt(a.Str[0], 10, 32)
			if err != nil || id <= 0 {
				return fmt.Errorf("unknown FIX tag name '%s' (a tag number, or BeginString, BodyLength, MsgType, SenderCompID, TargetCompID, CheckSum)", a.Str[0])
			}
			a.Int[0] = id
			return nil
		},
		Fn: func(t Txn, a *Args, v *Value) bool {
			msg := v.Bytes
			for len(msg) > 0 {
				tag, val, rest, ok := fixField(msg)
				if !ok || tag < 0 {
					return false
				}
				if tag == a.Int[0] {
					if len(val) == 0 {
						return false
					}
					v.SetStr(val)
					return true
				}
				msg = rest
			}
			return false
		}})
}

// fixField cuts the first field of msg: its tag (-1 when empty or not a
// number), its value and what follows; ok is false without a '=' or an
// ending SOH.
func fixField(msg []byte) (tag int64, val, rest []byte, ok bool) {
	end := bytes.IndexByte(msg, fixSOH)
	if end < 0 {
		return 0, nil, nil, false
	}
	field := msg[:end]
	eq := bytes.IndexByte(field, '=')
	if eq < 0 {
		return -1, nil, msg[end+1:], true
	}
	tag = -1
	if eq > 0 {
		tag = 0
		for _, c := range field[:eq] {
			if c < '0' || c > '9' || tag > 1<<40 {
				tag = -1
				break
			}
			tag = tag*10 + int64(c-'0')
		}
	}
	return tag, field[eq+1:], msg[end+1:], true
}

// fixValidate checks the first message of msg; complete is false when it
// ends before the CheckSum field does.
func fixValidate(msg []byte) (valid, complete bool) {
	pos := 0
	var bodyLen, bodyStart int64
	for n := 0; ; n++ {
		tag, val, rest, ok := fixField(msg[pos:])
		if !ok {
			return false, false
		}
		start := pos
		pos = len(msg) - len(rest)
		if tag < 0 {
			return false, true
		}
		switch {
		case n == 0:
			if tag != 8 || !fixVersionKnown(val) {
				return false, true
			}
		case n == 1:
			l, err := strconv.ParseInt(string(val), 10, 32)
			if tag != 9 || err != nil || l < 0 {
				return false, true
			}
			bodyLen, bodyStart = l, int64(pos)
		case n == 2 && tag != 35:
			return false, true
		case tag == 10:
			if int64(start)-bodyStart != bodyLen || len(val) != 3 {
				return false, true
			}
			sum := 0
			for _, c := range msg[:start] {
				sum += int(c)
			}
			want := 0
			for _, c := range val {
				if c < '0' || c > '9' {
					return false, true
				}
				want = want*10 + int(c-'0')
			}
			return want == sum%256, true
		}
	}
}

func fixVersionKnown(v []byte) bool {
	for _, known := range fixVersions {
		if string(v) == known {
			return true
		}
	}
	return false
}
