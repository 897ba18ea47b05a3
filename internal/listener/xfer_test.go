package listener

import (
	"bufio"
	"net"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"dhproxy/internal/model"
)

// The old process's side and the new one's, over a unix socket: the new
// process's bind on the same address gets the old socket.
func TestSocketTransfer(t *testing.T) {
	old, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var fds []int
	for _, l := range []net.Listener{old, other} {
		rc, _ := l.(*net.TCPListener).SyscallConn()
		rc.Control(func(fd uintptr) { fds = append(fds, int(fd)) })
	}
	path := filepath.Join(t.TempDir(), "stats.sock")
	cli, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	served := make(chan error, 1)
	go func() {
		c, err := cli.Accept()
		if err != nil {
			served <- err
			return
		}
		defer c.Close()
		r := bufio.NewReader(c)
		if line, err := r.ReadString('\n'); err != nil || line != "_getsocks\n" {
			served <- err
			return
		}
		served <- SendSockets(c.(*net.UnixConn), r, fds)
	}()
	n, err := FetchSockets(path)
	if err != nil || n != 2 {
		t.Fatalf("FetchSockets: %d, %v", n, err)
	}
	if err := <-served; err != nil {
		t.Fatalf("SendSockets: %v", err)
	}
	SetReusePort(false) // only the transferred socket can serve the address
	defer SetReusePort(true)
	l, err := Open(&model.Bind{Network: "tcp", Addr: old.Addr().String()}, 10)
	if err != nil {
		t.Fatalf("bind on the transferred address: %v", err)
	}
	defer l.Close()
	if l.Addr().String() != old.Addr().String() {
		t.Fatalf("got %s, want %s", l.Addr(), old.Addr())
	}
	if len(xfer) != 1 {
		t.Fatalf("%d sockets waiting, want the unused one", len(xfer))
	}
	DropUnused()
	if len(xfer) != 0 {
		t.Fatal("DropUnused kept sockets")
	}
}

func TestSameAddress(t *testing.T) {
	cases := []struct {
		bind string
		ip   net.IP
		want bool
	}{
		{"127.0.0.1:8080", net.IPv4(127, 0, 0, 1), true},
		{"127.0.0.2:8080", net.IPv4(127, 0, 0, 1), false},
		{":8080", net.IPv6unspecified, true},
		{"0.0.0.0:8080", net.IPv4zero, true},
		{":8080", net.IPv4(127, 0, 0, 1), false},
		{"127.0.0.1:8081", net.IPv4(127, 0, 0, 1), false},
	}
	for _, c := range cases {
		sa := sockaddr6(c.ip, 8080)
		if ip4 := c.ip.To4(); ip4 != nil && !c.ip.Equal(net.IPv6unspecified) {
			sa = sockaddr4(ip4, 8080)
		}
		if got := sameAddress(&model.Bind{Network: "tcp", Addr: c.bind}, sa); got != c.want {
			t.Errorf("%s vs %v: %v, want %v", c.bind, c.ip, got, c.want)
		}
	}
}

func sockaddr4(ip net.IP, port int) unix.Sockaddr {
	return &unix.SockaddrInet4{Addr: [4]byte(ip.To4()), Port: port}
}

func sockaddr6(ip net.IP, port int) unix.Sockaddr {
	return &unix.SockaddrInet6{Addr: [16]byte(ip.To16()), Port: port}
}
