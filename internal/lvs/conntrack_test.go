package lvs

import (
	"encoding/binary"
	"net/netip"
	"testing"

	"golang.org/x/sys/unix"
)

// attr lays out one netlink attribute (nla from ipvs_test.go, flat).
func attr(t uint16, v []byte) []byte { return nla{typ: t, val: v}.wire() }

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

func be16(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

// ctTuple encodes a CTA_TUPLE_* body.
func ctTuple(src, dst netip.AddrPort, proto uint8) []byte {
	s, d := uint16(ctaIPv4Src), uint16(ctaIPv4Dst)
	if src.Addr().Is6() {
		s, d = ctaIPv6Src, ctaIPv6Dst
	}
	return cat(
		attr(ctaTupleIP|unix.NLA_F_NESTED, cat(attr(s, src.Addr().AsSlice()), attr(d, dst.Addr().AsSlice()))),
		attr(ctaTupleProto|unix.NLA_F_NESTED, cat(attr(ctaProtoNum, []byte{proto}), attr(ctaProtoSrc, be16(src.Port())), attr(ctaProtoDst, be16(dst.Port())))),
	)
}

// ctMsg encodes a ctnetlink message body as the kernel sends it for a
// DNATed connection client -> vip, answered by rs.
func ctMsg(id uint32, client, vip, rs netip.AddrPort, state int) []byte {
	b := cat([]byte{unix.AF_INET, 0, 0, 0},
		attr(ctaTupleOrig|unix.NLA_F_NESTED, ctTuple(client, vip, unix.IPPROTO_TCP)),
		attr(ctaTupleReply|unix.NLA_F_NESTED, ctTuple(rs, client, unix.IPPROTO_TCP)),
		attr(ctaID, binary.BigEndian.AppendUint32(nil, id)))
	if state >= 0 {
		b = append(b, attr(ctaProtoinfo|unix.NLA_F_NESTED, attr(ctaProtoinfoTCP|unix.NLA_F_NESTED, attr(ctaProtoinfoTCPState, []byte{byte(state)})))...)
	}
	return b
}

func TestParseCtMessage(t *testing.T) {
	client, vip, rs := netip.MustParseAddrPort("10.0.9.1:40000"), netip.MustParseAddrPort("10.0.9.100:80"), netip.MustParseAddrPort("10.0.0.3:8080")
	ev, err := parseCtMessage(ctMsgNew, ctMsg(7, client, vip, rs, tcpCtEstablished))
	if err != nil {
		t.Fatal(err)
	}
	want := ctEvent{id: 7, proto: unix.IPPROTO_TCP, origDst: vip, replySrc: rs, state: tcpCtEstablished, hasState: true, hasTuples: true}
	if ev != want {
		t.Errorf("got %+v, want %+v", ev, want)
	}
	c6, v6, r6 := netip.MustParseAddrPort("[fd00:9::1]:40000"), netip.MustParseAddrPort("[fd00:9::100]:80"), netip.MustParseAddrPort("[fd00::3]:80")
	ev, err = parseCtMessage(ctMsgDelete, ctMsg(8, c6, v6, r6, -1))
	if err != nil || !ev.gone || ev.origDst != v6 || ev.replySrc != r6 || ev.hasState {
		t.Errorf("IPv6 destroy: %+v %v", ev, err)
	}
	for _, bad := range [][]byte{{2}, cat([]byte{2, 0, 0, 0}, []byte{9, 0, 1, 0})} {
		if _, err := parseCtMessage(ctMsgNew, bad); err == nil {
			t.Errorf("%x: no error", bad)
		}
	}
}

func FuzzParseCtMessage(f *testing.F) {
	f.Add(ctMsg(7, netip.MustParseAddrPort("10.0.9.1:40000"), netip.MustParseAddrPort("10.0.9.100:80"), netip.MustParseAddrPort("10.0.0.3:80"), 3))
	f.Add(ctMsg(8, netip.MustParseAddrPort("[fd00:9::1]:1"), netip.MustParseAddrPort("[fd00:9::100]:80"), netip.MustParseAddrPort("[fd00::3]:80"), -1))
	f.Add([]byte{2, 0, 0, 0, 4, 0, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		parseCtMessage(ctMsgNew, b)
	})
}

func TestConnCounter(t *testing.T) {
	vip := netip.MustParseAddrPort("10.0.9.100:80")
	a, b := netip.MustParseAddrPort("10.0.0.3:80"), netip.MustParseAddrPort("10.0.0.4:80")
	s := &Service{Protocol: "tcp", Sched: "lc", Match: []Match{{First: vip.Addr(), Last: vip.Addr(), Port: 80}}}
	dests := []Dest{{Addr: a, Weight: 1}, {Addr: b, Weight: 1}}
	cc := newConnCounter([]*Service{s})
	ev := func(id uint32, rs netip.AddrPort, state int, gone bool) ctEvent {
		typ := uint16(ctMsgNew)
		if gone {
			typ = ctMsgDelete
		}
		e, err := parseCtMessage(typ, ctMsg(id, netip.MustParseAddrPort("10.0.9.1:40000"), vip, rs, state))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	steps := []struct {
		ev      ctEvent
		changed bool
		want    []destLoad
	}{
		{ev(1, a, 1, false), true, []destLoad{{1, 0, 1}, {1, 0, 0}}},                   // SYN_SENT: inactive
		{ev(1, a, tcpCtEstablished, false), true, []destLoad{{1, 1, 0}, {1, 0, 0}}},    // established: active
		{ev(1, a, -1, false), false, []destLoad{{1, 1, 0}, {1, 0, 0}}},                 // an update without state
		{ev(2, b, tcpCtEstablished, false), true, []destLoad{{1, 1, 0}, {1, 1, 0}}},    // seen first when established
		{ev(1, a, 7, false), true, []destLoad{{1, 0, 1}, {1, 1, 0}}},                   // TIME_WAIT: inactive again
		{ev(1, a, -1, true), true, []destLoad{{1, 0, 0}, {1, 1, 0}}},                   // destroyed
		{ev(3, vip, tcpCtEstablished, false), false, []destLoad{{1, 0, 0}, {1, 1, 0}}}, // not translated: not ours
	}
	for i, st := range steps {
		if got := cc.apply(st.ev); got != st.changed {
			t.Errorf("step %d: changed %v, want %v", i, got, st.changed)
		}
		if got := cc.loads(s, dests); got[0] != st.want[0] || got[1] != st.want[1] {
			t.Errorf("step %d: loads %v, want %v", i, got, st.want)
		}
	}
	cc.reset([]ctEvent{ev(5, a, tcpCtEstablished, false), ev(6, a, 2, false)})
	if got := cc.loads(s, dests); got[0] != (destLoad{1, 1, 1}) || got[1] != (destLoad{1, 0, 0}) {
		t.Errorf("after a resync: %v", got)
	}
}
