package lvs

import (
	"fmt"
	"net/netip"
	"slices"
	"syscall"
	"time"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// ctResync is how often the counts are rebuilt from a conntrack dump, in
// case an event was lost.
const ctResync = 10 * time.Second

// connCounter holds the conntrack entries of the services whose scheduler
// needs connection counts, as IPVS counts them per real server.
type connCounter struct {
	svcs  []*Service
	conns map[uint32]ctConn
}

type ctConn struct {
	svc    *Service
	rs     netip.AddrPort
	active bool
}

func newConnCounter(svcs []*Service) *connCounter {
	return &connCounter{svcs: svcs, conns: map[uint32]ctConn{}}
}

// apply records one event and says whether a count changed.
func (cc *connCounter) apply(ev ctEvent) bool {
	old, known := cc.conns[ev.id]
	if ev.gone {
		delete(cc.conns, ev.id)
		return known
	}
	if known {
		if !ev.hasState {
			return false
		}
		was := old.active
		old.active = old.svc.Protocol == "tcp" && ev.state == tcpCtEstablished
		cc.conns[ev.id] = old
		return was != old.active
	}
	s := cc.serviceOf(ev)
	if s == nil {
		return false
	}
	cc.conns[ev.id] = ctConn{svc: s, rs: ev.replySrc, active: s.Protocol == "tcp" && ev.hasState && ev.state == tcpCtEstablished}
	return true
}

// reset replaces every entry with a dump's.
func (cc *connCounter) reset(evs []ctEvent) {
	clear(cc.conns)
	for _, ev := range evs {
		cc.apply(ev)
	}
}

// serviceOf is the service a translated connection belongs to.
func (cc *connCounter) serviceOf(ev ctEvent) *Service {
	if !ev.hasTuples {
		return nil
	}
	return natServiceOf(cc.svcs, ev.origDst, ev.replySrc, ev.proto)
}

// natServiceOf is the NAT service a translated connection belongs to: the
// one its original destination is an address of, else a fwmark service
// having its real server (conntrack does not keep the packets' mark).
func natServiceOf(svcs []*Service, origDst, replySrc netip.AddrPort, proto uint8) *Service {
	if origDst.Addr().Unmap() == replySrc.Addr().Unmap() && origDst.Port() == replySrc.Port() {
		return nil
	}
	for _, s := range svcs {
		if serviceHas(s, origDst.Addr().Unmap(), origDst.Port(), proto) {
			return s
		}
	}
	for _, s := range svcs {
		if hasFWMark(s) && protoOf(s) == proto && s.hasReal(replySrc) {
			return s
		}
	}
	return nil
}

func hasFWMark(s *Service) bool {
	for _, m := range s.Match {
		if m.FWMark != 0 {
			return true
		}
	}
	return false
}

func protoOf(s *Service) uint8 {
	if s.Protocol == "udp" {
		return unix.IPPROTO_UDP
	}
	return unix.IPPROTO_TCP
}

func (s *Service) hasReal(a netip.AddrPort) bool {
	for _, r := range s.Reals {
		if r.Addr.Addr() == a.Addr().Unmap() && (r.Addr.Port() == 0 || r.Addr.Port() == a.Port()) {
			return true
		}
	}
	return s.Sorry != nil && s.Sorry.Addr.Addr() == a.Addr().Unmap()
}

// loads counts the connections of each destination.
func (cc *connCounter) loads(s *Service, dests []Dest) []destLoad {
	out := make([]destLoad, len(dests))
	for i, d := range dests {
		out[i].weight = d.Weight
	}
	for _, c := range cc.conns {
		if c.svc != s {
			continue
		}
		for i, d := range dests {
			if d.Addr.Addr() == c.rs.Addr().Unmap() && (d.Addr.Port() == 0 || d.Addr.Port() == c.rs.Port()) {
				if c.active {
					out[i].active++
				} else {
					out[i].inactive++
				}
				break
			}
		}
	}
	return out
}

// counted reports whether s is scheduled from conntrack counts.
func counted(s *Service) bool {
	k, _, _ := kernelScheduler(s.Sched)
	return k == kernelLeast
}

// followConntrack keeps the connection counts from conntrack events, and
// after each batch of events points every counted service's scheduler at
// the destination IPVS would pick now. Events read in one wakeup are
// applied together, so a burst costs one nft batch.
func (n *NFT) followConntrack(fd int) {
	defer unix.Close(fd)
	defer func() {
		if r := recover(); r != nil {
			n.logf(fmt.Sprintf("conntrack follower panicked: %v; lc/wlc/sed/nq stop following connection counts", r))
		}
	}()
	buf := make([]byte, 1<<16)
	var lastDump time.Time
	resync := true
	for {
		select {
		case <-n.stop:
			return
		default:
		}
		if resync || time.Since(lastDump) > ctResync {
			evs, err := ctDump()
			if err != nil {
				n.logf("conntrack dump: " + err.Error())
			} else {
				n.mu.Lock()
				n.counts.reset(evs)
				n.rescheduleLocked(time.Time{})
				n.mu.Unlock()
			}
			lastDump, resync = time.Now(), false
		}
		unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 250)
		woke := time.Now()
		var evs []ctEvent
		for {
			m, _, err := unix.Recvfrom(fd, buf, 0)
			if err == unix.ENOBUFS {
				resync = true // events were lost
				continue
			}
			if err != nil {
				break
			}
			msgs, err := syscall.ParseNetlinkMessage(buf[:m])
			if err != nil {
				resync = true
				break
			}
			for _, msg := range msgs {
				ev, err := parseCtMessage(msg.Header.Type, msg.Data)
				if err != nil {
					resync = true
					continue
				}
				evs = append(evs, ev)
			}
		}
		if len(evs) == 0 {
			continue
		}
		n.mu.Lock()
		changed := false
		for _, ev := range evs {
			changed = n.counts.apply(ev) || changed
		}
		if changed {
			n.rescheduleLocked(woke)
		}
		n.mu.Unlock()
	}
}

// rescheduleLocked repoints the scheduler of every counted service (NAT
// or DR) whose choice changed, in one batch. since is when the events that
// caused it were read (zero for a resync): the time to the batch's commit
// is kept.
func (n *NFT) rescheduleLocked(since time.Time) {
	select {
	case <-n.stop: // Close removes the tables
		return
	default:
	}
	c := n.conn // the lasting connection: no socket to open per update
	queued := false
	for s, dests := range n.prog {
		if !counted(s) {
			continue
		}
		k := leastLoaded(s.Sched, n.loads(s, dests))
		if k == n.choice[s] {
			continue
		}
		n.queueChoice(c, s, k)
		queued = true
	}
	if !queued {
		return
	}
	if err := c.Flush(); err != nil {
		n.logf("nftables datapath: repointing the scheduler: " + err.Error())
		clear(n.choice) // programmed state unknown: the next change rewrites every map
		return
	}
	if !since.IsZero() {
		n.latency = append(n.latency, time.Since(since))
		if len(n.latency) > 4096 {
			n.latency = n.latency[len(n.latency)-2048:]
		}
	}
}

// queueChoice points the single slot of a counted service's map at
// destination k (none when k is -1).
func (n *NFT) queueChoice(c *nftables.Conn, s *Service, k int) {
	sm := n.schedMap(s)
	c.FlushSet(sm)
	n.choice[s] = k
	if k < 0 {
		return
	}
	c.SetAddElements(sm, []nftables.SetElement{{Key: binaryutil.NativeEndian.PutUint32(0),
		VerdictData: &expr.Verdict{Kind: expr.VerdictJump, Chain: n.destChain(s, k).Name}}})
}

// latencySummary describes the event-to-rule times seen, for the log.
func (n *NFT) latencySummary() string {
	if len(n.latency) == 0 {
		return ""
	}
	ls := slices.Clone(n.latency)
	slices.Sort(ls)
	return fmt.Sprintf("connection-count scheduling: %d updates, conntrack event or logged packet to nftables rule median %v, 99th percentile %v, max %v",
		len(ls), ls[len(ls)/2].Round(time.Microsecond), ls[len(ls)*99/100].Round(time.Microsecond), ls[len(ls)-1].Round(time.Microsecond))
}

// countedStats reports the counts a counted service is scheduled from.
func (n *NFT) countedStats(d Desired, out map[DestKey]DestStats) {
	loads := n.loads(d.Svc, d.Dests)
	for i, dst := range d.Dests {
		out[DestKey{Svc: d.Svc, Addr: dst.Addr}] = DestStats{Active: loads[i].active, Inactive: loads[i].inactive}
	}
}
