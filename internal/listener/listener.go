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
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/model"
	"dhproxy/internal/netns"
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
		l, err := net.FileListener(f) // a duplicate: f stays for the next bind of a later worker
		return retune(l, err, b, backlog)
	}
	if f := takeTransferred(b); f != nil {
		defer f.Close() // FileListener keeps its own descriptor
		l, err := net.FileListener(f)
		return retune(l, err, b, backlog)
	}
	if b.Sock.Namespace != "" {
		return netns.Run(b.Sock.Namespace, func() (net.Listener, error) { return create(b, backlog) })
	}
	return create(b, backlog)
}

// create opens the socket of b, or takes the one passed as fd@N.
func create(b *model.Bind, backlog int) (net.Listener, error) {
	switch b.Network {
	case "fd":
		n, _ := strconv.Atoi(b.Addr)
		f := os.NewFile(uintptr(n), "fd@"+b.Addr)
		if f == nil {
			return nil, fmt.Errorf("fd %d is not open", n)
		}
		defer f.Close() // FileListener dups it
		l, err := net.FileListener(f)
		return retune(l, err, b, backlog)
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
		if l, err := listenFamily(unix.AF_INET6, addr, backlog, false, freebind, &b.Sock); err != unix.EAFNOSUPPORT {
			return l, err
		}
		family = unix.AF_INET
	case b.Network == "tcp6" && wildcard:
		v6only = true
	}
	return listenFamily(family, addr, backlog, v6only, freebind, &b.Sock)
}

func listenFamily(family int, addr *net.TCPAddr, backlog int, v6only, freebind bool, so *model.BindSock) (net.Listener, error) {
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
		what        string
	}{
		{true, unix.SOL_SOCKET, unix.SO_REUSEADDR, 1, "SO_REUSEADDR"}, // as net.Listen: restart while old connections linger
		{reusePort.Load(), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1, "SO_REUSEPORT"},
		{family == unix.AF_INET6, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, boolInt(v6only), "IPV6_V6ONLY"},
		{freebind && family == unix.AF_INET6, unix.IPPROTO_IPV6, unix.IPV6_FREEBIND, 1, "IPV6_FREEBIND"},
		{freebind && family == unix.AF_INET, unix.IPPROTO_IP, unix.IP_FREEBIND, 1, "IP_FREEBIND"},
		// Transparent before bind: it allows binding an address the host
		// does not hold.
		{so.Transparent && family == unix.AF_INET6, unix.IPPROTO_IPV6, unix.IPV6_TRANSPARENT, 1, "IPV6_TRANSPARENT (transparent)"},
		{so.Transparent && family == unix.AF_INET, unix.IPPROTO_IP, unix.IP_TRANSPARENT, 1, "IP_TRANSPARENT (transparent)"},
	}
	for _, o := range opts {
		if o.on {
			if err := unix.SetsockoptInt(fd, o.level, o.name, o.val); err != nil {
				return nil, os.NewSyscallError("setsockopt "+o.what, err)
			}
		}
	}
	if so.Interface != "" {
		if err := unix.BindToDevice(fd, so.Interface); err != nil {
			return nil, fmt.Errorf("cannot bind to interface '%s': %w", so.Interface, err)
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return nil, os.NewSyscallError("bind", err)
	}
	// Before listen, as haproxy: Linux refuses TCP_USER_TIMEOUT on a
	// listening socket.
	if err := tune(fd, so, backlog, false); err != nil {
		return nil, err
	}
	if err := unix.Listen(fd, backlog); err != nil {
		return nil, os.NewSyscallError("listen", err)
	}
	return net.FileListener(f)
}

// tune sets the options of a bind line that the accepted connections
// inherit; with clear, it also clears those the line does not name, as
// haproxy does on a socket it did not make: one kept across a reload then
// follows the new configuration.
func tune(fd int, so *model.BindSock, backlog int, clear bool) error {
	opts := []struct {
		name int
		val  int
		what string
	}{
		{unix.TCP_DEFER_ACCEPT, boolInt(so.DeferAccept), "TCP_DEFER_ACCEPT (defer-accept)"}, // 1 s, as haproxy
		{unix.TCP_USER_TIMEOUT, int(so.UserTimeout / time.Millisecond), "TCP_USER_TIMEOUT (tcp-ut)"},
		{unix.TCP_MAXSEG, so.MSS, "TCP_MAXSEG (mss)"}, // 0: the route's
	}
	var first error // the others are still tried
	for _, o := range opts {
		if o.val == 0 && !clear {
			continue
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, o.name, o.val); err != nil && first == nil {
			first = os.NewSyscallError("setsockopt "+o.what, err)
		}
	}
	// The queue of pending fast-open requests is the backlog, as in
	// haproxy; one is only cleared where there is one, else clearing
	// would make one.
	qlen := 0
	if so.FastOpen {
		qlen = backlog
	}
	if cur, err := unix.GetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_FASTOPEN); err == nil && cur != qlen {
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_FASTOPEN, qlen); err != nil && first == nil {
			first = os.NewSyscallError("setsockopt TCP_FASTOPEN (tfo)", err)
		}
	}
	return first
}

// retune applies tune to a TCP listener dhproxy did not make (from an
// earlier process, the master or fd@N), as far as the kernel allows on a
// listening socket (not TCP_USER_TIMEOUT; haproxy only warns there).
func retune(l net.Listener, err error, b *model.Bind, backlog int) (net.Listener, error) {
	if tl, ok := l.(*net.TCPListener); ok && err == nil {
		if rc, err := tl.SyscallConn(); err == nil {
			rc.Control(func(fd uintptr) { tune(int(fd), &b.Sock, backlog, true) })
		}
	}
	return l, err
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
