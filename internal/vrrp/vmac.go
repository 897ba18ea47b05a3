package vrrp

import (
	"fmt"

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
