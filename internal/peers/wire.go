package peers

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"dhproxy/internal/sample"
)

// The wire format of HAProxy's peers protocol, version 2.1 (haproxy 1.8 to
// 3.x speak it): a text hello and a status line, then binary messages of a
// class byte and a type byte; types with bit 7 set carry a body whose length
// comes first as a varint.

// Protocol names and versions of the hello line.
const (
	protoName = "HAProxyS"
	majorVer  = 2
	minorVer  = 1
)

// Status codes answered to a hello.
const (
	statusSuccess  = 200
	statusTryAgain = 300
	statusErrProto = 501
	statusErrVer   = 502
	statusErrHost  = 503
	statusErrPeer  = 504
)

// Message classes.
const (
	classControl    = 0
	classError      = 1
	classStickTable = 10
	classReserved   = 255
)

// Control message types.
const (
	ctrlResyncReq      = 0
	ctrlResyncFinished = 1
	ctrlResyncPartial  = 2
	ctrlResyncConfirm  = 3
	ctrlHeartbeat      = 4
)

// Error message types.
const (
	errProtocol  = 0
	errSizeLimit = 1
)

// Stick-table message types; all carry a body.
const (
	stktUpdate         = 0x80
	stktIncUpdate      = 0x81
	stktDefine         = 0x82
	stktSwitch         = 0x83
	stktAck            = 0x84
	stktUpdateTimed    = 0x85
	stktIncUpdateTimed = 0x86
	stktBodyBit        = 0x80
)

// maxBody bounds a message body, as HAProxy's buffer does (16 KiB by
// default): a longer one is a size error, not an allocation.
const maxBody = 1 << 16

var errTruncated = errors.New("truncated value")

// readVarint decodes a varint at the start of b and returns it with the
// bytes it took; ok is false when b ends inside it or it does not fit in
// 64 bits.
func readVarint(b []byte) (v uint64, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	v = uint64(b[0])
	n = 1
	if v < 0xf0 {
		return v, 1, true
	}
	shift := uint(4)
	for {
		if n >= len(b) || shift > 63 {
			return 0, 0, false
		}
		c := b[n]
		n++
		v += uint64(c) << shift
		shift += 7
		if c < 0x80 {
			return v, n, true
		}
	}
}

// msg is one binary message.
type msg struct {
	class, typ byte
	body       []byte
}

func (m msg) String() string {
	return fmt.Sprintf("class %d type %d (%d bytes)", m.class, m.typ, len(m.body))
}

// errBodyTooLarge is a message announcing a body over maxBody.
var errBodyTooLarge = errors.New("message body larger than 64 KiB")

// readMsg reads one message; buf is reused for the body.
func readMsg(r *bufio.Reader, buf []byte) (msg, []byte, error) {
	var head [2]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		return msg{}, buf, err
	}
	m := msg{class: head[0], typ: head[1]}
	if m.typ&stktBodyBit == 0 {
		return m, buf, nil
	}
	var lenBytes [10]byte
	n := 0
	for {
		c, err := r.ReadByte()
		if err != nil {
			return m, buf, unexpected(err)
		}
		lenBytes[n] = c
		n++
		if l, _, ok := readVarint(lenBytes[:n]); ok {
			if l > maxBody {
				return m, buf, errBodyTooLarge
			}
			if cap(buf) < int(l) {
				buf = make([]byte, l)
			}
			m.body = buf[:l]
			if _, err := io.ReadFull(r, m.body); err != nil {
				return m, buf, unexpected(err)
			}
			return m, buf, nil
		}
		if n == 5 { // a length over 32 bits
			return m, buf, errBodyTooLarge
		}
	}
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// appendMsg appends a message: the header, and for stick-table types the
// body's length and the body.
func appendMsg(dst []byte, class, typ byte, body []byte) []byte {
	dst = append(dst, class, typ)
	if typ&stktBodyBit == 0 {
		return dst
	}
	dst = sample.AppendVarint(dst, uint64(len(body)))
	return append(dst, body...)
}

// hello is the three lines a connecting peer sends first.
type hello struct {
	major, minor int
	remote       string // the name the sender gives the receiver
	local        string // the sender's own name
	pid          int
}

func (h hello) append(dst []byte) []byte {
	return fmt.Appendf(dst, "%s %d.%d\n%s\n%s %d 1\n", protoName, h.major, h.minor, h.remote, h.local, h.pid)
}

// helloError is a bad hello and the status code that answers it.
type helloError struct {
	status int
	reason string
}

func (e *helloError) Error() string { return e.reason }

// maxLine bounds a hello line (HAProxy reads it from one buffer).
const maxLine = 1024

// readLine reads a line ended by "\n" (an "\r" before it is dropped).
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, more, err := r.ReadLine()
		if err != nil {
			return "", err
		}
		b = append(b, chunk...)
		if len(b) > maxLine {
			return "", &helloError{statusErrProto, "hello line longer than 1024 bytes"}
		}
		if !more {
			return string(b), nil
		}
	}
}

// readHello reads and checks a hello: the protocol name and version, then
// the two name lines. Errors are *helloError where a status code answers
// them.
func readHello(r *bufio.Reader) (hello, error) {
	var h hello
	line, err := readLine(r)
	if err != nil {
		return h, err
	}
	ver, ok := strings.CutPrefix(line, protoName+" ")
	if !ok {
		return h, &helloError{statusErrProto, fmt.Sprintf("not the peers protocol: %.40q", line)}
	}
	maj, min, ok := strings.Cut(ver, ".")
	h.major, err = strconv.Atoi(maj)
	if ok && err == nil {
		h.minor, err = strconv.Atoi(min)
	}
	if !ok || err != nil || h.major != majorVer || h.minor > minorVer || h.minor < 0 {
		return h, &helloError{statusErrVer, fmt.Sprintf("unsupported protocol version %.20q (dhproxy speaks %d.%d)", ver, majorVer, minorVer)}
	}
	if h.remote, err = readLine(r); err != nil {
		return h, err
	}
	line, err = readLine(r)
	if err != nil {
		return h, err
	}
	name, rest, ok := strings.Cut(line, " ")
	if !ok {
		return h, &helloError{statusErrProto, fmt.Sprintf("bad peer line %.60q: want '<name> <pid> <relative pid>'", line)}
	}
	h.local = name
	pid, _, _ := strings.Cut(rest, " ")
	h.pid, _ = strconv.Atoi(pid)
	return h, nil
}

// Key types of a table definition (HAProxy's network key types).
const (
	keySInt = 2
	keyIPv4 = 4
	keyIPv6 = 5
	keyStr  = 6
	keyBin  = 7
)

// definition is a table definition message.
type definition struct {
	id      uint64 // the sender's id of the table, used by switch and ack
	name    string
	keyType uint64
	keySize uint64
	data    uint64 // bit n: HAProxy data type n is stored
	expire  uint64 // milliseconds
	// Parameters of the data types that have some: a rate's period, an
	// array's element count.
	period [wireTypes]uint64
	nelem  [wireTypes]uint64
}

// HAProxy's data type numbers on the wire (stktable_data_types), and how
// each is encoded.
const (
	wireServerID  = 0
	wireConnCur   = 6
	wireServerKey = 19
	wireGPT       = 22
	wireGPC       = 23
	wireGPCRate   = 24
	wireTypes     = 25
)

type wireKind uint8

const (
	kindInt   wireKind = iota // one varint
	kindRate                  // three varints: ms since the period began, current, previous
	kindDict                  // a varint length and that many bytes
	kindArray                 // nelem varints
	kindRates                 // nelem rates
)

func wireKindOf(t int) wireKind {
	switch t {
	case 3, 5, 8, 10, 12, 14, 16, 18, 21:
		return kindRate
	case wireServerKey:
		return kindDict
	case wireGPT, wireGPC:
		return kindArray
	case wireGPCRate:
		return kindRates
	}
	return kindInt
}

func (d *definition) append(dst []byte) []byte {
	dst = sample.AppendVarint(dst, d.id)
	dst = sample.AppendVarint(dst, uint64(len(d.name)))
	dst = append(dst, d.name...)
	dst = sample.AppendVarint(dst, d.keyType)
	dst = sample.AppendVarint(dst, d.keySize)
	dst = sample.AppendVarint(dst, d.data)
	dst = sample.AppendVarint(dst, d.expire)
	for t := range wireTypes {
		if d.data&(1<<t) == 0 {
			continue
		}
		switch wireKindOf(t) {
		case kindRate:
			dst = sample.AppendVarint(sample.AppendVarint(dst, uint64(t)), d.period[t])
		case kindArray:
			dst = sample.AppendVarint(sample.AppendVarint(dst, uint64(t)), d.nelem[t])
		case kindRates:
			dst = sample.AppendVarint(sample.AppendVarint(sample.AppendVarint(dst, uint64(t)), d.nelem[t]), d.period[t])
		}
	}
	return dst
}

// cursor reads the fields of a body in order; the first failure sticks.
type cursor struct {
	b   []byte
	err error
}

func (c *cursor) varint(what string) uint64 {
	if c.err != nil {
		return 0
	}
	v, n, ok := readVarint(c.b)
	if !ok {
		c.err = fmt.Errorf("%s: %w", what, errTruncated)
		return 0
	}
	c.b = c.b[n:]
	return v
}

func (c *cursor) bytes(n uint64, what string) []byte {
	if c.err != nil {
		return nil
	}
	if n > uint64(len(c.b)) {
		c.err = fmt.Errorf("%s: %w", what, errTruncated)
		return nil
	}
	v := c.b[:n]
	c.b = c.b[n:]
	return v
}

func (c *cursor) uint32(what string) uint32 {
	b := c.bytes(4, what)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

// parseDefinition decodes a definition body. Data types this version does
// not know (bits past HAProxy 2.6's) make the definition unusable, since
// their encoding is unknown: the error says so.
func parseDefinition(body []byte) (definition, error) {
	var d definition
	c := cursor{b: body}
	d.id = c.varint("table id")
	nameLen := c.varint("table name length")
	if c.err == nil && nameLen == 0 {
		return d, errors.New("empty table name")
	}
	d.name = string(c.bytes(nameLen, "table name"))
	d.keyType = c.varint("key type")
	d.keySize = c.varint("key size")
	d.data = c.varint("data types")
	if c.err != nil {
		return d, c.err
	}
	if d.data>>wireTypes != 0 {
		return d, fmt.Errorf("table '%s' stores data types unknown to dhproxy (mask %#x)", d.name, d.data)
	}
	if len(c.b) == 0 {
		// A peer older than 1.9 sends neither expire nor parameters.
		for t := range wireTypes {
			if d.data&(1<<t) != 0 && (wireKindOf(t) == kindArray || wireKindOf(t) == kindRates) {
				return d, fmt.Errorf("table '%s': array data type %d without its size", d.name, t)
			}
		}
		return d, nil
	}
	d.expire = c.varint("expire")
	for t := range wireTypes {
		if d.data&(1<<t) == 0 {
			continue
		}
		k := wireKindOf(t)
		if k == kindInt || k == kindDict {
			continue
		}
		if got := c.varint("data type parameter"); c.err == nil && got != uint64(t) {
			return d, fmt.Errorf("table '%s': parameters of data type %d where %d was expected", d.name, got, t)
		}
		switch k {
		case kindRate:
			d.period[t] = c.varint("rate period")
		case kindArray:
			d.nelem[t] = c.varint("array size")
		case kindRates:
			d.nelem[t] = c.varint("array size")
			d.period[t] = c.varint("rate period")
		}
		if d.nelem[t] > 100 {
			return d, fmt.Errorf("table '%s': array of %d elements (HAProxy allows 100)", d.name, d.nelem[t])
		}
	}
	return d, c.err
}

// rate is a frequency counter as sent: how long ago its period began, and
// its current and previous periods' counts.
type rate struct {
	elapsed    uint32
	curr, prev uint32
}

// update is an update message's content.
type update struct {
	id       uint32 // update id; with hasID false, the previous one plus one
	hasID    bool
	expire   uint32 // milliseconds left, with timed
	timed    bool
	key      []byte // as HAProxy stores it; strings without their length
	serverID int64
	hasSrv   bool
	vals     [wireTypes]uint64 // integer types
	rates    [wireTypes]rate   // rate types
	// the arrays' elements: gpt and gpc, and gpc_rate
	gpt, gpc []uint64
	gpcRate  []rate
}

// array is the element slice of array type t in u.
func (u *update) array(t int) *[]uint64 {
	if t == wireGPT {
		return &u.gpt
	}
	return &u.gpc
}

// appendUpdate encodes u (always with its id) for a table defined by d;
// its message type is updateType(u).
func appendUpdate(dst []byte, d *definition, u *update) []byte {
	dst = binary.BigEndian.AppendUint32(dst, u.id)
	if u.timed {
		dst = binary.BigEndian.AppendUint32(dst, u.expire)
	}
	if d.keyType == keyStr {
		dst = sample.AppendVarint(dst, uint64(len(u.key)))
	}
	dst = append(dst, u.key...)
	for t := range wireTypes {
		if d.data&(1<<t) == 0 {
			continue
		}
		switch {
		case t == wireServerID:
			dst = sample.AppendVarint(dst, uint64(u.serverID))
		case wireKindOf(t) == kindRate:
			dst = u.rates[t].append(dst)
		case wireKindOf(t) == kindArray:
			// as many elements as the definition announced
			a := *u.array(t)
			for i := range d.nelem[t] {
				dst = sample.AppendVarint(dst, elem(a, i))
			}
		case wireKindOf(t) == kindRates:
			for i := range d.nelem[t] {
				var r rate
				if i < uint64(len(u.gpcRate)) {
					r = u.gpcRate[i]
				}
				dst = r.append(dst)
			}
		default: // dhproxy defines no dictionary type
			dst = sample.AppendVarint(dst, u.vals[t])
		}
	}
	return dst
}

// updateType is the message type appendUpdate's encoding of u goes in.
func updateType(u *update) byte {
	if u.timed {
		return stktUpdateTimed
	}
	return stktUpdate
}

// parseUpdate decodes an update body of message type typ for a table the
// peer defined as d, with keys of keySize bytes (strings: at most).
func parseUpdate(body []byte, typ byte, d *definition) (update, error) {
	var u update
	c := cursor{b: body}
	u.hasID = typ == stktUpdate || typ == stktUpdateTimed
	u.timed = typ == stktUpdateTimed || typ == stktIncUpdateTimed
	if u.hasID {
		u.id = c.uint32("update id")
	}
	if u.timed {
		u.expire = c.uint32("expire")
	}
	switch d.keyType {
	case keyStr:
		n := c.varint("key length")
		if c.err == nil && n > d.keySize {
			return u, fmt.Errorf("string key of %d bytes in table '%s' of %d-byte keys", n, d.name, d.keySize)
		}
		u.key = c.bytes(n, "key")
	case keySInt:
		u.key = c.bytes(4, "key")
	default:
		u.key = c.bytes(d.keySize, "key")
	}
	for t := range wireTypes {
		if d.data&(1<<t) == 0 || c.err != nil {
			continue
		}
		switch wireKindOf(t) {
		case kindInt:
			u.vals[t] = c.varint("value")
			if t == wireServerID {
				u.serverID, u.hasSrv = int64(int32(u.vals[t])), true
			}
		case kindRate:
			u.rates[t] = c.rate()
		case kindDict:
			if n := c.varint("dictionary entry length"); n > 0 {
				c.bytes(n, "dictionary entry")
			}
		case kindArray:
			a := u.array(t)
			for range d.nelem[t] {
				*a = append(*a, c.varint("array element"))
			}
		case kindRates:
			for range d.nelem[t] {
				u.gpcRate = append(u.gpcRate, c.rate())
			}
		}
	}
	return u, c.err
}

func elem(a []uint64, i uint64) uint64 {
	if i < uint64(len(a)) {
		return a[i]
	}
	return 0
}

func (r rate) append(dst []byte) []byte {
	return sample.AppendVarint(sample.AppendVarint(sample.AppendVarint(dst, uint64(r.elapsed)), uint64(r.curr)), uint64(r.prev))
}

func (c *cursor) rate() rate {
	return rate{elapsed: uint32(c.varint("rate tick")), curr: uint32(c.varint("rate count")), prev: uint32(c.varint("rate previous count"))}
}

// appendAck encodes an ack of update id for the peer's table id.
func appendAck(dst []byte, table uint64, id uint32) []byte {
	return binary.BigEndian.AppendUint32(sample.AppendVarint(dst, table), id)
}
