package lvs

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// nla is an expected netlink attribute, written from the uapi header
// (include/uapi/linux/ip_vs.h) rather than from the encoder: a value, or
// nested attributes.
type nla struct {
	typ  uint16
	val  []byte
	kids []nla
}

// wire lays the attribute out as the kernel reads it: u16 length
// (header + payload, unpadded), u16 type, payload, zeros to a multiple of 4.
func (a nla) wire() []byte {
	payload := a.val
	for _, k := range a.kids {
		payload = append(payload, k.wire()...)
	}
	out := make([]byte, 4, 4+len(payload)+3)
	binary.NativeEndian.PutUint16(out, uint16(4+len(payload)))
	binary.NativeEndian.PutUint16(out[2:], a.typ)
	out = append(out, payload...)
	for len(out)%4 != 0 {
		out = append(out, 0)
	}
	return out
}

func wireAll(as ...nla) []byte {
	var out []byte
	for _, a := range as {
		out = append(out, a.wire()...)
	}
	return out
}

func h16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
func h32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func n16(v uint16) []byte { return []byte{byte(v >> 8), byte(v)} }
func h64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

// inetAddr is a union nf_inet_addr: 16 bytes, IPv4 in the first four.
func inetAddr(s string) []byte {
	a := netip.MustParseAddr(s)
	if a.Is4() {
		b := a.As4()
		return append(b[:], make([]byte, 12)...)
	}
	b := a.As16()
	return b[:]
}

func cstr(s string) []byte { return append([]byte(s), 0) }

// Attribute numbers spelled out again from the header, so that a wrong
// constant in ipvs_netlink.go shows up here.
const (
	tCmdService, tCmdDest                                                      = 1, 2
	tSvcAF, tSvcProto, tSvcAddr, tSvcPort, tSvcFWMark                          = 1, 2, 3, 4, 5
	tSvcSched, tSvcFlags, tSvcTimeout, tSvcNetmask, tSvcStats                  = 6, 7, 8, 9, 10
	tDstAddr, tDstPort, tDstFwd, tDstWeight, tDstU, tDstL                      = 1, 2, 3, 4, 5, 6
	tDstActive, tDstInact, tDstPersist, tDstStats, tDstFamily                  = 7, 8, 9, 10, 11
	afInet, afInet6, protoTCP, protoUDP                                        = 2, 10, 6, 17
	cmdNewService, cmdSetService, cmdDelService, cmdNewDest, cmdSetDest        = 1, 2, 3, 5, 6
	cmdDelDest                                                                 = 7
	fwdMasq, fwdTunnel, fwdDRoute, svcPersistent, svcHashed, nlaFNested uint16 = 0, 2, 3, 1, 2, 0x8000
)

func testService(method, sched string, persist time.Duration, mask string, reals ...string) *Service {
	s := &Service{Name: "vs", Protocol: "tcp", Sched: sched, Method: method, Persist: persist}
	if mask != "" {
		s.Mask = netip.MustParseAddr(mask)
	}
	for _, r := range reals {
		ap := netip.MustParseAddrPort(r)
		s.Reals = append(s.Reals, &Real{Name: r, Addr: ap, Weight: 1})
	}
	return s
}

func single(addr string, port uint16) []Match {
	a := netip.MustParseAddr(addr)
	return []Match{{First: a, Last: a, Port: port}}
}

func TestIPVSEncode(t *testing.T) {
	nat := testService("NAT", "wlc", 300*time.Second, "255.255.255.0", "10.0.0.3:8080")
	nat.Match = single("10.0.0.100", 80)
	fwm := testService("NAT", "rr", 0, "", "10.0.0.3:80")
	fwm.Match = []Match{{FWMark: 7}}
	dr := testService("DR", "wrr", 0, "", "10.0.0.3:8080")
	dr.Match = single("10.0.0.100", 80)
	v6 := testService("NAT", "sh", 60*time.Second, "ffff:ffff:ffff:ffff::", "[2001:db8::3]:53")
	v6.Protocol = "udp"
	v6.Match = single("2001:db8::1", 53)
	tun := testService("TUN", "lc", 0, "", "10.0.0.3:80")
	tun.Match = single("10.0.0.100", 443)

	svcID := func(addr string, port uint16) []nla {
		return []nla{{typ: tSvcAF, val: h16(afInet)}, {typ: tSvcProto, val: h16(protoTCP)}, {typ: tSvcAddr, val: inetAddr(addr)}, {typ: tSvcPort, val: n16(port)}}
	}
	tests := []struct {
		name string
		svc  *Service
		dest int // -1: the service command; else the destination's
		cmd  uint8
		want []nla
	}{
		{"NAT service, persistent with granularity", nat, -1, cmdNewService, []nla{{typ: tCmdService, kids: append(svcID("10.0.0.100", 80),
			nla{typ: tSvcSched, val: cstr("wlc")},
			nla{typ: tSvcFlags, val: append(h32(uint32(svcPersistent)), 0xff, 0xff, 0xff, 0xff)},
			nla{typ: tSvcTimeout, val: h32(300)},
			nla{typ: tSvcNetmask, val: []byte{255, 255, 255, 0}}, // __be32
		)}}},
		{"fwmark service", fwm, -1, cmdNewService, []nla{{typ: tCmdService, kids: []nla{
			{typ: tSvcAF, val: h16(afInet)},
			{typ: tSvcFWMark, val: h32(7)},
			{typ: tSvcSched, val: cstr("rr")},
			{typ: tSvcFlags, val: append(h32(0), 0xff, 0xff, 0xff, 0xff)},
			{typ: tSvcTimeout, val: h32(0)},
			{typ: tSvcNetmask, val: []byte{255, 255, 255, 255}},
		}}}},
		{"fwmark service removed", fwm, -1, cmdDelService, []nla{{typ: tCmdService, kids: []nla{
			{typ: tSvcAF, val: h16(afInet)},
			{typ: tSvcFWMark, val: h32(7)},
		}}}},
		{"IPv6 service, prefix length as granularity", v6, -1, cmdSetService, []nla{{typ: tCmdService, kids: []nla{
			{typ: tSvcAF, val: h16(afInet6)},
			{typ: tSvcProto, val: h16(protoUDP)},
			{typ: tSvcAddr, val: inetAddr("2001:db8::1")},
			{typ: tSvcPort, val: n16(53)},
			{typ: tSvcSched, val: cstr("sh")},
			{typ: tSvcFlags, val: append(h32(uint32(svcPersistent)), 0xff, 0xff, 0xff, 0xff)},
			{typ: tSvcTimeout, val: h32(60)},
			{typ: tSvcNetmask, val: h32(64)}, // a prefix length, host order
		}}}},
		{"DR destination with weight takes the service's port", dr, 0, cmdNewDest, []nla{
			{typ: tCmdService, kids: svcID("10.0.0.100", 80)},
			{typ: tCmdDest, kids: []nla{
				{typ: tDstFamily, val: h16(afInet)},
				{typ: tDstAddr, val: inetAddr("10.0.0.3")},
				{typ: tDstPort, val: n16(80)},
				{typ: tDstFwd, val: h32(uint32(fwdDRoute))},
				{typ: tDstWeight, val: h32(3)},
				{typ: tDstU, val: h32(0)},
				{typ: tDstL, val: h32(0)},
			}},
		}},
		{"NAT destination keeps its port", nat, 0, cmdSetDest, []nla{
			{typ: tCmdService, kids: svcID("10.0.0.100", 80)},
			{typ: tCmdDest, kids: []nla{
				{typ: tDstFamily, val: h16(afInet)},
				{typ: tDstAddr, val: inetAddr("10.0.0.3")},
				{typ: tDstPort, val: n16(8080)},
				{typ: tDstFwd, val: h32(uint32(fwdMasq))},
				{typ: tDstWeight, val: h32(3)},
				{typ: tDstU, val: h32(0)},
				{typ: tDstL, val: h32(0)},
			}},
		}},
		{"TUN destination removed", tun, 0, cmdDelDest, []nla{
			{typ: tCmdService, kids: svcID("10.0.0.100", 443)},
			{typ: tCmdDest, kids: []nla{
				{typ: tDstFamily, val: h16(afInet)},
				{typ: tDstAddr, val: inetAddr("10.0.0.3")},
				{typ: tDstPort, val: n16(443)},
			}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := ipvsWanted([]Desired{{Svc: tc.svc, Dests: []Dest{{Addr: tc.svc.Reals[0].Addr, Weight: 3}}}})
			if len(ws) != 1 {
				t.Fatalf("%d kernel services, want 1", len(ws))
			}
			op := ipvsOp{cmd: tc.cmd, svc: ws[0].svc}
			if tc.dest >= 0 {
				op.dest = &ws[0].dests[tc.dest]
			}
			got, want := []byte(op.attrs()), wireAll(tc.want...)
			if !bytes.Equal(got, want) {
				t.Fatalf("attributes\n got %x\nwant %x", got, want)
			}
		})
	}
}

// TestGenlMessageLayout checks the framing byte by byte: struct nlmsghdr
// {len, type, flags, seq, pid}, struct genlmsghdr {cmd, version, reserved},
// then the attributes (here DEL_SERVICE of fwmark 7, IPv4).
func TestGenlMessageLayout(t *testing.T) {
	op := ipvsOp{cmd: cmdDelService, svc: ipvsService{Family: afInet, FWMark: 7}}
	got := genlMessage(0x23, 0x0005, 9, op.cmd, ipvsGenlVersion, op.attrs())
	var want []byte
	want = binary.NativeEndian.AppendUint32(want, 16+4+20) // nlmsg_len
	want = binary.NativeEndian.AppendUint16(want, 0x23)    // family id
	want = binary.NativeEndian.AppendUint16(want, 0x0005)  // NLM_F_REQUEST|NLM_F_ACK
	want = binary.NativeEndian.AppendUint32(want, 9)       // seq
	want = binary.NativeEndian.AppendUint32(want, 0)       // pid
	want = append(want, 3, 1, 0, 0)                        // IPVS_CMD_DEL_SERVICE, version 1
	want = append(want, h16(20)...)                        // IPVS_CMD_ATTR_SERVICE, 16 bytes nested
	want = append(want, h16(1)...)
	want = append(want, h16(6)...) // IPVS_SVC_ATTR_AF: 2 bytes + 2 padding
	want = append(want, h16(1)...)
	want = append(want, h16(afInet)...)
	want = append(want, 0, 0)
	want = append(want, h16(8)...) // IPVS_SVC_ATTR_FWMARK
	want = append(want, h16(5)...)
	want = append(want, h32(7)...)
	if !bytes.Equal(got, want) {
		t.Fatalf("\n got %s\nwant %s", hex.EncodeToString(got), hex.EncodeToString(want))
	}
}

// destReply is a GET_DEST dump message as the kernel sends it: genl
// header, then IPVS_CMD_ATTR_DEST (flagged nested) with counters and stats.
func destReply(attrs ...nla) []byte {
	return append([]byte{cmdNewDest, 1, 0, 0}, nla{typ: tCmdDest | nlaFNested, kids: attrs}.wire()...)
}

func TestIPVSDecodeDest(t *testing.T) {
	// ip_vs_genl_fill_stats: conns, inpkts, outpkts as u32, bytes as u64
	// (with a pad attribute, 11, before each u64), rates as u32.
	stats := nla{typ: tDstStats | nlaFNested, kids: []nla{{typ: 1, val: h32(99)}, {typ: 2, val: h32(700)}, {typ: 3, val: h32(650)},
		{typ: 11}, {typ: 4, val: h64(1 << 33)}, {typ: 11}, {typ: 5, val: h64(123456)}, {typ: 6, val: h32(3)}}}
	// ip_vs_genl_fill_stats64: every counter u64.
	stats64 := nla{typ: 12 | nlaFNested, kids: []nla{{typ: 1, val: h64(1 << 32)}, {typ: 2, val: h64(5 << 32)}, {typ: 3, val: h64(0)},
		{typ: 4, val: h64(1 << 40)}, {typ: 5, val: h64(0)}}}
	tests := []struct {
		name      string
		payload   []byte
		svcFamily uint16
		want      ipvsDest
		err       string
	}{
		{"IPv4 DR with counters", destReply(
			nla{typ: tDstAddr, val: inetAddr("10.0.0.3")},
			nla{typ: tDstPort, val: n16(80)},
			nla{typ: tDstFwd, val: h32(uint32(fwdDRoute))},
			nla{typ: tDstWeight, val: h32(2)},
			nla{typ: tDstU, val: h32(0)},
			nla{typ: tDstL, val: h32(0)},
			nla{typ: tDstActive, val: h32(5)},
			nla{typ: tDstInact, val: h32(2)},
			nla{typ: tDstPersist, val: h32(1)},
			stats,
			nla{typ: tDstFamily, val: h16(afInet)},
		), afInet, ipvsDest{Family: afInet, Addr: netip.MustParseAddr("10.0.0.3"), Port: 80, Fwd: 3, Weight: 2, Active: 5, Inactive: 2, Persist: 1,
			Stats: ipvsStats{Conns: 99, InPkts: 700, OutPkts: 650, InBytes: 1 << 33, OutBytes: 123456}}, ""},
		{"64-bit counters preferred", destReply(
			nla{typ: tDstAddr, val: inetAddr("10.0.0.3")},
			stats,
			nla{typ: tDstFamily, val: h16(afInet)},
			stats64,
		), afInet, ipvsDest{Family: afInet, Addr: netip.MustParseAddr("10.0.0.3"),
			Stats: ipvsStats{Conns: 1 << 32, InPkts: 5 << 32, InBytes: 1 << 40}}, ""},
		{"short byte counter", destReply(
			nla{typ: tDstAddr, val: inetAddr("10.0.0.3")},
			nla{typ: tDstStats | nlaFNested, kids: []nla{{typ: 4, val: h32(1)}}},
		), afInet, ipvsDest{}, "statistics attribute 4 is 4 bytes, want 8"},
		{"statistics overrun", destReply(
			nla{typ: tDstAddr, val: inetAddr("10.0.0.3")},
			nla{typ: tDstStats, val: []byte{0x40, 0, 1, 0}},
		), afInet, ipvsDest{}, "statistics: "},
		{"IPv6 from an old kernel without address family", destReply(
			nla{typ: tDstAddr, val: inetAddr("2001:db8::3")},
			nla{typ: tDstPort, val: n16(8080)},
			nla{typ: tDstFwd, val: h32(uint32(fwdTunnel) | 0x0100)}, // IP_VS_CONN_F_INACTIVE is not the method
			nla{typ: tDstWeight, val: h32(0)},
			nla{typ: tDstActive, val: h32(0)},
			nla{typ: tDstInact, val: h32(7)},
		), afInet6, ipvsDest{Family: afInet6, Addr: netip.MustParseAddr("2001:db8::3"), Port: 8080, Fwd: 2, Inactive: 7}, ""},
		{"short port", destReply(nla{typ: tDstAddr, val: inetAddr("10.0.0.3")}, nla{typ: tDstPort, val: []byte{1}}), afInet, ipvsDest{}, "attribute 2 is 1 bytes, want 2"},
		{"short IPv6 address", destReply(nla{typ: tDstAddr, val: inetAddr("10.0.0.3")[:8]}, nla{typ: tDstFamily, val: h16(afInet6)}), afInet, ipvsDest{}, "attribute 1 is 8 bytes, want 16"},
		{"unknown family", destReply(nla{typ: tDstFamily, val: h16(7)}), afInet, ipvsDest{}, "address family 7"},
		{"attribute overruns the message", append([]byte{cmdNewDest, 1, 0, 0}, 0x40, 0, 2, 0, 1, 2), afInet, ipvsDest{}, "out of range"},
		{"no destination attribute", append([]byte{cmdNewDest, 1, 0, 0}, nla{typ: tCmdService, kids: nil}.wire()...), afInet, ipvsDest{}, "without attribute 2"},
		{"no genl header", []byte{1, 2}, afInet, ipvsDest{}, "shorter than the genl header"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeDest(tc.payload, tc.svcFamily)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestIPVSDecodeService(t *testing.T) {
	reply := append([]byte{cmdNewService, 1, 0, 0}, nla{typ: tCmdService | nlaFNested, kids: []nla{
		{typ: tSvcAF, val: h16(afInet)},
		{typ: tSvcProto, val: h16(protoUDP)},
		{typ: tSvcAddr, val: inetAddr("10.0.0.100")},
		{typ: tSvcPort, val: n16(53)},
		{typ: tSvcSched, val: cstr("wrr")},
		{typ: tSvcFlags, val: append(h32(uint32(svcPersistent|svcHashed)), h32(^uint32(0))...)},
		{typ: tSvcTimeout, val: h32(50)},
		{typ: tSvcNetmask, val: []byte{255, 255, 0, 0}},
		{typ: tSvcStats | nlaFNested, kids: []nla{{typ: 1, val: h32(3)}}},
	}}.wire()...)
	got, err := decodeService(reply)
	if err != nil {
		t.Fatal(err)
	}
	want := ipvsService{Family: afInet, Protocol: protoUDP, Addr: netip.MustParseAddr("10.0.0.100"), Port: 53, Sched: "wrr", Flags: 3, Timeout: 50, Netmask: 0xffff0000}
	if got != want {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if got.String() != "UDP 10.0.0.100:53" {
		t.Fatalf("name %q", got.String())
	}
	fwm := append([]byte{cmdNewService, 1, 0, 0}, nla{typ: tCmdService, kids: []nla{
		{typ: tSvcAF, val: h16(afInet6)},
		{typ: tSvcFWMark, val: h32(12)},
		{typ: tSvcNetmask, val: h32(128)},
	}}.wire()...)
	got, err = decodeService(fwm)
	if want := (ipvsService{Family: afInet6, FWMark: 12, Netmask: 128}); err != nil || got != want {
		t.Fatalf("fwmark: %+v %v, want %+v", got, err, want)
	}
}

// TestParseMessages splits one datagram holding two dump messages and
// NLMSG_DONE, each padded to 4 bytes.
func TestParseMessages(t *testing.T) {
	msg := func(typ uint16, seq uint32, payload []byte) []byte {
		b := binary.NativeEndian.AppendUint32(nil, uint32(16+len(payload)))
		b = binary.NativeEndian.AppendUint16(b, typ)
		b = binary.NativeEndian.AppendUint16(b, 2) // NLM_F_MULTI
		b = binary.NativeEndian.AppendUint32(b, seq)
		b = binary.NativeEndian.AppendUint32(b, 0)
		b = append(b, payload...)
		for len(b)%4 != 0 {
			b = append(b, 0)
		}
		return b
	}
	dgram := append(msg(0x21, 4, []byte{1, 2, 3, 4, 5}), msg(0x21, 4, []byte{6, 7, 8, 9})...)
	dgram = append(dgram, msg(3, 4, h32(0))...)
	got, err := parseMessages(dgram)
	if err != nil {
		t.Fatal(err)
	}
	want := []nlMsg{{0x21, 2, 4, []byte{1, 2, 3, 4, 5}}, {0x21, 2, 4, []byte{6, 7, 8, 9}}, {3, 2, 4, []byte{0, 0, 0, 0}}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
	if _, err := parseMessages(dgram[:len(dgram)-1]); err == nil {
		t.Fatal("a truncated datagram was accepted")
	}
}

func TestIPVSWanted(t *testing.T) {
	s := testService("DR", "rr", 0, "", "10.0.0.3:8080", "10.0.0.4:8080")
	s.Match = []Match{{First: netip.MustParseAddr("10.0.0.100"), Last: netip.MustParseAddr("10.0.0.102"), Port: 80}, {FWMark: 5}}
	ds := []Desired{{Svc: s, Dests: []Dest{
		{Addr: s.Reals[0].Addr, Weight: 1},
		{Addr: s.Reals[1].Addr, Weight: 0},
		{Addr: netip.MustParseAddrPort("10.0.0.3:9090"), Weight: 1, Sorry: true}, // same kernel destination as the first under DR
	}}}
	var got []string
	for _, w := range ipvsWanted(ds) {
		line := w.svc.String()
		for i, d := range w.dests {
			line += fmt.Sprintf(" %s:%d w%d(%s)", d.Addr, d.Port, d.Weight, w.addrs[i])
		}
		got = append(got, line)
	}
	want := []string{
		"TCP 10.0.0.100:80 10.0.0.3:80 w1(10.0.0.3:8080) 10.0.0.4:80 w0(10.0.0.4:8080)",
		"TCP 10.0.0.101:80 10.0.0.3:80 w1(10.0.0.3:8080) 10.0.0.4:80 w0(10.0.0.4:8080)",
		"TCP 10.0.0.102:80 10.0.0.3:80 w1(10.0.0.3:8080) 10.0.0.4:80 w0(10.0.0.4:8080)",
		"FWM 5 10.0.0.3:0 w1(10.0.0.3:8080) 10.0.0.4:0 w0(10.0.0.4:8080)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	v6 := testService("NAT", "rr", 0, "", "[2001:db8::3]:80")
	v6.Match = []Match{{FWMark: 9}}
	w := ipvsWanted([]Desired{{Svc: v6}})
	if w[0].svc.Family != afInet6 || w[0].svc.Netmask != 128 {
		t.Fatalf("fwmark service of IPv6 real servers: %+v", w[0].svc)
	}
}

func TestIPVSPlan(t *testing.T) {
	s := testService("NAT", "wlc", 0, "", "10.0.0.3:80", "10.0.0.4:80")
	s.Match = single("10.0.0.100", 80)
	s.Sorry = &Real{Addr: netip.MustParseAddrPort("10.0.0.9:80"), Weight: 1}
	a, b, sorry := s.Reals[0].Addr, s.Reals[1].Addr, s.Sorry.Addr
	kernelSvc := ipvsService{Family: afInet, Protocol: protoTCP, Addr: netip.MustParseAddr("10.0.0.100"), Port: 80, Sched: "wlc", Flags: uint32(svcHashed), Netmask: 0xffffffff}
	kdest := func(ap netip.AddrPort, w uint32) ipvsDest {
		return ipvsDest{Family: afInet, Addr: ap.Addr(), Port: ap.Port(), Weight: w}
	}
	other := ipvsService{Family: afInet, FWMark: 3, Sched: "rr", Netmask: 0xffffffff}

	tests := []struct {
		name  string
		dests []Dest
		have  map[svcKey]ipvsState
		want  []string
	}{
		{"first apply", []Dest{{Addr: a, Weight: 1}, {Addr: b, Weight: 2}}, nil, []string{
			"NEW_SERVICE TCP 10.0.0.100:80 wlc",
			"NEW_DEST TCP 10.0.0.100:80 10.0.0.3:80 w1",
			"NEW_DEST TCP 10.0.0.100:80 10.0.0.4:80 w2",
		}},
		{"nothing changed (the kernel's HASHED flag is not a change)", []Dest{{Addr: a, Weight: 1}}, map[svcKey]ipvsState{
			kernelSvc.key(): {kernelSvc, []ipvsDest{kdest(a, 1)}},
		}, nil},
		{"inhibit_on_failure sets weight 0", []Dest{{Addr: a, Weight: 0}, {Addr: b, Weight: 1}}, map[svcKey]ipvsState{
			kernelSvc.key(): {kernelSvc, []ipvsDest{kdest(a, 1), kdest(b, 1)}},
		}, []string{"SET_DEST TCP 10.0.0.100:80 10.0.0.3:80 w0"}},
		{"a server leaves the pool", []Dest{{Addr: b, Weight: 1}}, map[svcKey]ipvsState{
			kernelSvc.key(): {kernelSvc, []ipvsDest{kdest(a, 1), kdest(b, 1)}},
		}, []string{"DEL_DEST TCP 10.0.0.100:80 10.0.0.3:80"}},
		{"quorum lost: the sorry server is added before the others leave", []Dest{{Addr: sorry, Weight: 1, Sorry: true}}, map[svcKey]ipvsState{
			kernelSvc.key(): {kernelSvc, []ipvsDest{kdest(a, 1), kdest(b, 1)}},
		}, []string{
			"NEW_DEST TCP 10.0.0.100:80 10.0.0.9:80 w1",
			"DEL_DEST TCP 10.0.0.100:80 10.0.0.3:80",
			"DEL_DEST TCP 10.0.0.100:80 10.0.0.4:80",
		}},
		{"scheduler changed by someone: set back", []Dest{{Addr: a, Weight: 1}}, map[svcKey]ipvsState{
			kernelSvc.key(): {func() ipvsService { k := kernelSvc; k.Sched = "rr"; return k }(), []ipvsDest{kdest(a, 1)}},
		}, []string{"SET_SERVICE TCP 10.0.0.100:80 wlc"}},
		{"forwarding method changed by someone: set back", []Dest{{Addr: a, Weight: 1}}, map[svcKey]ipvsState{
			kernelSvc.key(): {kernelSvc, []ipvsDest{func() ipvsDest { d := kdest(a, 1); d.Fwd = uint32(fwdDRoute); return d }()}},
		}, []string{"SET_DEST TCP 10.0.0.100:80 10.0.0.3:80 w1"}},
		{"an owned service no longer wanted is removed", []Dest{{Addr: a, Weight: 1}}, map[svcKey]ipvsState{
			kernelSvc.key(): {kernelSvc, []ipvsDest{kdest(a, 1)}},
			other.key():     {other, nil},
		}, []string{"DEL_SERVICE FWM 3"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, op := range ipvsPlan(ipvsWanted([]Desired{{Svc: s, Dests: tc.dests}}), tc.have) {
				got = append(got, opString(op))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func opString(op ipvsOp) string {
	name := map[uint8]string{cmdNewService: "NEW_SERVICE", cmdSetService: "SET_SERVICE", cmdDelService: "DEL_SERVICE", cmdNewDest: "NEW_DEST", cmdSetDest: "SET_DEST", cmdDelDest: "DEL_DEST"}[op.cmd]
	s := name + " " + op.svc.String()
	switch op.cmd {
	case cmdNewService, cmdSetService:
		s += " " + op.svc.Sched
	case cmdNewDest, cmdSetDest:
		s += fmt.Sprintf(" %s w%d", netip.AddrPortFrom(op.dest.Addr, op.dest.Port), op.dest.Weight)
	case cmdDelDest:
		s += " " + netip.AddrPortFrom(op.dest.Addr, op.dest.Port).String()
	}
	return s
}

// TestOpenIPVSWithoutKernelSupport: asking for IPVS on a kernel without it
// fails with a message that says what to do.
func TestOpenIPVSWithoutKernelSupport(t *testing.T) {
	c, err := dialGenl()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.resolveFamily(ipvsGenlName)
	c.close()
	if err == nil {
		t.Skip("this kernel has IPVS; TestIPVSKernel covers it")
	}
	if !errors.Is(err, unix.ENOENT) {
		t.Fatal(err)
	}
	s := testService("NAT", "rr", 0, "", "127.0.0.1:1")
	s.Match = single("127.0.0.1", 2)
	var logs []string
	dp, err := Open([]*Service{s}, "ipvs", func(l string) { logs = append(logs, l) })
	if err == nil {
		dp.Close()
		t.Fatal("Open(ipvs) succeeded on a kernel without the IPVS family")
	}
	if want := "kernel has no IPVS (generic netlink family IPVS not found); load ip_vs or use nftables"; err.Error() != want {
		t.Fatalf("error %q, want %q", err, want)
	}
	if len(logs) != 0 {
		t.Fatalf("logged %q before failing", logs)
	}
}

// FuzzIPVSDecode feeds datagrams to the reply decoders: they must not
// panic, a decoded address must match its family, and a decoded
// destination must survive being encoded and decoded again.
func FuzzIPVSDecode(f *testing.F) {
	f.Add(destReply(nla{typ: tDstAddr, val: inetAddr("10.0.0.3")}, nla{typ: tDstPort, val: n16(80)}, nla{typ: tDstWeight, val: h32(1)}))
	f.Add(destReply(nla{typ: tDstFamily, val: h16(afInet6)}, nla{typ: tDstAddr, val: inetAddr("2001:db8::1")}))
	f.Add(destReply(nla{typ: tDstAddr, val: inetAddr("10.0.0.3")}, nla{typ: tDstStats | nlaFNested, kids: []nla{{typ: 1, val: h32(9)}, {typ: 4, val: h64(99)}}},
		nla{typ: 12 | nlaFNested, kids: []nla{{typ: 2, val: h64(7)}}}))
	f.Add(append([]byte{1, 1, 0, 0}, nla{typ: tCmdService, kids: []nla{{typ: tSvcAF, val: h16(afInet)}, {typ: tSvcFWMark, val: h32(1)}, {typ: tSvcSched, val: []byte("rr")}}}.wire()...))
	f.Add(genlMessage(0x20, 2, 1, 4, 1, destReply(nla{typ: tDstAddr, val: inetAddr("10.0.0.3")})[4:]))
	f.Fuzz(func(t *testing.T, b []byte) {
		payloads := [][]byte{b}
		if msgs, err := parseMessages(b); err == nil {
			for _, m := range msgs {
				payloads = append(payloads, m.data)
			}
		}
		for _, p := range payloads {
			if s, err := decodeService(p); err == nil && s.FWMark == 0 && s.Addr.IsValid() && s.Addr.Is4() != (s.Family == afInet) {
				t.Fatalf("service %+v: address does not match family", s)
			}
			for _, fam := range []uint16{afInet, afInet6} {
				d, err := decodeDest(p, fam)
				if err != nil || !d.Addr.IsValid() {
					continue
				}
				if d.Addr.Is4() != (d.Family == afInet) {
					t.Fatalf("destination %+v: address does not match family", d)
				}
				again, err := decodeDest(append([]byte{5, 1, 0, 0}, nlAttrs{}.put(ipvsCmdAttrDest, destAttrs(d, true))...), fam)
				d.Active, d.Inactive, d.Persist, d.Stats = 0, 0, 0, ipvsStats{}
				if err != nil || again != d {
					t.Fatalf("round trip of %+v: %+v, %v", d, again, err)
				}
			}
		}
	})
}

// TestGenlConnAgainstController runs the netlink transport against the
// kernel's generic netlink controller, which every kernel has: a command
// with its reply and acknowledgement, and a multi-part dump.
func TestGenlConnAgainstController(t *testing.T) {
	c, err := dialGenl()
	if err != nil {
		t.Fatal(err)
	}
	defer c.close()
	if id, err := c.resolveFamily("nlctrl"); err != nil || id != unix.GENL_ID_CTRL {
		t.Fatalf("nlctrl resolves to %#x, %v; want %#x", id, err, unix.GENL_ID_CTRL)
	}
	replies, err := c.request(unix.GENL_ID_CTRL, true, unix.CTRL_CMD_GETFAMILY, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range replies {
		m, err := parseAttrs(p[4:])
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, strings.TrimRight(string(m[unix.CTRL_ATTR_FAMILY_NAME]), "\x00"))
	}
	if !slices.Contains(names, "nlctrl") || len(names) < 2 {
		t.Fatalf("family dump: %q", names)
	}
	// The socket stays usable after a dump.
	if _, err := c.resolveFamily("no-such-family"); !errors.Is(err, unix.ENOENT) {
		t.Fatalf("unknown family: %v", err)
	}
}
