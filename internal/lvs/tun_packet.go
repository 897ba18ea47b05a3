package lvs

import (
	"errors"
	"fmt"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// pktInfo is what the TUN datapath reads of a client's IPv4 packet.
type pktInfo struct {
	key      flowKey
	totalLen int   // the IP total length: link-layer padding is not forwarded
	tcpFlags uint8 // TCP only
}

// flowKey is a connection as the client sends it: every packet with the
// same key goes to the same real server.
type flowKey struct {
	src, dst     [4]byte
	sport, dport uint16
	proto        uint8
}

// TCP flags the flow table follows.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// Reasons a packet is not forwarded; fixed values, so that dropping one
// costs no allocation.
var (
	errShort    = errors.New("shorter than an IPv4 header")
	errVersion  = errors.New("not IPv4")
	errIHL      = errors.New("bad IPv4 header length")
	errTotalLen = errors.New("IPv4 total length beyond the packet")
	errFragment = errors.New("IPv4 fragment (not forwarded)")
	errProto    = errors.New("neither TCP nor UDP")
	errL4Short  = errors.New("truncated TCP/UDP header")
)

// parsePacket reads the flow key of an IPv4 packet starting at its IP
// header (an AF_PACKET SOCK_DGRAM read).
func parsePacket(b []byte) (p pktInfo, err error) {
	if len(b) < 20 {
		return p, errShort
	}
	if b[0]>>4 != 4 {
		return p, errVersion
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || ihl > len(b) {
		return p, errIHL
	}
	total := int(b[2])<<8 | int(b[3])
	if total < ihl || total > len(b) {
		return p, errTotalLen
	}
	// More fragments, or an offset: ports are not in every piece.
	if (int(b[6])<<8|int(b[7]))&0x3fff != 0 {
		return p, errFragment
	}
	p.totalLen = total
	p.key.proto = b[9]
	copy(p.key.src[:], b[12:16])
	copy(p.key.dst[:], b[16:20])
	l4 := b[ihl:total]
	switch p.key.proto {
	case unix.IPPROTO_TCP:
		if len(l4) < 20 {
			return p, errL4Short
		}
		p.tcpFlags = l4[13]
	case unix.IPPROTO_UDP:
		if len(l4) < 8 {
			return p, errL4Short
		}
	default:
		return p, errProto
	}
	p.key.sport = uint16(l4[0])<<8 | uint16(l4[1])
	p.key.dport = uint16(l4[2])<<8 | uint16(l4[3])
	return p, nil
}

// Classic BPF offsets and values used by the capture filter.
const (
	packetOutgoing = 4 // PACKET_OUTGOING: our own transmissions
	captureLen     = 1 << 16
)

// captureFilter is the socket filter of the TUN capture socket: IPv4
// packets received (not sent) without a VLAN tag still to strip, then
// matchFilter. Only packets for a TUN service wake the datapath up.
func captureFilter(svcs []*Service) ([]bpf.RawInstruction, error) {
	prog := []bpf.Instruction{
		bpf.LoadExtension{Num: bpf.ExtProto},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: unix.ETH_P_IP, SkipFalse: 4},
		bpf.LoadExtension{Num: bpf.ExtType},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: packetOutgoing, SkipTrue: 2},
		// A tagged frame is seen again on its VLAN device.
		bpf.LoadExtension{Num: bpf.ExtVLANTagPresent},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0, SkipTrue: 1},
		bpf.RetConstant{Val: 0},
	}
	m, err := matchFilter(svcs)
	if err != nil {
		return nil, err
	}
	return bpf.Assemble(append(prog, m...))
}

// matchFilter accepts an unfragmented IPv4 packet (from its IP header) to
// one of the services' addresses, protocol and port.
func matchFilter(svcs []*Service) ([]bpf.Instruction, error) {
	reject := bpf.RetConstant{Val: 0}
	prog := []bpf.Instruction{
		bpf.LoadAbsolute{Off: 0, Size: 1},
		bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: 0xf0},
		bpf.JumpIf{Cond: bpf.JumpEqual, Val: 0x40, SkipTrue: 1},
		reject,
		bpf.LoadAbsolute{Off: 6, Size: 2},
		bpf.JumpIf{Cond: bpf.JumpBitsSet, Val: 0x3fff, SkipFalse: 1},
		reject,
	}
	for _, s := range svcs {
		proto := uint32(unix.IPPROTO_TCP)
		if s.Protocol == "udp" {
			proto = unix.IPPROTO_UDP
		}
		for _, m := range s.Match {
			if m.FWMark != 0 || !m.First.Is4() || !m.Last.Is4() {
				return nil, fmt.Errorf("VS %s: lb_kind TUN needs IPv4 addresses (no fwmark, no IPv6)", s.Name)
			}
			first, last := m.First.As4(), m.Last.As4()
			// Each block ends by accepting; a failed test skips to the
			// next block.
			block := []bpf.Instruction{
				bpf.LoadAbsolute{Off: 9, Size: 1},
				bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: proto},
				bpf.LoadAbsolute{Off: 16, Size: 4},
				bpf.JumpIf{Cond: bpf.JumpLessThan, Val: be32(first)},
				bpf.JumpIf{Cond: bpf.JumpGreaterThan, Val: be32(last)},
			}
			if m.Port != 0 {
				block = append(block,
					bpf.LoadMemShift{Off: 0},
					bpf.LoadIndirect{Off: 2, Size: 2},
					bpf.JumpIf{Cond: bpf.JumpNotEqual, Val: uint32(m.Port)})
			}
			block = append(block, bpf.RetConstant{Val: captureLen})
			for i, ins := range block {
				if j, ok := ins.(bpf.JumpIf); ok {
					j.SkipTrue = uint8(len(block) - 1 - i)
					block[i] = j
				}
			}
			prog = append(prog, block...)
		}
	}
	return append(prog, reject), nil
}

func be32(a [4]byte) uint32 {
	return uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
}

// completeChecksum writes the TCP or UDP checksum of a packet read before
// the checksum was computed (TP_STATUS_CSUMNOTREADY): a sender on this
// host, or behind a veth or tap with checksum offload, leaves it to the
// device, and the real server would drop the packet as corrupt.
func completeChecksum(b []byte, p *pktInfo) {
	ihl := int(b[0]&0x0f) * 4
	l4 := b[ihl:p.totalLen]
	off := 16
	if p.key.proto == unix.IPPROTO_UDP {
		off = 6
	}
	l4[off], l4[off+1] = 0, 0
	sum := uint32(p.key.proto) + uint32(len(l4))
	sum = sum16(sum, b[12:20]) // source and destination addresses
	sum = sum16(sum, l4)
	for sum > 0xffff {
		sum = sum>>16 + sum&0xffff
	}
	c := ^uint16(sum)
	if c == 0 && p.key.proto == unix.IPPROTO_UDP {
		c = 0xffff // 0 means "no checksum" in UDP
	}
	l4[off], l4[off+1] = byte(c>>8), byte(c)
}

// sum16 adds b as big-endian 16-bit words (odd length: a zero pad).
func sum16(sum uint32, b []byte) uint32 {
	for len(b) >= 2 {
		sum += uint32(b[0])<<8 | uint32(b[1])
		b = b[2:]
		if sum >= 1<<31 {
			sum = sum>>16 + sum&0xffff
		}
	}
	if len(b) == 1 {
		sum += uint32(b[0]) << 8
	}
	return sum
}
