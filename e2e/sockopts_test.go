package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/listener"
	"dhproxy/internal/model"
	"dhproxy/internal/netnstest"
)

// TestBindSocketOptionsAsHAProxy: the socket options of bind and server
// lines (haproxy 2.6 sections 5.1 and 5.2) are those haproxy sets, read
// with getsockopt on the proxy's own sockets (pidfd_getfd) for both
// proxies, the listening one and the one to the server; a deferred connection waits in SYN-RECV until data comes; a
// unix socket gets its owner and mode.
func TestBindSocketOptionsAsHAProxy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("transparent, interface and chown need root")
	}
	bePort, _ := serveTCP(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.Copy(c, c)
	})
	type result struct {
		listen map[string]int
		device string
		server map[string]int
		unix   string
	}
	var results []result
	for _, path := range []string{haproxyBin, bin} {
		fe := freePort(t)
		sock := filepath.Join(t.TempDir(), "fe.sock")
		p := startBinary(t, path, fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
listen li
    bind 127.0.0.1:%d defer-accept tfo transparent interface lo mss 1300 tcp-ut 4500 backlog 64
    bind %s uid 65534 gid 65533 mode 640
    server s 127.0.0.1:%d tfo tcp-ut 3s
`, fe, sock, bePort), fe)
		var r result
		withSocket(t, p, func(local, peer int) bool { return local == fe && peer < 0 }, func(fd int) {
			r.listen = sockopts(fd, map[string][2]int{
				"TCP_DEFER_ACCEPT": {unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT},
				"TCP_FASTOPEN":     {unix.IPPROTO_TCP, unix.TCP_FASTOPEN},
				"IP_TRANSPARENT":   {unix.IPPROTO_IP, unix.IP_TRANSPARENT},
				"TCP_MAXSEG":       {unix.IPPROTO_TCP, unix.TCP_MAXSEG},
				"TCP_USER_TIMEOUT": {unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT},
			})
			// The kernel keeps TCP_DEFER_ACCEPT as SYN-ACK retransmits and
			// reads back the seconds they last, rounded its way: on or off.
			r.listen["TCP_DEFER_ACCEPT"] = min(r.listen["TCP_DEFER_ACCEPT"], 1)
			r.device, _ = unix.GetsockoptString(fd, unix.SOL_SOCKET, unix.SO_BINDTODEVICE)
		})
		var st unix.Stat_t
		if err := unix.Stat(sock, &st); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		r.unix = fmt.Sprintf("%d:%d %o", st.Uid, st.Gid, st.Mode&0o7777)

		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		// Not accepted without data: the proxy's side waits in SYN-RECV.
		cport := c.LocalAddr().(*net.TCPAddr).Port
		time.Sleep(200 * time.Millisecond)
		if got := ssState(t, fe, cport); got != "SYN-RECV" {
			t.Errorf("%s: before any data the proxy's side of the connection is %q, want SYN-RECV (deferred)", path, got)
		}
		c.Write([]byte("ping\n"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if line, err := bufio.NewReader(c).ReadString('\n'); line != "ping\n" {
			t.Fatalf("%s: echo %q, %v", path, line, err)
		}
		withSocket(t, p, func(_, peer int) bool { return peer == bePort }, func(fd int) {
			r.server = sockopts(fd, map[string][2]int{
				"TCP_FASTOPEN_CONNECT": {unix.IPPROTO_TCP, unix.TCP_FASTOPEN_CONNECT},
				"TCP_USER_TIMEOUT":     {unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT},
			})
		})
		c.Close()
		p.stop()
		t.Logf("%s: listener %v device %q, server connection %v, unix socket %s", path, r.listen, r.device, r.server, r.unix)
		results = append(results, r)
	}
	want := result{
		listen: map[string]int{"TCP_DEFER_ACCEPT": 1, "TCP_FASTOPEN": 64, "IP_TRANSPARENT": 1, "TCP_MAXSEG": 1300, "TCP_USER_TIMEOUT": 4500},
		device: "lo",
		// No TCP fast open without a retry-on that could send the SYN's
		// data again (haproxy warns so), and dhproxy has no retry-on.
		server: map[string]int{"TCP_FASTOPEN_CONNECT": 0, "TCP_USER_TIMEOUT": 3000},
		unix:   "65534:65533 640",
	}
	for i, r := range results {
		if fmt.Sprint(r) != fmt.Sprint(want) {
			t.Errorf("%s: %+v\nwant %+v", []string{haproxyBin, bin}[i], r, want)
		}
	}
}

// TestBindNamespace: "namespace" opens the listening socket in a network
// namespace (one the test creates): clients there reach the proxy, whose
// servers are still reached from its own namespace.
func TestBindNamespace(t *testing.T) {
	ns, _ := netnstest.Own(t, "dhbind")
	bePort, _ := serveTCP(t, func(c net.Conn) {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.Copy(c, c)
	})
	for _, path := range []string{haproxyBin, bin} {
		fe, ready := freePort(t), freePort(t)
		startBinary(t, path, fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
listen li
    bind 127.0.0.1:%d namespace %s
    bind 127.0.0.1:%d
    server s 127.0.0.1:%d
`, fe, ns, ready, bePort), ready)
		if canDial(fe) {
			t.Errorf("%s: port %d is open in the test's namespace", path, fe)
		}
		c, err := dialInNamespace(ns, fmt.Sprintf("127.0.0.1:%d", fe))
		if err != nil {
			t.Fatalf("%s: dialing inside %s: %v", path, ns, err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("ping\n"))
		if line, err := bufio.NewReader(c).ReadString('\n'); line != "ping\n" {
			t.Errorf("%s: echo through the namespace's bind %q, %v", path, line, err)
		}
		c.Close()
	}
}

// dialInNamespace connects from network namespace ns, on an OS thread
// that never serves other goroutines (it ends with its goroutine).
func dialInNamespace(ns, addr string) (net.Conn, error) {
	type result struct {
		c   net.Conn
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		f, err := os.Open("/var/run/netns/" + ns)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer f.Close()
		if err := unix.Setns(int(f.Fd()), unix.CLONE_NEWNET); err != nil {
			done <- result{err: err}
			return
		}
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		done <- result{c, err}
	}()
	r := <-done
	return r.c, r.err
}

// withSocket runs f on a duplicate (pidfd_getfd) of the first TCP socket
// of p whose local and peer ports match.
func withSocket(t *testing.T, p *proc, match func(local, peer int) bool, f func(fd int)) {
	t.Helper()
	pid := p.cmd.Process.Pid
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		t.Fatalf("pidfd_open: %v", err)
	}
	defer unix.Close(pidfd)
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		n, _ := strconv.Atoi(e.Name())
		if link, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, e.Name())); !strings.HasPrefix(link, "socket:") {
			continue
		}
		fd, err := unix.PidfdGetfd(pidfd, n, 0)
		if err != nil {
			continue
		}
		local, peer := -1, -1
		if sa, err := unix.Getsockname(fd); err == nil {
			local = port(sa)
		}
		if sa, err := unix.Getpeername(fd); err == nil {
			peer = port(sa)
		}
		if local >= 0 && match(local, peer) {
			f(fd)
			unix.Close(fd)
			return
		}
		unix.Close(fd)
	}
	t.Fatalf("%s: no matching socket", p.cmd.Path)
}

func port(sa unix.Sockaddr) int {
	switch a := sa.(type) {
	case *unix.SockaddrInet4:
		return a.Port
	case *unix.SockaddrInet6:
		return a.Port
	}
	return -1
}

// sockopts reads the integer options named in opts (level, name) of fd.
func sockopts(fd int, opts map[string][2]int) map[string]int {
	out := map[string]int{}
	for name, o := range opts {
		v, err := unix.GetsockoptInt(fd, o[0], o[1])
		if err != nil {
			v = -1
		}
		out[name] = v
	}
	return out
}

// ssState is the state ss gives the proxy's side (local port fe) of the
// connection from client port cport; "" when there is none.
func ssState(t *testing.T, fe, cport int) string {
	t.Helper()
	out, err := exec.Command("ss", "-tanH", fmt.Sprintf("( sport = :%d and dport = :%d )", fe, cport)).CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v: %s", err, out)
	}
	f := strings.Fields(string(out))
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// TestServerNamespace: a server's "namespace" makes its connections, and
// its health checks', inside that network namespace (one the test
// creates, where the only listener of the server's address is).
func TestServerNamespace(t *testing.T) {
	ns, _ := netnstest.Own(t, "dhsrv")
	inside, err := listener.Open(&model.Bind{Network: "tcp4", Addr: "127.0.0.1:0", Sock: model.BindSock{Namespace: ns}}, 16)
	if err != nil {
		t.Fatal(err)
	}
	defer inside.Close()
	go func() {
		for {
			c, err := inside.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				io.Copy(c, c)
			}()
		}
	}()
	bePort := inside.Addr().(*net.TCPAddr).Port
	for _, path := range []string{haproxyBin, bin} {
		fe := freePort(t)
		p := startBinary(t, path, fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 10s
    timeout server 10s
listen li
    bind 127.0.0.1:%d
    server s 127.0.0.1:%d namespace %s check inter 100ms fall 2
`, fe, bePort, ns), fe)
		// Long enough for failing checks to take the server down.
		time.Sleep(500 * time.Millisecond)
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("ping\n"))
		if line, err := bufio.NewReader(c).ReadString('\n'); line != "ping\n" {
			t.Errorf("%s: echo from the server in the namespace %q, %v; stderr:\n%s", path, line, err, p.Stderr())
		}
		c.Close()
		p.stop()
	}
}
