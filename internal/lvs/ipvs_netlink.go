package lvs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// Numbers of the kernel's IPVS generic netlink family
// (include/uapi/linux/ip_vs.h).
const (
	ipvsGenlName    = "IPVS"
	ipvsGenlVersion = 1

	ipvsCmdNewService = 1
	ipvsCmdSetService = 2
	ipvsCmdDelService = 3
	ipvsCmdGetService = 4
	ipvsCmdNewDest    = 5
	ipvsCmdSetDest    = 6
	ipvsCmdDelDest    = 7
	ipvsCmdGetDest    = 8

	ipvsCmdAttrService = 1
	ipvsCmdAttrDest    = 2

	ipvsSvcAttrAF        = 1
	ipvsSvcAttrProtocol  = 2
	ipvsSvcAttrAddr      = 3
	ipvsSvcAttrPort      = 4
	ipvsSvcAttrFWMark    = 5
	ipvsSvcAttrSchedName = 6
	ipvsSvcAttrFlags     = 7
	ipvsSvcAttrTimeout   = 8
	ipvsSvcAttrNetmask   = 9

	ipvsDestAttrAddr         = 1
	ipvsDestAttrPort         = 2
	ipvsDestAttrFwdMethod    = 3
	ipvsDestAttrWeight       = 4
	ipvsDestAttrUThresh      = 5
	ipvsDestAttrLThresh      = 6
	ipvsDestAttrActiveConns  = 7
	ipvsDestAttrInactConns   = 8
	ipvsDestAttrPersistConns = 9
	ipvsDestAttrStats        = 10 // counters: u32 and u64 (bytes)
	ipvsDestAttrAddrFamily   = 11
	ipvsDestAttrStats64      = 12 // the same, all u64 (Linux 4.1 on)

	ipvsStatsAttrConns    = 1
	ipvsStatsAttrInPkts   = 2
	ipvsStatsAttrOutPkts  = 3
	ipvsStatsAttrInBytes  = 4
	ipvsStatsAttrOutBytes = 5

	ipvsSvcFPersistent = 0x0001
	ipvsSvcFHashed     = 0x0002 // set by the kernel on every service it holds

	ipvsConnFMasq    = 0
	ipvsConnFTunnel  = 2
	ipvsConnFDRoute  = 3
	ipvsConnFFwdMask = 0x0007

	nlaTypeMask = 0x3fff // drops NLA_F_NESTED and NLA_F_NET_BYTEORDER
)

// ipvsService is one IPVS virtual service as the kernel holds it.
type ipvsService struct {
	Family   uint16 // AF_INET or AF_INET6
	Protocol uint16 // IPPROTO_TCP or IPPROTO_UDP; 0 for a fwmark service
	Addr     netip.Addr
	Port     uint16
	FWMark   uint32
	Sched    string
	Flags    uint32 // IP_VS_SVC_F_*
	Timeout  uint32 // persistence timeout in seconds
	// Netmask is the persistence granularity: for IPv4 the mask as a
	// number (0xffffff00 for /24), for IPv6 a prefix length.
	Netmask uint32
}

// ipvsDest is one destination (real server) of a service.
type ipvsDest struct {
	Family           uint16
	Addr             netip.Addr
	Port             uint16
	Fwd              uint32 // IP_VS_CONN_F_MASQ, _TUNNEL or _DROUTE
	Weight           uint32
	UThresh, LThresh uint32
	// Counters, only in GET_DEST replies.
	Active, Inactive, Persist uint32
	Stats                     ipvsStats
}

// ipvsStats are a destination's totals since it was added.
type ipvsStats struct {
	Conns, InPkts, OutPkts, InBytes, OutBytes uint64
}

// svcKey identifies a service: a fwmark service by family and mark, the
// others by family, protocol, address and port.
type svcKey struct {
	family, protocol uint16
	addr             netip.Addr
	port             uint16
	fwmark           uint32
}

func (s ipvsService) key() svcKey {
	if s.FWMark != 0 {
		return svcKey{family: s.Family, fwmark: s.FWMark}
	}
	return svcKey{family: s.Family, protocol: s.Protocol, addr: s.Addr, port: s.Port}
}

// String names the service as `ipvsadm -Ln` does.
func (s ipvsService) String() string {
	if s.FWMark != 0 {
		return fmt.Sprintf("FWM %d", s.FWMark)
	}
	proto := "TCP"
	if s.Protocol == unix.IPPROTO_UDP {
		proto = "UDP"
	}
	return proto + " " + netip.AddrPortFrom(s.Addr, s.Port).String()
}

type destKey struct {
	addr netip.Addr
	port uint16
}

func (d ipvsDest) key() destKey { return destKey{d.Addr, d.Port} }

// nlAttrs builds netlink attributes: a 4-byte header (length, type) in
// host byte order, then the payload padded to 4 bytes.
type nlAttrs []byte

func (b nlAttrs) put(typ uint16, data []byte) nlAttrs {
	b = binary.NativeEndian.AppendUint16(b, uint16(4+len(data)))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = append(b, data...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func (b nlAttrs) u16(typ, v uint16) nlAttrs {
	return b.put(typ, binary.NativeEndian.AppendUint16(nil, v))
}

func (b nlAttrs) u32(typ uint16, v uint32) nlAttrs {
	return b.put(typ, binary.NativeEndian.AppendUint32(nil, v))
}

// be16 puts a port: IPVS keeps ports in network byte order.
func (b nlAttrs) be16(typ, v uint16) nlAttrs {
	return b.put(typ, binary.BigEndian.AppendUint16(nil, v))
}

func (b nlAttrs) str(typ uint16, s string) nlAttrs {
	return b.put(typ, append([]byte(s), 0))
}

// addr puts a union nf_inet_addr: 16 bytes, an IPv4 address in the first 4.
func (b nlAttrs) addr(typ uint16, a netip.Addr) nlAttrs {
	var u [16]byte
	if a.Is4() {
		v4 := a.As4()
		copy(u[:], v4[:])
	} else {
		u = a.As16()
	}
	return b.put(typ, u[:])
}

// serviceAttrs identifies s; full adds the settings NEW_SERVICE and
// SET_SERVICE require (scheduler, flags, timeout, netmask).
func serviceAttrs(s ipvsService, full bool) nlAttrs {
	b := nlAttrs{}.u16(ipvsSvcAttrAF, s.Family)
	if s.FWMark != 0 {
		b = b.u32(ipvsSvcAttrFWMark, s.FWMark)
	} else {
		b = b.u16(ipvsSvcAttrProtocol, s.Protocol).addr(ipvsSvcAttrAddr, s.Addr).be16(ipvsSvcAttrPort, s.Port)
	}
	if !full {
		return b
	}
	// struct ip_vs_flags {flags, mask}: the mask says every flag is ours.
	flags := binary.NativeEndian.AppendUint32(nil, s.Flags)
	flags = binary.NativeEndian.AppendUint32(flags, ^uint32(0))
	b = b.str(ipvsSvcAttrSchedName, s.Sched).put(ipvsSvcAttrFlags, flags).u32(ipvsSvcAttrTimeout, s.Timeout)
	if s.Family == unix.AF_INET {
		return b.put(ipvsSvcAttrNetmask, binary.BigEndian.AppendUint32(nil, s.Netmask))
	}
	return b.u32(ipvsSvcAttrNetmask, s.Netmask)
}

// destAttrs identifies d; full adds forwarding method, weight and
// thresholds (NEW_DEST, SET_DEST).
func destAttrs(d ipvsDest, full bool) nlAttrs {
	b := nlAttrs{}.u16(ipvsDestAttrAddrFamily, d.Family).addr(ipvsDestAttrAddr, d.Addr).be16(ipvsDestAttrPort, d.Port)
	if !full {
		return b
	}
	return b.u32(ipvsDestAttrFwdMethod, d.Fwd).u32(ipvsDestAttrWeight, d.Weight).
		u32(ipvsDestAttrUThresh, d.UThresh).u32(ipvsDestAttrLThresh, d.LThresh)
}

// ipvsOp is one IPVS command: a service command, or a destination
// command with the service it belongs to.
type ipvsOp struct {
	cmd  uint8
	svc  ipvsService
	dest *ipvsDest
}

func (op ipvsOp) attrs() nlAttrs {
	full := op.cmd == ipvsCmdNewService || op.cmd == ipvsCmdSetService
	b := nlAttrs{}.put(ipvsCmdAttrService, serviceAttrs(op.svc, full))
	if op.dest != nil {
		b = b.put(ipvsCmdAttrDest, destAttrs(*op.dest, op.cmd != ipvsCmdDelDest))
	}
	return b
}

// genlMessage frames a generic netlink request: struct nlmsghdr, struct
// genlmsghdr, attributes.
func genlMessage(family, flags uint16, seq uint32, cmd, version uint8, attrs []byte) []byte {
	b := binary.NativeEndian.AppendUint32(nil, uint32(unix.NLMSG_HDRLEN+4+len(attrs)))
	b = binary.NativeEndian.AppendUint16(b, family)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0) // port id: the kernel fills it in
	b = append(b, cmd, version, 0, 0)
	return append(b, attrs...)
}

// nlMsg is one netlink message of a reply.
type nlMsg struct {
	typ, flags uint16
	seq        uint32
	data       []byte
}

var errNetlinkShort = errors.New("malformed netlink message")

// parseMessages splits a datagram from the kernel into messages.
func parseMessages(b []byte) ([]nlMsg, error) {
	var out []nlMsg
	for len(b) > 0 {
		if len(b) < unix.NLMSG_HDRLEN {
			return nil, errNetlinkShort
		}
		n := int(binary.NativeEndian.Uint32(b))
		if n < unix.NLMSG_HDRLEN || n > len(b) {
			return nil, errNetlinkShort
		}
		out = append(out, nlMsg{
			typ:   binary.NativeEndian.Uint16(b[4:]),
			flags: binary.NativeEndian.Uint16(b[6:]),
			seq:   binary.NativeEndian.Uint32(b[8:]),
			data:  b[unix.NLMSG_HDRLEN:n],
		})
		b = b[min(nlAlign(n), len(b)):]
	}
	return out, nil
}

func nlAlign(n int) int { return (n + 3) &^ 3 }

// parseAttrs reads a run of attributes, by type; a later duplicate wins,
// as in the kernel's nla_parse.
func parseAttrs(b []byte) (map[uint16][]byte, error) {
	m := map[uint16][]byte{}
	for len(b) > 0 {
		if len(b) < 4 {
			return nil, fmt.Errorf("truncated netlink attribute (%d bytes left)", len(b))
		}
		n := int(binary.NativeEndian.Uint16(b))
		if n < 4 || n > len(b) {
			return nil, fmt.Errorf("netlink attribute length %d out of range (%d bytes left)", n, len(b))
		}
		m[binary.NativeEndian.Uint16(b[2:])&nlaTypeMask] = b[4:n]
		b = b[min(nlAlign(n), len(b)):]
	}
	return m, nil
}

// attrReader reads fixed-size attributes, remembering the first error.
type attrReader struct {
	m    map[uint16][]byte
	what string
	err  error
}

func (r *attrReader) fixed(typ uint16, size int) []byte {
	v, ok := r.m[typ]
	if !ok {
		return nil
	}
	if len(v) < size {
		if r.err == nil {
			r.err = fmt.Errorf("%s attribute %d is %d bytes, want %d", r.what, typ, len(v), size)
		}
		return nil
	}
	return v[:size]
}

func (r *attrReader) u16(typ uint16) uint16 {
	if v := r.fixed(typ, 2); v != nil {
		return binary.NativeEndian.Uint16(v)
	}
	return 0
}

func (r *attrReader) be16(typ uint16) uint16 {
	if v := r.fixed(typ, 2); v != nil {
		return binary.BigEndian.Uint16(v)
	}
	return 0
}

func (r *attrReader) u32(typ uint16) uint32 {
	if v := r.fixed(typ, 4); v != nil {
		return binary.NativeEndian.Uint32(v)
	}
	return 0
}

func (r *attrReader) u64(typ uint16) uint64 {
	if v := r.fixed(typ, 8); v != nil {
		return binary.NativeEndian.Uint64(v)
	}
	return 0
}

func (r *attrReader) addr(typ, family uint16) netip.Addr {
	switch family {
	case unix.AF_INET:
		if v := r.fixed(typ, 4); v != nil {
			return netip.AddrFrom4([4]byte(v))
		}
	case unix.AF_INET6:
		if v := r.fixed(typ, 16); v != nil {
			return netip.AddrFrom16([16]byte(v))
		}
	default:
		if r.err == nil {
			r.err = fmt.Errorf("%s has address family %d; want AF_INET or AF_INET6", r.what, family)
		}
	}
	return netip.Addr{}
}

// nested reads the attributes nested in attribute typ of a genl payload.
func nested(payload []byte, typ uint16, what string) (*attrReader, error) {
	if len(payload) < 4 {
		return nil, fmt.Errorf("%s: reply shorter than the genl header", what)
	}
	top, err := parseAttrs(payload[4:])
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	inner, ok := top[typ]
	if !ok {
		return nil, fmt.Errorf("%s: reply without attribute %d", what, typ)
	}
	m, err := parseAttrs(inner)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	return &attrReader{m: m, what: what}, nil
}

// decodeService reads one message of a GET_SERVICE dump (the genl payload:
// header and attributes).
func decodeService(payload []byte) (ipvsService, error) {
	r, err := nested(payload, ipvsCmdAttrService, "IPVS service")
	if err != nil {
		return ipvsService{}, err
	}
	s := ipvsService{Family: r.u16(ipvsSvcAttrAF), FWMark: r.u32(ipvsSvcAttrFWMark)}
	if s.FWMark == 0 {
		s.Protocol = r.u16(ipvsSvcAttrProtocol)
		s.Addr = r.addr(ipvsSvcAttrAddr, s.Family)
		s.Port = r.be16(ipvsSvcAttrPort)
	}
	if name, ok := r.m[ipvsSvcAttrSchedName]; ok {
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		s.Sched = string(name)
	}
	if f := r.fixed(ipvsSvcAttrFlags, 8); f != nil {
		s.Flags = binary.NativeEndian.Uint32(f)
	}
	s.Timeout = r.u32(ipvsSvcAttrTimeout)
	if s.Family == unix.AF_INET {
		if v := r.fixed(ipvsSvcAttrNetmask, 4); v != nil {
			s.Netmask = binary.BigEndian.Uint32(v)
		}
	} else {
		s.Netmask = r.u32(ipvsSvcAttrNetmask)
	}
	if r.err != nil {
		return ipvsService{}, r.err
	}
	return s, nil
}

// decodeDest reads one message of a GET_DEST dump. Kernels before 4.3
// send no address family: the destination then has the service's.
func decodeDest(payload []byte, svcFamily uint16) (ipvsDest, error) {
	r, err := nested(payload, ipvsCmdAttrDest, "IPVS destination")
	if err != nil {
		return ipvsDest{}, err
	}
	d := ipvsDest{Family: svcFamily}
	if _, ok := r.m[ipvsDestAttrAddrFamily]; ok {
		d.Family = r.u16(ipvsDestAttrAddrFamily)
	}
	d.Addr = r.addr(ipvsDestAttrAddr, d.Family)
	d.Port = r.be16(ipvsDestAttrPort)
	d.Fwd = r.u32(ipvsDestAttrFwdMethod) & ipvsConnFFwdMask
	d.Weight = r.u32(ipvsDestAttrWeight)
	d.UThresh = r.u32(ipvsDestAttrUThresh)
	d.LThresh = r.u32(ipvsDestAttrLThresh)
	d.Active = r.u32(ipvsDestAttrActiveConns)
	d.Inactive = r.u32(ipvsDestAttrInactConns)
	d.Persist = r.u32(ipvsDestAttrPersistConns)
	d.Stats = decodeStats(r)
	if r.err != nil {
		return ipvsDest{}, r.err
	}
	return d, nil
}

// decodeStats reads a destination's counters: IPVS_DEST_ATTR_STATS64
// when the kernel sends it, else IPVS_DEST_ATTR_STATS, whose packet and
// connection counts are 32 bits (they wrap).
func decodeStats(dest *attrReader) ipvsStats {
	raw, wide := dest.m[ipvsDestAttrStats64], true
	if raw == nil {
		raw, wide = dest.m[ipvsDestAttrStats], false
	}
	if raw == nil {
		return ipvsStats{}
	}
	m, err := parseAttrs(raw)
	if err != nil {
		if dest.err == nil {
			dest.err = fmt.Errorf("%s statistics: %v", dest.what, err)
		}
		return ipvsStats{}
	}
	r := &attrReader{m: m, what: dest.what + " statistics"}
	count := func(typ uint16) uint64 {
		if wide {
			return r.u64(typ)
		}
		return uint64(r.u32(typ))
	}
	st := ipvsStats{Conns: count(ipvsStatsAttrConns), InPkts: count(ipvsStatsAttrInPkts), OutPkts: count(ipvsStatsAttrOutPkts),
		InBytes: r.u64(ipvsStatsAttrInBytes), OutBytes: r.u64(ipvsStatsAttrOutBytes)}
	if r.err != nil && dest.err == nil {
		dest.err = r.err
	}
	return st
}

// genlConn is a generic netlink socket that sends one request at a time
// and waits for its whole answer.
type genlConn struct {
	fd  int
	seq uint32
	buf []byte
}

// netlinkTimeout bounds every wait for the kernel's answer.
const netlinkTimeout = 10 * time.Second

func dialGenl() (*genlConn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_GENERIC)
	if err != nil {
		return nil, fmt.Errorf("generic netlink socket: %w", err)
	}
	tv := unix.NsecToTimeval(netlinkTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("generic netlink bind: %w", err)
	}
	return &genlConn{fd: fd, buf: make([]byte, 1<<18)}, nil
}

func (c *genlConn) close() error { return unix.Close(c.fd) }

// request sends one message to family and returns the genl payloads of the
// answer: a dump's messages up to NLMSG_DONE, or a command's replies up
// to its acknowledgement. A negative errno from the kernel is returned as
// a unix.Errno.
func (c *genlConn) request(family uint16, dump bool, cmd, version uint8, attrs []byte) ([][]byte, error) {
	c.seq++
	flags := uint16(unix.NLM_F_REQUEST | unix.NLM_F_ACK)
	if dump {
		flags = unix.NLM_F_REQUEST | unix.NLM_F_DUMP
	}
	msg := genlMessage(family, flags, c.seq, cmd, version, attrs)
	if err := unix.Sendto(c.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, err
	}
	var out [][]byte
	for {
		n, from, err := unix.Recvfrom(c.fd, c.buf, unix.MSG_TRUNC)
		if err == unix.EINTR {
			continue // with SO_RCVTIMEO set, a signal (Go's preemption) is not restarted
		}
		if err == unix.EAGAIN {
			return nil, fmt.Errorf("no answer from the kernel within %v", netlinkTimeout)
		}
		if err != nil {
			return nil, err
		}
		if n > len(c.buf) {
			return nil, fmt.Errorf("netlink answer of %d bytes does not fit the %d-byte buffer", n, len(c.buf))
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue // only the kernel answers
		}
		msgs, err := parseMessages(c.buf[:n])
		if err != nil {
			return nil, err
		}
		for _, m := range msgs {
			if m.seq != c.seq {
				continue // a late answer to an earlier request
			}
			switch m.typ {
			case unix.NLMSG_ERROR, unix.NLMSG_DONE:
				if len(m.data) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(m.data)); e < 0 {
						return nil, unix.Errno(-e)
					}
				}
				if m.typ == unix.NLMSG_DONE || !dump {
					return out, nil
				}
			default:
				out = append(out, append([]byte(nil), m.data...))
			}
		}
	}
}

// resolveFamily asks the generic netlink controller for a family's id;
// the kernel loads the module providing it if needed. An unknown family
// is unix.ENOENT.
func (c *genlConn) resolveFamily(name string) (uint16, error) {
	replies, err := c.request(unix.GENL_ID_CTRL, false, unix.CTRL_CMD_GETFAMILY, 1, nlAttrs{}.str(unix.CTRL_ATTR_FAMILY_NAME, name))
	if err != nil {
		return 0, fmt.Errorf("resolving generic netlink family %s: %w", name, err)
	}
	for _, p := range replies {
		if len(p) < 4 {
			continue
		}
		m, err := parseAttrs(p[4:])
		if err != nil {
			return 0, fmt.Errorf("resolving generic netlink family %s: %v", name, err)
		}
		if id, ok := m[unix.CTRL_ATTR_FAMILY_ID]; ok && len(id) >= 2 {
			return binary.NativeEndian.Uint16(id), nil
		}
	}
	return 0, fmt.Errorf("resolving generic netlink family %s: no family id in the answer", name)
}
