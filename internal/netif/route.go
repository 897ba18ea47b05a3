package netif

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Route is one route as keepalived's virtual_routes / static_routes
// write it.
type Route struct {
	Type     string // "" (unicast), blackhole, unreachable, prohibit, throw
	Dst      netip.Prefix
	Src      netip.Addr
	Via      netip.Addr
	Dev      string // "" = none (the kernel finds it from the gateway)
	OnLink   bool
	Table    uint32 // 0 = main
	Metric   uint32
	Scope    uint8
	Protocol uint8
	Mode     string // "prepend" (""), "add" or "append"
}

// String is the route as "ip route" would take it, for log lines.
func (r Route) String() string {
	var b strings.Builder
	if r.Type != "" {
		b.WriteString(r.Type + " ")
	}
	b.WriteString(r.Dst.String())
	if r.Via.IsValid() {
		b.WriteString(" via " + r.Via.String())
	}
	if r.Dev != "" {
		b.WriteString(" dev " + r.Dev)
	}
	if r.Src.IsValid() {
		b.WriteString(" src " + r.Src.String())
	}
	if r.Table != 0 {
		fmt.Fprintf(&b, " table %d", r.Table)
	}
	if r.Metric != 0 {
		fmt.Fprintf(&b, " metric %d", r.Metric)
	}
	return b.String()
}

var routeTypes = map[string]int{"": unix.RTN_UNICAST, "blackhole": unix.RTN_BLACKHOLE,
	"unreachable": unix.RTN_UNREACHABLE, "prohibit": unix.RTN_PROHIBIT, "throw": unix.RTN_THROW}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func (r Route) nl() (*netlink.Route, error) {
	typ, ok := routeTypes[r.Type]
	if !ok {
		return nil, fmt.Errorf("route %s: unknown type %q", r, r.Type)
	}
	fam := unix.AF_INET
	if r.Dst.Addr().Is6() {
		fam = unix.AF_INET6
	}
	nr := &netlink.Route{Family: fam, Dst: ipNet(r.Dst), Type: typ, Table: int(r.Table), Priority: int(r.Metric),
		Scope: netlink.Scope(r.Scope), Protocol: netlink.RouteProtocol(r.Protocol)}
	if r.Table == 0 {
		nr.Table = unix.RT_TABLE_MAIN
	}
	if r.Src.IsValid() {
		nr.Src = r.Src.AsSlice()
	}
	if r.Via.IsValid() {
		nr.Gw = r.Via.AsSlice()
	}
	if r.OnLink {
		nr.Flags = int(netlink.FLAG_ONLINK)
	}
	if r.Dev != "" {
		link, err := netlink.LinkByName(r.Dev)
		if err != nil {
			return nil, fmt.Errorf("route %s: interface %s: %w", r, r.Dev, err)
		}
		nr.LinkIndex = link.Attrs().Index
	}
	return nr, nil
}

// AddRoute installs the route as keepalived does: by default prepended
// ("ip route prepend", before a route with the same destination and
// metric), with "add" only when no such route exists, with "append"
// after it. The very same route already there is fine.
func AddRoute(r Route) error {
	nr, err := r.nl()
	if err != nil {
		return err
	}
	switch r.Mode {
	case "add":
		err = netlink.RouteAdd(nr)
	case "append":
		err = netlink.RouteAppend(nr)
	default:
		err = netlink.RouteAddEcmp(nr) // NLM_F_CREATE alone: prepend
	}
	if err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("route %s: %w", r, err)
	}
	return nil
}

// DelRoute removes the route; a route already gone is fine.
func DelRoute(r Route) error { return apply("route", r, r.nl, netlink.RouteDel, unix.ESRCH) }

// apply runs op on x's netlink form; fine (already there, already gone) is
// no error.
func apply[T any](what string, x fmt.Stringer, nl func() (T, error), op func(T) error, fine unix.Errno) error {
	v, err := nl()
	if err != nil {
		return err
	}
	if err := op(v); err != nil && !errors.Is(err, fine) {
		return fmt.Errorf("%s %s: %w", what, x, err)
	}
	return nil
}

// HasRoute reports whether the route is in its table: same destination,
// type, device and metric.
func HasRoute(r Route) (bool, error) {
	nr, err := r.nl()
	if err != nil {
		return false, err
	}
	metric := nr.Priority
	if metric == 0 && r.Dst.Addr().Is6() {
		metric = 1024 // the kernel's default for IPv6
	}
	found := false
	err = netlink.RouteListFilteredIter(nr.Family, nr, netlink.RT_FILTER_TABLE|netlink.RT_FILTER_OIF|netlink.RT_FILTER_DST|netlink.RT_FILTER_TYPE, func(got netlink.Route) bool {
		found = got.Priority == metric
		return !found
	})
	return found, err
}

// WatchRouteDeletes sends on deleted each time the kernel reports a route
// deleted, until done is closed; a signal not yet read stands for those
// that follow it.
func WatchRouteDeletes(deleted chan<- struct{}, done <-chan struct{}) error {
	updates := make(chan netlink.RouteUpdate, 64)
	if err := netlink.RouteSubscribe(updates, done); err != nil {
		return err
	}
	go func() {
		for u := range updates {
			if u.Type == unix.RTM_DELROUTE {
				select {
				case deleted <- struct{}{}:
				default:
				}
			}
		}
	}()
	return nil
}
