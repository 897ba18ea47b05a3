package vrrp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Protocol is VRRP's IP protocol number.
const Protocol = 112

// Multicast groups adverts go to unless unicast peers are configured.
var (
	Group4 = netip.MustParseAddr("224.0.0.18")
	Group6 = netip.MustParseAddr("ff02::12")
)

// Authentication types of VRRP version 2.
const (
	AuthNone = 0
	AuthPass = 1 // keepalived's "auth_type PASS": 8 clear-text bytes after the addresses
	AuthAH   = 2
)

const (
	headerLen = 8
	authLen   = 8 // v2 always carries the 8 auth bytes, zero without PASS
)

// Advert is one VRRP advertisement, version 2 or 3.
type Advert struct {
	Version            int // 2 or 3
	VRID               uint8
	Priority           uint8
	Interval           time.Duration // v2: whole seconds; v3: centiseconds
	AuthType           uint8         // v2 only
	AuthData           [authLen]byte // v2 only
	Addrs              []netip.Addr
	OldUnicastChecksum bool // v3/IPv4 checksum computed against 224.0.0.18 although unicast (keepalived < 1.3.6)
}

// String is a one-line summary, the same layout the test vectors use.
func (a *Advert) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "v%d vrid=%d prio=%d int=%s", a.Version, a.VRID, a.Priority, a.Interval)
	if a.AuthType == AuthPass {
		fmt.Fprintf(&b, " auth=PASS:%s", strings.TrimRight(string(a.AuthData[:]), "\x00"))
	} else if a.AuthType != AuthNone {
		fmt.Fprintf(&b, " auth=%d", a.AuthType)
	}
	b.WriteString(" addrs=")
	for i, ip := range a.Addrs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(ip.String())
	}
	return b.String()
}

// Marshal appends the advert's wire form to buf. src and dst are the IP
// source and destination, needed for the v3 pseudo-header checksum.
// Every address must be of src's family.
func (a *Advert) Marshal(buf []byte, src, dst netip.Addr) ([]byte, error) {
	if a.Version != 2 && a.Version != 3 {
		return nil, fmt.Errorf("VRRP version %d: only 2 and 3 exist", a.Version)
	}
	if len(a.Addrs) > 255 {
		return nil, fmt.Errorf("%d addresses: an advert carries at most 255", len(a.Addrs))
	}
	start := len(buf)
	buf = append(buf, byte(a.Version<<4|1), a.VRID, a.Priority, byte(len(a.Addrs)))
	if a.Version == 2 {
		secs := a.Interval / time.Second
		if secs < 1 || secs > 255 || a.Interval%time.Second != 0 {
			return nil, fmt.Errorf("VRRP v2 sends the advert interval in whole seconds 1..255, not %s", a.Interval)
		}
		buf = append(buf, a.AuthType, byte(secs), 0, 0)
	} else {
		cs := a.Interval / (10 * time.Millisecond)
		if cs < 1 || cs > 0xfff {
			return nil, fmt.Errorf("VRRP v3 advert interval %s is outside 0.01..40.95 s", a.Interval)
		}
		buf = binary.BigEndian.AppendUint16(buf, uint16(cs))
		buf = append(buf, 0, 0)
	}
	for _, ip := range a.Addrs {
		if ip.Is4() != src.Is4() {
			return nil, fmt.Errorf("address %s is not of the advert's family (source %s)", ip, src)
		}
		buf = append(buf, ip.AsSlice()...)
	}
	if a.Version == 2 {
		if !src.Is4() {
			return nil, errors.New("VRRP v2 carries IPv4 only; use version 3 for IPv6")
		}
		buf = append(buf, a.AuthData[:]...)
	}
	pkt := buf[start:]
	var sum uint32
	if a.Version == 3 {
		pdst := dst
		if a.OldUnicastChecksum {
			pdst = Group4
		}
		sum = pseudoSum(src, pdst, len(pkt))
	}
	binary.BigEndian.PutUint16(pkt[6:], fold(sum+bytesSum(pkt)))
	return buf, nil
}

// Decode parses a VRRP message received from src to dst (the IP header's
// addresses) and verifies its checksum. checksumDone says the kernel has
// already verified it (IPv6 raw sockets with IPV6_CHECKSUM). Errors name
// the peer.
func Decode(pkt []byte, src, dst netip.Addr, checksumDone bool) (*Advert, error) {
	a := &Advert{}
	if err := a.decode(pkt, src, dst, checksumDone); err != nil {
		return nil, fmt.Errorf("advert from %s: %w", src, err)
	}
	return a, nil
}

func (a *Advert) decode(pkt []byte, src, dst netip.Addr, checksumDone bool) error {
	if len(pkt) < headerLen {
		return fmt.Errorf("%d bytes is shorter than a VRRP header", len(pkt))
	}
	a.Version = int(pkt[0] >> 4)
	if a.Version != 2 && a.Version != 3 {
		return fmt.Errorf("VRRP version %d: only 2 and 3 are understood", a.Version)
	}
	if t := pkt[0] & 0xf; t != 1 {
		return fmt.Errorf("VRRP type %d is not an advertisement", t)
	}
	if a.Version == 2 && !src.Is4() {
		return errors.New("VRRP v2 over IPv6")
	}
	a.VRID, a.Priority = pkt[1], pkt[2]
	if a.VRID == 0 {
		return errors.New("VRID 0 is invalid")
	}
	n := int(pkt[3])
	alen := 4
	if !src.Is4() {
		alen = 16
	}
	want := headerLen + n*alen
	if a.Version == 2 {
		want += authLen
	}
	// keepalived accepts trailing bytes (some routers pad); fewer is an error.
	if len(pkt) < want {
		return fmt.Errorf("%d bytes, %d addresses need %d", len(pkt), n, want)
	}
	if a.Version == 2 {
		a.AuthType = pkt[4]
		a.Interval = time.Duration(pkt[5]) * time.Second
	} else {
		a.Interval = time.Duration(binary.BigEndian.Uint16(pkt[4:])&0xfff) * 10 * time.Millisecond
	}
	a.Addrs = make([]netip.Addr, n)
	for i := range n {
		b := pkt[headerLen+i*alen : headerLen+(i+1)*alen]
		if alen == 4 {
			a.Addrs[i] = netip.AddrFrom4([4]byte(b))
		} else {
			a.Addrs[i] = netip.AddrFrom16([16]byte(b))
		}
	}
	if a.Version == 2 {
		copy(a.AuthData[:], pkt[want-authLen:want])
	}
	if checksumDone {
		return nil
	}
	body := pkt[:want]
	if a.Version == 2 {
		if fold(bytesSum(body)) != 0 {
			return errors.New("bad VRRP v2 checksum")
		}
		return nil
	}
	if fold(pseudoSum(src, dst, len(body))+bytesSum(body)) == 0 {
		return nil
	}
	// keepalived before 1.3.6 checksummed unicast v3 adverts against the
	// multicast group; keepalived still accepts them, and so do we.
	if src.Is4() && dst != Group4 && fold(pseudoSum(src, Group4, len(body))+bytesSum(body)) == 0 {
		a.OldUnicastChecksum = true
		return nil
	}
	return errors.New("bad VRRP v3 checksum")
}

func pseudoSum(src, dst netip.Addr, n int) uint32 {
	var sum uint32
	s, d := src.AsSlice(), dst.AsSlice()
	sum += bytesSum(s) + bytesSum(d)
	if src.Is4() {
		return sum + Protocol + uint32(n)
	}
	return sum + uint32(n>>16) + uint32(n&0xffff) + Protocol
}

// bytesSum adds 16-bit big-endian words (RFC 1071), the odd byte padded.
func bytesSum(b []byte) uint32 {
	var sum uint32
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}

func fold(sum uint32) uint16 {
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	return ^uint16(sum)
}
