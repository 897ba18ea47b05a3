package listener

import (
	"net"
	"os"
	"strings"
	"testing"

	"dhproxy/internal/model"
)

func TestBacklogOrder(t *testing.T) {
	g := &model.Global{Maxconn: 3000}
	for _, tc := range []struct {
		fe     model.Proxy
		b      model.Bind
		global *model.Global
		want   int
	}{
		{b: model.Bind{Backlog: 50, Maxconn: 70}, fe: model.Proxy{Backlog: 100, Maxconn: 500}, global: g, want: 50},
		{b: model.Bind{Maxconn: 70}, fe: model.Proxy{Backlog: 100, Maxconn: 500}, global: g, want: 100},
		{b: model.Bind{Maxconn: 70}, fe: model.Proxy{Maxconn: 500}, global: g, want: 70},
		{fe: model.Proxy{Maxconn: 500}, global: g, want: 500},
		{global: g, want: 3000},
		{global: &model.Global{}, want: 1<<31 - 1},
	} {
		if got := Backlog(&tc.b, &tc.fe, tc.global); got != tc.want {
			t.Errorf("bind %+v frontend backlog %d maxconn %d: backlog %d, want %d", tc.b, tc.fe.Backlog, tc.fe.Maxconn, got, tc.want)
		}
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// A bind is one socket descriptor, whatever the address family.
func TestOpenOneDescriptor(t *testing.T) {
	for _, b := range []*model.Bind{
		{Network: "tcp", Addr: "127.0.0.1:0"},
		{Network: "tcp", Addr: ":0"},
		{Network: "tcp6", Addr: "[::1]:0"},
		{Network: "tcp4", Addr: ":0"},
	} {
		before := openFDs(t)
		l, err := Open(b, 10)
		if err != nil {
			t.Fatalf("%s %s: %v", b.Network, b.Addr, err)
		}
		if n := openFDs(t) - before; n != 1 {
			t.Errorf("%s %s: %d descriptors", b.Network, b.Addr, n)
		}
		l.Close()
	}
}

// A wildcard "tcp" bind is dual stack as with net.Listen; "v6only" and
// tcp6 wildcards take IPv6 only.
func TestOpenFamilies(t *testing.T) {
	dials := func(l net.Listener, network, host string) bool {
		go func() {
			if c, err := l.Accept(); err == nil {
				c.Close()
			}
		}()
		_, port, _ := net.SplitHostPort(l.Addr().String())
		c, err := net.Dial(network, net.JoinHostPort(host, port))
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	for _, tc := range []struct {
		b          model.Bind
		ipv4, ipv6 bool
	}{
		{model.Bind{Network: "tcp", Addr: ":0"}, true, true},
		{model.Bind{Network: "tcp", Addr: ":0", Options: map[string]string{"v6only": ""}}, false, true},
		{model.Bind{Network: "tcp6", Addr: "[::]:0"}, false, true},
		{model.Bind{Network: "tcp4", Addr: ":0"}, true, false},
		{model.Bind{Network: "tcp", Addr: "127.0.0.1:0"}, true, false},
	} {
		l, err := Open(&tc.b, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got := dials(l, "tcp4", "127.0.0.1"); got != tc.ipv4 {
			t.Errorf("%+v: IPv4 connect %v, want %v", tc.b, got, tc.ipv4)
		}
		if got := dials(l, "tcp6", "::1"); got != tc.ipv6 {
			t.Errorf("%+v: IPv6 connect %v, want %v", tc.b, got, tc.ipv6)
		}
		l.Close()
	}
}

func TestOpenAddressInUse(t *testing.T) {
	SetReusePort(false) // "noreuseport"
	defer SetReusePort(true)
	l, err := Open(&model.Bind{Network: "tcp", Addr: "127.0.0.1:0"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, err = Open(&model.Bind{Network: "tcp", Addr: l.Addr().String()}, 10)
	if err == nil || !strings.Contains(err.Error(), "cannot bind socket (Address already in use)") {
		t.Errorf("second bind: %v", err)
	}
}

// By default (HAProxy's), a second process binds beside the first one, as
// -sf/-st need.
func TestOpenReusePort(t *testing.T) {
	l, err := Open(&model.Bind{Network: "tcp", Addr: "127.0.0.1:0"}, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l2, err := Open(&model.Bind{Network: "tcp", Addr: l.Addr().String()}, 10)
	if err != nil {
		t.Fatalf("second bind with SO_REUSEPORT: %v", err)
	}
	l2.Close()
}
