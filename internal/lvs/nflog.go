package lvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// nfnetlink_log numbers (linux/netfilter/nfnetlink_log.h).
const (
	nflogMsgPacket = unix.NFNL_SUBSYS_ULOG<<8 | 0 // NFULNL_MSG_PACKET
	nflogMsgConfig = unix.NFNL_SUBSYS_ULOG<<8 | 1 // NFULNL_MSG_CONFIG

	nfulaPayload = 9  // NFULA_PAYLOAD: the packet from its network header
	nfulaPrefix  = 10 // NFULA_PREFIX: the log rule's prefix, NUL-terminated

	nfulaCfgCmd     = 1 // NFULA_CFG_CMD
	nfulaCfgMode    = 2 // NFULA_CFG_MODE
	nfulaCfgQthresh = 5 // NFULA_CFG_QTHRESH

	nfulnlCfgCmdBind = 1 // NFULNL_CFG_CMD_BIND
	nfulnlCopyPacket = 2 // NFULNL_COPY_PACKET

	// nflogSnap is how much of each packet is copied: an IPv6 header,
	// a few extension headers and the TCP header's first 14 bytes.
	nflogSnap = 128
)

// nflogPacket is what the DR counter reads of one logged client packet.
type nflogPacket struct {
	prefix   string
	src, dst netip.AddrPort
	proto    uint8
	tcpFlags uint8
}

var (
	errNflogShort   = errors.New("nflog message shorter than its nfgenmsg")
	errNflogPayload = errors.New("nflog message without a packet")
	errPktShort     = errors.New("packet shorter than its IP header")
	errPktVersion   = errors.New("packet neither IPv4 nor IPv6")
	errPktFragment  = errors.New("packet is a non-first fragment")
	errPktProto     = errors.New("packet neither TCP nor UDP")
	errPktL4Short   = errors.New("packet's TCP/UDP header truncated")
)

// parseNflog decodes one NFULNL_MSG_PACKET body (after the netlink
// header). Errors say what was malformed; the message is skipped.
func parseNflog(b []byte) (p nflogPacket, err error) {
	if len(b) < 4 {
		return p, errNflogShort
	}
	var payload []byte
	err = walkAttrs(b[4:], func(t uint16, v []byte) error {
		switch t {
		case nfulaPayload:
			payload = v
		case nfulaPrefix:
			for i, c := range v {
				if c == 0 {
					v = v[:i]
					break
				}
			}
			p.prefix = string(v)
		}
		return nil
	})
	if err != nil {
		return p, err
	}
	if payload == nil {
		return p, errNflogPayload
	}
	return p, p.parseIP(payload)
}

// parseIP reads addresses, ports and TCP flags of an IPv4 or IPv6 packet.
func (p *nflogPacket) parseIP(b []byte) error {
	if len(b) < 1 {
		return errPktShort
	}
	var l4 []byte
	var src, dst netip.Addr
	switch b[0] >> 4 {
	case 4:
		if len(b) < 20 {
			return errPktShort
		}
		ihl := int(b[0]&0x0f) * 4
		if ihl < 20 || ihl > len(b) {
			return errPktShort
		}
		if binary.BigEndian.Uint16(b[6:])&0x1fff != 0 {
			return errPktFragment
		}
		p.proto = b[9]
		src, dst = netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
		l4 = b[ihl:]
	case 6:
		if len(b) < 40 {
			return errPktShort
		}
		src, dst = netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
		next, rest := b[6], b[40:]
		// Skip the extension headers a client may send before TCP/UDP.
		for i := 0; i < 8 && next != unix.IPPROTO_TCP && next != unix.IPPROTO_UDP; i++ {
			switch next {
			case unix.IPPROTO_HOPOPTS, unix.IPPROTO_ROUTING, unix.IPPROTO_DSTOPTS:
				if len(rest) < 8 || 8+int(rest[1])*8 > len(rest) {
					return errPktShort
				}
				next, rest = rest[0], rest[8+int(rest[1])*8:]
			case unix.IPPROTO_FRAGMENT:
				if len(rest) < 8 {
					return errPktShort
				}
				if binary.BigEndian.Uint16(rest[2:])&0xfff8 != 0 {
					return errPktFragment
				}
				next, rest = rest[0], rest[8:]
			default:
				return errPktProto
			}
		}
		p.proto, l4 = next, rest
	default:
		return errPktVersion
	}
	switch p.proto {
	case unix.IPPROTO_TCP:
		if len(l4) < 14 {
			return errPktL4Short
		}
		p.tcpFlags = l4[13]
	case unix.IPPROTO_UDP:
		if len(l4) < 4 {
			return errPktL4Short
		}
	default:
		return errPktProto
	}
	p.src = netip.AddrPortFrom(src, binary.BigEndian.Uint16(l4))
	p.dst = netip.AddrPortFrom(dst, binary.BigEndian.Uint16(l4[2:]))
	return nil
}

// nflogSocket opens a NETLINK_NETFILTER socket bound to the first free
// nflog group from base on (another program, ulogd say, may hold one),
// copying nflogSnap bytes of each packet and sending each at once.
func nflogSocket(base uint16) (fd int, group uint16, err error) {
	fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_NETFILTER)
	if err != nil {
		return -1, 0, err
	}
	// Room for a burst: a lost message costs a count until the flow expires.
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return -1, 0, err
	}
	for g := base; g < base+16; g++ {
		err = nflogConfig(fd, g, nflogAttr(nfulaCfgCmd, []byte{nfulnlCfgCmdBind}))
		if err == unix.EBUSY {
			continue
		}
		if err != nil {
			break
		}
		mode := make([]byte, 6) // struct nfulnl_msg_config_mode, packed
		binary.BigEndian.PutUint32(mode, nflogSnap)
		mode[4] = nfulnlCopyPacket
		qthresh := binary.BigEndian.AppendUint32(nil, 1)
		err = nflogConfig(fd, g, append(nflogAttr(nfulaCfgMode, mode), nflogAttr(nfulaCfgQthresh, qthresh)...))
		if err == nil {
			return fd, g, nil
		}
		break
	}
	unix.Close(fd)
	if err == unix.EBUSY {
		return -1, 0, fmt.Errorf("nflog groups %d-%d are all taken", base, base+15)
	}
	return -1, 0, fmt.Errorf("nflog group %d: %w", base, err)
}

func nflogAttr(t uint16, v []byte) []byte {
	b := make([]byte, 4, 4+len(v)+3)
	binary.NativeEndian.PutUint16(b, uint16(4+len(v)))
	binary.NativeEndian.PutUint16(b[2:], t)
	b = append(b, v...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

// nflogConfig sends one NFULNL_MSG_CONFIG for group and waits for the
// kernel's answer.
func nflogConfig(fd int, group uint16, attrs []byte) error {
	req := make([]byte, unix.NLMSG_HDRLEN+4, unix.NLMSG_HDRLEN+4+len(attrs))
	req = append(req, attrs...)
	binary.NativeEndian.PutUint32(req, uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:], nflogMsgConfig)
	binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(req[8:], uint32(group)) // sequence number
	req[unix.NLMSG_HDRLEN] = unix.AF_UNSPEC
	binary.BigEndian.PutUint16(req[unix.NLMSG_HDRLEN+2:], group) // res_id
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 4096)
	for {
		if _, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 2000); err != nil && err != unix.EINTR {
			return err
		}
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err == unix.EINTR {
			continue
		}
		if err == unix.EAGAIN {
			return errors.New("no answer from nfnetlink_log")
		}
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Type == unix.NLMSG_ERROR && len(m.Data) >= 4 {
				if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
					return unix.Errno(-e)
				}
				return nil
			}
		}
	}
}
