package vrrp

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// packet is one received advert with what the IP header said.
type packet struct {
	ifname   string
	data     []byte
	src, dst netip.Addr
	ttl      int
	kernelCk bool // IPv6: the kernel verified the checksum
}

// conn is a raw IP protocol 112 socket bound to one interface and family,
// joined to the VRRP multicast group there. Instances on the interface
// share it; received adverts are demultiplexed by VRID.
type conn struct {
	ifi *net.Interface
	v4  *ipv4.PacketConn
	v6  *ipv6.PacketConn
	raw net.PacketConn

	reading bool // a reader goroutine runs (set on the protocol goroutine)
	ttl4    int  // the IPv4 TTL set on the socket (IPv4 has no per-packet TTL)
}

func bindToDevice(c net.PacketConn, dev string) error {
	return control(c, func(fd int) error {
		return unix.SetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE, dev)
	})
}

// anySource lets adverts leave from a source address the host does not
// have (mcast_src_ip / unicast_src_ip not configured yet): keepalived
// writes its own IP header and sends from it all the same.
func anySource(c net.PacketConn, v6 bool) error {
	return control(c, func(fd int) error {
		if v6 {
			return unix.SetsockoptInt(fd, unix.SOL_IPV6, unix.IPV6_TRANSPARENT, 1)
		}
		return unix.SetsockoptInt(fd, unix.SOL_IP, unix.IP_TRANSPARENT, 1)
	})
}

func control(c net.PacketConn, f func(fd int) error) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return fmt.Errorf("not a socket")
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = f(int(fd)) }); err != nil {
		return err
	}
	return serr
}

func openConn(dev string, ipv6Family bool) (*conn, error) {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return nil, err
	}
	c := &conn{ifi: ifi}
	fail := func(what string, err error) (*conn, error) {
		if c.raw != nil {
			c.raw.Close()
		}
		return nil, fmt.Errorf("VRRP socket on %s: %s: %w", dev, what, err)
	}
	if !ipv6Family {
		if c.raw, err = net.ListenPacket("ip4:112", "0.0.0.0"); err != nil {
			return fail("open", err)
		}
		if err := bindToDevice(c.raw, dev); err != nil {
			return fail("bind to device", err)
		}
		anySource(c.raw, false) // best effort: without it only a local source works
		p := ipv4.NewPacketConn(c.raw)
		c.v4 = p
		if err := p.JoinGroup(ifi, &net.IPAddr{IP: Group4.AsSlice()}); err != nil {
			return fail("join 224.0.0.18", err)
		}
		if err := p.SetControlMessage(ipv4.FlagTTL|ipv4.FlagDst|ipv4.FlagInterface, true); err != nil {
			return fail("control messages", err)
		}
		p.SetMulticastTTL(255)
		p.SetTTL(255)
		c.ttl4 = 255
		p.SetTOS(0xc0) // network control, as keepalived sends
		p.SetMulticastLoopback(false)
		if err := p.SetMulticastInterface(ifi); err != nil {
			return fail("multicast interface", err)
		}
		return c, nil
	}
	if c.raw, err = net.ListenPacket("ip6:112", "::"); err != nil {
		return fail("open", err)
	}
	if err := bindToDevice(c.raw, dev); err != nil {
		return fail("bind to device", err)
	}
	anySource(c.raw, true) // best effort: without it only a local source works
	p := ipv6.NewPacketConn(c.raw)
	c.v6 = p
	if err := p.JoinGroup(ifi, &net.IPAddr{IP: Group6.AsSlice()}); err != nil {
		return fail("join ff02::12", err)
	}
	// The kernel computes and verifies the checksum at offset 6 with the
	// pseudo-header (RFC 5798 requires it for IPv6).
	if err := p.SetChecksum(true, 6); err != nil {
		return fail("checksum offload", err)
	}
	if err := p.SetControlMessage(ipv6.FlagHopLimit|ipv6.FlagDst|ipv6.FlagInterface, true); err != nil {
		return fail("control messages", err)
	}
	p.SetMulticastHopLimit(255)
	p.SetHopLimit(255)
	p.SetTrafficClass(0xc0)
	p.SetMulticastLoopback(false)
	if err := p.SetMulticastInterface(ifi); err != nil {
		return fail("multicast interface", err)
	}
	return c, nil
}

// send transmits one advert from src to dst; ttl applies to unicast
// (multicast adverts always leave with 255). Sends run on the protocol
// goroutine only, so setting the socket's TTL per send is safe.
func (c *conn) send(b []byte, src, dst netip.Addr, ttl int) error {
	to := &net.IPAddr{IP: dst.AsSlice()}
	if dst.IsMulticast() {
		ttl = 255
	}
	var err error
	if c.v4 != nil {
		if ttl != c.ttl4 {
			if err := c.v4.SetTTL(ttl); err != nil {
				return err
			}
			c.ttl4 = ttl
		}
		_, err = c.v4.WriteTo(b, &ipv4.ControlMessage{Src: src.AsSlice(), IfIndex: c.ifi.Index}, to)
	} else {
		if dst.IsLinkLocalMulticast() || dst.IsLinkLocalUnicast() {
			to.Zone = c.ifi.Name
		}
		_, err = c.v6.WriteTo(b, &ipv6.ControlMessage{Src: src.AsSlice(), IfIndex: c.ifi.Index, HopLimit: ttl}, to)
	}
	return err
}

// read loops, passing adverts to out until the socket is closed. Several
// sockets share out, so none closes it.
func (c *conn) read(out chan<- packet, done <-chan struct{}) {
	buf := make([]byte, 65536)
	for {
		var (
			n        int
			from     net.Addr
			err      error
			ttl      = -1
			dst      netip.Addr
			kernelCk bool
		)
		if c.v4 != nil {
			var cm *ipv4.ControlMessage
			n, cm, from, err = c.v4.ReadFrom(buf)
			if cm != nil {
				ttl = cm.TTL
				dst, _ = netip.AddrFromSlice(cm.Dst)
			}
		} else {
			var cm *ipv6.ControlMessage
			n, cm, from, err = c.v6.ReadFrom(buf)
			if cm != nil {
				ttl = cm.HopLimit
				dst, _ = netip.AddrFromSlice(cm.Dst)
			}
			kernelCk = true
		}
		if err != nil {
			return
		}
		ipa, ok := from.(*net.IPAddr)
		if !ok {
			continue
		}
		src, _ := netip.AddrFromSlice(ipa.IP)
		select {
		case out <- packet{ifname: c.ifi.Name, data: append([]byte(nil), buf[:n]...), src: src.Unmap(), dst: dst.Unmap(), ttl: ttl, kernelCk: kernelCk}:
		case <-done:
			return
		}
	}
}

func (c *conn) close() { c.raw.Close() }
