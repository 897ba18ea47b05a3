package netif

import (
	"net"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// LinkEvent says an interface went up or down.
type LinkEvent struct {
	Name string
	Up   bool
}

// linkUp is keepalived's notion of a usable interface: administratively up
// and running (carrier present).
func linkUp(flags uint32) bool {
	return flags&unix.IFF_UP != 0 && flags&unix.IFF_RUNNING != 0
}

// IsUp reports the current state of the interface.
func IsUp(name string) bool {
	l, err := netlink.LinkByName(name)
	if err != nil {
		return false
	}
	return linkUp(l.Attrs().RawFlags)
}

// WatchLinks sends an event for every up/down change of the named
// interfaces until done is closed. The current state of each is sent first.
func WatchLinks(names []string, events chan<- LinkEvent, done <-chan struct{}) error {
	updates := make(chan netlink.LinkUpdate, 16)
	if err := netlink.LinkSubscribe(updates, done); err != nil {
		return err
	}
	want := map[string]bool{}
	last := map[string]bool{}
	for _, n := range names {
		want[n] = true
		last[n] = IsUp(n)
		events <- LinkEvent{n, last[n]}
	}
	go func() {
		for u := range updates {
			name := u.Attrs().Name
			if !want[name] {
				continue
			}
			up := linkUp(u.IfInfomsg.Flags)
			if u.Header.Type == unix.RTM_DELLINK {
				up = false
			}
			if up == last[name] {
				continue
			}
			last[name] = up
			select {
			case events <- LinkEvent{name, up}:
			case <-done:
				return
			}
		}
	}()
	return nil
}

// InterfaceExists reports whether the interface exists.
func InterfaceExists(name string) bool {
	_, err := net.InterfaceByName(name)
	return err == nil
}
