package netif

import (
	"net/netip"
	"strings"
	"testing"
)

// A VIP on a device that does not exist, or with a scope keepalived does
// not know, fails before anything changes, with the address and the cause.
func TestVIPErrorsBeforeChange(t *testing.T) {
	lo := VIP{Prefix: netip.MustParsePrefix("127.0.0.77/32"), Dev: "lo", Scope: "galaxy"}
	missing := VIP{Prefix: netip.MustParsePrefix("127.0.0.77/32"), Dev: "no-such-dev0"}
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"add, missing device", AddVIP(missing), "VIP 127.0.0.77/32: interface no-such-dev0: "},
		{"del, missing device", DelVIP(missing), "VIP 127.0.0.77/32: interface no-such-dev0: "},
		{"add, bad scope", AddVIP(lo), `VIP 127.0.0.77/32: unknown scope "galaxy"`},
		{"del, bad scope", DelVIP(lo), `VIP 127.0.0.77/32: unknown scope "galaxy"`},
	} {
		if c.err == nil || !strings.HasPrefix(c.err.Error(), c.want) {
			t.Errorf("%s: %v, want %q...", c.name, c.err, c.want)
		}
	}
}

// A route on a device that does not exist fails before anything changes,
// naming the route and the device.
func TestRouteErrorsBeforeChange(t *testing.T) {
	r := Route{Dst: netip.MustParsePrefix("10.99.0.0/24"), Dev: "no-such-dev0", Table: 100}
	for name, err := range map[string]error{"add": AddRoute(r), "del": DelRoute(r)} {
		if want := "route 10.99.0.0/24 dev no-such-dev0 table 100: interface no-such-dev0: "; err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: %v, want %q...", name, err, want)
		}
	}
}
