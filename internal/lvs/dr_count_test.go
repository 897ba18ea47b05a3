package lvs

import (
	"encoding/binary"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// nflogMsg builds an NFULNL_MSG_PACKET body as the kernel sends it:
// nfgenmsg, then the attributes it adds before and after the payload.
func nflogMsg(prefix string, pkt []byte) []byte {
	b := []byte{unix.NFPROTO_NETDEV, 0, 0x64, 0x68}
	b = append(b, nflogAttr(1, []byte{0x08, 0x00, 0, 0})...) // NFULA_PACKET_HDR
	b = append(b, nflogAttr(4, binary.BigEndian.AppendUint32(nil, 2))...)
	if prefix != "" {
		b = append(b, nflogAttr(nfulaPrefix, append([]byte(prefix), 0))...)
	}
	return append(b, nflogAttr(nfulaPayload, pkt)...)
}

func ipv4TCP(src, dst netip.AddrPort, flags uint8) []byte {
	p := make([]byte, 40)
	p[0], p[9] = 0x45, unix.IPPROTO_TCP
	binary.BigEndian.PutUint16(p[2:], 40)
	copy(p[12:], src.Addr().AsSlice())
	copy(p[16:], dst.Addr().AsSlice())
	binary.BigEndian.PutUint16(p[20:], src.Port())
	binary.BigEndian.PutUint16(p[22:], dst.Port())
	p[32], p[33] = 0x50, flags
	return p
}

func ipv6(next uint8, src, dst netip.Addr, rest []byte) []byte {
	p := make([]byte, 40, 40+len(rest))
	p[0], p[6] = 0x60, next
	binary.BigEndian.PutUint16(p[4:], uint16(len(rest)))
	copy(p[8:], src.AsSlice())
	copy(p[24:], dst.AsSlice())
	return append(p, rest...)
}

func TestParseNflog(t *testing.T) {
	c, v := netip.MustParseAddrPort("10.0.0.9:40000"), netip.MustParseAddrPort("10.0.0.100:80")
	p, err := parseNflog(nflogMsg("vs0 10.0.0.3", ipv4TCP(c, v, tcpSYN)))
	if err != nil || p.prefix != "vs0 10.0.0.3" || p.src != c || p.dst != v || p.proto != unix.IPPROTO_TCP || p.tcpFlags != tcpSYN {
		t.Fatalf("IPv4 SYN: %+v %v", p, err)
	}

	c6, v6 := netip.MustParseAddr("fd00::9"), netip.MustParseAddr("fd00::100")
	udp := []byte{0x9c, 0x40, 0, 53, 0, 8, 0, 0}
	hop := []byte{unix.IPPROTO_UDP, 0, 0, 0, 0, 0, 0, 0} // hop-by-hop options, then UDP
	p, err = parseNflog(nflogMsg("vs1 fd00::3", ipv6(unix.IPPROTO_HOPOPTS, c6, v6, append(hop, udp...))))
	if err != nil || p.src != netip.AddrPortFrom(c6, 40000) || p.dst != netip.AddrPortFrom(v6, 53) || p.proto != unix.IPPROTO_UDP {
		t.Fatalf("IPv6 UDP after an extension header: %+v %v", p, err)
	}

	frag := ipv4TCP(c, v, tcpACK)
	frag[7] = 1 // fragment offset 8: no ports
	for name, c := range map[string]struct {
		msg  []byte
		want error
	}{
		"no nfgenmsg":  {[]byte{1, 2}, errNflogShort},
		"no payload":   {[]byte{2, 0, 0, 1}, errNflogPayload},
		"fragment":     {nflogMsg("x", frag), errPktFragment},
		"not IP":       {nflogMsg("x", []byte{0x20, 1, 2}), errPktVersion},
		"short IPv4":   {nflogMsg("x", ipv4TCP(c, v, 0)[:19]), errPktShort},
		"short TCP":    {nflogMsg("x", ipv4TCP(c, v, 0)[:30]), errPktL4Short},
		"ICMPv6":       {nflogMsg("x", ipv6(unix.IPPROTO_ICMPV6, c6, v6, make([]byte, 8))), errPktProto},
		"bad ext hdr":  {nflogMsg("x", ipv6(unix.IPPROTO_DSTOPTS, c6, v6, []byte{6, 9, 0, 0, 0, 0, 0, 0})), errPktShort},
		"short header": {nflogMsg("x", ipv6(unix.IPPROTO_TCP, c6, v6, nil)[:39]), errPktShort},
	} {
		if _, err := parseNflog(c.msg); err != c.want {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
	if _, err := parseNflog([]byte{2, 0, 0, 1, 200, 0, 9, 0}); err == nil {
		t.Error("an attribute longer than the message must be an error")
	}
}

func FuzzParseNflog(f *testing.F) {
	c, v := netip.MustParseAddrPort("10.0.0.9:40000"), netip.MustParseAddrPort("10.0.0.100:80")
	f.Add(nflogMsg("vs0 10.0.0.3", ipv4TCP(c, v, tcpSYN)))
	f.Add(nflogMsg("vs1 fd00::3", ipv6(unix.IPPROTO_HOPOPTS, netip.MustParseAddr("fd00::9"), netip.MustParseAddr("fd00::100"),
		[]byte{unix.IPPROTO_TCP, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0, 0x50, 0x11})))
	f.Add([]byte{2, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseNflog(b)
		if err == nil && (!p.src.IsValid() || !p.dst.IsValid() || (p.proto != unix.IPPROTO_TCP && p.proto != unix.IPPROTO_UDP)) {
			t.Fatalf("accepted without a flow: %+v", p)
		}
		dc := newDRCounter(map[int]*Service{0: {Method: "DR", Sched: "lc"}})
		dc.apply(p, time.Now()) // a bad prefix is an error, never a panic
	})
}

// TestDRStates follows IPVS' input-only TCP table for the transitions the
// logged packets can make.
func TestDRStates(t *testing.T) {
	for _, c := range []struct {
		name  string
		from  drState
		known bool
		flags uint8
		want  drState
	}{
		{"new SYN", 0, false, tcpSYN, drSynRecv},
		{"handshake ACK", drSynRecv, true, tcpACK, drEstablished},
		{"picked up mid-stream", 0, false, tcpACK | 0x08, drEstablished},
		{"FIN established", drEstablished, true, tcpFIN | tcpACK, drFinWait},
		{"FIN before the handshake", drSynRecv, true, tcpFIN, drTimeWait},
		{"RST established", drEstablished, true, tcpRST | tcpACK, drClose},
		{"RST while opening stays", drSynRecv, true, tcpRST, drSynRecv},
		{"SYN on established stays", drEstablished, true, tcpSYN, drEstablished},
		{"port reused after FIN", drFinWait, true, tcpSYN, drSynRecv},
		{"port reused after RST", drClose, true, tcpSYN, drSynRecv},
		{"ACK after FIN", drFinWait, true, tcpACK, drFinWait},
		{"RST weighs over SYN", drEstablished, true, tcpRST | tcpSYN, drClose},
		{"unknown FIN", 0, false, tcpFIN, drClose},
	} {
		if got := drNext(c.from, c.known, c.flags); got != c.want {
			t.Errorf("%s: got state %d, want %d", c.name, got, c.want)
		}
	}
}

// TestDRCounter drives the counter with logged packets and checks the
// counts the scheduler reads, as ipvsadm would list them.
func TestDRCounter(t *testing.T) {
	s := &Service{Method: "DR", Sched: "lc", Protocol: "tcp"}
	u := &Service{Method: "DR", Sched: "wlc", Protocol: "udp"}
	dc := newDRCounter(map[int]*Service{0: s, 1: u})
	rs1, rs2 := netip.MustParseAddrPort("10.0.0.3:80"), netip.MustParseAddrPort("10.0.0.4:80")
	dests := []Dest{{Addr: rs1, Weight: 1}, {Addr: rs2, Weight: 1}}
	vip := netip.MustParseAddrPort("10.0.0.100:80")
	now := time.Unix(1000, 0)
	pkt := func(port uint16, rs string, flags uint8) bool {
		t.Helper()
		changed, err := dc.apply(nflogPacket{prefix: "vs0 " + rs, src: netip.AddrPortFrom(netip.MustParseAddr("10.0.0.9"), port),
			dst: vip, proto: unix.IPPROTO_TCP, tcpFlags: flags}, now)
		if err != nil {
			t.Fatal(err)
		}
		return changed
	}
	want := func(a1, i1, a2, i2 int64) {
		t.Helper()
		l := dc.loads(s, dests)
		if l[0].active != a1 || l[0].inactive != i1 || l[1].active != a2 || l[1].inactive != i2 {
			t.Fatalf("loads %+v, want %d/%d %d/%d", l, a1, i1, a2, i2)
		}
	}
	if !pkt(1, "10.0.0.3", tcpSYN) {
		t.Fatal("a new connection changes the counts")
	}
	want(0, 1, 0, 0)
	if pkt(1, "10.0.0.3", tcpSYN) {
		t.Fatal("a retransmitted SYN changes nothing")
	}
	pkt(1, "10.0.0.3", tcpACK)
	pkt(2, "10.0.0.4", tcpSYN)
	pkt(2, "10.0.0.4", tcpACK)
	pkt(3, "10.0.0.3", tcpSYN)
	want(1, 1, 1, 0)
	pkt(1, "10.0.0.3", tcpFIN|tcpACK)
	want(0, 2, 1, 0)
	// Flow 2 rescheduled to 10.0.0.3 (its binding expired): it moves.
	pkt(2, "10.0.0.3", tcpACK)
	want(1, 2, 0, 0)
	if _, err := dc.apply(nflogPacket{prefix: "vs7 10.0.0.3", proto: unix.IPPROTO_TCP}, now); err == nil {
		t.Fatal("a prefix naming no counted service must be an error")
	}

	// UDP flows are inactive, as IPVS lists them, and last 300 s.
	dc.apply(nflogPacket{prefix: "vs1 10.0.0.4", src: netip.MustParseAddrPort("10.0.0.9:5000"), dst: vip, proto: unix.IPPROTO_UDP}, now)
	if l := dc.loads(u, dests); l[1].inactive != 1 || l[1].active != 0 {
		t.Fatalf("UDP flow: %+v", l)
	}

	// Expiry: SYN_RECV after 60 s, FIN_WAIT after 120 s, established
	// after 900 s.
	now = now.Add(61 * time.Second)
	if !dc.expire(now) {
		t.Fatal("the opening connection expires after 60 s")
	}
	want(1, 1, 0, 0)
	dc.expire(now.Add(60 * time.Second))
	want(1, 0, 0, 0)
	dc.expire(now.Add(300 * time.Second))
	if l := dc.loads(u, dests); l[1].inactive != 0 {
		t.Fatalf("UDP flow after 300 s: %+v", l)
	}
	want(1, 0, 0, 0)

	// A real server leaving the pool takes its flows with it.
	dc.keepOnly(s, dests[1:])
	want(0, 0, 0, 0)
	if len(dc.flows) != 0 || len(dc.counts[s]) != 0 {
		t.Fatalf("left over: %v %v", dc.flows, dc.counts[s])
	}
}
