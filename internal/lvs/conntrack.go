package lvs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"syscall"

	"golang.org/x/sys/unix"
)

// ctnetlink message and attribute numbers (linux/netfilter/nfnetlink_conntrack.h).
const (
	ctMsgNew    = unix.NFNL_SUBSYS_CTNETLINK<<8 | 0 // IPCTNL_MSG_CT_NEW: new or updated
	ctMsgDelete = unix.NFNL_SUBSYS_CTNETLINK<<8 | 2 // IPCTNL_MSG_CT_DELETE: destroyed
	ctMsgGet    = unix.NFNL_SUBSYS_CTNETLINK<<8 | 1

	ctaTupleOrig  = 1
	ctaTupleReply = 2
	ctaProtoinfo  = 4
	ctaID         = 12

	ctaTupleIP    = 1
	ctaTupleProto = 2
	ctaIPv4Src    = 1
	ctaIPv4Dst    = 2
	ctaIPv6Src    = 3
	ctaIPv6Dst    = 4
	ctaProtoNum   = 1
	ctaProtoSrc   = 2
	ctaProtoDst   = 3

	ctaProtoinfoTCP      = 1
	ctaProtoinfoTCPState = 1
	tcpCtEstablished     = 3 // TCP_CONNTRACK_ESTABLISHED

	// Multicast groups NFNLGRP_CONNTRACK_NEW, _UPDATE, _DESTROY.
	ctGroups = 1<<(1-1) | 1<<(2-1) | 1<<(3-1)
)

// ctEvent is one conntrack entry as an event or a dump row reports it.
type ctEvent struct {
	id        uint32
	gone      bool // destroyed
	proto     uint8
	origDst   netip.AddrPort // what the client connected to (the VIP)
	replySrc  netip.AddrPort // who answers (the real server after DNAT)
	state     uint8          // TCP state, when hasState
	hasState  bool
	hasTuples bool
}

// parseCtMessage decodes one ctnetlink message body (after the netlink
// header). Errors name what was malformed; the caller resyncs from a dump.
func parseCtMessage(typ uint16, b []byte) (ctEvent, error) {
	ev := ctEvent{gone: typ == ctMsgDelete}
	if len(b) < 4 {
		return ev, errors.New("conntrack message shorter than its nfgenmsg")
	}
	var orig, reply tuple
	err := walkAttrs(b[4:], func(t uint16, v []byte) error {
		switch t {
		case ctaID:
			if len(v) < 4 {
				return errors.New("conntrack id shorter than 4 bytes")
			}
			ev.id = binary.BigEndian.Uint32(v)
		case ctaTupleOrig:
			return orig.parse(v)
		case ctaTupleReply:
			return reply.parse(v)
		case ctaProtoinfo:
			return walkAttrs(v, func(t uint16, v []byte) error {
				if t != ctaProtoinfoTCP {
					return nil
				}
				return walkAttrs(v, func(t uint16, v []byte) error {
					if t == ctaProtoinfoTCPState && len(v) >= 1 {
						ev.state, ev.hasState = v[0], true
					}
					return nil
				})
			})
		}
		return nil
	})
	if err != nil {
		return ev, err
	}
	if orig.dst.IsValid() && reply.src.IsValid() {
		ev.hasTuples = true
		ev.proto = orig.proto
		ev.origDst = netip.AddrPortFrom(orig.dst, orig.dport)
		ev.replySrc = netip.AddrPortFrom(reply.src, reply.sport)
	}
	return ev, nil
}

type tuple struct {
	src, dst     netip.Addr
	sport, dport uint16
	proto        uint8
}

func (tp *tuple) parse(b []byte) error {
	return walkAttrs(b, func(t uint16, v []byte) error {
		switch t {
		case ctaTupleIP:
			return walkAttrs(v, func(t uint16, v []byte) error {
				a, ok := netip.AddrFromSlice(v)
				if !ok {
					return fmt.Errorf("conntrack address of %d bytes", len(v))
				}
				switch t {
				case ctaIPv4Src, ctaIPv6Src:
					tp.src = a
				case ctaIPv4Dst, ctaIPv6Dst:
					tp.dst = a
				}
				return nil
			})
		case ctaTupleProto:
			return walkAttrs(v, func(t uint16, v []byte) error {
				switch {
				case t == ctaProtoNum && len(v) >= 1:
					tp.proto = v[0]
				case t == ctaProtoSrc && len(v) >= 2:
					tp.sport = binary.BigEndian.Uint16(v)
				case t == ctaProtoDst && len(v) >= 2:
					tp.dport = binary.BigEndian.Uint16(v)
				}
				return nil
			})
		}
		return nil
	})
}

// walkAttrs calls fn for each netlink attribute in b (type without the
// nested/byte-order flags).
func walkAttrs(b []byte, fn func(t uint16, v []byte) error) error {
	for len(b) >= 4 {
		l := int(binary.NativeEndian.Uint16(b))
		t := binary.NativeEndian.Uint16(b[2:]) &^ (unix.NLA_F_NESTED | unix.NLA_F_NET_BYTEORDER)
		if l < 4 || l > len(b) {
			return fmt.Errorf("netlink attribute %d of length %d in %d bytes", t, l, len(b))
		}
		if err := fn(t, b[4:l]); err != nil {
			return err
		}
		l = (l + 3) &^ 3
		if l > len(b) {
			l = len(b)
		}
		b = b[l:]
	}
	return nil
}

// ctSocket opens a NETLINK_NETFILTER socket, subscribed to conntrack
// events when groups is not 0.
func ctSocket(groups uint32) (int, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_NETFILTER)
	if err != nil {
		return -1, err
	}
	// A large buffer: a burst of connections must not overflow it (an
	// overflow costs a resync from a dump).
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: groups}); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// ctDump lists the conntrack table of both families.
func ctDump() ([]ctEvent, error) {
	fd, err := ctSocket(0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var out []ctEvent
	for _, fam := range []uint8{unix.AF_INET, unix.AF_INET6} {
		req := make([]byte, unix.NLMSG_HDRLEN+4)
		binary.NativeEndian.PutUint32(req, uint32(len(req)))
		binary.NativeEndian.PutUint16(req[4:], ctMsgGet)
		binary.NativeEndian.PutUint16(req[6:], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
		req[unix.NLMSG_HDRLEN] = fam
		if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
			return nil, err
		}
		if err := ctReadDump(fd, &out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func ctReadDump(fd int, out *[]ctEvent) error {
	buf := make([]byte, 1<<16)
	for {
		if _, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 5000); err != nil && err != unix.EINTR {
			return err
		}
		n, _, err := unix.Recvfrom(fd, buf, 0)
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(m.Data)); e != 0 {
						return fmt.Errorf("conntrack dump: %w", unix.Errno(-e))
					}
				}
				return nil
			}
			if ev, err := parseCtMessage(m.Header.Type, m.Data); err == nil && ev.hasTuples {
				*out = append(*out, ev)
			}
		}
	}
}
