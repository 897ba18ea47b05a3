package vrrp

import (
	"fmt"
	"strings"

	"dhproxy/internal/config/keepalived"
	"dhproxy/internal/netif"
)

// setupVMAC creates the instance's VMAC (a macvlan with the virtual
// router's MAC on its interface) and sets the sysctls keepalived sets, so
// that only the VMAC answers ARP for the VIPs: arp_ignore and arp_filter
// on the base interface (restored at stop); arp_ignore, accept_local,
// promote_secondaries and no reverse path filter on the VMAC (adverts
// leave from the base's address).
func (r *Runtime) setupVMAC(c *keepalived.VRRPInstance) error {
	if r.vmacs[c.VMAC] {
		return nil
	}
	created, err := netif.EnsureMacvlan(c.VMAC, c.Interface, c.VMACAddr)
	if err != nil {
		return fmt.Errorf("%s: (%s) %v", c.Pos, c.Name, err)
	}
	r.vmacs[c.VMAC] = created
	if a := r.ann[c.VMAC]; created && a != nil {
		a.Close() // bound to a VMAC a reload removed
		delete(r.ann, c.VMAC)
	}
	if created {
		r.Logf("(%s) created VMAC %s (%s) on %s", c.Name, c.VMAC, c.VMACAddr, c.Interface)
	}
	set := func(dev, key, val string, restore bool) {
		old, err := netif.SetIPv4Conf(dev, key, val)
		if err != nil {
			r.Logf("(%s) %s: setting %s: %v", c.Name, dev, key, err)
			return
		}
		k := [2]string{dev, key}
		if _, seen := r.sysctls[k]; restore && !seen && old != val {
			r.sysctls[k] = old
		}
	}
	set(c.Interface, "arp_ignore", "1", true)
	set(c.Interface, "arp_filter", "1", true)
	set(c.VMAC, "arp_ignore", "1", false)
	set(c.VMAC, "accept_local", "1", false)
	set(c.VMAC, "rp_filter", "0", false)
	set(c.VMAC, "promote_secondaries", "1", false)
	return nil
}

// removeVMACs deletes the VMACs this run created and restores the base
// interfaces' sysctls, as keepalived does when it stops.
func (r *Runtime) removeVMACs() {
	for name, created := range r.vmacs {
		if created {
			if err := netif.DeleteLink(name); err != nil {
				r.Logf("removing VMAC %s: %v", name, err)
			}
		}
		delete(r.vmacs, name)
	}
	for k, old := range r.sysctls {
		if _, err := netif.SetIPv4Conf(k[0], k[1], old); err != nil {
			r.Logf("%s: restoring %s: %v", k[0], k[1], err)
		}
		delete(r.sysctls, k)
	}
}

// pruneVMACs removes, after a reload, the VMACs no instance uses any more
// (with their sockets; the announcer stays for bursts still in flight and
// is replaced if the VMAC comes back), and restores the sysctls of base
// interfaces no VMAC sits on now, as keepalived does when the last VMAC
// of an interface goes.
func (r *Runtime) pruneVMACs() {
	used, bases := map[string]bool{}, map[string]bool{}
	for _, in := range r.insts {
		if in.Cfg.VMAC != "" {
			used[in.Cfg.VMAC] = true
			bases[in.Cfg.Interface] = true
		}
	}
	for name, created := range r.vmacs {
		if used[name] {
			continue
		}
		for key, c := range r.conns {
			if strings.TrimSuffix(strings.TrimSuffix(key, "/4"), "/6") == name {
				c.close()
				delete(r.conns, key)
			}
		}
		if created {
			if err := netif.DeleteLink(name); err != nil {
				r.Logf("removing VMAC %s: %v", name, err)
			} else {
				r.Logf("removed VMAC %s", name)
			}
		}
		delete(r.vmacs, name)
	}
	for k, old := range r.sysctls {
		if bases[k[0]] {
			continue
		}
		if _, err := netif.SetIPv4Conf(k[0], k[1], old); err != nil {
			r.Logf("%s: restoring %s: %v", k[0], k[1], err)
		}
		delete(r.sysctls, k)
	}
}
