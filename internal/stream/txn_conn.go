package stream

import (
	"net/netip"

	"golang.org/x/sys/unix"

	"dhproxy/internal/conn"
)

// sample.ConnTxn: the connections' own ends and TCP state (fc_*, bc_*).

// FrontAddrs are the client connection's ends (an HTTP/2 stream's are
// its connection's).
func (s *httpSession) FrontAddrs() (src, dst netip.AddrPort) { return connEnds(s.c) }

// BackAddrs are the ends of the connection to the server, once there is
// one.
func (s *httpSession) BackAddrs() (src, dst netip.AddrPort) { return s.lg.bkAddr, s.lg.srvAddr }

// ClientTCPInfo is TCP_INFO of the client's socket.
func (s *httpSession) ClientTCPInfo() (*unix.TCPInfo, bool) { return conn.TCPInfo(s.c) }

// FrontAddrs are the client connection's ends in mode tcp.
func (t *tcpTxn) FrontAddrs() (src, dst netip.AddrPort) { return connEnds(t.c) }

// BackAddrs are the ends of the connection to the server in mode tcp, once
// connected (tcp-response rules, the log).
func (t *tcpTxn) BackAddrs() (src, dst netip.AddrPort) {
	if t.back == nil {
		return netip.AddrPort{}, netip.AddrPort{}
	}
	srv, local := connEnds(t.back)
	return local, srv
}

// ClientTCPInfo is TCP_INFO of the client's socket in mode tcp.
func (t *tcpTxn) ClientTCPInfo() (*unix.TCPInfo, bool) { return conn.TCPInfo(t.c) }
