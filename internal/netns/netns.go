// Package netns connects to servers from another network namespace (a
// server's "namespace <name>", the namespaces "ip netns" names): a socket
// belongs to the namespace it is made in, whichever thread uses it later.
package netns

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Dir is where "ip netns" keeps the named namespaces.
const Dir = "/var/run/netns/"

// maker makes sockets in one namespace, on an OS thread that entered it
// and serves nothing else; it lives as long as the process.
type maker struct {
	reqs chan request
}

type request struct {
	family int
	reply  chan result
}

type result struct {
	fd  int
	err error
}

var (
	makersMu sync.Mutex
	makers   = map[string]*maker{}
)

func makerFor(ns string) (*maker, error) {
	makersMu.Lock()
	defer makersMu.Unlock()
	if m := makers[ns]; m != nil {
		return m, nil
	}
	m := &maker{reqs: make(chan request)}
	ready := make(chan error, 1)
	go m.run(ns, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	makers[ns] = m
	return m, nil
}

// run enters namespace ns and makes the sockets asked for.
func (m *maker) run(ns string, ready chan<- error) {
	if err := enter(ns); err != nil {
		ready <- err
		return
	}
	ready <- nil
	for r := range m.reqs {
		fd, err := unix.Socket(r.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
		r.reply <- result{fd, err}
	}
}

// enter moves the calling goroutine into namespace ns on an OS thread
// of its own that is never handed back to other goroutines: it ends with
// the goroutine, so no other code ever runs in the namespace.
func enter(ns string) error {
	runtime.LockOSThread() // never unlocked
	f, err := os.Open(Dir + ns)
	if err != nil {
		return fmt.Errorf("network namespace '%s': %w", ns, err)
	}
	defer f.Close()
	if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("cannot enter network namespace '%s': %w", ns, err)
	}
	return nil
}

// Run runs f in namespace ns (a listening socket made there stays in it)
// and returns its results.
func Run[T any](ns string, f func() (T, error)) (T, error) {
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		if err := enter(ns); err != nil {
			done <- result{err: err}
			return
		}
		v, err := f()
		done <- result{v, err}
	}()
	r := <-done
	return r.v, r.err
}

// longAgo is a deadline that has passed: it wakes a blocked connect.
var longAgo = time.Unix(1, 0)

// Dial connects to addr (a numeric host:port) from namespace ns, with d's
// source address, Control hook and deadline, within ctx.
func Dial(ctx context.Context, ns string, d *net.Dialer, addr string) (net.Conn, error) {
	ap, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, err
	}
	family, sa := sockaddr(ap)
	m, err := makerFor(ns)
	if err != nil {
		return nil, err
	}
	reply := make(chan result, 1)
	m.reqs <- request{family, reply}
	r := <-reply
	if r.err != nil {
		return nil, os.NewSyscallError("socket", r.err)
	}
	f := os.NewFile(uintptr(r.fd), "netns "+ns)
	defer f.Close() // FileConn keeps a descriptor of its own
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	if d.Control != nil {
		if err := d.Control("tcp", addr, rc); err != nil {
			return nil, err
		}
	}
	if d.LocalAddr != nil {
		if la, ok := d.LocalAddr.(*net.TCPAddr); ok {
			_, lsa := sockaddr(la)
			if err := unix.Bind(r.fd, lsa); err != nil {
				return nil, os.NewSyscallError("bind", err)
			}
		}
	}
	if err := unix.Connect(r.fd, sa); err != nil && err != unix.EINPROGRESS {
		return nil, os.NewSyscallError("connect", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		f.SetWriteDeadline(dl)
	}
	if !d.Deadline.IsZero() {
		f.SetWriteDeadline(d.Deadline)
	}
	stop := context.AfterFunc(ctx, func() { f.SetWriteDeadline(longAgo) })
	defer stop()
	var connErr error
	werr := rc.Write(func(fd uintptr) bool {
		// Writable, or not yet: SO_ERROR tells a failure, a peer address
		// a success; neither, the connect goes on.
		n, err := unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if err == nil && n != 0 {
			err = syscall.Errno(n)
		}
		if err != nil {
			connErr = err
			return true
		}
		_, err = unix.Getpeername(int(fd))
		return err == nil
	})
	if werr != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, werr
	}
	if connErr != nil {
		return nil, os.NewSyscallError("connect", connErr)
	}
	f.SetWriteDeadline(time.Time{})
	return net.FileConn(f)
}

func sockaddr(a *net.TCPAddr) (int, unix.Sockaddr) {
	if ip4 := a.IP.To4(); ip4 != nil {
		return unix.AF_INET, &unix.SockaddrInet4{Port: a.Port, Addr: [4]byte(ip4)}
	}
	sa := &unix.SockaddrInet6{Port: a.Port}
	if a.IP != nil {
		sa.Addr = [16]byte(a.IP.To16())
	}
	if a.Zone != "" {
		if ifi, err := net.InterfaceByName(a.Zone); err == nil {
			sa.ZoneId = uint32(ifi.Index)
		}
	}
	return unix.AF_INET6, sa
}
