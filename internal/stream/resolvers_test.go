package stream

import (
	"net/netip"
	"testing"

	"dhproxy/internal/model"
)

// pickAddr prefers the "resolve-prefer" family, then the "resolve-net"
// networks, and skips the addresses other servers use (prevent-dup-ip).
func TestPickAddr(t *testing.T) {
	ips := []netip.Addr{netip.MustParseAddr("fd00::1"), netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("::ffff:10.0.0.2")}
	cases := []struct {
		sc   model.Server
		used []string
		want string
	}{
		{model.Server{}, nil, "fd00::1"},
		{model.Server{ResolvePrefer: "ipv4"}, nil, "192.0.2.1"},
		{model.Server{ResolvePrefer: "ipv4", ResolveNets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, nil, "10.0.0.1"},
		{model.Server{ResolvePrefer: "ipv4", ResolveNets: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}, []string{"10.0.0.1"}, "10.0.0.2"},
		{model.Server{ResolvePrefer: "ipv4", ResolveAllowDup: true}, []string{"192.0.2.1"}, "192.0.2.1"},
		{model.Server{ResolvePrefer: "ipv4"}, []string{"192.0.2.1", "10.0.0.1", "10.0.0.2", "fd00::1"}, ""},
	}
	for i, c := range cases {
		used := map[netip.Addr]bool{}
		for _, u := range c.used {
			used[netip.MustParseAddr(u)] = true
		}
		got, ok := pickAddr(ips, &c.sc, used)
		if (c.want == "") == ok || ok && got.String() != c.want {
			t.Errorf("case %d: got %v %v, want %q", i, got, ok, c.want)
		}
	}
}
