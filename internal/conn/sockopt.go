package conn

import (
	"crypto/tls"
	"net"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// The socket options rules set on the client's connection: silent-drop,
// set-mark and set-tos (haproxy's tcp_exec_action_silent_drop,
// tcp_action_set_mark, tcp_action_set_tos).

// onSocket runs f on the descriptor of the client's socket; nothing
// happens where there is none of its own (an HTTP/2 stream shares its
// connection's with other streams).
func onSocket(c net.Conn, f func(fd uintptr)) {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	control(c, f)
}

// Socket is the connection under c's layers (TLS, an HTTP/2 stream, a
// PROXY header's addresses): the one with a descriptor.
func Socket(c net.Conn) net.Conn {
	for {
		layer, ok := c.(interface{ NetConn() net.Conn })
		if !ok {
			return c
		}
		c = layer.NetConn()
	}
}

// TCPInfo reads the kernel's TCP_INFO of c's socket (fc_rtt and its
// kin); false when c has no TCP socket.
func TCPInfo(c net.Conn) (info *unix.TCPInfo, ok bool) {
	control(Socket(c), func(fd uintptr) {
		var err error
		info, err = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		ok = err == nil
	})
	return info, ok
}

// control runs f on the descriptor of s (a connection or a listener), if
// it has one.
func control(s any, f func(fd uintptr)) {
	sc, ok := s.(syscall.Conn)
	if !ok {
		return
	}
	if rc, err := sc.SyscallConn(); err == nil {
		rc.Control(f)
	}
}

// SetMark sets the mark of c's socket (SO_MARK: netfilter and routing see
// it); a failure (no CAP_NET_ADMIN) changes nothing, as in haproxy.
func SetMark(c net.Conn, mark int) {
	onSocket(c, func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_MARK, mark)
	})
}

// SetTOS sets the TOS, or IPv6 traffic class, of the packets sent on c.
func SetTOS(c net.Conn, tos int) {
	onSocket(c, func(fd uintptr) {
		if unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_TOS, tos) != nil {
			unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tos)
		}
	})
}

// SilentDrop readies the client's socket for haproxy's silent-drop: the
// connection is then closed as a reject closes it, but the client is told
// nothing and keeps waiting (an abuser's resources stay tied up). As in
// haproxy: the pending data is acknowledged at once (TCP_QUICKACK), the
// close may only ever reset (SO_LINGER 0, never a FIN), and TCP_REPAIR
// (root, or CAP_NET_ADMIN) makes the close send nothing at all; without
// it the reset leaves with a TTL of 1, so that it dies at the first
// router (on a local network the client still sees it).
func SilentDrop(c net.Conn) {
	onSocket(c, func(fd uintptr) {
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

// ResetClose closes c with a reset, as HAProxy's reject does: no
// TIME_WAIT is left behind for a connection that was refused.
func ResetClose(c net.Conn) {
	control(c, func(fd uintptr) {
		unix.SetsockoptLinger(int(fd), unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	})
	c.Close()
}

// DelayAcks turns quick acknowledgements off on a listening socket
// (TCP_QUICKACK 0, inherited by the connections it accepts), as HAProxy
// does on HTTP and TLS binds ("option tcp-smart-accept"): the client's
// request is then acknowledged by the response instead of a pure ACK of
// its own. Nothing happens where l has no descriptor.
func DelayAcks(l net.Listener) {
	control(l, func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 0)
	})
}

// QuickAck turns quick ACKs back on for c, on a socket accepted with
// DelayAcks, when more of a request is awaited: a client that waits for
// the ACK of what it sent (Nagle) is not held up by a delayed one. The
// kernel may leave quick-ACK mode again by itself, so it is asked each
// time, as HAProxy does.
func QuickAck(c net.Conn) {
	onSocket(c, func(fd uintptr) {
		unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_QUICKACK, 1)
	})
}

// SetKeepAlive turns TCP keepalive probes on for c's socket, with the
// probe count and times given (0: the system's); "option tcpka".
func SetKeepAlive(c net.Conn, count int, idle, intvl time.Duration) {
	control(Socket(c), func(fd uintptr) {
		s := int(fd)
		unix.SetsockoptInt(s, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
		if count > 0 {
			unix.SetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_KEEPCNT, count)
		}
		if idle > 0 {
			unix.SetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, int(idle/time.Second))
		}
		if intvl > 0 {
			unix.SetsockoptInt(s, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, int(intvl/time.Second))
		}
	})
}
