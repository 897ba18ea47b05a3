package netns_test

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/listener"
	"dhproxy/internal/model"
	"dhproxy/internal/netns"
	"dhproxy/internal/netnstest"
)

// TestDialInNamespace: connections are made inside the namespace (a
// server listening only there is reached; one listening only outside is
// not), with the dialer's socket options.
func TestDialInNamespace(t *testing.T) {
	ns, _ := netnstest.Own(t, "dhdial")
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
			go func() { defer c.Close(); io.Copy(c, c) }()
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	d := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		var err error
		rc.Control(func(fd uintptr) { err = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, 1234) })
		return err
	}}
	c, err := netns.Dial(ctx, ns, d, inside.Addr().String())
	if err != nil {
		t.Fatalf("dial inside %s: %v", ns, err)
	}
	defer c.Close()
	if c.RemoteAddr().String() != inside.Addr().String() {
		t.Errorf("remote address %v, want %v", c.RemoteAddr(), inside.Addr())
	}
	c.SetDeadline(time.Now().Add(2 * time.Second))
	c.Write([]byte("ping"))
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Errorf("echo %q, %v", buf, err)
	}
	rc, _ := c.(syscall.Conn).SyscallConn()
	rc.Control(func(fd uintptr) {
		if ut, _ := unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT); ut != 1234 {
			t.Errorf("TCP_USER_TIMEOUT %d, want the dialer's 1234", ut)
		}
	})

	// The namespace has its own port space: an outside port equal to the
	// inside echo's would reach the echo and prove nothing.
	var outside net.Listener
	for outside == nil || outside.Addr().(*net.TCPAddr).Port == inside.Addr().(*net.TCPAddr).Port {
		l, err := net.Listen("tcp4", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		outside = l
	}
	if c, err := netns.Dial(ctx, ns, &net.Dialer{}, outside.Addr().String()); err == nil {
		c.Close()
		t.Errorf("reached %v, which listens outside the namespace", outside.Addr())
	}
	if _, err := netns.Dial(ctx, ns+"-none", &net.Dialer{}, outside.Addr().String()); err == nil {
		t.Error("a missing namespace is no error")
	}
}

// TestDialInNamespaceDeadline: a connect that gets no answer ends at the
// dialer's deadline with a timeout.
func TestDialInNamespaceDeadline(t *testing.T) {
	ns, ip := netnstest.Own(t, "dhdl")
	// A one-end veth pair: the SYN leaves and is never answered.
	ip("-n", ns, "link", "add", "dh0", "type", "veth", "peer", "name", "dh1")
	ip("-n", ns, "link", "set", "dh0", "up")
	ip("-n", ns, "addr", "add", "192.0.2.1/24", "dev", "dh0")
	start := time.Now()
	_, err := netns.Dial(context.Background(), ns, &net.Dialer{Deadline: start.Add(300 * time.Millisecond)}, "192.0.2.2:80")
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("error %v, want a timeout", err)
	}
	if took := time.Since(start); took < 250*time.Millisecond || took > 2*time.Second {
		t.Errorf("gave up after %v, want about 300ms", took)
	}
}
