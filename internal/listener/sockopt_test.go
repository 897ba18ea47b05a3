package listener

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/model"
	"dhproxy/internal/netnstest"
)

// sockFD runs f on the descriptor of listener l.
func sockFD(t *testing.T, l net.Listener, f func(fd int)) {
	t.Helper()
	rc, err := l.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) { f(int(fd)) })
}

// TestBindSocketOptions: each option of a bind line is on the listening
// socket, as the kernel reports it.
func TestBindSocketOptions(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("transparent needs CAP_NET_ADMIN")
	}
	b := &model.Bind{Network: "tcp", Addr: "127.0.0.1:0", Sock: model.BindSock{
		DeferAccept: true, FastOpen: true, Transparent: true, Interface: "lo", MSS: 1200, UserTimeout: 3500 * time.Millisecond,
	}}
	l, err := Open(b, 77)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	sockFD(t, l, func(fd int) {
		for _, o := range []struct {
			name        string
			level, opt  int
			want, other int
		}{
			// The kernel keeps TCP_DEFER_ACCEPT as SYN-ACK retransmits
			// and gives back the seconds they last, rounded its way.
			{"TCP_DEFER_ACCEPT", unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 3, 1},
			{"TCP_FASTOPEN", unix.IPPROTO_TCP, unix.TCP_FASTOPEN, 77, -1},
			{"IP_TRANSPARENT", unix.IPPROTO_IP, unix.IP_TRANSPARENT, 1, -1},
			{"TCP_MAXSEG", unix.IPPROTO_TCP, unix.TCP_MAXSEG, 1200, -1},
			{"TCP_USER_TIMEOUT", unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, 3500, -1},
		} {
			got, err := unix.GetsockoptInt(fd, o.level, o.opt)
			if err != nil || (got != o.want && got != o.other) {
				t.Errorf("%s = %d (%v), want %d", o.name, got, err, o.want)
			}
		}
		if dev, err := unix.GetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE); err != nil || dev != "lo" {
			t.Errorf("SO_BINDTODEVICE = %q (%v), want lo", dev, err)
		}
	})
}

// TestDeferAccept: a connection is accepted only once its first data
// arrived.
func TestDeferAccept(t *testing.T) {
	l, err := Open(&model.Bind{Network: "tcp4", Addr: "127.0.0.1:0", Sock: model.BindSock{DeferAccept: true}}, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if a, err := l.Accept(); err == nil {
			accepted <- a
		}
	}()
	select {
	case a := <-accepted:
		a.Close()
		t.Fatal("accepted before any data arrived")
	case <-time.After(300 * time.Millisecond):
	}
	c.Write([]byte("x"))
	select {
	case a := <-accepted:
		a.Close()
	case <-time.After(3 * time.Second):
		t.Fatal("not accepted once data arrived")
	}
}

// TestUnixSocketOwner: user/group/mode give a unix socket its owner and
// permissions.
func TestUnixSocketOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chown needs root")
	}
	path := filepath.Join(t.TempDir(), "s.sock")
	l, err := Open(&model.Bind{Network: "unix", Addr: path, Unix: model.UnixPerm{UID: 65534, GID: 65533, HasUID: true, HasGID: true, Mode: 0o640}}, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	if st.Uid != 65534 || st.Gid != 65533 || st.Mode&0o7777 != 0o640 {
		t.Errorf("socket owned by %d:%d mode %o, want 65534:65533 640", st.Uid, st.Gid, st.Mode&0o7777)
	}
}

// TestBindInNamespace: "namespace" opens the socket in that network
// namespace: it listens there, not in the test's.
func TestBindInNamespace(t *testing.T) {
	ns, _ := netnstest.Own(t, "dhlsn")
	l, err := Open(&model.Bind{Network: "tcp4", Addr: "127.0.0.1:0", Sock: model.BindSock{Namespace: ns}}, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.(*net.TCPListener).Addr().(*net.TCPAddr).Port
	if c, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		c.Close()
		t.Fatal("the socket listens in the test's own namespace")
	}
	out, err := exec.Command("ip", "netns", "exec", ns, "ss", "-tlnH", "sport", "= :"+strconv.Itoa(port)).CombinedOutput()
	if err != nil || len(out) == 0 {
		t.Fatalf("no listener on port %d in namespace %s: %v %s", port, ns, err, out)
	}
	if _, err := Open(&model.Bind{Network: "tcp4", Addr: "127.0.0.1:0", Sock: model.BindSock{Namespace: ns + "-none"}}, 16); err == nil {
		t.Error("a missing namespace is no error")
	}
}

// TestInheritedListenerFollowsConfig: a socket kept across a reload takes
// the new configuration's options, and loses those it no longer names.
func TestInheritedListenerFollowsConfig(t *testing.T) {
	first, err := Open(&model.Bind{Network: "tcp4", Addr: "127.0.0.1:0", Sock: model.BindSock{DeferAccept: true, MSS: 1200, FastOpen: true}}, 16)
	if err != nil {
		t.Fatal(err)
	}
	addr := first.Addr().String()
	f, err := listenerFile(first)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	bare := &model.Bind{Network: "tcp4", Addr: addr}
	Inherit(map[string]*os.File{Key(bare): f})
	defer Inherit(nil)
	read := func(so model.BindSock) (got [3]int) {
		l, err := Open(&model.Bind{Network: "tcp4", Addr: addr, Sock: so}, 16)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		sockFD(t, l, func(fd int) {
			for i, o := range []int{unix.TCP_DEFER_ACCEPT, unix.TCP_MAXSEG, unix.TCP_FASTOPEN} {
				got[i], _ = unix.GetsockoptInt(fd, unix.IPPROTO_TCP, o)
			}
		})
		return got
	}
	if got := read(model.BindSock{}); got[0] != 0 || got[1] == 1200 || got[2] != 0 {
		t.Errorf("without the options: defer-accept %d, MSS %d, fast open queue %d; want 0, the default, 0", got[0], got[1], got[2])
	}
	if got := read(model.BindSock{DeferAccept: true, MSS: 1300, FastOpen: true}); got[0] == 0 || got[1] != 1300 || got[2] != 16 {
		t.Errorf("with the options: defer-accept %d, MSS %d, fast open queue %d; want on, 1300, 16", got[0], got[1], got[2])
	}
}
