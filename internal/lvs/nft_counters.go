package lvs

import (
	"fmt"
	"net/netip"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Traffic counters of the nftables datapath. Each real server (and the
// sorry server) of service i has named counter objects in the service's
// table, vs<i>_r<k>_conns, _in and, for NAT, _out (k: its place in the
// configuration, the sorry server last). Objects live beside the chains:
// the chain rebuilds of Apply leave them counting.
//
//   - conns: a rule in the destination chain vs<i>_d<k> that only new
//     connections reach. Under NAT the nat chains see the first packet of
//     a connection only, so every packet there is a new connection; under
//     DR every packet of a flow passes the chain, and a new connection is
//     a TCP SYN, or a UDP packet whose flow is not bound yet.
//   - in, out under NAT: conntrack sends the later packets of a
//     connection past the nat chains, so a filter chain on the forward
//     hook counts them, every packet in both directions, by the
//     connection's original destination (the service) and the real
//     server's address in the packet. Clients on the director itself do
//     not cross the forward hook: their connections are counted, not
//     their bytes.
//   - in under DR: the destination chain's forwarding rule; replies do
//     not pass the director.
const nftTrafficChain = "traffic" // the forward hook chain of each NAT table

// ipsDstNAT is conntrack's IPS_DST_NAT status bit: the connection was DNAT'ed.
const ipsDstNAT = 1 << 5

func counterName(svc, real int, what string) string {
	return fmt.Sprintf("vs%d_r%d_%s", svc, real, what)
}

// realIndex is the counters' index of dst in s: its real server's place
// in the configuration, len(s.Reals) for the sorry server, -1 if unknown.
func realIndex(s *Service, dst Dest) int {
	if dst.Sorry {
		return len(s.Reals)
	}
	for k, r := range s.Reals {
		if r.Addr == dst.Addr {
			return k
		}
	}
	return -1
}

// destAddrs lists the addresses counters are kept for, in realIndex order.
func destAddrs(s *Service) []netip.AddrPort {
	out := make([]netip.AddrPort, 0, len(s.Reals)+1)
	for _, r := range s.Reals {
		out = append(out, r.Addr)
	}
	if s.Sorry != nil {
		out = append(out, s.Sorry.Addr)
	}
	return out
}

func objref(name string) *expr.Objref {
	return &expr.Objref{Type: unix.NFT_OBJECT_COUNTER, Name: name}
}

// addCounters adds to the batch of create the counter objects of every
// service, and the NAT tables' forward hook chains counting the packets.
func (n *NFT) addCounters(c *nftables.Conn, svcs []*Service) {
	fwd := map[*nftables.Table]*nftables.Chain{}
	for _, s := range svcs {
		i, t := n.svcIdx[s], n.table(s)
		for k, a := range destAddrs(s) {
			whats := []string{"conns", "in", "out"}
			if s.Method == "DR" {
				whats = whats[:2]
			}
			for _, what := range whats {
				start := n.startCounts[counterKey(s, a, what)]
				c.AddObj(&nftables.CounterObj{Table: t, Name: counterName(i, k, what), Packets: start.Packets, Bytes: start.Bytes})
			}
		}
		if s.Method == "DR" {
			continue
		}
		base := fwd[t]
		if base == nil {
			base = &nftables.Chain{Name: nftTrafficChain, Table: t, Type: nftables.ChainTypeFilter,
				Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter}
			c.AddChain(base)
			fwd[t] = base
		}
		per := n.chain(s, "_traffic")
		c.AddChain(per)
		for _, e := range trafficEntry(s) {
			c.AddRule(&nftables.Rule{Table: t, Chain: base, Exprs: append(e, &expr.Verdict{Kind: expr.VerdictJump, Chain: per.Name})})
		}
		for k, a := range destAddrs(s) {
			in := append(append(ctDirection(0), natReal(s, a, false)...),
				objref(counterName(i, k, "in")), &expr.Verdict{Kind: expr.VerdictReturn})
			out := append(append(ctDirection(1), natReal(s, a, true)...),
				objref(counterName(i, k, "out")), &expr.Verdict{Kind: expr.VerdictReturn})
			c.AddRule(&nftables.Rule{Table: t, Chain: per, Exprs: in})
			c.AddRule(&nftables.Rule{Table: t, Chain: per, Exprs: out})
		}
	}
}

// trafficEntry matches the forwarded packets of a NAT service's
// connections: those whose connection was first addressed to one of its
// entries. A fwmark service (the mark is on the client's packets only)
// takes every DNAT'ed connection, told apart by the real server.
func trafficEntry(s *Service) [][]expr.Any {
	proto := byte(unix.IPPROTO_TCP)
	if s.Protocol == "udp" {
		proto = unix.IPPROTO_UDP
	}
	l4 := []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: regVal},
		&expr.Cmp{Op: expr.CmpOpEq, Register: regVal, Data: []byte{proto}},
	}
	var out [][]expr.Any
	for _, m := range s.Match {
		e := append([]expr.Any{}, l4...)
		if m.FWMark != 0 {
			out = append(out, append(e,
				&expr.Ct{Register: regVal, Key: expr.CtKeySTATUS},
				&expr.Bitwise{SourceRegister: regVal, DestRegister: regVal, Len: 4,
					Mask: binaryutil.NativeEndian.PutUint32(ipsDstNAT), Xor: make([]byte, 4)},
				&expr.Cmp{Op: expr.CmpOpNeq, Register: regVal, Data: make([]byte, 4)}))
			continue
		}
		// Direction 0 (original) is the only one the library encodes
		// right for the kernel (a u8 sent as a big-endian u32).
		e = append(e, &expr.Ct{Register: regVal, Key: expr.CtKeyDST, Direction: 0})
		if m.First == m.Last {
			e = append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: regVal, Data: addrBytes(m.First)})
		} else {
			e = append(e, &expr.Range{Op: expr.CmpOpEq, Register: regVal, FromData: addrBytes(m.First), ToData: addrBytes(m.Last)})
		}
		if m.Port != 0 {
			e = append(e,
				&expr.Ct{Register: regVal, Key: expr.CtKeyPROTODST, Direction: 0},
				&expr.Cmp{Op: expr.CmpOpEq, Register: regVal, Data: binaryutil.BigEndian.PutUint16(m.Port)})
		}
		out = append(out, e)
	}
	return out
}

// ctDirection matches the packet's direction in its connection: 0 from
// the client, 1 the reply.
func ctDirection(dir byte) []expr.Any {
	return []expr.Any{
		&expr.Ct{Register: regVal, Key: expr.CtKeyDIRECTION},
		&expr.Cmp{Op: expr.CmpOpEq, Register: regVal, Data: []byte{dir}},
	}
}

// natReal matches the real server in a forwarded packet after DNAT: its
// destination from the client, its source in a reply. Port 0 (a fwmark
// service's real server without port) matches any port.
func natReal(s *Service, a netip.AddrPort, reply bool) []expr.Any {
	load, portOff := dstAddr(s, regVal), uint32(2)
	if reply {
		load, portOff = srcAddr(s, regVal), 0
	}
	e := []expr.Any{load, &expr.Cmp{Op: expr.CmpOpEq, Register: regVal, Data: addrBytes(a.Addr())}}
	if p := a.Port(); p != 0 {
		e = append(e,
			&expr.Payload{DestRegister: regVal, Base: expr.PayloadBaseTransportHeader, Offset: portOff, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: regVal, Data: binaryutil.BigEndian.PutUint16(p)})
	}
	return e
}

// destCounters are the expressions put first in the forwarding rule of a
// destination chain: the in counter under DR (every packet passes it).
// newConnRule is the rule before it counting new connections.
func (n *NFT) destCounters(s *Service, dst Dest) []expr.Any {
	k := realIndex(s, dst)
	if k < 0 || s.Method != "DR" {
		return nil
	}
	return []expr.Any{objref(counterName(n.svcIdx[s], k, "in"))}
}

// newConnRule counts a new connection to dst. Under NAT the destination
// chain sees nothing else; under DR it is a TCP SYN (without ACK or RST),
// or a UDP packet whose flow has no binding yet in bind.
func (n *NFT) newConnRule(s *Service, dst Dest, bind *nftables.Set) []expr.Any {
	k := realIndex(s, dst)
	if k < 0 {
		return nil
	}
	count := objref(counterName(n.svcIdx[s], k, "conns"))
	if s.Method != "DR" {
		return []expr.Any{count}
	}
	if s.Protocol != "udp" {
		return []expr.Any{
			&expr.Payload{DestRegister: regVal, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
			&expr.Bitwise{SourceRegister: regVal, DestRegister: regVal, Len: 1, Mask: []byte{tcpSYN | tcpACK | tcpRST}, Xor: []byte{0}},
			&expr.Cmp{Op: expr.CmpOpEq, Register: regVal, Data: []byte{tcpSYN}},
			count,
		}
	}
	return append(bindKey(s, dst.Addr.Addr()), &expr.Lookup{SourceRegister: regKey, SetName: bind.Name, Invert: true}, count)
}

// trafficStats reads every counter object of the tables in use, one dump
// per table, into the destinations of ds.
func (n *NFT) trafficStats(ds []Desired, out map[DestKey]DestStats) {
	counters := map[*nftables.Table]map[string]*nftables.CounterObj{}
	for _, d := range ds {
		s := d.Svc
		t := n.table(s)
		objs, ok := counters[t]
		if !ok {
			objs = map[string]*nftables.CounterObj{}
			if list, err := n.conn.GetObjects(t); err == nil {
				for _, o := range list {
					if co, ok := o.(*nftables.CounterObj); ok {
						objs[co.Name] = co
					}
				}
			}
			counters[t] = objs
		}
		i := n.svcIdx[s]
		for k, a := range destAddrs(s) {
			conns, in := objs[counterName(i, k, "conns")], objs[counterName(i, k, "in")]
			if conns == nil || in == nil {
				continue // table gone: the runtime keeps the last values
			}
			tr := &Traffic{Conns: int64(conns.Packets), InPkts: int64(in.Packets), InBytes: int64(in.Bytes)}
			if o := objs[counterName(i, k, "out")]; o != nil {
				tr.OutPkts, tr.OutBytes, tr.Replies = int64(o.Packets), int64(o.Bytes), true
			}
			key := DestKey{Svc: s, Addr: a}
			st := out[key]
			st.Traffic = tr
			out[key] = st
		}
	}
}
