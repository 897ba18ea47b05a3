package lvs

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// TableName is the nftables table dhproxy owns (family ip and ip6 for
// NAT, netdev for DR). Nothing else in the ruleset is touched.
const TableName = "dhproxy_lvs"

// nftables registers, numbered in 4-byte units as nft itself does.
const (
	regKey  = 12 // the flow key: client address [. client port] . real server
	regSlot = 16 // the scheduler's slot number; scratch
	regVal  = 8  // values written to the packet (address, port, MAC, ifindex)
)

// Flow idle timeout of the DR flow table (no conntrack on netdev ingress).
const drFlowTimeout = 5 * time.Minute

// maxSlots bounds a scheduler map (weights are scaled down beyond it).
const maxSlots = 256

// NFT is the nftables datapath: DNAT for lb_kind NAT (conntrack undoes it
// on replies routed back through the director), MAC rewriting on the
// interface's ingress for lb_kind DR; a DR service matched by fwmark is
// forwarded from prerouting instead (markedDR).
//
// Each service i has a chain vs<i>: rules for clients already bound to a
// destination (persistence, or DR's flow table), then the scheduler, a
// verdict map from slot to the chain vs<i>_d<k> of destination k, which
// records the binding and forwards. Every rule is one nft can print.
type NFT struct {
	logf   func(string)
	mu     sync.Mutex
	conn   *nftables.Conn
	nat    *nftables.Table // IPv4 NAT and marked DR services
	nat6   *nftables.Table // IPv6 NAT and marked DR services
	dr     *nftables.Table
	svcIdx map[*Service]int
	dev    map[*Service]*drDev // DR services: the interface towards the real servers
	macs   map[netip.Addr]net.HardwareAddr
	last   []Desired     // what Apply last programmed
	stop   chan struct{} // ends maintain and followConntrack

	// Services scheduled from connection counts (lc, wlc, sed, nq, ovf).
	counts  *connCounter
	prog    map[*Service][]Dest // destinations programmed, in chain order
	choice  map[*Service]int    // destination the single scheduler slot points at
	latency []time.Duration     // conntrack event or logged packet to committed rule

	// startCounts are the values the counter objects start from, by
	// counterKey: a reload carries those of the destinations it keeps.
	startCounts map[string]nftables.CounterObj

	// DR services scheduled from connection counts: the packets their
	// chains log to nflogGroup.
	drCounts   *drCounter
	nflogGroup uint16
}

type drDev struct {
	link  netlink.Link
	chain *nftables.Chain
}

// NewNFT checks that every service can run on nftables and creates the
// tables (replacing stale ones left by a killed process).
func NewNFT(svcs []*Service, logf func(string)) (*NFT, error) {
	return newNFT(svcs, logf, nil, nil)
}

// newNFT is NewNFT; with reload set, the tables of the running process
// are replaced in the same batch that creates the new ones and programs
// reload's state, so the NAT hooks never leave the kernel and conntrack
// keeps translating the connections already established.
func newNFT(svcs []*Service, logf func(string), reload []Desired, carry *nftCarry) (*NFT, error) {
	n := &NFT{logf: logf, svcIdx: map[*Service]int{}, dev: map[*Service]*drDev{}, macs: map[netip.Addr]net.HardwareAddr{},
		prog: map[*Service][]Dest{}, choice: map[*Service]int{}}
	var countedSvcs []*Service
	drCountedSvcs := map[int]*Service{}
	for i, s := range svcs {
		n.svcIdx[s] = i
		if err := checkFamily(s); err != nil {
			return nil, err
		}
		if s.Method == "TUN" {
			return nil, fmt.Errorf("VS %s: lb_kind TUN is not supported by the nftables datapath", s.Name)
		}
		if _, _, notice := kernelScheduler(s.Sched); notice != "" {
			logf(notice + " for VS " + s.Name)
		}
		if drCounted(s) {
			drCountedSvcs[i] = s
		} else if counted(s) {
			countedSvcs = append(countedSvcs, s)
		}
	}
	ctFD := -1
	if len(countedSvcs) > 0 {
		fd, err := ctSocket(ctGroups)
		if err != nil {
			return nil, fmt.Errorf("lb_algo %s needs conntrack events (nf_conntrack_netlink): %v", countedSvcs[0].Sched, err)
		}
		ctFD = fd
		n.counts = newConnCounter(countedSvcs)
	}
	logFD := -1
	if len(drCountedSvcs) > 0 {
		fd, group, err := nflogSocket(nflogGroupBase)
		if err != nil {
			if ctFD >= 0 {
				unix.Close(ctFD)
			}
			return nil, fmt.Errorf("lb_algo lc, wlc, sed, nq, ovf with lb_kind DR count connections from logged packets (nfnetlink_log): %v", err)
		}
		logFD, n.nflogGroup = fd, group
		n.drCounts = newDRCounter(drCountedSvcs)
	}
	closeFDs := func() {
		for _, fd := range []int{ctFD, logFD} {
			if fd >= 0 {
				unix.Close(fd)
			}
		}
	}
	c, err := nftables.New()
	if err != nil {
		return nil, err
	}
	n.conn = c
	n.nat = &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv4}
	n.nat6 = &nftables.Table{Name: TableName, Family: nftables.TableFamilyIPv6}
	n.dr = &nftables.Table{Name: TableName, Family: nftables.TableFamilyNetdev}
	if reload == nil {
		n.removeTables()
	}
	for _, s := range svcs {
		if s.Method != "DR" {
			continue
		}
		d, err := n.drDevice(s)
		if err != nil {
			closeFDs()
			return nil, err
		}
		n.dev[s] = d
	}
	if carry != nil {
		n.startCounts = carry.counters
	}
	if err := n.build(svcs, reload, carry); err != nil {
		if reload == nil {
			n.removeTables()
		}
		closeFDs()
		return nil, fmt.Errorf("nftables: %w", err)
	}
	n.startCounts = nil // tables re-created later count from zero
	n.stop = make(chan struct{})
	go n.maintain(svcs, 2*time.Second)
	if ctFD >= 0 {
		go n.followConntrack(ctFD)
	}
	if logFD >= 0 {
		go n.followNflog(logFD)
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); err == nil && strings.TrimSpace(string(b)) == "0" && hasNAT(svcs, false) {
		logf("net.ipv4.ip_forward is 0: lb_kind NAT needs it set to 1 to forward to the real servers")
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv6/conf/all/forwarding"); err == nil && strings.TrimSpace(string(b)) == "0" && hasNAT(svcs, true) {
		logf("net.ipv6.conf.all.forwarding is 0: lb_kind NAT over IPv6 needs it set to 1 to forward to the real servers")
	}
	return n, nil
}

func hasNAT(svcs []*Service, v6 bool) bool {
	for _, s := range svcs {
		if s.Method == "NAT" && s.is6() == v6 {
			return true
		}
	}
	return false
}

// is6 says whether a service is IPv6: its addresses, or for a fwmark
// service its real servers'.
func (s *Service) is6() bool {
	for _, m := range s.Match {
		if m.FWMark == 0 {
			return m.First.Unmap().Is6()
		}
	}
	for _, r := range s.Reals {
		return r.Addr.Addr().Unmap().Is6()
	}
	return s.Sorry != nil && s.Sorry.Addr.Addr().Unmap().Is6()
}

// checkFamily refuses a service mixing IPv4 and IPv6 (IPVS services have
// one family too).
func checkFamily(s *Service) error {
	v6 := s.is6()
	for _, m := range s.Match {
		if m.FWMark == 0 && m.First.Unmap().Is6() != v6 {
			return fmt.Errorf("VS %s mixes IPv4 and IPv6 addresses; use one virtual_server per family", s.Name)
		}
	}
	for _, r := range append(slices.Clone(s.Reals), s.Sorry) {
		if r != nil && r.Addr.Addr().Unmap().Is6() != v6 {
			return fmt.Errorf("VS %s: real server %s is not of the virtual server's address family", s.Name, r.Name)
		}
	}
	return nil
}

// addrLen is the length of the service's addresses in packets.
func addrLen(s *Service) uint32 {
	if s.is6() {
		return 16
	}
	return 4
}

// addrBytes is a in the service's family (IPv4 as 4 bytes).
func addrBytes(a netip.Addr) []byte { return a.Unmap().AsSlice() }

func (n *NFT) Name() string { return "nftables" }

// removeTables deletes dhproxy's tables, ignoring absent ones.
func (n *NFT) removeTables() {
	for _, t := range []*nftables.Table{n.nat, n.nat6, n.dr} {
		n.conn.AddTable(t)
		n.conn.DelTable(t)
		n.conn.Flush()
	}
}

// markedDR says whether s is a DR service matched by fwmark. The mark is
// set in prerouting (iptables' or nft's mangle), after the netdev ingress
// hook, so such a service is forwarded from a prerouting chain of the ip
// or ip6 table right after mangle (drMarkedChain), where the kernel routes
// each packet to its real server as next hop.
func markedDR(s *Service) bool { return s.Method == "DR" && hasFWMark(s) }

// drMarkedChain is the prerouting chain of the marked DR services.
const drMarkedChain = "dr_marked"

// table is where a service's rules live: netdev for DR, ip or ip6 for NAT
// and marked DR.
func (n *NFT) table(s *Service) *nftables.Table {
	if s.Method == "DR" && !markedDR(s) {
		return n.dr
	}
	if s.is6() {
		return n.nat6
	}
	return n.nat
}

// natTables are the ip and ip6 tables the services need (ip always, as
// before).
func (n *NFT) natTables(svcs []*Service) []*nftables.Table {
	out := []*nftables.Table{n.nat}
	for _, s := range svcs {
		if s.is6() && n.table(s) == n.nat6 {
			return append(out, n.nat6)
		}
	}
	return out
}

// hasMarkedDR says whether a marked DR service lives in table t.
func (n *NFT) hasMarkedDR(svcs []*Service, t *nftables.Table) bool {
	for _, s := range svcs {
		if markedDR(s) && n.table(s) == t {
			return true
		}
	}
	return false
}

// usesNetdev says whether a service needs the netdev table.
func (n *NFT) usesNetdev(svcs []*Service) bool {
	for _, s := range svcs {
		if n.table(s) == n.dr {
			return true
		}
	}
	return false
}

func (n *NFT) chain(s *Service, suffix string) *nftables.Chain {
	return &nftables.Chain{Name: fmt.Sprintf("vs%d%s", n.svcIdx[s], suffix), Table: n.table(s)}
}

func (n *NFT) destChain(s *Service, k int) *nftables.Chain {
	return n.chain(s, fmt.Sprintf("_d%d", k))
}

// bindSet is the set of (client key . real server) bindings of a service:
// persistence entries, or DR's flows. NAT without persistence has none:
// conntrack keeps each connection on its real server.
func (n *NFT) bindSet(s *Service) *nftables.Set {
	if s.Method != "DR" && s.Persist == 0 {
		return nil
	}
	return &nftables.Set{Table: n.table(s), Name: fmt.Sprintf("vs%d_bind", n.svcIdx[s])}
}

func (n *NFT) schedMap(s *Service) *nftables.Set {
	return &nftables.Set{Table: n.table(s), Name: fmt.Sprintf("vs%d_sched", n.svcIdx[s])}
}

// bindTimeout is how long a binding lives after its last use.
func bindTimeout(s *Service) time.Duration {
	if s.Persist > 0 {
		return s.Persist
	}
	return drFlowTimeout
}

// bindKeyType is client address [. client port] . real server address.
func bindKeyType(s *Service) nftables.SetDatatype {
	a := nftables.TypeIPAddr
	if s.is6() {
		a = nftables.TypeIP6Addr
	}
	t, _ := nftables.ConcatSetType(a, a)
	if s.Persist == 0 {
		t, _ = nftables.ConcatSetType(a, nftables.TypeInetService, a)
	}
	return t
}

// create builds the tables, chains and maps, empty, in one batch.
func (n *NFT) create(svcs []*Service) error { return n.build(svcs, nil, nil) }

// build is create; with reload, the batch first deletes the tables
// present and ends with reload's rules, and carry's bindings are put
// back into their services' new sets.
func (n *NFT) build(svcs []*Service, reload []Desired, carry *nftCarry) error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	if reload != nil {
		for _, t := range []*nftables.Table{n.nat, n.nat6, n.dr} {
			c.AddTable(t) // so that deleting it cannot fail
			c.DelTable(t)
		}
	}
	for _, t := range n.natTables(svcs) {
		c.AddTable(t)
		pre := &nftables.Chain{Name: "prerouting", Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest}
		out := &nftables.Chain{Name: "output", Table: t, Type: nftables.ChainTypeNAT, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest}
		c.AddChain(pre)
		c.AddChain(out)
		services := &nftables.Chain{Name: "services", Table: t}
		c.AddChain(services)
		for _, ch := range []*nftables.Chain{pre, out} {
			c.AddRule(&nftables.Rule{Table: t, Chain: ch, Exprs: []expr.Any{&expr.Verdict{Kind: expr.VerdictJump, Chain: services.Name}}})
		}
		if n.hasMarkedDR(svcs, t) {
			c.AddChain(&nftables.Chain{Name: drMarkedChain, Table: t, Type: nftables.ChainTypeFilter,
				Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityRef(*nftables.ChainPriorityMangle + 1)})
		}
	}
	devChains := map[string]bool{}
	for _, s := range svcs {
		if d := n.dev[s]; d != nil && !markedDR(s) && !devChains[d.chain.Name] {
			if len(devChains) == 0 {
				c.AddTable(n.dr)
			}
			devChains[d.chain.Name] = true
			c.AddChain(d.chain)
		}
		c.AddChain(n.chain(s, ""))
		for k := 0; k <= len(s.Reals); k++ { // the sorry server may be last
			c.AddChain(n.destChain(s, k))
		}
		if bs := n.bindSet(s); bs != nil {
			bs.Dynamic, bs.HasTimeout, bs.Timeout, bs.Size, bs.Concatenation = true, true, bindTimeout(s), 65536, true
			bs.KeyType = bindKeyType(s)
			var elems []nftables.SetElement
			if carry != nil {
				elems = carry.bindings[s]
			}
			if err := c.AddSet(bs, elems); err != nil {
				return err
			}
		}
		if drCounted(s) {
			if err := n.addSeenSet(c, s); err != nil {
				return err
			}
		}
		sm := n.schedMap(s)
		sm.IsMap, sm.KeyType, sm.DataType, sm.KeyByteOrder = true, nftables.TypeMark, nftables.TypeVerdict, binaryutil.NativeEndian
		if err := c.AddSet(sm, nil); err != nil {
			return err
		}
	}
	n.addCounters(c, svcs)
	if reload != nil {
		n.last = reload
		plans := make([]plan, len(reload))
		for i, d := range reload {
			plans[i] = plan{dests: d.Dests, bind: n.bindSet(d.Svc)}
			if dev := n.dev[d.Svc]; dev != nil {
				plans[i].dests = n.withMAC(d.Svc, d.Dests, dev.link)
			}
		}
		if err := n.queueRules(c, reload, plans); err != nil {
			return err
		}
	}
	return c.Flush()
}

// drDevice finds the interface the real servers are reached on: DR
// forwards frames out of it to their MAC addresses.
func (n *NFT) drDevice(s *Service) (*drDev, error) {
	var probe netip.Addr
	if len(s.Reals) > 0 {
		probe = s.Reals[0].Addr.Addr()
	} else if s.Sorry != nil {
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
// batch, so packets see either the old or the new set, never a mix. The
// kernel is read first (MACs, bindings to drop), then the batch is built
// and sent; a batch refused because a binding expired meanwhile is built
// again from a fresh read.
func (n *NFT) Apply(ds []Desired) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	select {
	case <-n.stop: // closed, or replaced by a reload
		return nil
	default:
	}
	n.last = ds
	err := n.applyOnce(ds)
	if err != nil {
		err = n.applyOnce(ds)
	}
	if err != nil {
		clear(n.choice) // programmed state unknown
	}
	return err
}

// plan is what applyOnce read from the kernel for one service.
type plan struct {
	dests []Dest                // those that can be forwarded to
	bind  *nftables.Set         // the binding set as the kernel has it, or nil
	stale []nftables.SetElement // bindings to real servers no longer listed
}

func (n *NFT) applyOnce(ds []Desired) error {
	plans := make([]plan, len(ds))
	for i, d := range ds {
		p := plan{dests: d.Dests}
		if dev := n.dev[d.Svc]; dev != nil {
			p.dests = n.withMAC(d.Svc, d.Dests, dev.link)
		}
		if bs := n.bindSet(d.Svc); bs != nil {
			var err error
			if p.bind, p.stale, err = n.staleBindings(bs, p.dests, addrLen(d.Svc)); err != nil {
				return err
			}
		}
		plans[i] = p
	}
	// A batch of its own: one that fails to build is dropped, never sent
	// half by a later Flush.
	c, err := nftables.New()
	if err != nil {
		return err
	}
	if err := n.queueRules(c, ds, plans); err != nil {
		return err
	}
	return c.Flush()
}

// queueRules replaces the entry rules and every service's chains.
func (n *NFT) queueRules(c *nftables.Conn, ds []Desired, plans []plan) error {
	svcs := make([]*Service, len(ds))
	for i, d := range ds {
		svcs[i] = d.Svc
	}
	for _, t := range n.natTables(svcs) {
		c.FlushChain(&nftables.Chain{Name: "services", Table: t})
		if n.hasMarkedDR(svcs, t) {
			c.FlushChain(&nftables.Chain{Name: drMarkedChain, Table: t})
		}
	}
	// Flushed once per interface: the DR services reached through one
	// interface share its ingress chain (each has its own *drDev).
	flushed := map[string]bool{}
	for i, d := range ds {
		s := d.Svc
		entry, ether := &nftables.Chain{Name: "services", Table: n.table(s)}, false
		if markedDR(s) {
			entry = &nftables.Chain{Name: drMarkedChain, Table: n.table(s)}
		} else if dev := n.dev[s]; dev != nil {
			entry, ether = dev.chain, true
			if !flushed[dev.chain.Name] {
				c.FlushChain(dev.chain)
				flushed[dev.chain.Name] = true
			}
		}
		for _, m := range s.Match {
			c.AddRule(&nftables.Rule{Table: entry.Table, Chain: entry, Exprs: append(matchExprs(s, m, ether),
				&expr.Counter{}, &expr.Verdict{Kind: expr.VerdictJump, Chain: n.chain(s, "").Name})})
		}
		if err := n.queueService(c, s, plans[i]); err != nil {
			return err
		}
	}
	return nil
}

// matchExprs matches one entry of a service (address range, port,
// protocol, or fwmark); ether selects netdev, where the frame's type must
// be checked first.
func matchExprs(s *Service, m Match, ether bool) []expr.Any {
	var e []expr.Any
	if ether {
		etherType := uint16(unix.ETH_P_IP)
		if s.is6() {
			etherType = unix.ETH_P_IPV6
		}
		e = append(e,
			&expr.Meta{Key: expr.MetaKeyPROTOCOL, Register: regVal},
			&expr.Cmp{Op: expr.CmpOpEq, Register: regVal, Data: binaryutil.BigEndian.PutUint16(etherType)})
	}
	if m.FWMark != 0 {
		return append(e,
			&expr.Meta{Key: expr.MetaKeyMARK, Register: regVal},
			&expr.Cmp{Op: expr.CmpOpEq, Register: regVal, Data: binaryutil.NativeEndian.PutUint32(m.FWMark)})
	}
	e = append(e, dstAddr(s, regVal))
	if m.First == m.Last {
		e = append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: regVal, Data: addrBytes(m.First)})
	} else {
		e = append(e, &expr.Range{Op: expr.CmpOpEq, Register: regVal, FromData: addrBytes(m.First), ToData: addrBytes(m.Last)})
	}
	proto := byte(unix.IPPROTO_TCP)
	if s.Protocol == "udp" {
		proto = unix.IPPROTO_UDP
	}
	e = append(e,
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: regVal},
		&expr.Cmp{Op: expr.CmpOpEq, Register: regVal, Data: []byte{proto}})
	if m.Port != 0 {
		e = append(e,
			&expr.Payload{DestRegister: regVal, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Cmp{Op: expr.CmpOpEq, Register: regVal, Data: binaryutil.BigEndian.PutUint16(m.Port)})
	}
	return e
}

// srcAddr and dstAddr load the packet's source or destination address
// (IPv4 or IPv6 header offsets).
func srcAddr(s *Service, reg uint32) *expr.Payload {
	if s.is6() {
		return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16}
	}
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4}
}

func dstAddr(s *Service, reg uint32) *expr.Payload {
	if s.is6() {
		return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16}
	}
	return &expr.Payload{DestRegister: reg, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4}
}

// persistMask is persistence_granularity in the service's family; an
// IPv6 service without an IPv6 mask keeps each client address whole.
func persistMask(s *Service) []byte {
	if s.is6() && !s.Mask.Is6() {
		return bytes.Repeat([]byte{0xff}, 16)
	}
	return s.Mask.AsSlice()
}

// bindKey loads the binding key for real server rs: the client address
// (masked with persistence_granularity), its port for a DR flow without
// persistence, and rs. Each part takes whole 4-byte registers.
func bindKey(s *Service, rs netip.Addr) []expr.Any {
	al := addrLen(s)
	e := []expr.Any{srcAddr(s, regKey)}
	next := regKey + al/4
	if s.Persist > 0 {
		e = append(e, &expr.Bitwise{SourceRegister: regKey, DestRegister: regKey, Len: al, Mask: persistMask(s), Xor: make([]byte, al)})
	} else {
		e = append(e, &expr.Payload{DestRegister: next, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2})
		next++
	}
	return append(e, &expr.Immediate{Register: next, Data: addrBytes(rs)})
}

// schedExprs puts the slot number of a new connection in regSlot: a
// counter for round robin, a hash of the client or destination address
// otherwise.
func schedExprs(s *Service, total int) []expr.Any {
	k, _, _ := kernelScheduler(s.Sched)
	switch k {
	case kernelLeast:
		return []expr.Any{&expr.Immediate{Register: regSlot, Data: binaryutil.NativeEndian.PutUint32(0)}}
	case kernelHashSrc, kernelHashDst:
		load := srcAddr(s, regSlot)
		if k == kernelHashDst {
			load = dstAddr(s, regSlot)
		}
		return []expr.Any{load,
			&expr.Hash{SourceRegister: regSlot, DestRegister: regSlot, Length: load.Len, Modulus: uint32(total), Seed: 0x6468, Type: expr.HashTypeJenkins},
		}
	}
	return []expr.Any{&expr.Numgen{Register: regSlot, Modulus: uint32(total), Type: unix.NFT_NG_INCREMENTAL}}
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

// queueService adds to the batch the rebuild of a service's chains and
// scheduler map.
func (n *NFT) queueService(c *nftables.Conn, s *Service, p plan) error {
	var out func(Dest) []expr.Any
	if dev := n.dev[s]; dev != nil && markedDR(s) {
		out = func(dst Dest) []expr.Any { return routeForward(dst, dev.link) }
	} else if dev != nil {
		out = func(dst Dest) []expr.Any { return n.drForward(dst, dev.link) }
	} else {
		out = natForward
	}
	if len(p.stale) > 0 {
		if err := c.SetDeleteElements(p.bind, p.stale); err != nil {
			return err
		}
	}
	vs := n.chain(s, "")
	c.FlushChain(vs)
	for k := 0; k <= len(s.Reals); k++ {
		c.FlushChain(n.destChain(s, k))
	}
	for k, dst := range p.dests {
		dc := n.destChain(s, k)
		var e []expr.Any
		if p.bind != nil {
			// A bound client keeps its destination, even at weight 0.
			hit := append(bindKey(s, dst.Addr.Addr()), &expr.Lookup{SourceRegister: regKey, SetName: p.bind.Name})
			c.AddRule(&nftables.Rule{Table: vs.Table, Chain: vs, Exprs: append(hit, &expr.Verdict{Kind: expr.VerdictJump, Chain: dc.Name})})
			e = append(bindKey(s, dst.Addr.Addr()), &expr.Dynset{SrcRegKey: regKey, SetName: p.bind.Name, Operation: unix.NFT_DYNSET_OP_UPDATE, Timeout: bindTimeout(s)})
		}
		if count := n.newConnRule(s, dst, p.bind); count != nil {
			c.AddRule(&nftables.Rule{Table: dc.Table, Chain: dc, Exprs: count})
		}
		if drCounted(s) {
			c.AddRule(&nftables.Rule{Table: dc.Table, Chain: dc, Exprs: e})
			for _, r := range n.drCountRules(s, dst.Addr.Addr()) {
				c.AddRule(&nftables.Rule{Table: dc.Table, Chain: dc, Exprs: r})
			}
			e = nil
		}
		c.AddRule(&nftables.Rule{Table: dc.Table, Chain: dc, Exprs: append(append(n.destCounters(s, dst), e...), out(dst)...)})
	}
	sm := n.schedMap(s)
	c.FlushSet(sm)
	owner := slotPlan(s, p.dests)
	if counted(s) {
		if s.Method == "DR" {
			n.drCounts.keepOnly(s, p.dests)
		}
		n.prog[s] = p.dests
		n.choice[s] = leastLoaded(s.Sched, n.loads(s, p.dests))
		owner = nil
		if k := n.choice[s]; k >= 0 {
			owner = []int{k}
		}
	}
	if len(owner) == 0 {
		return nil
	}
	elems := make([]nftables.SetElement, len(owner))
	for slot, k := range owner {
		elems[slot] = nftables.SetElement{Key: binaryutil.NativeEndian.PutUint32(uint32(slot)),
			VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: n.destChain(s, k).Name}}
	}
	if err := c.SetAddElements(sm, elems); err != nil {
		return err
	}
	sched := append(schedExprs(s, len(owner)), &expr.Lookup{SourceRegister: regSlot, DestRegister: 0, IsDestRegSet: true, SetName: sm.Name})
	c.AddRule(&nftables.Rule{Table: vs.Table, Chain: vs, Exprs: sched})
	return nil
}

// natForward rewrites the destination; port 0 (a fwmark service's real
// server without port) keeps the client's port.
func natForward(dst Dest) []expr.Any {
	a := dst.Addr.Addr().Unmap()
	family := uint32(unix.NFPROTO_IPV4)
	if a.Is6() {
		family = unix.NFPROTO_IPV6
	}
	e := []expr.Any{&expr.Immediate{Register: regVal, Data: a.AsSlice()}}
	nat := &expr.NAT{Type: expr.NATTypeDestNAT, Family: family, RegAddrMin: regVal}
	if p := dst.Addr.Port(); p != 0 {
		e = append(e, &expr.Immediate{Register: regSlot, Data: binaryutil.BigEndian.PutUint16(p)})
		nat.RegProtoMin, nat.Specified = regSlot, true
	}
	return append(e, nat)
}

// drForward sends the frame, IP header untouched (the VIP stays the
// destination), out of the interface to the real server's MAC, from the
// director's own MAC so that switches keep learning the client's port
// right.
func (n *NFT) drForward(dst Dest, link netlink.Link) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: regVal, Data: n.macs[dst.Addr.Addr()]},
		&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: regVal, Base: expr.PayloadBaseLLHeader, Offset: 0, Len: 6},
		&expr.Immediate{Register: regVal, Data: link.Attrs().HardwareAddr},
		&expr.Payload{OperationType: expr.PayloadWrite, SourceRegister: regVal, Base: expr.PayloadBaseLLHeader, Offset: 6, Len: 6},
		&expr.Immediate{Register: regSlot, Data: binaryutil.NativeEndian.PutUint32(uint32(link.Attrs().Index))},
		// The library has no fwd expression: dup to the device, then drop.
		&expr.Dup{RegDev: regSlot, IsRegDevSet: true},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

// routeForward sends a copy of the packet, IP header untouched, out of
// the interface to the real server as next hop (the kernel resolves its
// MAC and decrements the TTL), and drops the original.
func routeForward(dst Dest, link netlink.Link) []expr.Any {
	return []expr.Any{
		&expr.Immediate{Register: regVal, Data: addrBytes(dst.Addr.Addr())},
		&expr.Immediate{Register: regSlot, Data: binaryutil.NativeEndian.PutUint32(uint32(link.Attrs().Index))},
		&expr.Dup{RegAddr: regVal, RegDev: regSlot, IsRegDevSet: true},
		&expr.Verdict{Kind: expr.VerdictDrop},
	}
}

// withMAC keeps the destinations whose MAC address is known.
func (n *NFT) withMAC(s *Service, dests []Dest, link netlink.Link) []Dest {
	var out []Dest
	for _, dst := range dests {
		if _, err := n.resolveMAC(dst.Addr.Addr(), link); err != nil {
			n.logf(fmt.Sprintf("VS %s: real server %s: %v; it gets no traffic until its MAC is known", s.Name, dst.Addr, err))
			continue
		}
		out = append(out, dst)
	}
	return out
}

// staleBindings reads the binding set and returns the bindings to real
// servers no longer listed, so that their clients are scheduled afresh.
func (n *NFT) staleBindings(set *nftables.Set, dests []Dest, alen uint32) (*nftables.Set, []nftables.SetElement, error) {
	full, err := n.conn.GetSetByName(set.Table, set.Name)
	if err != nil {
		return nil, nil, err
	}
	elems, err := n.conn.GetSetElements(full)
	if err != nil {
		return nil, nil, err
	}
	var stale []nftables.SetElement
	for _, el := range elems {
		if rs, ok := bindingDest(el.Key, alen); !ok || !listedAddr(dests, rs) {
			stale = append(stale, nftables.SetElement{Key: el.Key})
		}
	}
	return full, stale, nil
}

// bindingDest is the real server address of a binding key (its last
// part, alen bytes).
func bindingDest(key []byte, alen uint32) (netip.Addr, bool) {
	if len(key) < 2*int(alen) {
		return netip.Addr{}, false
	}
	a, ok := netip.AddrFromSlice(key[len(key)-int(alen):])
	return a, ok
}

func listedAddr(dests []Dest, a netip.Addr) bool {
	for _, d := range dests {
		if d.Addr.Addr().Unmap() == a {
			return true
		}
	}
	return false
}

// maintain keeps the datapath in place: it re-creates the tables when
// someone else removed them (`nft flush ruleset` by a firewall reload
// would otherwise silently stop every virtual server), and reprograms DR
// when a real server's MAC changes (a replaced machine keeping its
// address).
func (n *NFT) maintain(svcs []*Service, period time.Duration) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		n.mu.Lock()
		select {
		case <-n.stop: // replaced by a reload while waiting for the lock
			n.mu.Unlock()
			return
		default:
		}
		why := n.tablesGone(svcs)
		if why != "" {
			n.removeTables()
			if err := n.create(svcs); err != nil {
				why += "; re-creating failed: " + err.Error()
			}
		}
		if why == "" {
			why = n.macMoved()
		}
		last := n.last
		n.mu.Unlock()
		if why != "" {
			n.logf(why + "; reprogramming the nftables datapath")
			if err := n.Apply(last); err != nil {
				n.logf("nftables datapath: " + err.Error())
			}
		}
	}
}

// tablesGone says which of dhproxy's tables disappeared, if one did.
func (n *NFT) tablesGone(svcs []*Service) string {
	want := n.natTables(svcs)
	if n.usesNetdev(svcs) {
		want = append(want, n.dr)
	}
	for _, t := range want {
		if _, err := n.conn.ListTableOfFamily(t.Name, t.Family); err != nil {
			return fmt.Sprintf("nftables table %s was removed by someone else", familyName(t.Family)+" "+t.Name)
		}
	}
	return ""
}

func familyName(f nftables.TableFamily) string {
	switch f {
	case nftables.TableFamilyNetdev:
		return "netdev"
	case nftables.TableFamilyIPv6:
		return "ip6"
	}
	return "ip"
}

// macMoved reports a DR real server whose MAC address changed.
func (n *NFT) macMoved() string {
	for _, d := range n.last {
		dev := n.dev[d.Svc]
		if dev == nil {
			continue
		}
		for _, dst := range d.Dests {
			a := dst.Addr.Addr()
			if mac, ok := neighMAC(a, dev.link); ok && n.macs[a] != nil && mac.String() != n.macs[a].String() {
				return fmt.Sprintf("real server %s moved from MAC %s to %s", a, n.macs[a], mac)
			}
		}
	}
	return ""
}

// neighMAC reads a usable neighbour entry without waiting.
func neighMAC(a netip.Addr, link netlink.Link) (net.HardwareAddr, bool) {
	family := netlink.FAMILY_V4
	if a.Is6() {
		family = netlink.FAMILY_V6
	}
	neighs, err := netlink.NeighList(link.Attrs().Index, family)
	if err != nil {
		return nil, false
	}
	for _, ne := range neighs {
		if ip, ok := netip.AddrFromSlice(ne.IP); ok && ip.Unmap() == a && len(ne.HardwareAddr) == 6 &&
			ne.State&(netlink.NUD_FAILED|netlink.NUD_INCOMPLETE) == 0 {
			return ne.HardwareAddr, true
		}
	}
	return nil, false
}

// resolveMAC reads the real server's MAC from the neighbour table; when
// absent, a datagram to the discard port makes the kernel resolve it (ARP
// or IPv6 neighbour solicitation).
func (n *NFT) resolveMAC(a netip.Addr, link netlink.Link) (net.HardwareAddr, error) {
	deadline := time.Now().Add(2 * time.Second)
	poked := false
	for {
		if mac, ok := neighMAC(a, link); ok {
			n.macs[a] = mac
			return mac, nil
		}
		if time.Now().After(deadline) {
			if m := n.macs[a]; m != nil {
				return m, nil
			}
			return nil, errors.New("no ARP answer")
		}
		if !poked {
			if u, err := net.Dial("udp", netip.AddrPortFrom(a, 9).String()); err == nil {
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
// the counts of logged packets for the connection-count schedulers, else
// from the flow table (every live flow is active); and reads the traffic
// counters (nft_counters.go).
func (n *NFT) Stats(ds []Desired) map[DestKey]DestStats {
	n.mu.Lock()
	defer n.mu.Unlock()
	out := map[DestKey]DestStats{}
	n.trafficStats(ds, out)
	var natSvcs []*Service // every one: a flow is attributed among them all
	uncounted := false
	for _, d := range ds {
		s := d.Svc
		switch {
		case counted(s):
			n.countedStats(d, out)
		case s.Method == "DR":
			n.drStats(d, out)
		default:
			uncounted = true
		}
		if s.Method != "DR" {
			natSvcs = append(natSvcs, s)
		}
	}
	if !uncounted {
		return out
	}
	dests := map[*Service][]Dest{}
	for _, d := range ds {
		dests[d.Svc] = d.Dests
	}
	flows, _ := netlink.ConntrackTableList(netlink.ConntrackTable, netlink.FAMILY_V4)
	flows6, _ := netlink.ConntrackTableList(netlink.ConntrackTable, netlink.FAMILY_V6)
	for _, f := range append(flows, flows6...) {
		dst, _ := netip.AddrFromSlice(f.Forward.DstIP)
		rs, _ := netip.AddrFromSlice(f.Reverse.SrcIP)
		replySrc := netip.AddrPortFrom(rs.Unmap(), f.Reverse.SrcPort)
		s := natServiceOf(natSvcs, netip.AddrPortFrom(dst.Unmap(), f.Forward.DstPort), replySrc, f.Forward.Protocol)
		if s == nil || counted(s) {
			continue
		}
		// Counted under the destination as listed: a fwmark service's
		// real server without port takes the client's.
		for _, dst := range dests[s] {
			if dst.Addr.Addr().Unmap() != replySrc.Addr() || (dst.Addr.Port() != 0 && dst.Addr.Port() != replySrc.Port()) {
				continue
			}
			key := DestKey{Svc: s, Addr: dst.Addr}
			st := out[key]
			if tcp, ok := f.ProtoInfo.(*netlink.ProtoInfoTCP); ok && tcp.State == 3 { // TCP_CONNTRACK_ESTABLISHED
				st.Active++
			} else {
				st.Inactive++
			}
			out[key] = st
			break
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
	set, err := n.conn.GetSetByName(n.table(d.Svc), n.bindSet(d.Svc).Name)
	if err != nil {
		return
	}
	elems, err := n.conn.GetSetElements(set)
	if err != nil {
		return
	}
	for _, el := range elems {
		rs, ok := bindingDest(el.Key, addrLen(d.Svc))
		if !ok {
			continue
		}
		for _, dst := range d.Dests {
			if dst.Addr.Addr() == rs {
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
	close(n.stop)
	n.mu.Lock()
	defer n.mu.Unlock()
	if sum := n.latencySummary(); sum != "" {
		n.logf(sum)
	}
	n.removeTables()
	return n.conn.CloseLasting()
}

// Reload replaces this datapath by one built for svcs, in the single
// batch newNFT sends: connections established through NAT services keep
// their conntrack translation, new ones see the new rules at once. The
// old datapath's goroutines stop and it leaves the tables to the new one.
// The bindings of a kept service (persistence, DR's flows) to real servers
// still listed move to its new set with the time they had left, and the
// traffic counters of its destinations go on from their values.
func (n *NFT) Reload(svcs []*Service, ds []Desired) (Dataplane, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	next, err := newNFT(svcs, n.logf, ds, &nftCarry{bindings: n.carryBindings(ds), counters: n.carryCounters(ds)})
	if err != nil {
		return nil, err
	}
	close(n.stop)
	n.conn.CloseLasting()
	return next, nil
}

// carryBindings reads the bindings of the services ds keeps (same
// serviceKey, lb_kind and binding key) that point at a real server still
// listed, each with the time it has left.
func (n *NFT) carryBindings(ds []Desired) map[*Service][]nftables.SetElement {
	old := map[string]*Service{}
	for s := range n.svcIdx {
		old[serviceKey(s)] = s
	}
	out := map[*Service][]nftables.SetElement{}
	for _, d := range ds {
		os := old[serviceKey(d.Svc)]
		if os == nil || n.bindSet(os) == nil || os.Method != d.Svc.Method || os.Mask != d.Svc.Mask ||
			(os.Persist == 0) != (d.Svc.Persist == 0) || os.is6() != d.Svc.is6() {
			continue
		}
		set, err := n.conn.GetSetByName(n.table(os), n.bindSet(os).Name)
		if err != nil {
			continue
		}
		elems, err := n.conn.GetSetElements(set)
		if err != nil {
			n.logf(fmt.Sprintf("VS %s: bindings not carried over the reload: %v", d.Svc.Name, err))
			continue
		}
		for _, el := range elems {
			if rs, ok := bindingDest(el.Key, addrLen(os)); ok && listedAddr(d.Dests, rs) && el.Expires > 0 {
				out[d.Svc] = append(out[d.Svc], nftables.SetElement{Key: el.Key, Timeout: el.Expires})
			}
		}
	}
	return out
}

// nftCarry is what a reload hands from the old tables to the new ones.
type nftCarry struct {
	bindings map[*Service][]nftables.SetElement
	counters map[string]nftables.CounterObj // by counterKey
}

// counterKey names a destination's counter across a reload, where the
// services' numbers change.
func counterKey(s *Service, a netip.AddrPort, what string) string {
	return serviceKey(s) + " " + a.String() + " " + what
}

// carryCounters reads the counters of the destinations of the services ds
// keeps (same serviceKey and lb_kind).
func (n *NFT) carryCounters(ds []Desired) map[string]nftables.CounterObj {
	old := map[string]*Service{}
	for s := range n.svcIdx {
		old[serviceKey(s)] = s
	}
	out := map[string]nftables.CounterObj{}
	read := map[*nftables.Table]map[string]*nftables.CounterObj{}
	for _, d := range ds {
		os := old[serviceKey(d.Svc)]
		if os == nil || os.Method != d.Svc.Method {
			continue
		}
		t := n.table(os)
		objs, ok := read[t]
		if !ok {
			objs = map[string]*nftables.CounterObj{}
			if list, err := n.conn.GetObjects(t); err == nil {
				for _, o := range list {
					if co, ok := o.(*nftables.CounterObj); ok {
						objs[co.Name] = co
					}
				}
			}
			read[t] = objs
		}
		for k, a := range destAddrs(os) {
			for _, what := range []string{"conns", "in", "out"} {
				if co := objs[counterName(n.svcIdx[os], k, what)]; co != nil {
					out[counterKey(d.Svc, a, what)] = nftables.CounterObj{Packets: co.Packets, Bytes: co.Bytes}
				}
			}
		}
	}
	return out
}
