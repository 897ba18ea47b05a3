// Package listener opens the sockets named by "bind" lines: TCP addresses,
// unix sockets and inherited file descriptors (fd@N, as systemd socket
// activation and test harnesses pass them).
package listener

import (
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"

	"dhproxy/internal/model"
)

// reusePort is HAProxy's default: SO_REUSEPORT on every TCP listener, so
// that a new process started with -sf/-st binds beside the old one.
var reusePort atomic.Bool

func init() { reusePort.Store(true) }

// SetReusePort turns SO_REUSEPORT off ("noreuseport") or on.
func SetReusePort(on bool) { reusePort.Store(on) }

// Open returns a listening socket for b with the given accept backlog
// (the kernel caps it at net.core.somaxconn). The error names the bind
// line.
func Open(b *model.Bind, backlog int) (net.Listener, error) {
	l, err := open(b, backlog)
	if err != nil {
		return nil, fmt.Errorf("[%s] : cannot bind socket (%s) [%s]", b.Pos, describe(err), b.Addr)
	}
	return l, nil
}

// Backlog is the accept queue length HAProxy gives a bind: its "backlog",
// else the frontend's "backlog", else the bind's then the frontend's
// "maxconn" (the frontend's defaults to the global one). Without any, the
// kernel's maximum.
func Backlog(b *model.Bind, fe *model.Proxy, global *model.Global) int {
	for _, n := range []int{b.Backlog, fe.Backlog, b.Maxconn, fe.Maxconn, global.Maxconn} {
		if n > 0 {
			return n
		}
	}
	return math.MaxInt32
}

func open(b *model.Bind, backlog int) (net.Listener, error) {
	if f := inheritedFor(b); f != nil {
		return net.FileListener(f) // a duplicate: f stays for the next bind of a later worker
	}
	if f := takeTransferred(b); f != nil {
		defer f.Close() // FileListener keeps its own descriptor
		return net.FileListener(f)
	}
	switch b.Network {
	case "fd":
		n, _ := strconv.Atoi(b.Addr)
		f := os.NewFile(uintptr(n), "fd@"+b.Addr)
		if f == nil {
			return nil, fmt.Errorf("fd %d is not open", n)
		}
		defer f.Close() // FileListener dups it
		return net.FileListener(f)
	case "unix":
		// A stale socket file from an earlier run would make bind fail.
		if fi, err := os.Lstat(b.Addr); err == nil && fi.Mode()&os.ModeSocket != 0 {
			os.Remove(b.Addr)
		}
		l, err := net.Listen("unix", b.Addr)
		if err == nil {
			uid, gid := b.Unix.Owner()
			if err = SetUnixPerm(b.Addr, b.Unix.Mode, uid, gid); err != nil {
				l.Close()
			}
		}
		return l, err
	}
	return listenTCP(b, backlog)
}

// listenTCP opens the socket itself, as net.Listen always asks for the
// kernel's maximum backlog. Addresses are chosen as net.Listen does: a
// wildcard address on "tcp" is one dual-stack IPv6 socket.
func listenTCP(b *model.Bind, backlog int) (net.Listener, error) {
	addr, err := net.ResolveTCPAddr(b.Network, b.Addr)
	if err != nil {
		return nil, err
	}
	_, v6only := b.Options["v6only"]
	// "freebind" is set by dhproxy itself on binds to a VRRP virtual
	// address, which a backup node does not hold yet.
	_, freebind := b.Options["freebind"]
	ip4 := addr.IP.To4()
	wildcard := addr.IP == nil || addr.IP.IsUnspecified()
	family := unix.AF_INET6
	switch {
	case b.Network == "tcp4", ip4 != nil && !(wildcard && b.Network == "tcp"):
		family = unix.AF_INET
	case wildcard && b.Network == "tcp" && !v6only:
		// Dual stack; where IPv6 is off, plain IPv4.
		if l, err := listenFamily(unix.AF_INET6, addr, backlog, false, freebind); err != unix.EAFNOSUPPORT {
			return l, err
		}
		family = unix.AF_INET
	case b.Network == "tcp6" && wildcard:
		v6only = true
	}
	return listenFamily(family, addr, backlog, v6only, freebind)
}

func listenFamily(family int, addr *net.TCPAddr, backlog int, v6only, freebind bool) (net.Listener, error) {
	fd, err := unix.Socket(family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		return nil, err
	}
	f := os.NewFile(uintptr(fd), "listener")
	defer f.Close() // FileListener keeps its own descriptor
	var sa unix.Sockaddr
	if family == unix.AF_INET {
		sa4 := &unix.SockaddrInet4{Port: addr.Port}
		if ip := addr.IP.To4(); ip != nil {
			sa4.Addr = [4]byte(ip)
		}
		sa = sa4
	} else {
		sa6 := &unix.SockaddrInet6{Port: addr.Port}
		if addr.IP != nil {
			sa6.Addr = [16]byte(addr.IP.To16())
		}
		if addr.Zone != "" {
			ifi, err := net.InterfaceByName(addr.Zone)
			if err != nil {
				return nil, err
			}
			sa6.ZoneId = uint32(ifi.Index)
		}
		sa = sa6
	}
	opts := []struct {
		on          bool
		level, name int
		val         int
	}{
		{true, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1}, // as net.Listen: restart while old connections linger
		{reusePort.Load(), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1},
		{family == unix.AF_INET6, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, boolInt(v6only)},
		{freebind && family == unix.AF_INET6, unix.IPPROTO_IPV6, unix.IPV6_FREEBIND, 1},
		{freebind && family == unix.AF_INET, unix.IPPROTO_IP, unix.IP_FREEBIND, 1},
	}
	for _, o := range opts {
		if o.on {
			if err := unix.SetsockoptInt(fd, o.level, o.name, o.val); err != nil {
				return nil, os.NewSyscallError("setsockopt", err)
			}
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return nil, os.NewSyscallError("bind", err)
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return nil, os.NewSyscallError("listen", err)
	}
	return net.FileListener(f)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// describe turns common errno values into HAProxy-like words.
func describe(err error) string {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return "Address already in use"
	case errors.Is(err, syscall.EACCES):
		return "Permission denied"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "Cannot assign requested address"
	}
	return err.Error()
}

// SetUnixPerm gives a UNIX socket the bind's "mode" and owner ("uid",
// "gid", "user", "group", or the global unix-bind's); 0 and -1 leave them.
func SetUnixPerm(path string, mode uint32, uid, gid int) error {
	if uid >= 0 || gid >= 0 {
		if err := os.Chown(path, uid, gid); err != nil {
			return err
		}
	}
	if mode != 0 {
		return os.Chmod(path, os.FileMode(mode))
	}
	return nil
}
