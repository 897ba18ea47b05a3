package sample

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
)

// mqtt_is_valid and mqtt_field_value(<packet type>,<field or property>):
// the first MQTT packet of the input, a CONNECT (MQTT 3.1, 3.1.1, 5.0) or
// a CONNACK, checked as the specifications require; an incomplete packet
// gives no sample, as haproxy waits for more data. A CONNECT's property
// is looked up in its properties, then in its will properties; an absent
// numeric property of an MQTT 5.0 packet reads 0, an empty string field
// gives no sample, as in haproxy.

const (
	mqttConnect = 1
	mqttConnack = 2
)

var mqttPacketTypes = []string{"", "connect", "connack", "publish", "puback", "pubrec", "pubrel", "pubcomp",
	"subscribe", "suback", "unsubscribe", "unsuback", "pingreq", "pingresp", "disconnect", "auth"}

// mqttPropKinds: how each MQTT 5.0 property is encoded.
const (
	mqttByte = iota + 1
	mqttTwo
	mqttFour
	mqttVarint
	mqttString // also binary data
	mqttPair   // user property: two strings
)

var mqttProps = map[byte]int{
	1: mqttByte, 2: mqttFour, 3: mqttString, 8: mqttString, 9: mqttString, 11: mqttVarint,
	17: mqttFour, 18: mqttString, 19: mqttTwo, 21: mqttString, 22: mqttString, 23: mqttByte,
	24: mqttFour, 25: mqttByte, 26: mqttString, 28: mqttString, 31: mqttString, 33: mqttTwo,
	34: mqttTwo, 35: mqttTwo, 36: mqttByte, 37: mqttByte, 38: mqttPair, 39: mqttFour,
	40: mqttByte, 41: mqttByte, 42: mqttByte,
}

// mqttPacketProps are the properties mqtt_field_value reads in each
// packet (CONNECT's include its will properties); 38, a user property,
// is accepted and gives no sample, as in haproxy.
var mqttPacketProps = [3][]byte{
	mqttConnect: {17, 33, 39, 34, 25, 23, 21, 22, 24, 1, 2, 3, 8, 9, 38},
	mqttConnack: {17, 33, 36, 37, 39, 18, 34, 31, 40, 41, 42, 19, 26, 28, 21, 22, 38},
}

var mqttFields = [3][]string{
	mqttConnect: {"flags", "protocol_name", "protocol_version", "client_identifier", "will_topic", "will_payload", "username", "password", "keepalive"},
	mqttConnack: {"flags", "protocol_version", "reason_code"},
}

// mqttPacket is what was read of a CONNECT or CONNACK.
type mqttPacket struct {
	typ     int
	fields  map[string]Value
	props   [][]byte // property lists: CONNECT's (or CONNACK's), then the will's
	version int
}

type mqttStatus uint8

const (
	mqttOK mqttStatus = iota
	mqttInvalid
	mqttMore
)

type mqttFieldArgs struct {
	typ   int
	field string
	prop  byte
}

func init() {
	RegisterConverter(&ConvDef{Name: "mqtt_is_valid", In: TypeBin, Out: TypeBool,
		Fn: func(t Txn, a *Args, v *Value) bool {
			_, st := mqttParse(v.Bytes, false)
			if st == mqttMore {
				return false
			}
			v.SetBool(st == mqttOK)
			return true
		}})
	RegisterConverter(&ConvDef{Name: "mqtt_field_value", Args: []ArgType{ArgStr, ArgStr}, MinArgs: 2, In: TypeBin, Out: TypeAny,
		Prepare: prepareMQTTField,
		Fn: func(t Txn, a *Args, v *Value) bool {
			fa := a.Data.(*mqttFieldArgs)
			p, st := mqttParse(v.Bytes, true)
			if st != mqttOK || p.typ != fa.typ {
				return false
			}
			if fa.field != "" {
				val, ok := p.fields[fa.field]
				if ok {
					*v = val
				}
				return ok
			}
			if p.version != 5 || fa.prop == 38 {
				return false
			}
			for _, props := range p.props {
				if val, ok := mqttFindProp(props, fa.prop); ok {
					*v = val
					return val.Type == TypeInt || len(val.Bytes) > 0
				}
			}
			if mqttProps[fa.prop] == mqttString {
				return false
			}
			v.SetInt(0) // haproxy answers an absent number as 0
			return true
		}})
}

func prepareMQTTField(c *Compiler, a *Args) error {
	fa := &mqttFieldArgs{}
	if n, err := strconv.Atoi(a.Str[0]); err == nil {
		fa.typ = n
	} else {
		for i, name := range mqttPacketTypes {
			if i > 0 && strings.EqualFold(name, a.Str[0]) {
				fa.typ = i
			}
		}
	}
	if fa.typ < mqttConnect || fa.typ >= len(mqttPacketTypes) {
		return fmt.Errorf("unknown MQTT packet type '%s'", a.Str[0])
	}
	if fa.typ > mqttConnack {
		return fmt.Errorf("only the CONNECT and CONNACK packets can be read (the first ones of a connection), not '%s'", a.Str[0])
	}
	if n, err := strconv.Atoi(a.Str[1]); err == nil {
		for _, id := range mqttPacketProps[fa.typ] {
			if int(id) == n {
				fa.prop = id
			}
		}
		if fa.prop == 0 {
			return fmt.Errorf("'%s' is no MQTT 5.0 property of a %s packet", a.Str[1], strings.ToUpper(mqttPacketTypes[fa.typ]))
		}
	} else {
		for _, f := range mqttFields[fa.typ] {
			if strings.EqualFold(f, a.Str[1]) {
				fa.field = f
			}
		}
		if fa.field == "" {
			return fmt.Errorf("unknown field '%s' of a %s packet (%s, or a property number)", a.Str[1], strings.ToUpper(mqttPacketTypes[fa.typ]), strings.Join(mqttFields[fa.typ], ", "))
		}
	}
	a.Data = fa
	return nil
}

// mqttReader reads a packet's body; a read past its end sets bad.
type mqttReader struct {
	b   []byte
	bad bool
}

func (r *mqttReader) bytes(n int) []byte {
	if r.bad || n > len(r.b) {
		r.bad = true
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *mqttReader) byte1() int {
	b := r.bytes(1)
	if b == nil {
		return 0
	}
	return int(b[0])
}

func (r *mqttReader) two() int {
	b := r.bytes(2)
	if b == nil {
		return 0
	}
	return int(binary.BigEndian.Uint16(b))
}

func (r *mqttReader) str() []byte { return r.bytes(r.two()) }

// varint reads a variable byte integer: at most 4 bytes.
func (r *mqttReader) varint() int {
	n := 0
	for i := 0; i < 4; i++ {
		c := r.byte1()
		if r.bad {
			return 0
		}
		n |= (c & 0x7f) << (7 * i)
		if c < 0x80 {
			return n
		}
	}
	r.bad = true
	return 0
}

// props reads a property list and checks each property.
func (r *mqttReader) props() []byte {
	list := r.bytes(r.varint())
	if r.bad {
		return nil
	}
	pr := mqttReader{b: list}
	for len(pr.b) > 0 && !pr.bad {
		kind, ok := mqttProps[byte(pr.byte1())]
		if !ok {
			r.bad = true
			return nil
		}
		pr.propValue(kind)
	}
	if pr.bad {
		r.bad = true
	}
	return list
}

func (r *mqttReader) propValue(kind int) Value {
	switch kind {
	case mqttByte:
		return Value{Type: TypeInt, Int: int64(r.byte1())}
	case mqttTwo:
		return Value{Type: TypeInt, Int: int64(r.two())}
	case mqttFour:
		b := r.bytes(4)
		if b == nil {
			return Value{}
		}
		return Value{Type: TypeInt, Int: int64(binary.BigEndian.Uint32(b))}
	case mqttVarint:
		return Value{Type: TypeInt, Int: int64(r.varint())}
	case mqttPair:
		r.str()
		return Value{Type: TypeStr, Bytes: r.str()}
	}
	return Value{Type: TypeStr, Bytes: r.str()}
}

func mqttFindProp(list []byte, id byte) (Value, bool) {
	r := mqttReader{b: list}
	for len(r.b) > 0 && !r.bad {
		pid := byte(r.byte1())
		v := r.propValue(mqttProps[pid])
		if pid == id && !r.bad {
			return v, true
		}
	}
	return Value{}, false
}

// mqttParse reads the first packet of b; with fields, it records them.
func mqttParse(b []byte, fields bool) (*mqttPacket, mqttStatus) {
	if len(b) < 2 {
		return nil, mqttMore
	}
	typ, flags := int(b[0]>>4), b[0]&15
	if typ != mqttConnect && typ != mqttConnack || flags != 0 {
		return nil, mqttInvalid
	}
	hdr := mqttReader{b: b[1:]}
	n := hdr.varint()
	if hdr.bad {
		if len(b) >= 5 {
			return nil, mqttInvalid // a length of more than 4 bytes
		}
		return nil, mqttMore
	}
	if n > len(hdr.b) {
		return nil, mqttMore
	}
	r := mqttReader{b: hdr.b[:n]}
	p := &mqttPacket{typ: typ}
	if fields {
		p.fields = map[string]Value{}
	}
	set := func(name string, v Value) {
		// an empty string is no sample, as in haproxy
		if fields && !r.bad && (v.Type == TypeInt || len(v.Bytes) > 0) {
			p.fields[name] = v
		}
	}
	if typ == mqttConnack {
		if len(hdr.b) > n {
			return nil, mqttInvalid // haproxy refuses bytes after a CONNACK
		}
		f := r.byte1()
		rc := r.byte1()
		p.version = 4
		if len(r.b) > 0 {
			p.version = 5
			p.props = append(p.props, r.props())
		}
		if r.bad || f&^1 != 0 || len(r.b) != 0 {
			return nil, mqttInvalid
		}
		set("flags", Value{Type: TypeInt, Int: int64(f)})
		set("protocol_version", Value{Type: TypeInt, Int: int64(p.version)})
		set("reason_code", Value{Type: TypeInt, Int: int64(rc)})
		return p, mqttOK
	}
	name := r.str()
	p.version = r.byte1()
	switch {
	case r.bad:
		return nil, mqttInvalid
	case string(name) == "MQTT" && (p.version == 4 || p.version == 5), string(name) == "MQIsdp" && p.version == 3:
	default:
		return nil, mqttInvalid
	}
	f := r.byte1()
	keepalive := r.two()
	will, willQoS := f&4 != 0, f>>3&3
	if f&1 != 0 || willQoS == 3 || !will && (willQoS != 0 || f&0x20 != 0) ||
		p.version != 5 && f&0x40 != 0 && f&0x80 == 0 {
		return nil, mqttInvalid
	}
	set("protocol_name", Value{Type: TypeStr, Bytes: name})
	set("protocol_version", Value{Type: TypeInt, Int: int64(p.version)})
	set("flags", Value{Type: TypeInt, Int: int64(f)})
	set("keepalive", Value{Type: TypeInt, Int: int64(keepalive)})
	if p.version == 5 {
		p.props = append(p.props, r.props())
	}
	set("client_identifier", Value{Type: TypeStr, Bytes: r.str()})
	if will {
		if p.version == 5 {
			p.props = append(p.props, r.props())
		}
		set("will_topic", Value{Type: TypeStr, Bytes: r.str()})
		set("will_payload", Value{Type: TypeStr, Bytes: r.str()})
	}
	if f&0x80 != 0 {
		set("username", Value{Type: TypeStr, Bytes: r.str()})
	}
	if f&0x40 != 0 {
		set("password", Value{Type: TypeStr, Bytes: r.str()})
	}
	if r.bad || len(r.b) != 0 {
		return nil, mqttInvalid
	}
	return p, mqttOK
}
