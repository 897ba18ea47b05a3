package lvs

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// Connection counting for lb_kind DR. The director sees only the client's
// packets, so it counts as IPVS does for DR ("input only" TCP states of
// net/netfilter/ipvs/ip_vs_proto_tcp.c). The DR chain logs to an nflog
// group only the packets that can change a state: SYN, FIN, RST, and the
// first other packet of each flow (a per-service set remembers the flows
// already logged); data packets are not logged.

// nflogGroupBase is the first nflog group tried (ulogd and others usually
// take the low ones).
const nflogGroupBase = 0x6468

// drState is a DR connection's state as IPVS keeps it from input only.
type drState uint8

const (
	drSynRecv     drState = iota // SYN seen: InActConn
	drEstablished                // ActiveConn
	drFinWait                    // FIN after ESTABLISHED
	drTimeWait                   // FIN before the handshake completed
	drClose                      // RST
	drUDP                        // IPVS lists UDP entries as InActConn
)

// drTimeouts are IPVS' default timeouts of those states
// (ipvsadm --timeout: 900 s established, 120 s fin-wait; tcp_timeouts).
var drTimeouts = [...]time.Duration{
	drSynRecv:     60 * time.Second,
	drEstablished: 900 * time.Second,
	drFinWait:     120 * time.Second,
	drTimeWait:    120 * time.Second,
	drClose:       10 * time.Second,
	drUDP:         300 * time.Second,
}

// drNext is the state after a client packet with flags, from state (known
// false for the first packet of a flow). RST weighs over SYN over FIN
// over ACK, as IPVS reads the flags. A flow first seen without SYN (picked
// up mid-stream, after a restart) counts as established.
func drNext(state drState, known bool, flags uint8) drState {
	switch {
	case flags&tcpRST != 0:
		if known && state == drSynRecv {
			return drSynRecv
		}
		return drClose
	case flags&tcpSYN != 0:
		if known && state == drEstablished {
			return drEstablished
		}
		return drSynRecv
	case flags&tcpFIN != 0:
		if !known {
			return drClose
		}
		switch state {
		case drSynRecv:
			return drTimeWait
		case drEstablished:
			return drFinWait
		}
		return state
	default:
		if !known || state == drSynRecv {
			return drEstablished
		}
		return state
	}
}

type drFlowKey struct {
	svc           *Service
	client, vaddr netip.AddrPort
}

type drFlow struct {
	rs    netip.Addr
	state drState
	last  time.Time
}

// drCounter keeps the DR flows of the counted services and, per real
// server, how many are active and inactive.
type drCounter struct {
	byIdx  map[int]*Service // the index in the log prefix
	flows  map[drFlowKey]drFlow
	counts map[*Service]map[netip.Addr]*[2]int64 // active, inactive
}

func newDRCounter(byIdx map[int]*Service) *drCounter {
	dc := &drCounter{byIdx: byIdx, flows: map[drFlowKey]drFlow{}, counts: map[*Service]map[netip.Addr]*[2]int64{}}
	for _, s := range byIdx {
		dc.counts[s] = map[netip.Addr]*[2]int64{}
	}
	return dc
}

// drLogPrefix names the service and the real server a logged packet was
// forwarded to.
func drLogPrefix(idx int, rs netip.Addr) string { return fmt.Sprintf("vs%d %s", idx, rs) }

func (dc *drCounter) parsePrefix(p string) (*Service, netip.Addr, error) {
	vs, addr, ok := strings.Cut(p, " ")
	idx, err := strconv.Atoi(strings.TrimPrefix(vs, "vs"))
	if !ok || err != nil || !strings.HasPrefix(vs, "vs") {
		return nil, netip.Addr{}, fmt.Errorf("nflog prefix %q is not dhproxy's", p)
	}
	s := dc.byIdx[idx]
	rs, err := netip.ParseAddr(addr)
	if s == nil || err != nil {
		return nil, netip.Addr{}, fmt.Errorf("nflog prefix %q names no counted DR service", p)
	}
	return s, rs, nil
}

// apply moves the flow of one logged packet and says whether a count
// changed.
func (dc *drCounter) apply(p nflogPacket, now time.Time) (bool, error) {
	s, rs, err := dc.parsePrefix(p.prefix)
	if err != nil {
		return false, err
	}
	k := drFlowKey{svc: s, client: p.src, vaddr: p.dst}
	f, known := dc.flows[k]
	if known && f.rs != rs {
		// Scheduled afresh (its real server left, or its binding
		// expired): a new connection from the director's view.
		dc.count(s, f, -1)
		known = false
	}
	next := drUDP
	if p.proto == unix.IPPROTO_TCP {
		next = drNext(f.state, known, p.tcpFlags)
	}
	changed := !known || active(next) != active(f.state)
	if known {
		dc.count(s, f, -1)
	}
	f = drFlow{rs: rs, state: next, last: now}
	dc.flows[k] = f
	dc.count(s, f, 1)
	return changed, nil
}

func active(st drState) bool { return st == drEstablished }

func (dc *drCounter) count(s *Service, f drFlow, delta int64) {
	c := dc.counts[s][f.rs]
	if c == nil {
		c = new([2]int64)
		dc.counts[s][f.rs] = c
	}
	if active(f.state) {
		c[0] += delta
	} else {
		c[1] += delta
	}
	if c[0] == 0 && c[1] == 0 {
		delete(dc.counts[s], f.rs)
	}
}

// expire removes the flows idle beyond their state's timeout.
func (dc *drCounter) expire(now time.Time) bool {
	changed := false
	for k, f := range dc.flows {
		if now.Sub(f.last) > drTimeouts[f.state] {
			dc.count(k.svc, f, -1)
			delete(dc.flows, k)
			changed = true
		}
	}
	return changed
}

// keepOnly forgets the flows of s to real servers no longer listed, as
// the DR chain deletes their bindings: their next packet is scheduled
// afresh.
func (dc *drCounter) keepOnly(s *Service, dests []Dest) {
	for k, f := range dc.flows {
		if k.svc == s && !listedAddr(dests, f.rs) {
			dc.count(s, f, -1)
			delete(dc.flows, k)
		}
	}
}

func (dc *drCounter) loads(s *Service, dests []Dest) []destLoad {
	out := make([]destLoad, len(dests))
	for i, d := range dests {
		out[i].weight = d.Weight
		if c := dc.counts[s][d.Addr.Addr().Unmap()]; c != nil {
			out[i].active, out[i].inactive = c[0], c[1]
		}
	}
	return out
}

// loads are the connection counts of a counted service's destinations.
func (n *NFT) loads(s *Service, dests []Dest) []destLoad {
	if s.Method == "DR" {
		return n.drCounts.loads(s, dests)
	}
	return n.counts.loads(s, dests)
}

// drCounted says whether s is a DR service scheduled from counts.
func drCounted(s *Service) bool { return s.Method == "DR" && counted(s) }

// seenSet holds client address . client port . real server of the flows
// whose first packet without SYN, FIN or RST was logged.
func (n *NFT) seenSet(s *Service) *nftables.Set {
	return &nftables.Set{Table: n.table(s), Name: fmt.Sprintf("vs%d_seen", n.svcIdx[s])}
}

func (n *NFT) addSeenSet(c *nftables.Conn, s *Service) error {
	a := nftables.TypeIPAddr
	if s.is6() {
		a = nftables.TypeIP6Addr
	}
	kt, _ := nftables.ConcatSetType(a, nftables.TypeInetService, a)
	ss := n.seenSet(s)
	ss.Dynamic, ss.HasTimeout, ss.Size, ss.Concatenation, ss.KeyType = true, true, 65536, true, kt
	ss.Timeout = drFlowTimeout
	if s.Protocol == "udp" {
		ss.Timeout = drTimeouts[drUDP]
	}
	return c.AddSet(ss, nil)
}

// flowKeyExprs loads client address . client port . rs into regKey.
func flowKeyExprs(s *Service, rs netip.Addr) []expr.Any {
	al := addrLen(s)
	return []expr.Any{
		srcAddr(s, regKey),
		&expr.Payload{DestRegister: regKey + al/4, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 2},
		&expr.Immediate{Register: regKey + al/4 + 1, Data: addrBytes(rs)},
	}
}

// tcpFlagsExprs compares the TCP flags under mask with 0 (eq: none set).
func tcpFlagsExprs(mask uint8, op expr.CmpOp) []expr.Any {
	return []expr.Any{
		&expr.Payload{DestRegister: regVal, Base: expr.PayloadBaseTransportHeader, Offset: 13, Len: 1},
		&expr.Bitwise{SourceRegister: regVal, DestRegister: regVal, Len: 1, Mask: []byte{mask}, Xor: []byte{0}},
		&expr.Cmp{Op: op, Register: regVal, Data: []byte{0}},
	}
}

// drCountRules are the rules a counted DR service's destination chain
// runs before forwarding to rs: log what changes a connection's state
// (with a counter, so that `nft list` shows how much is logged).
func (n *NFT) drCountRules(s *Service, rs netip.Addr) [][]expr.Any {
	seen := n.seenSet(s).Name
	log := &expr.Log{Key: 1<<unix.NFTA_LOG_GROUP | 1<<unix.NFTA_LOG_PREFIX | 1<<unix.NFTA_LOG_SNAPLEN | 1<<unix.NFTA_LOG_QTHRESHOLD,
		Group: n.nflogGroup, Data: []byte(drLogPrefix(n.svcIdx[s], rs)), Snaplen: nflogSnap, QThreshold: 1}
	firstOther := append(flowKeyExprs(s, rs),
		&expr.Lookup{SourceRegister: regKey, SetName: seen, Invert: true},
		&expr.Dynset{SrcRegKey: regKey, SetName: seen, Operation: unix.NFT_DYNSET_OP_ADD},
		&expr.Counter{}, log)
	if s.Protocol == "udp" {
		return [][]expr.Any{firstOther}
	}
	const opDelete = 2 // NFT_DYNSET_OP_DELETE
	return [][]expr.Any{
		// A SYN opens a connection, maybe on a reused port: its first
		// ACK must be logged again.
		append(append(tcpFlagsExprs(tcpSYN, expr.CmpOpNeq), flowKeyExprs(s, rs)...),
			&expr.Dynset{SrcRegKey: regKey, SetName: seen, Operation: opDelete}),
		append(tcpFlagsExprs(tcpSYN|tcpFIN|tcpRST, expr.CmpOpNeq), &expr.Counter{}, log),
		append(tcpFlagsExprs(tcpSYN|tcpFIN|tcpRST, expr.CmpOpEq), firstOther...),
	}
}

// followNflog reads the DR chains' logged packets and, after each batch,
// points every counted service's scheduler at the destination IPVS would
// pick now (rescheduleLocked, shared with the conntrack follower).
func (n *NFT) followNflog(fd int) {
	defer unix.Close(fd)
	defer func() {
		if r := recover(); r != nil {
			n.logf(fmt.Sprintf("nflog follower panicked: %v; lc/wlc/sed/nq on DR stop following connection counts", r))
		}
	}()
	buf := make([]byte, 1<<16)
	lastExpire := time.Now()
	lost, bad := false, false
	for {
		select {
		case <-n.stop:
			return
		default:
		}
		unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 250)
		woke := time.Now()
		var pkts []nflogPacket
		for {
			m, _, err := unix.Recvfrom(fd, buf, 0)
			if err == unix.ENOBUFS {
				if !lost {
					n.logf("nflog: packets were lost (receive buffer full); DR connection counts may be off until the flows expire")
					lost = true
				}
				continue
			}
			if err != nil {
				break
			}
			msgs, err := syscall.ParseNetlinkMessage(buf[:m])
			if err != nil {
				break
			}
			for _, msg := range msgs {
				if msg.Header.Type != nflogMsgPacket {
					continue
				}
				p, err := parseNflog(msg.Data)
				if err != nil {
					continue // a fragment or a truncated packet: nothing to count
				}
				pkts = append(pkts, p)
			}
		}
		n.mu.Lock()
		changed := false
		for _, p := range pkts {
			c, err := n.drCounts.apply(p, woke)
			if err != nil && !bad {
				n.logf("nflog group " + strconv.Itoa(int(n.nflogGroup)) + ": " + err.Error() + " (another program logs to it?)")
				bad = true
			}
			changed = c || changed
		}
		if woke.Sub(lastExpire) >= time.Second {
			changed = n.drCounts.expire(woke) || changed
			lastExpire = woke
		}
		if changed {
			since := woke
			if len(pkts) == 0 {
				since = time.Time{} // expiry: no packet to measure from
			}
			n.rescheduleLocked(since)
		}
		n.mu.Unlock()
	}
}
