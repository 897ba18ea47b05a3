package stream

import (
	"net"
	"net/netip"
	"strconv"
)

// SetAddr gives s a new IP address and, when port is not negative, a new
// port ("set server b/s addr"). The idle connections to the old address
// are closed; connections in use finish where they are. It returns the
// old host and port.
func (s *Server) SetAddr(ip netip.Addr, port int) (oldHost, oldPort string) {
	old := *s.dst.Load()
	oldHost, oldPort = old, "0"
	if !s.useDst {
		oldHost, oldPort, _ = net.SplitHostPort(old)
	}
	dst := ip.String()
	if !s.useDst {
		newPort := oldPort
		if port >= 0 {
			newPort = strconv.Itoa(port)
		}
		dst = net.JoinHostPort(dst, newPort)
	}
	if dst != old {
		s.dst.Store(&dst)
		s.transparent.Store(ip.IsUnspecified())
		s.idle.CloseAll()
	}
	return oldHost, oldPort
}
