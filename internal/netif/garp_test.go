package netif

import (
	"encoding/hex"
	"net"
	"net/netip"
	"testing"
)

func TestGARPPacket(t *testing.T) {
	mac, _ := net.ParseMAC("be:64:0d:a4:52:df")
	got := hex.EncodeToString(garpPacket(mac, netip.MustParseAddr("10.213.0.100")))
	// hw type 1, proto 0x0800, sizes 6/4, op 1 (request), sender mac+ip, target ff..ff + the same ip
	want := "0001" + "0800" + "0604" + "0001" + "be640da452df" + "0ad50064" + "ffffffffffff" + "0ad50064"
	if got != want {
		t.Fatalf("GARP\n got %s\nwant %s", got, want)
	}
}

func TestNABody(t *testing.T) {
	mac, _ := net.ParseMAC("be:64:0d:a4:52:df")
	got := hex.EncodeToString(naBody(mac, netip.MustParseAddr("fd00:213::100")))
	// flags: override (no solicited, no router); target; option 2 (target lladdr), length 1 (8 bytes)
	want := "20000000" + "fd000213000000000000000000000100" + "0201" + "be640da452df"
	if got != want {
		t.Fatalf("NA\n got %s\nwant %s", got, want)
	}
}
