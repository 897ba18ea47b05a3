// Package netif changes and watches the host's interfaces for VRRP: virtual
// addresses through netlink, gratuitous ARP and unsolicited neighbour
// advertisements, link up/down events.
package netif

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// VIP is one virtual address as keepalived's virtual_ipaddress writes it.
type VIP struct {
	Prefix netip.Prefix
	Dev    string
	Label  string     // e.g. eth0:1; must start with the device name (a kernel rule)
	Brd    netip.Addr // zero = none
	Scope  string     // "", global, site, link, host, nowhere
}

func (v VIP) nl() (*netlink.Addr, error) {
	a := &netlink.Addr{IPNet: &net.IPNet{IP: v.Prefix.Addr().AsSlice(), Mask: net.CIDRMask(v.Prefix.Bits(), v.Prefix.Addr().BitLen())}, Label: v.Label}
	if v.Brd.IsValid() {
		a.Broadcast = v.Brd.AsSlice()
	}
	if v.Prefix.Addr().Is6() {
		// Usable at once: duplicate address detection would hold it
		// "tentative" for a second after a failover.
		a.Flags = unix.IFA_F_NODAD
	}
	switch v.Scope {
	case "", "global":
		a.Scope = unix.RT_SCOPE_UNIVERSE
	case "site":
		a.Scope = unix.RT_SCOPE_SITE
	case "link":
		a.Scope = unix.RT_SCOPE_LINK
	case "host":
		a.Scope = unix.RT_SCOPE_HOST
	case "nowhere":
		a.Scope = unix.RT_SCOPE_NOWHERE
	default:
		return nil, fmt.Errorf("unknown scope %q", v.Scope)
	}
	return a, nil
}

// link finds v's device and builds its netlink address.
func (v VIP) link() (netlink.Link, *netlink.Addr, error) {
	link, err := netlink.LinkByName(v.Dev)
	if err != nil {
		return nil, nil, fmt.Errorf("VIP %s: interface %s: %w", v.Prefix, v.Dev, err)
	}
	a, err := v.nl()
	if err != nil {
		return nil, nil, fmt.Errorf("VIP %s: %w", v.Prefix, err)
	}
	return link, a, nil
}

// AddVIP puts the address on its device; an address already there is fine.
func AddVIP(v VIP) error {
	link, a, err := v.link()
	if err != nil {
		return err
	}
	if err := netlink.AddrAdd(link, a); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("VIP %s dev %s: %w", v.Prefix, v.Dev, err)
	}
	return nil
}

// DelVIP removes the address; an address already gone is fine.
func DelVIP(v VIP) error {
	link, a, err := v.link()
	if err != nil {
		return err
	}
	if err := netlink.AddrDel(link, a); err != nil && !errors.Is(err, unix.EADDRNOTAVAIL) {
		return fmt.Errorf("VIP %s dev %s: %w", v.Prefix, v.Dev, err)
	}
	return nil
}

// HasAddr reports whether the address is on the device.
func HasAddr(dev string, ip netip.Addr) (bool, error) {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return false, err
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return false, err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if x, ok := netip.AddrFromSlice(n.IP); ok && x.Unmap() == ip {
				return true, nil
			}
		}
	}
	return false, nil
}

// PrimaryAddr is the interface's first address of the family, as
// keepalived picks the advert source: for IPv6 the link-local one.
func PrimaryAddr(dev string, ipv6 bool) (netip.Addr, error) {
	ifi, err := net.InterfaceByName(dev)
	if err != nil {
		return netip.Addr{}, err
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		n, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		x, ok := netip.AddrFromSlice(n.IP)
		if !ok {
			continue
		}
		x = x.Unmap()
		if ipv6 && x.Is6() && x.IsLinkLocalUnicast() || !ipv6 && x.Is4() {
			return x, nil
		}
	}
	fam := "IPv4"
	if ipv6 {
		fam = "IPv6 link-local"
	}
	return netip.Addr{}, fmt.Errorf("interface %s has no %s address", dev, fam)
}
