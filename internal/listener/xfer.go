package listener

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/model"
)

// HAProxy's socket transfer ("stats socket ... expose-fd listeners" on the
// old process, -x on the new one): the new process sends "_getsocks"; the
// old one answers with the number of sockets (a native int), then sends
// them in batches of at most maxSendFD as SCM_RIGHTS, each socket described
// by a namespace name, an interface name (each a length byte and the bytes)
// and four bytes of options; the new process acknowledges each batch with
// an int. The new process matches the sockets to its binds by address.

const maxSendFD = 253

// SendSockets answers "_getsocks" on c with the descriptors fds.
func SendSockets(c *net.UnixConn, ack io.Reader, fds []int) error {
	c.SetDeadline(time.Now().Add(10 * time.Second))
	count := binary.NativeEndian.AppendUint32(nil, uint32(len(fds)))
	if _, err := c.Write(count); err != nil {
		return err
	}
	for len(fds) > 0 {
		batch := fds[:min(len(fds), maxSendFD)]
		fds = fds[len(batch):]
		// No namespace, no interface, no options for each socket.
		data := make([]byte, 6*len(batch))
		if _, _, err := c.WriteMsgUnix(data, unix.UnixRights(batch...), nil); err != nil {
			return err
		}
		if _, err := io.ReadFull(ack, make([]byte, 4)); err != nil {
			return fmt.Errorf("no acknowledgement from the new process: %w", err)
		}
	}
	return nil
}

// transferred is a socket received with -x, waiting for the bind that
// matches its address.
type transferred struct {
	f    *os.File
	addr unix.Sockaddr
}

var (
	xferMu sync.Mutex
	xfer   []transferred
)

// FetchSockets asks the old process at the unix socket path for its
// listening sockets; Open then uses them for the binds of the same
// address, and DropUnused closes the others.
func FetchSockets(path string) (int, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return 0, fmt.Errorf("-x %s: cannot reach the old process: %w", path, err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write([]byte("_getsocks\n")); err != nil {
		return 0, fmt.Errorf("-x %s: %w", path, err)
	}
	var nb [4]byte
	if _, err := io.ReadFull(c, nb[:]); err != nil {
		return 0, fmt.Errorf("-x %s: no socket count (is the socket declared with 'expose-fd listeners'?): %w", path, err)
	}
	want := int(int32(binary.NativeEndian.Uint32(nb[:])))
	if want < 0 || want > 1<<16 {
		return 0, fmt.Errorf("-x %s: unexpected socket count %d", path, want)
	}
	var fds []int
	buf := make([]byte, maxSendFD*(2+255+16+4))
	oob := make([]byte, unix.CmsgSpace(4*maxSendFD))
	for len(fds) < want {
		_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		if err != nil {
			closeFDs(fds)
			return 0, fmt.Errorf("-x %s: got %d of %d sockets: %w", path, len(fds), want, err)
		}
		msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
		if err == nil {
			for _, m := range msgs {
				got, err := unix.ParseUnixRights(&m)
				if err == nil {
					fds = append(fds, got...)
				}
			}
		}
		// haproxy closes once the last batch is sent: only an earlier
		// acknowledgement must get through.
		if _, err := c.Write(binary.NativeEndian.AppendUint32(nil, uint32(len(fds)))); err != nil && len(fds) < want {
			closeFDs(fds)
			return 0, fmt.Errorf("-x %s: %w", path, err)
		}
	}
	xferMu.Lock()
	defer xferMu.Unlock()
	for _, fd := range fds {
		sa, err := unix.Getsockname(fd)
		if err != nil {
			unix.Close(fd)
			continue
		}
		xfer = append(xfer, transferred{f: os.NewFile(uintptr(fd), "transferred"), addr: sa})
	}
	return len(fds), nil
}

func closeFDs(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}

// DropUnused closes the transferred sockets that no bind took: a listening
// socket nobody accepts on would hold connections the kernel gives it.
func DropUnused() {
	xferMu.Lock()
	defer xferMu.Unlock()
	for _, t := range xfer {
		t.f.Close()
	}
	xfer = nil
}

// takeTransferred returns (and forgets) the transferred socket bound to
// b's address, or nil.
func takeTransferred(b *model.Bind) *os.File {
	xferMu.Lock()
	defer xferMu.Unlock()
	for i, t := range xfer {
		if sameAddress(b, t.addr) {
			xfer = append(xfer[:i], xfer[i+1:]...)
			return t.f
		}
	}
	return nil
}

// sameAddress tells whether a socket bound to sa is the one b asks for.
// Wildcard addresses match whatever the family: a dual-stack "::" socket
// serves a "*:port" bind.
func sameAddress(b *model.Bind, sa unix.Sockaddr) bool {
	switch b.Network {
	case "unix":
		u, ok := sa.(*unix.SockaddrUnix)
		return ok && u.Name == b.Addr
	case "fd":
		return false
	}
	want, err := net.ResolveTCPAddr(b.Network, b.Addr)
	if err != nil {
		return false
	}
	var ip net.IP
	var port int
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		ip, port = net.IP(a.Addr[:]), a.Port
	case *unix.SockaddrInet6:
		ip, port = net.IP(a.Addr[:]), a.Port
	default:
		return false
	}
	if port != want.Port {
		return false
	}
	if want.IP == nil || want.IP.IsUnspecified() {
		return ip.IsUnspecified()
	}
	return ip.Equal(want.IP)
}
