package lvs

import (
	"bytes"
	"net/netip"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// ipv4Packet builds a client packet: IPv4 (with opts bytes of options),
// then a TCP header with flags, or a UDP header, then payload.
func ipv4Packet(src, dst string, proto uint8, sport, dport uint16, flags uint8, opts int, payload string) []byte {
	ihl := 20 + opts
	l4 := 20
	if proto == unix.IPPROTO_UDP {
		l4 = 8
	}
	total := ihl + l4 + len(payload)
	b := make([]byte, total)
	b[0] = 0x40 | byte(ihl/4)
	b[2], b[3] = byte(total>>8), byte(total)
	b[6] = 0x40 // DF
	b[8] = 64
	b[9] = proto
	s, d := netip.MustParseAddr(src).As4(), netip.MustParseAddr(dst).As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	t := b[ihl:]
	t[0], t[1], t[2], t[3] = byte(sport>>8), byte(sport), byte(dport>>8), byte(dport)
	if proto == unix.IPPROTO_TCP {
		t[12] = 5 << 4
		t[13] = flags
	}
	copy(b[ihl+l4:], payload)
	return b
}

func TestParsePacket(t *testing.T) {
	syn := ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_TCP, 40000, 80, tcpSYN, 0, "")
	p, err := parsePacket(syn)
	if err != nil {
		t.Fatal(err)
	}
	want := flowKey{src: [4]byte{10, 0, 0, 1}, dst: [4]byte{10, 0, 0, 100}, sport: 40000, dport: 80, proto: unix.IPPROTO_TCP}
	if p.key != want || p.tcpFlags != tcpSYN || p.totalLen != 40 {
		t.Fatalf("got %+v", p)
	}
	// Ethernet pads short frames: the padding is not part of the packet.
	udp := append(ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_UDP, 5353, 53, 0, 4, "q"), 0, 0, 0, 0, 0, 0)
	if p, err := parsePacket(udp); err != nil || p.totalLen != 33 || p.key.dport != 53 {
		t.Fatalf("UDP with options and padding: %+v %v", p, err)
	}
	frag := ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_TCP, 1, 80, tcpACK, 0, "x")
	frag[6] = 0x20 // more fragments
	icmp := ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_UDP, 1, 80, 0, 0, "")
	icmp[9] = unix.IPPROTO_ICMP
	for name, c := range map[string]struct {
		b    []byte
		want error
	}{
		"short":      {syn[:19], errShort},
		"IPv6":       {append([]byte{0x60}, syn[1:]...), errVersion},
		"ihl 4":      {append([]byte{0x44}, syn[1:]...), errIHL},
		"total long": {syn[:39], errTotalLen},
		"fragment":   {frag, errFragment},
		"ICMP":       {icmp, errProto},
		"TCP cut":    {fixTotal(syn[:30]), errL4Short},
	} {
		if _, err := parsePacket(c.b); err != c.want {
			t.Errorf("%s: got %v, want %v", name, err, c.want)
		}
	}
}

// fixTotal rewrites the IPv4 total length to len(b).
func fixTotal(b []byte) []byte {
	b = bytes.Clone(b)
	b[2], b[3] = byte(len(b)>>8), byte(len(b))
	return b
}

func FuzzParsePacket(f *testing.F) {
	f.Add(ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_TCP, 40000, 80, tcpSYN, 0, ""))
	f.Add(ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_UDP, 1, 53, 0, 40, "hello"))
	f.Add([]byte{0x4f, 0, 0, 20})
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePacket(b)
		if err != nil {
			return
		}
		ihl := int(b[0]&0x0f) * 4
		if p.totalLen > len(b) || p.totalLen < ihl+8 || b[0]>>4 != 4 {
			t.Fatalf("accepted a bad packet: %+v from %x", p, b)
		}
		if p.key.proto != unix.IPPROTO_TCP && p.key.proto != unix.IPPROTO_UDP {
			t.Fatalf("accepted protocol %d", p.key.proto)
		}
		completeChecksum(b, &p)
		if !checksumOK(b, p.totalLen) {
			t.Fatalf("bad checksum written in %x", b)
		}
	})
}

// checksumOK verifies a TCP/UDP checksum the way a receiver does: the
// sum over pseudo-header and segment, checksum included, is all ones.
func checksumOK(b []byte, total int) bool {
	ihl := int(b[0]&0x0f) * 4
	seg := b[ihl:total]
	pseudo := append(bytes.Clone(b[12:20]), 0, b[9], byte(len(seg)>>8), byte(len(seg)))
	var sum uint32
	for _, part := range [][]byte{pseudo, seg} {
		for i := 0; i < len(part); i += 2 {
			w := uint32(part[i]) << 8
			if i+1 < len(part) {
				w |= uint32(part[i+1])
			}
			sum += w
		}
	}
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	return sum == 0xffff
}

func TestCompleteChecksum(t *testing.T) {
	for _, b := range [][]byte{
		ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_TCP, 40000, 80, tcpACK, 0, "GET / HTTP/1.0\r\n\r\n"),
		ipv4Packet("192.168.255.254", "10.0.0.100", unix.IPPROTO_TCP, 1, 80, tcpSYN, 12, "odd"),
		ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_UDP, 5353, 53, 0, 0, "query"),
	} {
		p, err := parsePacket(b)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)-1] ^= 0xff // whatever the sender left in the field
		completeChecksum(b, &p)
		if !checksumOK(b, p.totalLen) {
			t.Errorf("checksum of %x", b)
		}
	}
}

func tunService(t *testing.T, sched string, persist time.Duration, matches ...Match) *Service {
	t.Helper()
	s := &Service{Name: "[10.0.0.100]:tcp:80", Protocol: "tcp", Sched: sched, Method: "TUN", Match: matches}
	if persist > 0 {
		s.Persist, s.Mask = persist, netip.MustParseAddr("255.255.255.0")
	}
	return s
}

func vip(a string, port uint16) Match {
	ad := netip.MustParseAddr(a)
	return Match{First: ad, Last: ad, Port: port}
}

func TestMatchFilter(t *testing.T) {
	s := tunService(t, "rr", 0, vip("10.0.0.100", 80),
		Match{First: netip.MustParseAddr("10.0.1.10"), Last: netip.MustParseAddr("10.0.1.20")})
	u := tunService(t, "rr", 0, vip("10.0.0.100", 53))
	u.Protocol = "udp"
	prog, err := matchFilter([]*Service{s, u})
	if err != nil {
		t.Fatal(err)
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		t.Fatal(err)
	}
	frag := ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_TCP, 1, 80, tcpACK, 0, "x")
	frag[7] = 1 // offset 8
	for name, c := range map[string]struct {
		b    []byte
		want bool
	}{
		"VIP:80":           {ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_TCP, 1, 80, tcpSYN, 0, ""), true},
		"VIP:80 options":   {ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_TCP, 1, 80, tcpSYN, 8, ""), true},
		"VIP:81":           {ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_TCP, 1, 81, tcpSYN, 0, ""), false},
		"VIP:80 UDP":       {ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_UDP, 1, 80, 0, 0, ""), false},
		"VIP:53 UDP":       {ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_UDP, 1, 53, 0, 0, ""), true},
		"other address":    {ipv4Packet("10.0.0.1", "10.0.0.101", unix.IPPROTO_TCP, 1, 80, tcpSYN, 0, ""), false},
		"range, any port":  {ipv4Packet("10.0.0.1", "10.0.1.15", unix.IPPROTO_TCP, 1, 4444, tcpSYN, 0, ""), true},
		"range end":        {ipv4Packet("10.0.0.1", "10.0.1.20", unix.IPPROTO_TCP, 1, 4444, tcpSYN, 0, ""), true},
		"past range":       {ipv4Packet("10.0.0.1", "10.0.1.21", unix.IPPROTO_TCP, 1, 4444, tcpSYN, 0, ""), false},
		"fragment of VIP":  {frag, false},
		"IPv6 version bit": {append([]byte{0x65}, ipv4Packet("10.0.0.1", "10.0.0.100", unix.IPPROTO_TCP, 1, 80, tcpSYN, 0, "")[1:]...), false},
	} {
		n, err := vm.Run(c.b)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if (n > 0) != c.want {
			t.Errorf("%s: accepted=%v, want %v", name, n > 0, c.want)
		}
	}
	if _, err := captureFilter([]*Service{s, u}); err != nil {
		t.Fatal(err)
	}
	fw := tunService(t, "rr", 0, Match{FWMark: 1})
	if _, err := matchFilter([]*Service{fw}); err == nil {
		t.Fatal("fwmark accepted for TUN")
	}
}

// tunLab is a flow table with one service and real servers rs1, rs2.
func tunLab(t *testing.T, sched string, persist time.Duration) (*flowTable, *tunSvc, []Dest) {
	s := tunService(t, sched, persist, vip("10.0.0.100", 80))
	ft := newFlowTable([]*Service{s})
	dests := []Dest{
		{Addr: netip.MustParseAddrPort("10.0.0.3:80"), Weight: 1},
		{Addr: netip.MustParseAddrPort("10.0.0.4:80"), Weight: 1},
	}
	ft.svcs[0].apply(dests)
	return ft, ft.svcs[0], dests
}

func routePkt(t *testing.T, ft *flowTable, b []byte, now int64) *tunDest {
	t.Helper()
	p, err := parsePacket(b)
	if err != nil {
		t.Fatal(err)
	}
	return ft.route(&p, now)
}

func tunCounts(ts *tunSvc) [2][2]int64 {
	var c [2][2]int64
	for i, d := range *ts.dests.Load() {
		c[i] = [2]int64{d.active.Load(), d.inactive.Load()}
	}
	return c
}

func TestTUNFlowTable(t *testing.T) {
	ft, ts, _ := tunLab(t, "rr", 0)
	now := time.Now().UnixNano()
	pkt := func(sport uint16, flags uint8) []byte {
		return ipv4Packet("192.0.2.1", "10.0.0.100", unix.IPPROTO_TCP, sport, 80, flags, 0, "")
	}
	if d := routePkt(t, ft, pkt(1000, tcpACK), now); d != nil {
		t.Fatal("a non-SYN packet of an unknown connection was scheduled")
	}
	var got []string
	for port := uint16(1000); port < 1004; port++ {
		got = append(got, routePkt(t, ft, pkt(port, tcpSYN), now).addr.String())
	}
	if got[0] == got[1] || got[0] != got[2] || got[1] != got[3] {
		t.Fatalf("rr per connection: %v", got)
	}
	if c := tunCounts(ts); c != [2][2]int64{{0, 2}, {0, 2}} {
		t.Fatalf("after 4 SYNs: %v", c)
	}
	// Every packet of connection 1000 follows its SYN.
	first := routePkt(t, ft, pkt(1000, tcpACK), now)
	for range 5 {
		if d := routePkt(t, ft, pkt(1000, tcpACK|0x08), now); d != first {
			t.Fatal("a connection changed real server")
		}
	}
	if c := tunCounts(ts); c[0] != [2]int64{1, 1} {
		t.Fatalf("after the ACK of 1000: %v", c)
	}
	routePkt(t, ft, pkt(1000, tcpFIN|tcpACK), now)
	if c := tunCounts(ts); c[0] != [2]int64{0, 2} {
		t.Fatalf("after the FIN of 1000: %v", c)
	}
	// Idle flows expire: opening/closing after 120 s, established after 900 s.
	routePkt(t, ft, pkt(1001, tcpACK), now)
	ft.expire(now + int64(121*time.Second))
	if len(ft.flows) != 1 || tunCounts(ts) != [2][2]int64{{0, 0}, {1, 0}} {
		t.Fatalf("after 121 s: %d flows, %v", len(ft.flows), tunCounts(ts))
	}
	ft.expire(now + int64(901*time.Second))
	if len(ft.flows) != 0 || tunCounts(ts) != [2][2]int64{} {
		t.Fatalf("after 901 s: %d flows, %v", len(ft.flows), tunCounts(ts))
	}
}

func TestTUNFlowRealServerLeaves(t *testing.T) {
	ft, ts, dests := tunLab(t, "rr", 0)
	now := time.Now().UnixNano()
	a := routePkt(t, ft, ipv4Packet("192.0.2.1", "10.0.0.100", unix.IPPROTO_TCP, 1, 80, tcpSYN, 0, ""), now)
	b := routePkt(t, ft, ipv4Packet("192.0.2.1", "10.0.0.100", unix.IPPROTO_TCP, 2, 80, tcpSYN, 0, ""), now)
	// b's real server leaves: its flow is scheduled afresh on a.
	for _, d := range dests {
		if d.Addr == a.addr {
			ts.apply([]Dest{d})
		}
	}
	if d := routePkt(t, ft, ipv4Packet("192.0.2.1", "10.0.0.100", unix.IPPROTO_TCP, 2, 80, tcpSYN, 0, ""), now); d != a {
		t.Fatalf("flow of a removed real server went to %v", d.addr)
	}
	if !b.gone.Load() || a.gone.Load() {
		t.Fatal("gone flags")
	}
	if c := tunCounts(ts); c[0] != [2]int64{0, 2} {
		t.Fatalf("counts: %v", c)
	}
	ts.apply(nil)
	if d := routePkt(t, ft, ipv4Packet("192.0.2.1", "10.0.0.100", unix.IPPROTO_TCP, 3, 80, tcpSYN, 0, ""), now); d != nil {
		t.Fatal("scheduled without real servers")
	}
}

func TestTUNPersistence(t *testing.T) {
	ft, _, _ := tunLab(t, "rr", 50*time.Second)
	now := time.Now().UnixNano()
	var first *tunDest
	for i := range 6 {
		// Clients of one /24 (persistence_granularity) stay together.
		src := netip.AddrFrom4([4]byte{192, 0, 2, byte(1 + i)}).String()
		d := routePkt(t, ft, ipv4Packet(src, "10.0.0.100", unix.IPPROTO_TCP, uint16(1000+i), 80, tcpSYN, 0, ""), now)
		if first == nil {
			first = d
		} else if d != first {
			t.Fatalf("connection %d left its persistent real server", i)
		}
	}
	other := routePkt(t, ft, ipv4Packet("198.51.100.1", "10.0.0.100", unix.IPPROTO_TCP, 1, 80, tcpSYN, 0, ""), now)
	if other == first {
		t.Fatal("rr gave another network the same real server")
	}
	// The entry is refreshed by the client's packets, then expires
	// persistence_timeout after the last one.
	routePkt(t, ft, ipv4Packet("192.0.2.1", "10.0.0.100", unix.IPPROTO_TCP, 1000, 80, tcpACK, 0, ""), now+int64(40*time.Second))
	ft.expire(now + int64(80*time.Second))
	if _, ok := ft.svcs[0].persist[[4]byte{192, 0, 2, 0}]; !ok || len(ft.svcs[0].persist) != 1 {
		t.Fatalf("entries after 80 s: %v", ft.svcs[0].persist)
	}
	ft.expire(now + int64(91*time.Second))
	if e := ft.svcs[0].persist; len(e) != 0 {
		t.Fatalf("entries after 91 s: %v", e)
	}
}

func TestTUNRouteAllocs(t *testing.T) {
	ft, _, _ := tunLab(t, "rr", 50*time.Second)
	now := time.Now().UnixNano()
	syn := ipv4Packet("192.0.2.1", "10.0.0.100", unix.IPPROTO_TCP, 1, 80, tcpSYN, 0, "")
	ack := ipv4Packet("192.0.2.1", "10.0.0.100", unix.IPPROTO_TCP, 1, 80, tcpACK, 0, "data")
	routePkt(t, ft, syn, now)
	allocs := testing.AllocsPerRun(1000, func() {
		p, _ := parsePacket(ack)
		if ft.route(&p, now) == nil {
			t.Fatal("not routed")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per packet of an established connection", allocs)
	}
}

// TestTUNEncapsulation sends client packets through the datapath's send
// path in a private network namespace and reads them back as a real
// server would: IPv4 protocol 4 to the real server, the inner packet
// byte for byte, padding cut.
func TestTUNEncapsulation(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("raw sockets and a network namespace need root")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		// This thread moves to a new network namespace and is discarded
		// with the goroutine (never unlocked).
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			t.Errorf("unshare: %v", err)
			return
		}
		lo, err := netlink.LinkByName("lo")
		if err == nil {
			err = netlink.LinkSetUp(lo)
		}
		if err != nil {
			t.Errorf("lo: %v", err)
			return
		}
		rs, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_IPIP)
		if err != nil {
			t.Errorf("receiver: %v", err)
			return
		}
		defer unix.Close(rs)
		unix.SetsockoptTimeval(rs, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 2})

		tn := &TUN{logf: func(s string) { t.Log(s) }, ft: newFlowTable([]*Service{tunService(t, "rr", 0, vip("10.0.0.100", 80))}), send: -1}
		if err := tn.openSend(); err != nil {
			t.Errorf("%v", err)
			return
		}
		defer unix.Close(tn.send)
		tn.initBuffers()
		tn.slaves.Store(&map[int32]bool{})
		tn.ft.svcs[0].apply([]Dest{{Addr: netip.MustParseAddrPort("127.0.0.2:80"), Weight: 1}})
		var inner [][]byte
		for i := range 3 {
			b := ipv4Packet("192.0.2.1", "10.0.0.100", unix.IPPROTO_TCP, uint16(1000+i), 80, tcpSYN, 0, "")
			inner = append(inner, b)
			n := copy(tn.bufs[i][:], append(b, 0, 0, 0, 0, 0, 0)) // Ethernet padding
			tn.rmsgs[i].Len = uint32(n)
		}
		tn.forward(3, time.Now().UnixNano())
		if tn.forwarded.Load() != 3 {
			t.Errorf("forwarded %d of 3 (send errors %d)", tn.forwarded.Load(), tn.sendErrs.Load())
			return
		}
		buf := make([]byte, 2048)
		for i := range 3 {
			n, _, err := unix.Recvfrom(rs, buf, 0)
			if err != nil {
				t.Errorf("packet %d: %v", i, err)
				return
			}
			outer := buf[:n]
			ihl := int(outer[0]&0x0f) * 4
			if outer[9] != unix.IPPROTO_IPIP || !bytes.Equal(outer[16:20], []byte{127, 0, 0, 2}) {
				t.Errorf("outer header %x", outer[:20])
			}
			if !bytes.Equal(outer[ihl:], inner[i]) {
				t.Errorf("inner packet %d:\n got %x\nwant %x", i, outer[ihl:], inner[i])
			}
		}
		// The whole forwarding step (flow lookup, sendmmsg) allocates
		// nothing for packets of known connections.
		if a := testing.AllocsPerRun(100, func() { tn.forward(3, time.Now().UnixNano()) }); a != 0 {
			t.Errorf("%v allocations per batch", a)
		}
	}()
	<-done
}

// TestTUNTraffic: a new flow counts a connection for its real server,
// every forwarded packet its IP length; the counters outlive the real
// server leaving and coming back.
func TestTUNTraffic(t *testing.T) {
	s := tunService(t, "rr", 0, vip("10.0.0.100", 80))
	rs := netip.MustParseAddrPort("10.0.0.3:80")
	s.Reals = []*Real{{Name: "[10.0.0.3]:tcp:80", Addr: rs, Weight: 1}}
	ft := newFlowTable([]*Service{s})
	ts := ft.svcs[0]
	ts.apply([]Dest{{Addr: rs, Weight: 1}})
	now := time.Now().UnixNano()
	syn := ipv4Packet("192.0.2.1", "10.0.0.100", unix.IPPROTO_TCP, 1000, 80, tcpSYN, 0, "")
	data := ipv4Packet("192.0.2.1", "10.0.0.100", unix.IPPROTO_TCP, 1000, 80, tcpACK, 0, "hello")
	routePkt(t, ft, syn, now)
	routePkt(t, ft, data, now)
	routePkt(t, ft, ipv4Packet("192.0.2.1", "10.0.0.100", unix.IPPROTO_TCP, 1001, 80, tcpACK, 0, ""), now) // not forwarded
	read := func() Traffic {
		out := map[DestKey]DestStats{}
		ts.traffic.read(s, false, out)
		return *out[DestKey{Svc: s, Addr: rs}].Traffic
	}
	want := Traffic{Conns: 1, InPkts: 2, InBytes: int64(len(syn) + len(data))}
	if got := read(); got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	ts.apply(nil)
	ts.apply([]Dest{{Addr: rs, Weight: 1}})
	routePkt(t, ft, syn, now)
	want.Conns, want.InPkts, want.InBytes = 2, 3, want.InBytes+int64(len(syn))
	if got := read(); got != want {
		t.Fatalf("after leaving and coming back: %+v, want %+v", got, want)
	}
}
