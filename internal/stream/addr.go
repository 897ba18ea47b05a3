package stream

import (
	"net"
	"net/netip"
	"strconv"
	"time"
)

// serverAddr is a server's address as dials read it: swapped whole by
// "set server addr", so a dial sees the old or the new one, never a mix.
type serverAddr struct {
	hostPort string // as on the server line: host:port, port "0" when the client's port is used
	host     string
}

func newServerAddr(hostPort string) *serverAddr {
	host, _, err := net.SplitHostPort(hostPort)
	if err != nil {
		host = hostPort
	}
	return &serverAddr{hostPort: hostPort, host: host}
}

// Addr returns s's address now, "host:port" as on its server line.
func (s *Server) Addr() string { return s.addr.Load().hostPort }

// SetAddr gives s a new IP address and, when port is not negative, a new
// port ("set server b/s addr"). The idle connections to the old address
// are closed; connections in use finish where they are. It returns the
// old host and port.
func (s *Server) SetAddr(ip netip.Addr, port int) (oldHost, oldPort string) {
	old := s.addr.Load()
	oldHost, oldPort, _ = net.SplitHostPort(old.hostPort)
	newPort := oldPort
	if port >= 0 {
		newPort = strconv.Itoa(port)
	}
	if hp := net.JoinHostPort(ip.String(), newPort); hp != old.hostPort {
		s.addr.Store(newServerAddr(hp))
		s.purgeIdle(time.Now(), -1)
	}
	return oldHost, oldPort
}
