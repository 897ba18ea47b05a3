package keepalived

import (
	"net/netip"
	"testing"

	"dhproxy/internal/config"
)

// TestSameSettings: positions never count, every setting does.
func TestSameSettings(t *testing.T) {
	vs := func(line int, weight int) *VirtualServer {
		return &VirtualServer{Pos: config.Pos{File: "k.conf", Line: line}, Addr: netip.MustParseAddr("10.0.0.1"), Port: 80,
			RealServers: []*RealServer{{Pos: config.Pos{File: "k.conf", Line: line + 1}, Addr: netip.MustParseAddr("10.0.0.2"), Port: 80, Weight: weight}}}
	}
	if !SameSettings(vs(1, 1), vs(9, 1)) {
		t.Error("a moved block is reported as changed")
	}
	if SameSettings(vs(1, 1), vs(1, 2)) {
		t.Error("a new real server weight is not a change")
	}
	if !SameSettings(nil, nil) || SameSettings(vs(1, 1), nil) || SameSettings(vs(1, 1), (*VirtualServer)(nil)) {
		t.Error("nil handling")
	}
}
