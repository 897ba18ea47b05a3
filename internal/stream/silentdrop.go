package stream

import (
	"crypto/tls"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// silentDrop readies the client's socket for haproxy's silent-drop: the
// connection is then closed as a reject closes it, but the client is told
// nothing and keeps waiting (an abuser's resources stay tied up). As in
// haproxy: the pending data is acknowledged at once (TCP_QUICKACK), the
// close may only ever reset (SO_LINGER 0, never a FIN), and TCP_REPAIR
// (root, or CAP_NET_ADMIN) makes the close send nothing at all; without
// it the reset leaves with a TTL of 1, so that it dies at the first
// router (on a local network the client still sees it).
func silentDrop(c net.Conn) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return // no socket of its own (an HTTP/2 stream): closed as is
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		s := int(fd)
		unix.SetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
		unix.SetsockoptLinger(s, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
		if unix.SetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_REPAIR, 1) == nil {
			return
		}
		if unix.SetsockoptInt(s, unix.IPPROTO_IP, unix.IP_TTL, 1) != nil {
			unix.SetsockoptInt(s, unix.IPPROTO_IPV6, unix.IPV6_UNICAST_HOPS, 1)
		}
	})
}
