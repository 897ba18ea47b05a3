package lvs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"
	xipv6 "golang.org/x/net/ipv6"
	"golang.org/x/sys/unix"

	"dhproxy/internal/config/keepalived"
)

// pingPayload fills the echo requests; keepalived sends 128 bytes too.
var pingPayload = func() []byte {
	b := make([]byte, 128)
	for i := range b {
		b[i] = byte('a' + i%26)
	}
	return b
}()

// probePing sends one ICMP (ICMPv6) echo request to the real server and
// waits connect_timeout for its reply, as keepalived's check_ping.c.
func (c *checker) probePing(ctx context.Context) result {
	failed := fmt.Sprintf("ICMP connection to %s of %s failed.", c.name, c.vs)
	dst := c.target.Addr()
	pc, raw, err := icmpSocket(c.conf, dst)
	if err != nil {
		return result{weight: -1, detail: err.Error(), status: "SOCKERR", err: err, attempt: failed}
	}
	defer pc.Close()
	deadline := time.Now().Add(c.conf.ConnectTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	pc.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { pc.SetDeadline(time.Now()) })
	defer stop()

	c.pingSeq++
	id := c.pingID
	var typ, reply icmp.Type = ipv4.ICMPTypeEcho, ipv4.ICMPTypeEchoReply
	proto := 1
	if dst.Is6() {
		typ, reply, proto = xipv6.ICMPTypeEchoRequest, xipv6.ICMPTypeEchoReply, 58
	}
	msg := icmp.Message{Type: typ, Body: &icmp.Echo{ID: id, Seq: c.pingSeq, Data: pingPayload}}
	// The kernel computes the ICMPv6 checksum; Marshal does ICMP's.
	wire, err := msg.Marshal(nil)
	if err != nil {
		return result{weight: -1, detail: err.Error(), status: "SOCKERR", err: err, attempt: failed}
	}
	var to net.Addr = &net.UDPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	if raw {
		to = &net.IPAddr{IP: dst.AsSlice(), Zone: dst.Zone()}
	}
	if _, err := pc.WriteTo(wire, to); err != nil {
		return result{weight: -1, detail: "send ICMP packet fail: " + err.Error(), status: "L4CON", err: err, attempt: failed}
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return result{weight: -1, detail: "timeout", status: "L4TOUT", err: err,
					attempt: fmt.Sprintf("ICMP connection to address %s timeout.", c.name)}
			}
			return result{weight: -1, detail: err.Error(), status: "L4CON", err: err, attempt: failed}
		}
		if src, ok := addrOf(from); !ok || src != dst.WithZone("") {
			continue // a raw socket sees every ICMP packet of the host
		}
		m, err := icmp.ParseMessage(proto, buf[:n])
		if err != nil || m.Type != reply {
			continue
		}
		echo, ok := m.Body.(*icmp.Echo)
		// A datagram socket's echo id is its local port, chosen by the kernel.
		if !ok || echo.Seq != c.pingSeq || raw && echo.ID != id {
			continue
		}
		return result{ok: true, weight: -1, status: "L4OK"}
	}
}

func addrOf(a net.Addr) (netip.Addr, bool) {
	var ip net.IP
	switch a := a.(type) {
	case *net.UDPAddr:
		ip = a.IP
	case *net.IPAddr:
		ip = a.IP
	default:
		return netip.Addr{}, false
	}
	addr, ok := netip.AddrFromSlice(ip)
	return addr.Unmap(), ok
}

// icmpSocket opens an unprivileged ICMP datagram socket ("ping socket",
// allowed by net.ipv4.ping_group_range) or, where that is refused, a raw
// ICMP socket (CAP_NET_RAW), with bindto, bind_if and fwmark applied. raw says
// which one it is: a raw socket receives every ICMP packet of the host.
func icmpSocket(conf *keepalived.Check, dst netip.Addr) (pc net.PacketConn, raw bool, err error) {
	family, proto := unix.AF_INET, unix.IPPROTO_ICMP
	if dst.Is6() {
		family, proto = unix.AF_INET6, unix.IPPROTO_ICMPV6
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EPROTONOSUPPORT) {
		raw = true
		fd, err = unix.Socket(family, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	}
	if err != nil {
		v6 := ""
		if dst.Is6() {
			v6 = "v6"
		}
		return nil, false, fmt.Errorf("ICMP%s connect fail to create socket: %w (allow ping sockets with sysctl net.ipv4.ping_group_range, or run with CAP_NET_RAW)", v6, err)
	}
	if err := setupICMP(fd, conf); err != nil {
		unix.Close(fd)
		return nil, false, err
	}
	f := os.NewFile(uintptr(fd), "icmp")
	pc, err = net.FilePacketConn(f)
	f.Close()
	return pc, raw, err
}

func setupICMP(fd int, conf *keepalived.Check) error {
	if err := probeSockopts(fd, conf); err != nil {
		return err
	}
	if src := conf.BindTo; src.IsValid() {
		var sa unix.Sockaddr = &unix.SockaddrInet4{Addr: src.As4()}
		if src.Is6() {
			sa = &unix.SockaddrInet6{Addr: src.As16()}
		}
		if err := unix.Bind(fd, sa); err != nil {
			return fmt.Errorf("bindto %s: %w", src, err)
		}
	}
	return nil
}

// newPingID is the echo identifier of a checker's raw-socket probes.
func newPingID() int { return rand.IntN(1 << 16) }
