package netif

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"sync"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"
)

// Announcer sends gratuitous ARPs (IPv4) and unsolicited neighbour
// advertisements (IPv6) on one interface, so that hosts and switches learn
// the VIP's new MAC address at once after a failover.
type Announcer struct {
	ifi   *net.Interface
	arpFD int
	mu    sync.Mutex // several instances may announce on one interface at once
	na    *ipv6.PacketConn
}

// NewAnnouncer opens the sockets for dev.
func NewAnnouncer(dev string) (*Announcer, error) {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ARP)))
	if err != nil {
		return nil, fmt.Errorf("gratuitous ARP socket on %s: %w", dev, err)
	}
	return &Announcer{ifi: ifi, arpFD: fd}, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Announce sends one gratuitous ARP or unsolicited NA for ip.
func (a *Announcer) Announce(ip netip.Addr) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.arpFD < 0 {
		return fmt.Errorf("announcing %s on %s: closed", ip, a.ifi.Name)
	}
	if ip.Is4() {
		return a.garp(ip)
	}
	return a.unsolicitedNA(ip)
}

// garp broadcasts an ARP request whose sender and target are the VIP, the
// form keepalived sends.
func (a *Announcer) garp(ip netip.Addr) error {
	mac := a.ifi.HardwareAddr
	if len(mac) != 6 {
		return fmt.Errorf("gratuitous ARP on %s: no Ethernet address", a.ifi.Name)
	}
	p := garpPacket(mac, ip)
	to := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ARP), Ifindex: a.ifi.Index, Halen: 6}
	copy(to.Addr[:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	if err := unix.Sendto(a.arpFD, p, 0, to); err != nil {
		return fmt.Errorf("gratuitous ARP for %s on %s: %w", ip, a.ifi.Name, err)
	}
	return nil
}

// garpPacket is an ARP request (RFC 826) announcing that ip is at mac:
// sender and target address are both ip.
func garpPacket(mac net.HardwareAddr, ip netip.Addr) []byte {
	p := make([]byte, 0, 28)
	p = binary.BigEndian.AppendUint16(p, 1) // Ethernet
	p = binary.BigEndian.AppendUint16(p, unix.ETH_P_IP)
	p = append(p, 6, 4)
	p = binary.BigEndian.AppendUint16(p, 1) // request
	p = append(p, mac...)
	p = append(p, ip.AsSlice()...)
	p = append(p, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	return append(p, ip.AsSlice()...)
}

// naBody is the body of an unsolicited neighbour advertisement: override
// flag, target ip, and the target link-layer address option.
func naBody(mac net.HardwareAddr, ip netip.Addr) []byte {
	body := make([]byte, 0, 28)
	body = append(body, 0x20, 0, 0, 0)
	body = append(body, ip.AsSlice()...)
	body = append(body, 2, 1)
	return append(body, mac...)
}

// unsolicitedNA sends a neighbour advertisement with the override flag to
// all nodes (RFC 4861 7.2.6).
func (a *Announcer) unsolicitedNA(ip netip.Addr) error {
	if a.na == nil {
		c, err := net.ListenPacket("ip6:ipv6-icmp", "::")
		if err != nil {
			return fmt.Errorf("neighbour advertisement socket on %s: %w", a.ifi.Name, err)
		}
		a.na = ipv6.NewPacketConn(c)
		a.na.SetMulticastHopLimit(255)
		a.na.SetMulticastInterface(a.ifi)
	}
	body := naBody(a.ifi.HardwareAddr, ip)
	msg := icmp.Message{Type: ipv6.ICMPTypeNeighborAdvertisement, Body: &icmp.RawBody{Data: body}}
	b, err := msg.Marshal(nil) // the kernel fills the checksum of ICMPv6 sockets
	if err != nil {
		return err
	}
	cm := &ipv6.ControlMessage{HopLimit: 255, IfIndex: a.ifi.Index}
	if _, err := a.na.WriteTo(b, cm, &net.IPAddr{IP: net.ParseIP("ff02::1"), Zone: a.ifi.Name}); err != nil {
		return fmt.Errorf("neighbour advertisement for %s on %s: %w", ip, a.ifi.Name, err)
	}
	return nil
}

// Close releases the sockets.
func (a *Announcer) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	unix.Close(a.arpFD)
	a.arpFD = -1 // a late burst must not write to a reused descriptor
	if a.na != nil {
		a.na.Close()
	}
}
