package netif

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/vishvananda/netlink"
)

// EnsureMacvlan makes name a macvlan (private mode, as keepalived's VMACs)
// on parent with the MAC mac, up. An existing one with the same parent and
// MAC is taken over (a previous run left it); created says whether this
// call made it.
func EnsureMacvlan(name, parent string, mac net.HardwareAddr) (created bool, err error) {
	p, err := netlink.LinkByName(parent)
	if err != nil {
		return false, fmt.Errorf("VMAC %s: interface %s: %w", name, parent, err)
	}
	if l, err := netlink.LinkByName(name); err == nil {
		mv, ok := l.(*netlink.Macvlan)
		if !ok || l.Attrs().ParentIndex != p.Attrs().Index || !bytes.Equal(l.Attrs().HardwareAddr, mac) {
			return false, fmt.Errorf("VMAC %s: an interface of that name exists and is not a macvlan on %s with MAC %s; remove it or name the VMAC with 'use_vmac <name>'", name, parent, mac)
		}
		return false, netlink.LinkSetUp(mv)
	}
	la := netlink.NewLinkAttrs()
	la.Name = name
	la.ParentIndex = p.Attrs().Index
	la.HardwareAddr = mac
	mv := &netlink.Macvlan{LinkAttrs: la, Mode: netlink.MACVLAN_MODE_PRIVATE}
	if err := netlink.LinkAdd(mv); err != nil {
		return false, fmt.Errorf("VMAC %s: creating a macvlan on %s: %w", name, parent, err)
	}
	if err := netlink.LinkSetUp(mv); err != nil {
		netlink.LinkDel(mv)
		return false, fmt.Errorf("VMAC %s: setting it up: %w", name, err)
	}
	return true, nil
}

// DeleteLink removes the interface name.
func DeleteLink(name string) error {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return err
	}
	return netlink.LinkDel(l)
}

// SetIPv4Conf writes net.ipv4.conf.<dev>.<key> and returns the value it
// replaced.
func SetIPv4Conf(dev, key, val string) (old string, err error) {
	p := filepath.Join("/proc/sys/net/ipv4/conf", dev, key)
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	old = strings.TrimSpace(string(b))
	if old == val {
		return old, nil
	}
	return old, os.WriteFile(p, []byte(val), 0o644)
}
