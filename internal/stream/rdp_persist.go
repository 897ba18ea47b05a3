package stream

import (
	"encoding/binary"
	"net/netip"

	"dhproxy/internal/sample"
)

// rdpPersistServer is "persist rdp-cookie": the server named by the
// client's RDP cookie ("Cookie: msts=<ip>.<port>.<rest>", written by a
// terminal server in token redirection mode), if it is usable (or anyDown:
// option persist, force-persist); nil otherwise, and the connection is
// balanced. <ip> is the decimal of the IPv4 address's bytes in network
// order read as a little-endian 32-bit integer and <port> the port's two
// bytes swapped, as haproxy compares them on x86.
func (b *Backend) rdpPersistServer(first []byte, anyDown bool) *Server {
	v, st := sample.RDPCookie(first, b.P.PersistRDPCookie)
	if st != sample.RDPFound || len(v) == 0 {
		return nil
	}
	addr, port, ok := parseRDPServerCookie(v)
	if !ok {
		return nil
	}
	for _, s := range b.ServerList() {
		d := s.dst.Load()
		if d == nil {
			continue
		}
		var ap netip.AddrPort
		if s.useDst { // no port configured: haproxy's port is then 0
			ip, err := netip.ParseAddr(*d)
			if err != nil {
				continue
			}
			ap = netip.AddrPortFrom(ip, 0)
		} else if ap, ok = parseAddrPort(*d); !ok {
			continue
		}
		if !ap.Addr().Is4() || ap.Port() != port || ap.Addr().As4() != addr {
			continue
		}
		if s.Up() || anyDown {
			return s
		}
	}
	return nil
}

func parseAddrPort(s string) (netip.AddrPort, bool) {
	ap, err := netip.ParseAddrPort(s)
	return ap, err == nil
}

// parseRDPServerCookie reads "<ip>.<port>." at the start of an RDP cookie's
// value: the address's bytes and the port.
func parseRDPServerCookie(v []byte) (addr [4]byte, port uint16, ok bool) {
	ip, rest, ok := rdpNumber(v)
	if !ok || ip > 0xffffffff {
		return addr, 0, false
	}
	p, _, ok := rdpNumber(rest)
	if !ok {
		return addr, 0, false
	}
	binary.LittleEndian.PutUint32(addr[:], uint32(ip))
	// haproxy's ntohs keeps the low 16 bits, then swaps them
	return addr, uint16(p)>>8 | uint16(p)<<8, true
}

// rdpNumber reads decimal digits up to a '.', returning what follows it.
func rdpNumber(v []byte) (n uint64, rest []byte, ok bool) {
	i := 0
	for ; i < len(v) && v[i] >= '0' && v[i] <= '9'; i++ {
		if n < 1<<40 { // past 32 bits the value matches nothing anyway
			n = n*10 + uint64(v[i]-'0')
		}
	}
	if i == len(v) || v[i] != '.' {
		return 0, nil, false
	}
	return n, v[i+1:], true
}
