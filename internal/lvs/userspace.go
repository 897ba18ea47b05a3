package lvs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// udpIdle is how long a UDP client keeps its real server without traffic
// (IPVS' default UDP timeout).
const udpIdle = 300 * time.Second

// Userspace is the fallback datapath: it accepts on each virtual address
// (IP_FREEBIND, so the VIP may arrive later through VRRP) and proxies TCP
// streams and UDP datagrams to the chosen real server. It follows every
// IPVS scheduler exactly, but real servers see the director's address as
// the source, whatever lb_kind says.
type Userspace struct {
	logf func(string)
	svcs map[*Service]*usvc
	wg   sync.WaitGroup
	done chan struct{}
	// slots hold each service's listeners by serviceKey; a reload points
	// a kept slot at the new service, so its listeners stay open.
	mu    sync.Mutex
	slots map[string]*uslot
}

// uslot is one service's listeners; serve loops read cur for each new
// connection.
type uslot struct {
	cur   atomic.Pointer[usvc]
	close []io.Closer
}

type usvc struct {
	svc     *Service
	traffic trafficCounterMap // per real and sorry server; fixed at start
	dests   atomic.Pointer[[]*udest]
	picker  picker
	mu      sync.Mutex
	persist map[netip.Addr]persistEntry
}

type udest struct {
	Dest
	*counts // shared with the entry for the same address before an Apply
	traffic *trafficCounters
}

type counts struct {
	active   atomic.Int64
	inactive atomic.Int64
}

type persistEntry struct {
	addr    netip.AddrPort
	expires time.Time
}

// NewUserspace opens the listeners of every service.
func NewUserspace(svcs []*Service, logf func(string)) (*Userspace, error) {
	u := &Userspace{logf: logf, svcs: map[*Service]*usvc{}, done: make(chan struct{}), slots: map[string]*uslot{}}
	for _, s := range svcs {
		if err := u.open(s, newUsvc(s)); err != nil {
			u.Close()
			return nil, err
		}
	}
	return u, nil
}

func newUsvc(s *Service) *usvc {
	us := &usvc{svc: s, picker: picker{sched: s.Sched}, persist: map[netip.Addr]persistEntry{}, traffic: newTrafficCounters(s)}
	us.dests.Store(&[]*udest{})
	return us
}

// open starts the listeners of s, served by us.
func (u *Userspace) open(s *Service, us *usvc) error {
	slot := &uslot{}
	slot.cur.Store(us)
	u.svcs[s] = us
	u.slots[serviceKey(s)] = slot
	for _, m := range s.Match {
		if m.FWMark != 0 || m.First != m.Last || m.Port == 0 {
			return fmt.Errorf("VS %s: the userspace datapath needs one address and a port (no fwmark, range or port 0)", s.Name)
		}
		addr := netip.AddrPortFrom(m.First, m.Port).String()
		lc := net.ListenConfig{Control: freebind}
		if s.Protocol == "udp" {
			pc, err := lc.ListenPacket(context.Background(), "udp", addr)
			if err != nil {
				return fmt.Errorf("VS %s: %v", s.Name, err)
			}
			slot.close = append(slot.close, pc)
			u.wg.Add(1)
			go u.serveUDP(slot, pc.(*net.UDPConn))
			continue
		}
		l, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			return fmt.Errorf("VS %s: %v", s.Name, err)
		}
		slot.close = append(slot.close, l)
		u.wg.Add(1)
		go u.serveTCP(slot, l)
	}
	return nil
}

func freebind(network, address string, c syscall.RawConn) error {
	var serr error
	err := c.Control(func(fd uintptr) {
		if len(network) > 0 && network[len(network)-1] == '6' {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_IPV6, 78 /* IPV6_FREEBIND */, 1)
			return
		}
		serr = syscall.SetsockoptInt(int(fd), syscall.SOL_IP, syscall.IP_FREEBIND, 1)
	})
	if err != nil {
		return err
	}
	return serr
}

func (u *Userspace) Name() string { return "userspace" }

// Apply swaps each service's destinations; counters of destinations that
// stay are kept.
func (u *Userspace) Apply(ds []Desired) error {
	for _, d := range ds {
		us := u.svc(d.Svc)
		if us == nil {
			continue
		}
		old := *us.dests.Load()
		next := make([]*udest, 0, len(d.Dests))
		for _, dst := range d.Dests {
			nd := &udest{Dest: dst, counts: &counts{}, traffic: us.traffic.of(dst.Addr)}
			for _, o := range old {
				if o.Addr == dst.Addr {
					nd.counts = o.counts
				}
			}
			next = append(next, nd)
		}
		us.dests.Store(&next)
		us.mu.Lock()
		for k, e := range us.persist {
			if !listed(d.Dests, e.addr) {
				delete(us.persist, k)
			}
		}
		us.mu.Unlock()
	}
	return nil
}

// choose picks the destination of a new client: its persistent one if
// still listed, otherwise the scheduler's choice.
func (us *usvc) choose(client, vip netip.Addr) *udest {
	dests := *us.dests.Load()
	if us.svc.Persist > 0 {
		key := maskAddr(client, us.svc.Mask)
		us.mu.Lock()
		defer us.mu.Unlock()
		if e, ok := us.persist[key]; ok && time.Now().Before(e.expires) {
			for _, d := range dests {
				if d.Addr == e.addr {
					us.persist[key] = persistEntry{addr: e.addr, expires: time.Now().Add(us.svc.Persist)}
					return d
				}
			}
		}
		d := us.pick(dests, client, vip)
		if d != nil {
			us.persist[key] = persistEntry{addr: d.Addr, expires: time.Now().Add(us.svc.Persist)}
		}
		return d
	}
	return us.pick(dests, client, vip)
}

func (us *usvc) pick(dests []*udest, client, vip netip.Addr) *udest {
	cands := make([]candidate, len(dests))
	for i, d := range dests {
		cands[i] = candidate{weight: d.Weight, active: d.active.Load()}
	}
	i := us.picker.pick(cands, client, vip)
	if i < 0 {
		return nil
	}
	return dests[i]
}

func listed(dests []Dest, a netip.AddrPort) bool {
	for _, d := range dests {
		if d.Addr == a {
			return true
		}
	}
	return false
}

func maskAddr(a, mask netip.Addr) netip.Addr {
	switch {
	case a.Is4() && mask.Is4():
		b, m := a.As4(), mask.As4()
		for i := range b {
			b[i] &= m[i]
		}
		return netip.AddrFrom4(b)
	case a.Is6() && mask.Is6():
		b, m := a.As16(), mask.As16()
		for i := range b {
			b[i] &= m[i]
		}
		return netip.AddrFrom16(b)
	}
	return a
}

func (u *Userspace) serveTCP(slot *uslot, l net.Listener) {
	defer u.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			select {
			case <-u.done:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				return
			}
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go u.proxyTCP(slot.cur.Load(), c.(*net.TCPConn))
	}
}

func (u *Userspace) proxyTCP(us *usvc, c *net.TCPConn) {
	defer c.Close()
	client := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	d := us.choose(client.Addr().Unmap(), local.Addr().Unmap())
	if d == nil {
		return
	}
	d.active.Add(1)
	defer d.active.Add(-1)
	d.traffic.conns.Add(1)
	s, err := net.DialTimeout("tcp", d.Addr.String(), 5*time.Second)
	if err != nil {
		return
	}
	sc := s.(*net.TCPConn)
	defer sc.Close()
	done := make(chan struct{})
	go func() {
		copyCounted(sc, c, &d.traffic.inPkts, &d.traffic.inBytes)
		sc.CloseWrite()
		close(done)
	}()
	copyCounted(c, sc, &d.traffic.outPkts, &d.traffic.outBytes)
	c.CloseWrite()
	<-done
}

// copyCounted copies src to dst, counting each read as a packet and its
// bytes as they pass (a long connection shows its traffic while open).
func copyCounted(dst io.Writer, src io.Reader, pkts, bytes *atomic.Int64) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			pkts.Add(1)
			bytes.Add(int64(n))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// serveUDP keeps one upstream socket per client, closed after udpIdle.
func (u *Userspace) serveUDP(slot *uslot, pc *net.UDPConn) {
	defer u.wg.Done()
	type session struct {
		up   *net.UDPConn
		dest *udest
		last atomic.Int64
	}
	var mu sync.Mutex
	sessions := map[netip.AddrPort]*session{}
	buf := make([]byte, 65535)
	for {
		n, client, err := pc.ReadFromUDPAddrPort(buf)
		if err != nil {
			mu.Lock()
			for _, s := range sessions {
				s.up.Close()
			}
			mu.Unlock()
			return
		}
		mu.Lock()
		s := sessions[client]
		if s == nil {
			local := pc.LocalAddr().(*net.UDPAddr).AddrPort()
			d := slot.cur.Load().choose(client.Addr().Unmap(), local.Addr().Unmap())
			if d == nil {
				mu.Unlock()
				continue
			}
			up, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(d.Addr))
			if err != nil {
				mu.Unlock()
				continue
			}
			s = &session{up: up, dest: d}
			sessions[client] = s
			d.inactive.Add(1) // IPVS lists UDP entries as inactive
			d.traffic.conns.Add(1)
			go func() {
				rb := make([]byte, 65535)
				for {
					up.SetReadDeadline(time.Now().Add(udpIdle))
					m, err := up.Read(rb)
					if err != nil {
						if ne, ok := err.(net.Error); ok && ne.Timeout() && time.Since(time.Unix(0, s.last.Load())) < udpIdle {
							continue
						}
						break
					}
					s.last.Store(time.Now().UnixNano())
					s.dest.traffic.outPkts.Add(1)
					s.dest.traffic.outBytes.Add(int64(m))
					pc.WriteToUDPAddrPort(rb[:m], client)
				}
				mu.Lock()
				delete(sessions, client)
				mu.Unlock()
				up.Close()
				s.dest.inactive.Add(-1)
			}()
		}
		s.last.Store(time.Now().UnixNano())
		mu.Unlock()
		s.dest.traffic.inPkts.Add(1)
		s.dest.traffic.inBytes.Add(int64(n))
		s.up.Write(buf[:n])
	}
}

func (u *Userspace) Stats(ds []Desired) map[DestKey]DestStats {
	out := map[DestKey]DestStats{}
	for _, d := range ds {
		us := u.svc(d.Svc)
		if us == nil {
			continue
		}
		for _, ud := range *us.dests.Load() {
			out[DestKey{Svc: d.Svc, Addr: ud.Addr}] = DestStats{Active: ud.active.Load(), Inactive: ud.inactive.Load()}
		}
		us.traffic.read(d.Svc, true, out)
	}
	return out
}

// Close stops the listeners; connections in progress finish on their own.
func (u *Userspace) Close() error {
	select {
	case <-u.done:
		return nil
	default:
	}
	close(u.done)
	u.mu.Lock()
	for _, slot := range u.slots {
		for _, c := range slot.close {
			c.Close()
		}
	}
	u.mu.Unlock()
	u.wg.Wait()
	return nil
}
