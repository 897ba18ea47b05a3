package lvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TableName is the nftables table dhproxy owns (family ip for NAT, netdev
// for DR). Nothing else in the ruleset is touched.
const TableName = "dhproxy_lvs"

// nftables registers: 1..4 are 16-byte registers, 8.. their 4-byte parts.
const (
	reg1     = 1  // a destination: address (4) . port (2+2), or a MAC
	reg1Port = 9  // the port half of reg1
	reg2     = 2  // a key: the (masked) client address [. client port]
	reg2Port = 13 // the port half of reg2
	reg3     = 3  // scratch: slot number, ifindex, MAC
)

// Flow idle timeout of the DR flow table (no conntrack on netdev ingress).
const drFlowTimeout = 5 * time.Minute

// maxSlots bounds a scheduler map (weights are scaled down beyond it).
const maxSlots = 256

// NFT is the nftables datapath: DNAT for lb_kind NAT (conntrack undoes it
// on replies routed back through the director), MAC rewriting on the
// interface's ingress for lb_kind DR.
type NFT struct {
	logf   func(string)
	mu     sync.Mutex
	conn   *nftables.Conn
	nat    *nftables.Table
	dr     *nftables.Table
	svcIdx map[*Service]int
	port   map[*Service]uint16 // the one port of every destination, when they share it
	dev    map[*Service]*drDev // DR services: the interface towards the real servers
	macs   map[netip.Addr]net.HardwareAddr
}

type drDev struct {
	link  netlink.Link
	chain *nftables.Chain
}

// NewNFT checks that every service can run on nftables and creates the
// tables (replacing stale ones left by a killed process).
func NewNFT(svcs []*Service, logf func(string)) (*NFT, error) {
	n := &NFT{logf: logf, svcIdx: map[*Service]int{}, port: map[*Service]uint16{}, dev: map[*Service]*drDev{}, macs: map[netip.Addr]net.HardwareAddr{}}
	for i, s := range svcs {
		n.svcIdx[s] = i
		if p, ok := sharedPort(s); ok {
			n.port[s] = p
		}
		for _, m := range s.Match {
			if m.FWMark == 0 && !m.First.Is4() {
				return nil, fmt.Errorf("VS %s: the nftables datapath handles IPv4 only", s.Name)
			}
		}
		if s.Method == "TUN" {
			return nil, fmt.Errorf("VS %s: lb_kind TUN is not supported by the nftables datapath", s.Name)
		}
		if _, _, notice := kernelScheduler(s.Sched); notice != "" {
			logf(notice + " for VS " + s.Name)
		}
	}
	c, err := nftables.New()
	if err != nil {
		return nil, err
	}
	n.conn = c
	n.nat = &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}
	n.dr = &nftables.Table{Name: TableName, Family: nftables.TableFamilyNetdev}
	n.removeTables()
	for _, s := range svcs {
		if s.Method != "DR" {
			continue
		}
		d, err := n.drDevice(s)
		if err != nil {
			return nil, err
		}
		n.dev[s] = d
	}
	if err := n.create(svcs); err != nil {
		n.removeTables()
		return nil, fmt.Errorf("nftables: %w", err)
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); err == nil && strings.TrimSpace(string(b)) == "0" {
		logf("net.ipv4.ip_forward is 0: lb_kind NAT needs it set to 1 to forward to the real servers")
	}
	return n, nil
}

func (n *NFT) Name() string { return "nftables" }

// removeTables deletes dhproxy's tables, ignoring absent ones.
func (n *NFT) removeTables() {
	for _, t := range []*nftables.Table{n.nat, n.dr} {
		n.conn.AddTable(t)
		n.conn.DelTable(t)
		n.conn.Flush()
	}
}

func (n *NFT) natChain(name string) *nftables.Chain {
	return &nftables.Chain{Name: name, Table: n.nat}
}

func persistSet(t *nftables.Table, i int) *nftables.Set {
	return &nftables.Set{Table: t, Name: fmt.Sprintf("vs%d_persist", i)}
}

func schedSet(t *nftables.Table, i int) *nftables.Set {
	return &nftables.Set{Table: t, Name: fmt.Sprintf("vs%d_sched", i)}
}

func flowSet(t *nftables.Table, i int) *nftables.Set {
	return &nftables.Set{Table: t, Name: fmt.Sprintf("vs%d_flows", i)}
}

var (
	addrPortType, _ = nftables.ConcatSetType(nftables.TypeIPAddr, nftables.TypeInetService)
)

// create builds the tables, chains and maps, empty, in one batch.
func (n *NFT) create(svcs []*Service) error {
	c := n.conn
	c.AddTable(n.nat)
	pre := &nftables.Chain{Name: "prerouting", Table: n.nat, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest}
	out := &nftables.Chain{Name: "output", Table: n.nat, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest}
	c.AddChain(pre)
	c.AddChain(out)
	c.AddChain(n.natChain("services"))
	for _, ch := range []*nftables.Chain{pre, out} {
		c.AddRule(&nftables.Rule{Table: n.nat, Chain: ch, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: "services"}}})
	}
	devChains := map[string]bool{}
	for _, s := range svcs {
		i := n.svcIdx[s]
		if s.Method == "DR" {
			d := n.dev[s]
			if !devChains[d.chain.Name] {
				if len(devChains) == 0 {
					c.AddTable(n.dr)
				}
				devChains[d.chain.Name] = true
				c.AddChain(d.chain)
			}
			fkey := addrPortType
			timeout := drFlowTimeout
			if s.Persist > 0 {
				fkey, timeout = nftables.TypeIPAddr, s.Persist
			}
			if err := c.AddSet(&nftables.Set{Table: n.dr, Name: flowSet(n.dr, i).Name, IsMap: true, Dynamic: true, HasTimeout: true, Timeout: timeout,
				KeyType: fkey, DataType: nftables.TypeEtherAddr, Size: 65536, Concatenation: s.Persist == 0}, nil); err != nil {
				return err
			}
			if err := c.AddSet(&nftables.Set{Table: n.dr, Name: schedSet(n.dr, i).Name, IsMap: true,
				KeyType: nftables.TypeInteger, DataType: nftables.TypeEtherAddr, KeyByteOrder: binaryutil.NativeEndian}, nil); err != nil {
				return err
			}
			continue
		}
		c.AddChain(n.natChain(fmt.Sprintf("vs%d", i)))
		data := addrPortType
		if _, shared := n.port[s]; shared {
			data = nftables.TypeIPAddr
		}
		if s.Persist > 0 {
			if err := c.AddSet(&nftables.Set{Table: n.nat, Name: persistSet(n.nat, i).Name, IsMap: true, Dynamic: true, HasTimeout: true, Timeout: s.Persist,
				KeyType: nftables.TypeIPAddr, DataType: data, Size: 65536}, nil); err != nil {
				return err
			}
		}
		if err := c.AddSet(&nftables.Set{Table: n.nat, Name: schedSet(n.nat, i).Name, IsMap: true,
			KeyType: nftables.TypeInteger, DataType: data, KeyByteOrder: binaryutil.NativeEndian}, nil); err != nil {
			return err
		}
	}
	return c.Flush()
}

// drDevice finds the interface the real servers are reached on: DR
// forwards frames out of it to their MAC addresses.
func (n *NFT) drDevice(s *Service) (*drDev, error) {
	var probe netip.Addr
	for _, r := range s.Reals {
		probe = r.Addr.Addr()
		break
	}
	if !probe.IsValid() && s.Sorry != nil {
		probe = s.Sorry.Addr.Addr()
	}
	if !probe.IsValid() {
		return nil, fmt.Errorf("VS %s: lb_kind DR needs a real server", s.Name)
	}
	routes, err := netlink.RouteGet(probe.AsSlice())
	if err != nil || len(routes) == 0 {
		return nil, fmt.Errorf("VS %s: no route to real server %s: %v", s.Name, probe, err)
	}
	if routes[0].Gw != nil {
		return nil, fmt.Errorf("VS %s: real server %s is behind gateway %s; lb_kind DR needs the real servers on a directly connected network", s.Name, probe, routes[0].Gw)
	}
	link, err := netlink.LinkByIndex(routes[0].LinkIndex)
	if err != nil {
		return nil, err
	}
	name := link.Attrs().Name
	return &drDev{link: link, chain: &nftables.Chain{Name: "ingress_" + name, Table: n.dr, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookIngress, Priority: nftables.ChainPriorityFilter, Device: name}}, nil
}

// Apply replaces every service's rules and scheduler maps in one netlink
// batch, so packets see either the old or the new set, never a mix.
func (n *NFT) Apply(ds []Desired) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	c := n.conn
	c.FlushChain(n.natChain("services"))
	flushed := map[*nftables.Chain]bool{}
	for _, d := range ds {
		s := d.Svc
		i := n.svcIdx[s]
		if s.Method == "DR" {
			dev := n.dev[s]
			if !flushed[dev.chain] {
				c.FlushChain(dev.chain)
				flushed[dev.chain] = true
			}
			if err := n.applyDR(d, i, dev); err != nil {
				return err
			}
			continue
		}
		if err := n.applyNAT(d, i); err != nil {
			return err
		}
	}
	return c.Flush()
}

// matchExprs matches one entry of a service (address range, port,
// protocol, or fwmark); ether selects netdev, where the frame's type must
// be checked first.
func matchExprs(s *Service, m Match, ether bool) []expr.Any {
	var e []expr.Any
	if ether {
		e = append(e,
			&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.BigEndian.PutUint16(unix.ETH_P_IP)})
	}
	if m.FWMark != 0 {
		return append(e,
			&expr.Meta{Key: expr.MetaKeyMARK, Register: reg1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.NativeEndian.PutUint32(m.FWMark)})
	}
	e = append(e, &expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4})
	if m.First == m.Last {
		e = append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: m.First.AsSlice()})
	} else {
		e = append(e, &expr.Range{Op: expr.CmpOpEq, Register: reg1, FromData: m.First.AsSlice(), ToData: m.Last.AsSlice()})
	}
	proto := byte(unix.IPPROTO_TCP)
	if s.Protocol == "udp" {
		proto = unix.IPPROTO_UDP
	}
	e = append(e,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: reg1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: []byte{proto}})
	if m.Port != 0 {
		e = append(e,
			&expr.Payload{DestRegister: reg1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: reg1, Data: binaryutil.BigEndian.PutUint16(m.Port)})
	}
	return e
}

// clientKey loads the persistence key into reg2: the client address
// masked with persistence_granularity, or (DR without persistence) the
// client address and port, which names the flow.
func clientKey(s *Service, withPort bool) []expr.Any {
	e := []expr.Any{&expr.Payload{DestRegister: reg2, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}}
	if s.Persist > 0 {
		return append(e, &expr.Bitwise{SourceRegister: reg2, DestRegister: reg2, Len: 4, Mask: s.Mask.AsSlice(), Xor: make([]byte, 4)})
	}
	if withPort {
		e = append(e, &expr.Payload{DestRegister: reg2Port, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2})
	}
	return e
}

// schedExprs puts the slot number of a new connection in reg3: a counter
// for round robin, a hash of the client or destination address otherwise.
func schedExprs(s *Service, total int) []expr.Any {
	k, _, _ := kernelScheduler(s.Sched)
	switch k {
	case kernelHashSrc, kernelHashDst:
		off := uint32(12)
		if k == kernelHashDst {
			off = 16
		}
		return []expr.Any{
			&expr.Payload{DestRegister: reg3, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: 4},
			&expr.Hash{SourceRegister: reg3, DestRegister: reg3, Length: 4, Modulus: uint32(total), Seed: 0x6468, Type: expr.HashTypeJenkins},
		}
	}
	return []expr.Any{&expr.Numgen{Register: reg3, Modulus: uint32(total), Type: unix.NFT_NG_INCREMENTAL}}
}

// slotPlan spreads the destinations able to take new clients over slots.
func slotPlan(s *Service, dests []Dest) (owner []int) {
	k, weighted, _ := kernelScheduler(s.Sched)
	ws := make([]int, len(dests))
	best := -1
	for i, d := range dests {
		if d.Weight <= 0 {
			continue
		}
		ws[i] = 1
		if weighted {
			ws[i] = d.Weight
		}
		if best < 0 || d.Weight > dests[best].Weight {
			best = i
		}
	}
	if k == kernelHighest && best >= 0 {
		return []int{best}
	}
	for i, n := range slots(ws, maxSlots) {
		for range n {
			owner = append(owner, i)
		}
	}
	return owner
}

// sharedPort reports the port every real server (and the sorry server)
// listens on, when they agree.
func sharedPort(s *Service) (uint16, bool) {
	var all []netip.AddrPort
	for _, r := range s.Reals {
		all = append(all, r.Addr)
	}
	if s.Sorry != nil {
		all = append(all, s.Sorry.Addr)
	}
	for _, a := range all {
		if a.Port() != all[0].Port() {
			return 0, false
		}
	}
	if len(all) == 0 {
		return 0, false
	}
	return all[0].Port(), true
}

func addrPortBytes(a netip.AddrPort) []byte {
	b := make([]byte, 8)
	copy(b, a.Addr().AsSlice())
	binary.BigEndian.PutUint16(b[4:], a.Port())
	return b
}

func (n *NFT) applyNAT(d Desired, i int) error {
	c, s := n.conn, d.Svc
	vs := n.natChain(fmt.Sprintf("vs%d", i))
	for _, m := range s.Match {
		c.AddRule(&nftables.Rule{Table: n.nat, Chain: n.natChain("services"), Exprs: append(matchExprs(s, m, false),
			&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictJump, Chain: vs.Name})})
	}
	c.FlushChain(vs)
	// The maps hold addresses only when every destination has the same
	// port (the usual case, and what `nft list` can print); otherwise
	// address . port.
	dnatTo := []expr.Any{&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1, RegProtoMin: reg1Port, Specified: true}}
	value := addrPortBytes
	if p, shared := n.port[s]; shared {
		value = func(a netip.AddrPort) []byte { return a.Addr().AsSlice() }
		if p == 0 { // fwmark services without ports keep the client's port
			dnatTo = []expr.Any{&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1}}
		} else {
			dnatTo = []expr.Any{&expr.Immediate{Register: reg3, Data: binaryutil.BigEndian.PutUint16(p)},
				&expr.NAT{Type: expr.NATTypeDestNAT, Family: unix.NFPROTO_IPV4, RegAddrMin: reg1, RegProtoMin: reg3, Specified: true}}
		}
	}
	if s.Persist > 0 {
		ps := persistSet(n.nat, i)
		if err := n.dropStale(ps, d.Dests, func(v []byte) (netip.AddrPort, bool) {
			switch {
			case len(v) >= 6:
				return netip.AddrPortFrom(netip.AddrFrom4([4]byte(v[:4])), binary.BigEndian.Uint16(v[4:6])), true
			case len(v) == 4:
				return netip.AddrPortFrom(netip.AddrFrom4([4]byte(v)), n.port[s]), true
			}
			return netip.AddrPort{}, false
		}); err != nil {
			return err
		}
		// A client seen within persistence_timeout goes where it went before.
		hit := append(clientKey(s, false),
			&expr.Lookup{SourceRegister: reg2, DestRegister: reg1, IsDestRegSet: true, SetName: ps.Name},
			&expr.Dynset{SrcRegKey: reg2, SrcRegData: reg1, SetName: ps.Name, Operation: unix.NFT_DYNSET_OP_UPDATE, Timeout: s.Persist})
		c.AddRule(&nftables.Rule{Table: n.nat, Chain: vs, Exprs: append(hit, dnatTo...)})
	}
	sched := schedSet(n.nat, i)
	c.FlushSet(sched)
	owner := slotPlan(s, d.Dests)
	if len(owner) == 0 {
		return nil
	}
	elems := make([]nftables.SetElement, len(owner))
	for slot, o := range owner {
		elems[slot] = nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(uint32(slot)), Val: value(d.Dests[o].Addr)}
	}
	if err := c.SetAddElements(sched, elems); err != nil {
		return err
	}
	e := append(schedExprs(s, len(owner)), &expr.Lookup{SourceRegister: reg3, DestRegister: reg1, IsDestRegSet: true, SetName: sched.Name})
	if s.Persist > 0 {
		e = append(e, clientKey(s, false)...)
		e = append(e, &expr.Dynset{SrcRegKey: reg2, SrcRegData: reg1, SetName: persistSet(n.nat, i).Name, Operation: unix.NFT_DYNSET_OP_UPDATE, Timeout: s.Persist})
	}
	c.AddRule(&nftables.Rule{Table: n.nat, Chain: vs, Exprs: append(e, dnatTo...)})
	return nil
}

// dropStale removes persistence entries that point at a destination no
// longer listed, so their clients are scheduled afresh.
func (n *NFT) dropStale(set *nftables.Set, dests []Dest, decode func([]byte) (netip.AddrPort, bool)) error {
	full, err := n.conn.GetSetByName(set.Table, set.Name)
	if err != nil {
		return err
	}
	elems, err := n.conn.GetSetElements(full)
	if err != nil {
		return err
	}
	var stale []nftables.SetElement
	for _, el := range elems {
		a, ok := decode(el.Val)
		if !ok || !listed(dests, a) {
			stale = append(stale, nftables.SetElement{Key: el.Key})
		}
	}
	if len(stale) == 0 {
		return nil
	}
	return n.conn.SetDeleteElements(full, stale)
}

func listed(dests []Dest, a netip.AddrPort) bool {
	for _, d := range dests {
		if d.Addr == a || (a.Port() == 0 && d.Addr.Addr() == a.Addr()) {
			return true
		}
	}
	return false
}

// applyDR programs MAC-rewrite forwarding on the director's interface:
// known flows (or persistent clients) keep their real server; new ones
// are scheduled; the frame leaves the same interface towards the real
// server's MAC, its IP header untouched (the VIP stays the destination).
func (n *NFT) applyDR(d Desired, i int, dev *drDev) error {
	c, s := n.conn, d.Svc
	own := dev.link.Attrs().HardwareAddr
	macOf := map[netip.Addr]net.HardwareAddr{}
	for _, dst := range d.Dests {
		mac, err := n.resolveMAC(dst.Addr.Addr(), dev.link)
		if err != nil {
			n.logf(fmt.Sprintf("VS %s: real server %s: %v; it gets no traffic until its MAC is known", s.Name, dst.Addr, err))
			continue
		}
		macOf[dst.Addr.Addr()] = mac
	}
	var usable []Dest
	for _, dst := range d.Dests {
		if macOf[dst.Addr.Addr()] != nil {
			usable = append(usable, dst)
		}
	}
	flows := flowSet(n.dr, i)
	if err := n.dropStale(flows, usable, func(v []byte) (netip.AddrPort, bool) {
		for a, m := range macOf {
			if len(v) >= 6 && string(m) == string(v[:6]) {
				return netip.AddrPortFrom(a, 0), true
			}
		}
		return netip.AddrPort{}, false
	}); err != nil {
		return err
	}
	out := []expr.Any{
		&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: reg1, Base: expr.PayloadBaseLLHeader, Offset: 0, Len: 6},
		&expr.Immediate{Register: reg3, Data: own},
		&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: reg3, Base: expr.PayloadBaseLLHeader, Offset: 6, Len: 6},
		&expr.Immediate{Register: reg3, Data: binaryutil.NativeEndian.PutUint32(uint32(dev.link.Attrs().Index))},
		// The library has no fwd expression: dup to the device, then drop.
		&expr.Dup{RegDev: reg3, IsRegDevSet: true},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
	refresh := &expr.Dynset{SrcRegKey: reg2, SrcRegData: reg1, SetName: flows.Name, Operation: unix.NFT_DYNSET_OP_UPDATE, Timeout: flowTimeout(s)}
	sched := schedSet(n.dr, i)
	c.FlushSet(sched)
	owner := slotPlan(s, usable)
	if len(owner) > 0 {
		elems := make([]nftables.SetElement, len(owner))
		for slot, o := range owner {
			elems[slot] = nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(uint32(slot)), Val: macOf[usable[o].Addr.Addr()]}
		}
		if err := c.SetAddElements(sched, elems); err != nil {
			return err
		}
	}
	for _, m := range s.Match {
		known := append(matchExprs(s, m, true), clientKey(s, true)...)
		known = append(known, &expr.Lookup{SourceRegister: reg2, DestRegister: reg1, IsDestRegSet: true, SetName: flows.Name}, refresh)
		c.AddRule(&nftables.Rule{Table: n.dr, Chain: dev.chain, Exprs: append(known, out...)})
		if len(owner) == 0 {
			continue
		}
		fresh := append(matchExprs(s, m, true), schedExprs(s, len(owner))...)
		fresh = append(fresh, &expr.Lookup{SourceRegister: reg3, DestRegister: reg1, IsDestRegSet: true, SetName: sched.Name})
		fresh = append(fresh, clientKey(s, true)...)
		fresh = append(fresh, refresh)
		c.AddRule(&nftables.Rule{Table: n.dr, Chain: dev.chain, Exprs: append(fresh, out...)})
	}
	return nil
}

func flowTimeout(s *Service) time.Duration {
	if s.Persist > 0 {
		return s.Persist
	}
	return drFlowTimeout
}

// resolveMAC reads the real server's MAC from the neighbour table; when
// absent, a datagram to the discard port makes the kernel resolve it.
func (n *NFT) resolveMAC(a netip.Addr, link netlink.Link) (net.HardwareAddr, error) {
	deadline := time.Now().Add(2 * time.Second)
	poked := false
	for {
		neighs, err := netlink.NeighList(link.Attrs().Index, netlink.FAMILY_V4)
		if err != nil {
			return nil, err
		}
		for _, ne := range neighs {
			if ip, ok := netip.AddrFromSlice(ne.IP); ok && ip.Unmap() == a && len(ne.HardwareAddr) == 6 &&
				ne.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE) == 0 {
				n.macs[a] = ne.HardwareAddr
				return ne.HardwareAddr, nil
			}
		}
		if time.Now().After(deadline) {
			if m := n.macs[a]; m != nil {
				return m, nil
			}
			return nil, errors.New("no ARP answer")
		}
		if !poked {
			if u, err := net.Dial("udp4", netip.AddrPortFrom(a, 9).String()); err == nil {
				u.Write([]byte{0})
				u.Close()
			}
			poked = true
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stats counts connections per destination: NAT from conntrack (TCP
// ESTABLISHED is active, other states inactive, as IPVS counts), DR from
// the flow table (every live flow is active).
func (n *NFT) Stats(ds []Desired) map[DestKey]DestStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[DestKey]DestStats{}
	var flows []*netlink.ConntrackFlow
	loaded := false
	for _, d := range ds {
		s := d.Svc
		if s.Method == "DR" {
			n.drStats(d, out)
			continue
		}
		if !loaded {
			flows, _ = netlink.ConntrackTableList(netlink.ConntrackTable, netlink.FAMILY_V4)
			loaded = true
		}
		for _, f := range flows {
			dst, _ := netip.AddrFromSlice(f.Forward.DstIP)
			if !serviceHas(s, dst.Unmap(), f.Forward.DstPort, f.Forward.Protocol) {
				continue
			}
			rs, _ := netip.AddrFromSlice(f.Reverse.SrcIP)
			key := DestKey{Svc: s, Addr: netip.AddrPortFrom(rs.Unmap(), f.Reverse.SrcPort)}
			st := out[key]
			if tcp, ok := f.ProtoInfo.(*netlink.ProtoInfoTCP); ok && tcp.State == 3 { // TCP_CONNTRACK_ESTABLISHED
				st.Active++
			} else {
				st.Inactive++
			}
			out[key] = st
		}
	}
	return out
}

func serviceHas(s *Service, a netip.Addr, port uint16, proto uint8) bool {
	want := uint8(unix.IPPROTO_TCP)
	if s.Protocol == "udp" {
		want = unix.IPPROTO_UDP
	}
	if proto != want {
		return false
	}
	for _, m := range s.Match {
		if m.FWMark == 0 && a.Compare(m.First) >= 0 && a.Compare(m.Last) <= 0 && (m.Port == 0 || m.Port == port) {
			return true
		}
	}
	return false
}

func (n *NFT) drStats(d Desired, out map[DestKey]DestStats) {
	set, err := n.conn.GetSetByName(n.dr, flowSet(n.dr, n.svcIdx[d.Svc]).Name)
	if err != nil {
		return
	}
	elems, err := n.conn.GetSetElements(set)
	if err != nil {
		return
	}
	for _, el := range elems {
		for _, dst := range d.Dests {
			if m := n.macs[dst.Addr.Addr()]; m != nil && len(el.Val) >= 6 && string(el.Val[:6]) == string(m) {
				k := DestKey{Svc: d.Svc, Addr: dst.Addr}
				st := out[k]
				st.Active++
				out[k] = st
			}
		}
	}
}

// Close removes dhproxy's tables.
func (n *NFT) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.removeTables()
	return n.conn.CloseLasting()
}
