package lvs

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/vishvananda/netlink"
	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// tunBatch is how many packets one recvmmsg/sendmmsg moves.
const tunBatch = 16

// TUN is the lb_kind TUN datapath (LVS-TUN). A packet socket sees every
// client packet for a TUN service before netfilter; a raw socket sends
// it, unchanged, inside IP-in-IP (protocol 4) to the real server chosen
// for its connection, which decapsulates it and answers the client
// directly. The table ip dhproxy_lvs_tun drops the original in prerouting
// so that the director's own stack, which holds the VIP, stays silent.
//
// It needs no ipip module on the director: the kernel builds the outer
// header of a raw IPPROTO_IPIP socket's packets itself.
type TUN struct {
	logf    func(string)
	ft      *flowTable
	byName  map[*Service]*tunSvc
	capture *os.File // AF_PACKET, SOCK_DGRAM, ETH_P_ALL, filtered
	rc      syscall.RawConn
	send    int // raw IPPROTO_IPIP
	drop    *tunDrop
	slaves  atomic.Pointer[map[int32]bool] // bridge/bond ports: seen again on the master
	done    chan struct{}
	wg      sync.WaitGroup

	// Buffers of the forwarding goroutine, allocated once.
	bufs    [tunBatch][captureLen]byte
	rmsgs   [tunBatch]unix.Mmsghdr
	riov    [tunBatch]unix.Iovec
	rnames  [tunBatch]unix.RawSockaddrLinklayer
	rctl    [tunBatch][64]byte // PACKET_AUXDATA
	smsgs   [tunBatch]unix.Mmsghdr
	siov    [tunBatch]unix.Iovec
	readFn  func(fd uintptr) bool
	got     int
	readErr syscall.Errno

	forwarded, dropped, sendErrs atomic.Uint64
	lastBad                      int64 // unix nanoseconds of the last malformed-packet log line
}

// NewTUN opens the sockets and the drop table for the TUN services and
// starts forwarding (to nowhere until Apply lists destinations).
func NewTUN(svcs []*Service, logf func(string)) (*TUN, error) {
	filter, err := captureFilter(svcs)
	if err != nil {
		return nil, err
	}
	t := &TUN{logf: logf, ft: newFlowTable(svcs), byName: map[*Service]*tunSvc{}, send: -1, done: make(chan struct{})}
	for _, ts := range t.ft.svcs {
		t.byName[ts.svc] = ts
	}
	if err := t.openSockets(filter); err != nil {
		t.closeSockets()
		return nil, err
	}
	if t.drop, err = newTunDrop(svcs); err != nil {
		t.closeSockets()
		return nil, fmt.Errorf("nftables: %w", err)
	}
	t.refreshSlaves()
	t.initBuffers()
	t.wg.Add(1)
	go t.run()
	return t, nil
}

// initBuffers points the batch headers at the buffers once.
func (t *TUN) initBuffers() {
	for i := range t.rmsgs {
		t.riov[i].Base = &t.bufs[i][0]
		t.riov[i].SetLen(captureLen)
		t.rmsgs[i].Hdr.Iov = &t.riov[i]
		t.rmsgs[i].Hdr.SetIovlen(1)
		t.rmsgs[i].Hdr.Name = (*byte)(unsafe.Pointer(&t.rnames[i]))
		t.rmsgs[i].Hdr.Control = &t.rctl[i][0]
		t.smsgs[i].Hdr.Iov = &t.siov[i]
		t.smsgs[i].Hdr.SetIovlen(1)
		t.smsgs[i].Hdr.Namelen = unix.SizeofSockaddrInet4
	}
	t.readFn = t.recvBatch
}

func (t *TUN) openSockets(filter []bpf.RawInstruction) error {
	// Protocol 0 receives nothing until bound, so no packet arrives
	// before the filter is attached.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("packet socket: %w", err)
	}
	t.capture = os.NewFile(uintptr(fd), "tun-capture")
	if err := attachFilter(fd, filter); err != nil {
		return fmt.Errorf("packet socket filter: %w", err)
	}
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 4<<20)
	// Tells which packets still lack their TCP/UDP checksum.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
		return fmt.Errorf("packet socket: PACKET_AUXDATA: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL)}); err != nil {
		return fmt.Errorf("packet socket: %w", err)
	}
	if t.rc, err = t.capture.SyscallConn(); err != nil {
		return err
	}
	return t.openSend()
}

// openSend opens the raw socket that sends IP-in-IP to the real servers.
func (t *TUN) openSend() error {
	var err error
	if t.send, err = unix.Socket(unix.AF_INET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.IPPROTO_IPIP); err != nil {
		return fmt.Errorf("raw IPIP socket: %w", err)
	}
	// A raw socket also receives every IPIP packet addressed to the
	// director: take none. Too big for the path: let the kernel fragment
	// the outer packet rather than drop it.
	if err := attachFilter(t.send, []bpf.RawInstruction{{Op: 0x06}}); err != nil { // ret #0
		return fmt.Errorf("raw IPIP socket filter: %w", err)
	}
	return unix.SetsockoptInt(t.send, unix.IPPROTO_IP, unix.IP_MTU_DISCOVER, unix.IP_PMTUDISC_DONT)
}

func attachFilter(fd int, prog []bpf.RawInstruction) error {
	f := unix.SockFprog{Len: uint16(len(prog)), Filter: (*unix.SockFilter)(unsafe.Pointer(&prog[0]))}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &f)
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func (t *TUN) closeSockets() {
	if t.capture != nil {
		t.capture.Close()
	}
	if t.send >= 0 {
		unix.Close(t.send)
	}
}

func (t *TUN) Name() string { return "tun" }

// Apply swaps every service's destinations; flows to a real server that
// left are scheduled afresh on their next packet.
func (t *TUN) Apply(ds []Desired) error {
	for _, d := range ds {
		if ts := t.byName[d.Svc]; ts != nil {
			ts.apply(d.Dests)
		}
	}
	return nil
}

// Stats counts the flow table's connections per destination, with the
// traffic sent to each (replies bypass the director).
func (t *TUN) Stats(ds []Desired) map[DestKey]DestStats {
	out := map[DestKey]DestStats{}
	for _, d := range ds {
		ts := t.byName[d.Svc]
		if ts == nil {
			continue
		}
		for _, td := range *ts.dests.Load() {
			out[DestKey{Svc: d.Svc, Addr: td.addr}] = DestStats{Active: td.active.Load(), Inactive: td.inactive.Load()}
		}
		ts.traffic.read(d.Svc, false, out)
	}
	return out
}

// Close stops forwarding and removes the drop table.
func (t *TUN) Close() error {
	select {
	case <-t.done:
		return nil
	default:
	}
	close(t.done)
	t.capture.Close() // wakes the forwarding goroutine
	t.wg.Wait()
	unix.Close(t.send)
	return t.drop.close()
}

// run is the forwarding goroutine: it owns the flow table and buffers.
func (t *TUN) run() {
	defer t.wg.Done()
	defer func() {
		if r := recover(); r != nil {
			t.logf(fmt.Sprintf("TUN datapath panicked: %v", r))
		}
	}()
	const sweepEvery = time.Second
	nextSweep := time.Now().Add(sweepEvery)
	t.capture.SetReadDeadline(nextSweep)
	sinceMaintain := 0
	for {
		err := t.rc.Read(t.readFn)
		now := time.Now()
		switch {
		case err == nil && t.readErr == 0:
			t.forward(t.got, now.UnixNano())
		case err == nil:
			// An interface going down, say: try again shortly.
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			select {
			case <-t.done:
				return
			default:
			}
			t.logf("TUN datapath: packet socket: " + err.Error())
			time.Sleep(100 * time.Millisecond)
		}
		if now.After(nextSweep) {
			t.ft.expire(now.UnixNano())
			if sinceMaintain++; sinceMaintain == 2 {
				sinceMaintain = 0
				t.refreshSlaves()
				t.drop.maintain(t.logf)
			}
			nextSweep = now.Add(sweepEvery)
			t.capture.SetReadDeadline(nextSweep)
		}
	}
}

// recvBatch is the raw read under the netpoller: false asks to wait.
func (t *TUN) recvBatch(fd uintptr) bool {
	for i := range t.rmsgs {
		t.rmsgs[i].Hdr.Namelen = unix.SizeofSockaddrLinklayer
		t.rmsgs[i].Hdr.Flags = 0
		t.rmsgs[i].Hdr.SetControllen(len(t.rctl[i]))
	}
	n, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&t.rmsgs[0])), tunBatch, unix.MSG_DONTWAIT, 0, 0)
	if e == unix.EAGAIN || e == unix.EINTR {
		return false
	}
	t.got, t.readErr = int(n), e
	return true
}

// forward routes n received packets and sends those with a destination in
// one sendmmsg.
func (t *TUN) forward(n int, now int64) {
	k := 0
	slaves := *t.slaves.Load()
	for i := 0; i < n; i++ {
		m := &t.rmsgs[i]
		if m.Hdr.Flags&unix.MSG_TRUNC != 0 || slaves[t.rnames[i].Ifindex] {
			continue
		}
		pkt := t.bufs[i][:m.Len]
		p, err := parsePacket(pkt)
		if err != nil {
			t.malformed(pkt, err, now)
			continue
		}
		d := t.ft.route(&p, now)
		if d == nil {
			t.dropped.Add(1)
			continue
		}
		if t.checksumPending(i) {
			completeChecksum(pkt, &p)
		}
		t.siov[k].Base = &t.bufs[i][0]
		t.siov[k].SetLen(p.totalLen)
		t.smsgs[k].Hdr.Name = (*byte)(unsafe.Pointer(&d.sa))
		k++
	}
	for sent := 0; sent < k; {
		r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, uintptr(t.send), uintptr(unsafe.Pointer(&t.smsgs[sent])), uintptr(k-sent), 0, 0, 0)
		if e != 0 {
			if e == unix.EINTR {
				continue
			}
			// Unreachable real server, or the like: skip this packet.
			t.sendErrs.Add(1)
			sent++
			continue
		}
		sent += int(r)
		t.forwarded.Add(uint64(r))
	}
}

// checksumPending reads the PACKET_AUXDATA of received message i.
func (t *TUN) checksumPending(i int) bool {
	h := &t.rmsgs[i].Hdr
	if int(h.Controllen) < unix.SizeofCmsghdr+int(unsafe.Sizeof(unix.TpacketAuxdata{})) {
		return false
	}
	c := (*unix.Cmsghdr)(unsafe.Pointer(&t.rctl[i][0]))
	if c.Level != unix.SOL_PACKET || c.Type != unix.PACKET_AUXDATA {
		return false
	}
	aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&t.rctl[i][unix.SizeofCmsghdr]))
	return aux.Status&unix.TP_STATUS_CSUMNOTREADY != 0
}

// malformed counts a packet that matched the capture filter but cannot be
// forwarded, and names its sender at most every 10 s.
func (t *TUN) malformed(pkt []byte, err error, now int64) {
	t.dropped.Add(1)
	if now-t.lastBad < int64(10*time.Second) {
		return
	}
	t.lastBad = now
	from := "?"
	if len(pkt) >= 16 {
		from = netip.AddrFrom4([4]byte(pkt[12:16])).String()
	}
	t.logf(fmt.Sprintf("TUN datapath: dropped a packet from %s: %v", from, err))
}

// refreshSlaves lists the interfaces enslaved to a bridge or bond: a
// packet read on one is read again on its master.
func (t *TUN) refreshSlaves() {
	m := map[int32]bool{}
	if links, err := netlink.LinkList(); err == nil {
		for _, l := range links {
			if l.Attrs().MasterIndex != 0 {
				m[int32(l.Attrs().Index)] = true
			}
		}
	}
	t.slaves.Store(&m)
}
