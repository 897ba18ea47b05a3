// Command ipipdecap stands in for a real server's tunl0 when the kernel
// has no ipip module: it creates a TUN device with the given name, reads
// every IP-in-IP packet (IPv4 protocol 4) addressed to this host with a
// raw socket, and writes the inner packet to the device. The kernel then
// receives it as if tunl0 had decapsulated it: the VIP on the device, the
// local TCP stack answers the client directly.
//
//	ipipdecap DEV    prints "ready DEV" once the device exists
package main

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: ipipdecap DEV")
		os.Exit(2)
	}
	tun, err := openTUN(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "ipipdecap:", err)
		os.Exit(1)
	}
	raw, err := unix.Socket(unix.AF_INET, unix.SOCK_RAW, unix.IPPROTO_IPIP)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ipipdecap: raw socket:", err)
		os.Exit(1)
	}
	fmt.Println("ready", os.Args[1])
	buf := make([]byte, 1<<16)
	for {
		n, _, err := unix.Recvfrom(raw, buf, 0)
		if err != nil {
			if err == unix.EINTR {
				continue
			}
			fmt.Fprintln(os.Stderr, "ipipdecap:", err)
			os.Exit(1)
		}
		// A raw IPv4 socket reads the outer header too.
		if n < 20 {
			continue
		}
		ihl := int(buf[0]&0x0f) * 4
		if ihl < 20 || n < ihl+20 || buf[ihl]>>4 != 4 {
			fmt.Fprintf(os.Stderr, "ipipdecap: dropped a bad packet of %d bytes\n", n)
			continue
		}
		if _, err := unix.Write(tun, buf[ihl:n]); err != nil {
			fmt.Fprintln(os.Stderr, "ipipdecap: tun write:", err)
		}
	}
}

// openTUN creates a layer-3 TUN device without packet information.
func openTUN(name string) (int, error) {
	fd, err := unix.Open("/dev/net/tun", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	var req struct {
		name  [unix.IFNAMSIZ]byte
		flags uint16
		_     [22]byte
	}
	copy(req.name[:], name)
	req.flags = unix.IFF_TUN | unix.IFF_NO_PI
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TUNSETIFF, uintptr(unsafe.Pointer(&req))); e != 0 {
		return -1, fmt.Errorf("TUNSETIFF %s: %v", name, e)
	}
	return fd, nil
}
