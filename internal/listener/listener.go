// Package listener opens the sockets named by "bind" lines: TCP addresses,
// unix sockets and inherited file descriptors (fd@N, as systemd socket
// activation and test harnesses pass them).
package listener

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"dhproxy/internal/model"
)

// Open returns a listening socket for b. The error names the bind line.
func Open(b *model.Bind) (net.Listener, error) {
	l, err := open(b)
	if err != nil {
		return nil, fmt.Errorf("[%s] : cannot bind socket (%s) [%s]", b.Pos, describe(err), b.Addr)
	}
	return l, nil
}

func open(b *model.Bind) (net.Listener, error) {
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
		return net.Listen("unix", b.Addr)
	}
	_, v6only := b.Options["v6only"]
	// "freebind" is set by dhproxy itself on binds to a VRRP virtual
	// address, which a backup node does not hold yet.
	_, freebind := b.Options["freebind"]
	lc := net.ListenConfig{
		// No TCP keep-alive probes on client sockets unless asked for, as in
		// HAProxy: it also saves four setsockopt calls per connection.
		KeepAlive: -1,
		Control: func(network, address string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				if v6only && network == "tcp6" {
					serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 1)
				}
				if freebind && serr == nil {
					if network == "tcp6" {
						serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_FREEBIND, 1)
					} else {
						serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_FREEBIND, 1)
					}
				}
			})
			if err != nil {
				return err
			}
			return serr
		},
	}
	return lc.Listen(context.Background(), b.Network, b.Addr)
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
