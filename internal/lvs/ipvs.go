package lvs

import (
	"errors"
	"fmt"
	"math/bits"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// IPVS programs the kernel's IP Virtual Server over its generic netlink
// family, as ipvsadm and keepalived do, so that `ipvsadm -Ln` shows the
// services. Each Apply reads the kernel's services back and sends only
// the differences. dhproxy owns the services of its configuration (those
// it created, and same-named ones it found, as keepalived would take
// them); any other service is left alone. IPVS has no transactions: a
// change is a series of commands, new destinations before removed ones.
type IPVS struct {
	logf   func(string)
	mu     sync.Mutex
	conn   *genlConn
	family uint16
	owned  map[svcKey]ipvsService
}

// errNoIPVS is what Open reports when the kernel has no IPVS.
var errNoIPVS = errors.New("kernel has no IPVS (generic netlink family IPVS not found); load ip_vs or use nftables")

// NewIPVS connects to the kernel's IPVS; it fails with errNoIPVS when the
// kernel has none.
func NewIPVS(svcs []*Service, logf func(string)) (*IPVS, error) {
	c, err := dialGenl()
	if err != nil {
		return nil, err
	}
	fam, err := c.resolveFamily(ipvsGenlName)
	if errors.Is(err, unix.ENOENT) {
		err = errNoIPVS
	}
	if err != nil {
		c.close()
		return nil, err
	}
	v := &IPVS{logf: logf, conn: c, family: fam, owned: map[svcKey]ipvsService{}}
	// A dump needs CAP_NET_ADMIN, as every later command does.
	if _, err := v.services(); err != nil {
		c.close()
		return nil, err
	}
	logf("virtual servers: IPVS datapath (ipvsadm -Ln lists the services)")
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_forward"); err == nil && strings.TrimSpace(string(b)) == "0" && hasNAT(svcs, false) {
		logf("net.ipv4.ip_forward is 0: lb_kind NAT needs it set to 1 to forward to the real servers")
	}
	return v, nil
}

func (v *IPVS) Name() string { return "ipvs" }

// Apply makes the kernel's services match ds.
func (v *IPVS) Apply(ds []Desired) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	kernel, err := v.services()
	if err != nil {
		return err
	}
	want := ipvsWanted(ds)
	for _, w := range want {
		k := w.svc.key()
		_, inKernel := kernel[k]
		_, owned := v.owned[k]
		switch {
		case inKernel && !owned:
			v.logf(fmt.Sprintf("IPVS service %s already exists; dhproxy takes it over", w.svc))
			v.owned[k] = kernel[k]
		case !inKernel && owned:
			v.logf(fmt.Sprintf("IPVS service %s was removed by someone else; adding it again", w.svc))
		}
	}
	have := map[svcKey]ipvsState{}
	for k := range v.owned {
		s, ok := kernel[k]
		if !ok {
			delete(v.owned, k)
			continue
		}
		dests, err := v.dests(s)
		if err != nil {
			return err
		}
		have[k] = ipvsState{svc: s, dests: dests}
	}
	return v.run(ipvsPlan(want, have))
}

// run sends the commands in order. A service the kernel refused to
// create gets no destination commands; other failures are collected.
func (v *IPVS) run(ops []ipvsOp) error {
	var errs []error
	failed := map[svcKey]bool{}
	for _, op := range ops {
		k := op.svc.key()
		if failed[k] {
			continue
		}
		_, err := v.conn.request(v.family, false, op.cmd, ipvsGenlVersion, op.attrs())
		switch {
		case err == nil,
			errors.Is(err, unix.EEXIST) && (op.cmd == ipvsCmdNewService || op.cmd == ipvsCmdNewDest),
			errors.Is(err, unix.ENOENT) && (op.cmd == ipvsCmdDelService || op.cmd == ipvsCmdDelDest):
		default:
			errs = append(errs, op.error(err))
			if op.cmd == ipvsCmdNewService {
				failed[k] = true
			}
			continue
		}
		switch op.cmd {
		case ipvsCmdNewService:
			v.owned[k] = op.svc
		case ipvsCmdDelService:
			delete(v.owned, k)
		}
	}
	return errors.Join(errs...)
}

func (op ipvsOp) error(err error) error {
	var what string
	switch op.cmd {
	case ipvsCmdNewService:
		what = "adding service"
	case ipvsCmdSetService:
		what = "changing service"
	case ipvsCmdDelService:
		what = "removing service"
	case ipvsCmdNewDest:
		what = "adding destination " + netip.AddrPortFrom(op.dest.Addr, op.dest.Port).String() + " to"
	case ipvsCmdSetDest:
		what = "changing destination " + netip.AddrPortFrom(op.dest.Addr, op.dest.Port).String() + " of"
	case ipvsCmdDelDest:
		what = "removing destination " + netip.AddrPortFrom(op.dest.Addr, op.dest.Port).String() + " from"
	}
	msg := fmt.Sprintf("IPVS: %s %s: %v", what, op.svc, err)
	if (op.cmd == ipvsCmdNewService || op.cmd == ipvsCmdSetService) && errors.Is(err, unix.ENOENT) {
		msg += fmt.Sprintf(" (the kernel has no scheduler module ip_vs_%s)", op.svc.Sched)
	}
	return errors.New(msg)
}

// services dumps the kernel's services.
func (v *IPVS) services() (map[svcKey]ipvsService, error) {
	replies, err := v.conn.request(v.family, true, ipvsCmdGetService, ipvsGenlVersion, nil)
	if err != nil {
		if errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("IPVS: listing services: %v (CAP_NET_ADMIN is needed)", err)
		}
		return nil, fmt.Errorf("IPVS: listing services: %v", err)
	}
	out := map[svcKey]ipvsService{}
	for _, p := range replies {
		s, err := decodeService(p)
		if err != nil {
			return nil, fmt.Errorf("IPVS: listing services: %v", err)
		}
		out[s.key()] = s
	}
	return out, nil
}

// dests dumps the destinations of one service.
func (v *IPVS) dests(s ipvsService) ([]ipvsDest, error) {
	replies, err := v.conn.request(v.family, true, ipvsCmdGetDest, ipvsGenlVersion, nlAttrs{}.put(ipvsCmdAttrService, serviceAttrs(s, false)))
	if err != nil {
		return nil, fmt.Errorf("IPVS: listing destinations of %s: %v", s, err)
	}
	out := make([]ipvsDest, 0, len(replies))
	for _, p := range replies {
		d, err := decodeDest(p, s.Family)
		if err != nil {
			return nil, fmt.Errorf("IPVS: listing destinations of %s: %v", s, err)
		}
		out = append(out, d)
	}
	return out, nil
}

// Stats reads the connection counts and traffic counters of every
// destination from the kernel.
func (v *IPVS) Stats(ds []Desired) map[DestKey]DestStats {
	v.mu.Lock()
	defer v.mu.Unlock()
	out := map[DestKey]DestStats{}
	for _, w := range ipvsWanted(ds) {
		dests, err := v.dests(w.svc)
		if err != nil {
			continue // listed with zero counts, as a service being re-added
		}
		for _, d := range dests {
			i := slices.IndexFunc(w.dests, func(x ipvsDest) bool { return x.key() == d.key() })
			if i < 0 {
				continue
			}
			k := DestKey{Svc: w.from, Addr: w.addrs[i]}
			st := out[k]
			st.Active += int64(d.Active)
			st.Inactive += int64(d.Inactive)
			// A service with several IPVS services (a group) adds theirs.
			tr := Traffic{Conns: int64(d.Stats.Conns), InPkts: int64(d.Stats.InPkts), OutPkts: int64(d.Stats.OutPkts),
				InBytes: int64(d.Stats.InBytes), OutBytes: int64(d.Stats.OutBytes), Replies: w.from.Method == "NAT"}
			if st.Traffic != nil {
				tr = tr.plus(*st.Traffic)
			}
			st.Traffic = &tr
			out[k] = st
		}
	}
	return out
}

// Close removes the services dhproxy owns, as keepalived does on exit.
func (v *IPVS) Close() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	var ops []ipvsOp
	for _, s := range v.owned {
		ops = append(ops, ipvsOp{cmd: ipvsCmdDelService, svc: s})
	}
	slices.SortFunc(ops, func(a, b ipvsOp) int { return strings.Compare(a.svc.String(), b.svc.String()) })
	err := v.run(ops)
	return errors.Join(err, v.conn.close())
}

// ipvsState is a service with its destinations.
type ipvsState struct {
	svc   ipvsService
	dests []ipvsDest
}

// ipvsWant is a kernel service dhproxy wants, with where it comes from:
// addrs[i] is the Dest.Addr of dests[i].
type ipvsWant struct {
	ipvsState
	from  *Service
	addrs []netip.AddrPort
}

// ipvsWanted turns the desired state into kernel services: one per
// address of a virtual_server_group range and one per fwmark, as
// keepalived does. Destinations of DR and TUN services take the service's
// port (0 for fwmark), as IPVS cannot change it.
func ipvsWanted(ds []Desired) []ipvsWant {
	var out []ipvsWant
	for _, d := range ds {
		s := d.Svc
		proto := uint16(unix.IPPROTO_TCP)
		if s.Protocol == "udp" {
			proto = unix.IPPROTO_UDP
		}
		fwd := uint32(ipvsConnFMasq)
		switch s.Method {
		case "DR":
			fwd = ipvsConnFDRoute
		case "TUN":
			fwd = ipvsConnFTunnel
		}
		for _, m := range s.Match {
			for _, ks := range ipvsExpand(s, m, proto) {
				w := ipvsWant{ipvsState: ipvsState{svc: ks}, from: s}
				for _, dst := range d.Dests {
					kd := ipvsDest{Family: ipvsFamily(dst.Addr.Addr()), Addr: dst.Addr.Addr().Unmap(), Port: dst.Addr.Port(), Fwd: fwd, Weight: uint32(max(dst.Weight, 0))}
					if fwd != ipvsConnFMasq {
						kd.Port = ks.Port
					}
					if slices.ContainsFunc(w.dests, func(x ipvsDest) bool { return x.key() == kd.key() }) {
						continue
					}
					w.dests = append(w.dests, kd)
					w.addrs = append(w.addrs, dst.Addr)
				}
				out = append(out, w)
			}
		}
	}
	return out
}

// ipvsExpand lists the kernel services of one match of s.
func ipvsExpand(s *Service, m Match, proto uint16) []ipvsService {
	base := ipvsService{Sched: s.Sched}
	if m.FWMark != 0 {
		// A fwmark carries no address: the family is the real servers'.
		base.Family = unix.AF_INET
		if len(s.Reals) > 0 && !s.Reals[0].Addr.Addr().Unmap().Is4() {
			base.Family = unix.AF_INET6
		}
		base.FWMark = m.FWMark
	} else {
		base.Family = ipvsFamily(m.First)
		base.Protocol = proto
		base.Port = m.Port
	}
	base.Netmask = ipvsNetmask(s.Mask, base.Family)
	if s.Persist > 0 {
		base.Flags = ipvsSvcFPersistent
		base.Timeout = uint32(max(s.Persist/time.Second, 1))
	}
	if m.FWMark != 0 {
		return []ipvsService{base}
	}
	var out []ipvsService
	for a := m.First.Unmap(); a.IsValid(); a = a.Next() {
		ks := base
		ks.Addr = a
		out = append(out, ks)
		if a == m.Last.Unmap() || len(out) >= 1<<16 {
			break
		}
	}
	return out
}

func ipvsFamily(a netip.Addr) uint16 {
	if a.Unmap().Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// ipvsNetmask is persistence_granularity as IPVS takes it: an IPv4 mask,
// or for IPv6 a prefix length (128, one client per address, by default).
func ipvsNetmask(mask netip.Addr, family uint16) uint32 {
	if family == unix.AF_INET6 {
		if !mask.Is6() {
			return 128
		}
		n := 0
		for _, b := range mask.As16() {
			n += bits.LeadingZeros8(^b)
			if b != 0xff {
				break
			}
		}
		return uint32(max(n, 1))
	}
	if !mask.Is4() {
		return 0xffffffff
	}
	m := mask.As4()
	return uint32(m[0])<<24 | uint32(m[1])<<16 | uint32(m[2])<<8 | uint32(m[3])
}

// ipvsPlan lists the commands that turn have (the kernel's services that
// dhproxy owns, with their destinations) into want: per wanted service
// NEW_SERVICE or SET_SERVICE, then NEW_DEST, SET_DEST and DEL_DEST, so
// that a service never goes through an empty pool when one server
// replaces another; last DEL_SERVICE for owned services no longer wanted.
func ipvsPlan(want []ipvsWant, have map[svcKey]ipvsState) []ipvsOp {
	var ops []ipvsOp
	wanted := map[svcKey]bool{}
	for _, w := range want {
		k := w.svc.key()
		if wanted[k] {
			continue // two virtual servers on one address: the first wins
		}
		wanted[k] = true
		h, exists := have[k]
		switch {
		case !exists:
			ops = append(ops, ipvsOp{cmd: ipvsCmdNewService, svc: w.svc})
		case !sameServiceSettings(w.svc, h.svc):
			ops = append(ops, ipvsOp{cmd: ipvsCmdSetService, svc: w.svc})
		}
		current := map[destKey]ipvsDest{}
		for _, d := range h.dests {
			current[d.key()] = d
		}
		var set []ipvsOp
		for _, d := range w.dests {
			c, ok := current[d.key()]
			switch {
			case !ok:
				ops = append(ops, ipvsOp{cmd: ipvsCmdNewDest, svc: w.svc, dest: &d})
			case c.Fwd != d.Fwd || c.Weight != d.Weight || c.UThresh != d.UThresh || c.LThresh != d.LThresh:
				set = append(set, ipvsOp{cmd: ipvsCmdSetDest, svc: w.svc, dest: &d})
			}
		}
		ops = append(ops, set...)
		for _, d := range h.dests {
			if !slices.ContainsFunc(w.dests, func(x ipvsDest) bool { return x.key() == d.key() }) {
				ops = append(ops, ipvsOp{cmd: ipvsCmdDelDest, svc: w.svc, dest: &d})
			}
		}
	}
	var gone []ipvsOp
	for k, h := range have {
		if !wanted[k] {
			gone = append(gone, ipvsOp{cmd: ipvsCmdDelService, svc: h.svc})
		}
	}
	slices.SortFunc(gone, func(a, b ipvsOp) int { return strings.Compare(a.svc.String(), b.svc.String()) })
	return append(ops, gone...)
}

// sameServiceSettings compares what SET_SERVICE changes; the kernel adds
// IP_VS_SVC_F_HASHED to every service it holds.
func sameServiceSettings(a, b ipvsService) bool {
	return a.Sched == b.Sched && a.Flags&^ipvsSvcFHashed == b.Flags&^ipvsSvcFHashed &&
		a.Timeout == b.Timeout && a.Netmask == b.Netmask
}
