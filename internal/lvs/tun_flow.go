package lvs

import (
	"net/netip"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// Flow timeouts, as ipvsadm --timeout prints IPVS' defaults: 900 s for an
// established TCP connection, 120 s for one opening or closing, 300 s for
// UDP.
const (
	tunTCPTimeout    = 900 * time.Second
	tunTCPFinTimeout = 120 * time.Second
	tunUDPTimeout    = 300 * time.Second
)

// Flow states, from the client's packets only (replies bypass the
// director, as in IPVS' DR and TUN).
const (
	flowOpening     uint8 = iota // SYN seen: InActConn
	flowEstablished              // an ACK without SYN/FIN/RST: ActiveConn
	flowClosing                  // FIN or RST: InActConn
	flowUDP                      // IPVS lists UDP entries as InActConn
)

// tunDest is one destination of a TUN service. A record lives as long as
// its address stays listed; once removed (gone) flows bound to it are
// scheduled afresh, as the DR datapath does.
type tunDest struct {
	addr     netip.AddrPort
	sa       unix.RawSockaddrInet4 // the outer destination of the IPIP packet
	weight   atomic.Int64
	active   atomic.Int64
	inactive atomic.Int64
	gone     atomic.Bool
	traffic  *trafficCounters // the server's, kept across removals
}

type tunFlow struct {
	dest  *tunDest
	last  int64 // unix nanoseconds of the last client packet
	state uint8
}

type tunPersist struct {
	dest *tunDest
	last int64
}

// tunSvc is a TUN service; dests is swapped by Apply, the rest belongs to
// the forwarding goroutine.
type tunSvc struct {
	svc     *Service
	traffic trafficCounterMap // fixed at start
	proto   uint8
	dests   atomic.Pointer[[]*tunDest]
	picker  picker
	cands   []candidate
	persist map[[4]byte]tunPersist
	mask    [4]byte
}

// flowTable maps every client connection to its real server. It belongs
// to the forwarding goroutine: no lock on the packet path.
type flowTable struct {
	svcs  []*tunSvc
	flows map[flowKey]tunFlow
}

func newFlowTable(svcs []*Service) *flowTable {
	ft := &flowTable{flows: make(map[flowKey]tunFlow, 4096)}
	for _, s := range svcs {
		ts := &tunSvc{svc: s, proto: unix.IPPROTO_TCP, picker: picker{sched: s.Sched}, traffic: newTrafficCounters(s)}
		if s.Protocol == "udp" {
			ts.proto = unix.IPPROTO_UDP
		}
		if s.Persist > 0 {
			ts.persist = make(map[[4]byte]tunPersist, 1024)
			ts.mask = s.Mask.As4()
		}
		ts.dests.Store(&[]*tunDest{})
		ft.svcs = append(ft.svcs, ts)
	}
	return ft
}

// service finds the TUN service a flow is for.
func (ft *flowTable) service(k *flowKey) *tunSvc {
	dst := netip.AddrFrom4(k.dst)
	for _, ts := range ft.svcs {
		if ts.proto != k.proto {
			continue
		}
		for _, m := range ts.svc.Match {
			if dst.Compare(m.First) >= 0 && dst.Compare(m.Last) <= 0 && (m.Port == 0 || m.Port == k.dport) {
				return ts
			}
		}
	}
	return nil
}

// route returns the real server a client packet goes to, or nil when it
// is not forwarded (no service, no destination, or a TCP packet other
// than a SYN for an unknown connection: IPVS schedules only SYNs).
func (ft *flowTable) route(p *pktInfo, now int64) *tunDest {
	f, ok := ft.flows[p.key]
	syn := p.key.proto == unix.IPPROTO_TCP && p.tcpFlags&(tcpSYN|tcpACK|tcpRST) == tcpSYN
	if ok && (f.dest.gone.Load() || (syn && f.state == flowClosing)) {
		// Its real server left, or the client reuses the port for a
		// new connection: schedule it afresh.
		ft.remove(&f)
		delete(ft.flows, p.key)
		ok = false
	}
	if !ok {
		if p.key.proto == unix.IPPROTO_TCP && !syn {
			return nil
		}
		ts := ft.service(&p.key)
		if ts == nil {
			return nil
		}
		d := ts.choose(p.key.src, p.key.dst, now)
		if d == nil {
			return nil
		}
		f = tunFlow{dest: d, state: flowOpening}
		if p.key.proto == unix.IPPROTO_UDP {
			f.state = flowUDP
		}
		d.inactive.Add(1)
		d.traffic.conns.Add(1)
	} else if ts := ft.persistent(&p.key); ts != nil {
		ts.persist[maskKey(p.key.src, ts.mask)] = tunPersist{dest: f.dest, last: now}
	}
	if p.key.proto == unix.IPPROTO_TCP {
		f.state = ft.advance(f, p.tcpFlags)
	}
	f.last = now
	ft.flows[p.key] = f
	// Atomic adds: uncontended, they cost little beside the batch's
	// system calls, and Stats reads them without stopping the loop.
	f.dest.traffic.inPkts.Add(1)
	f.dest.traffic.inBytes.Add(int64(p.totalLen))
	return f.dest
}

// persistent is the flow's service when it is persistent.
func (ft *flowTable) persistent(k *flowKey) *tunSvc {
	if len(ft.svcs) == 1 { // the common case: no lookup
		if ts := ft.svcs[0]; ts.persist != nil {
			return ts
		}
		return nil
	}
	if ts := ft.service(k); ts != nil && ts.persist != nil {
		return ts
	}
	return nil
}

// advance moves a TCP flow by the client's flags, keeping the counters of
// its destination in step.
func (ft *flowTable) advance(f tunFlow, flags uint8) uint8 {
	switch {
	case flags&(tcpFIN|tcpRST) != 0:
		if f.state == flowEstablished {
			f.dest.active.Add(-1)
			f.dest.inactive.Add(1)
		}
		return flowClosing
	case flags&tcpACK != 0 && flags&tcpSYN == 0 && f.state == flowOpening:
		f.dest.inactive.Add(-1)
		f.dest.active.Add(1)
		return flowEstablished
	}
	return f.state
}

func (ft *flowTable) remove(f *tunFlow) {
	if f.state == flowEstablished {
		f.dest.active.Add(-1)
	} else {
		f.dest.inactive.Add(-1)
	}
}

func flowTimeout(state uint8) int64 {
	switch state {
	case flowEstablished:
		return int64(tunTCPTimeout)
	case flowUDP:
		return int64(tunUDPTimeout)
	}
	return int64(tunTCPFinTimeout)
}

// expire removes idle flows and persistence entries.
func (ft *flowTable) expire(now int64) {
	for k, f := range ft.flows {
		if now-f.last > flowTimeout(f.state) || f.dest.gone.Load() {
			ft.remove(&f)
			delete(ft.flows, k)
		}
	}
	for _, ts := range ft.svcs {
		for k, e := range ts.persist {
			if now-e.last > int64(ts.svc.Persist) || e.dest.gone.Load() {
				delete(ts.persist, k)
			}
		}
	}
}

// choose picks the destination of a new connection: the client's
// persistent one while listed, otherwise the scheduler's choice.
func (ts *tunSvc) choose(src, dst [4]byte, now int64) *tunDest {
	dests := *ts.dests.Load()
	var key [4]byte
	if ts.persist != nil {
		key = maskKey(src, ts.mask)
		if e, ok := ts.persist[key]; ok && now-e.last <= int64(ts.svc.Persist) && !e.dest.gone.Load() {
			ts.persist[key] = tunPersist{dest: e.dest, last: now}
			return e.dest
		}
	}
	if cap(ts.cands) < len(dests) {
		ts.cands = make([]candidate, len(dests))
	}
	ts.cands = ts.cands[:len(dests)]
	for i, d := range dests {
		ts.cands[i] = candidate{weight: int(d.weight.Load()), active: d.active.Load()}
	}
	i := ts.picker.pick(ts.cands, netip.AddrFrom4(src), netip.AddrFrom4(dst))
	if i < 0 {
		return nil
	}
	if ts.persist != nil {
		ts.persist[key] = tunPersist{dest: dests[i], last: now}
	}
	return dests[i]
}

func maskKey(a, mask [4]byte) [4]byte {
	for i := range a {
		a[i] &= mask[i]
	}
	return a
}

// apply installs a service's destinations: records of addresses still
// listed are kept (with their flows and counters), the others are marked
// gone.
func (ts *tunSvc) apply(dests []Dest) {
	old := *ts.dests.Load()
	next := make([]*tunDest, 0, len(dests))
	for _, d := range dests {
		var td *tunDest
		for _, o := range old {
			if o.addr == d.Addr {
				td = o
			}
		}
		if td == nil {
			td = &tunDest{addr: d.Addr, sa: unix.RawSockaddrInet4{Family: unix.AF_INET, Addr: d.Addr.Addr().As4()}, traffic: ts.traffic.of(d.Addr)}
		}
		td.weight.Store(int64(d.Weight))
		next = append(next, td)
	}
	for _, o := range old {
		if !listedAddrPort(next, o.addr) {
			o.gone.Store(true)
		}
	}
	ts.dests.Store(&next)
}

func listedAddrPort(ds []*tunDest, a netip.AddrPort) bool {
	for _, d := range ds {
		if d.addr == a {
			return true
		}
	}
	return false
}
