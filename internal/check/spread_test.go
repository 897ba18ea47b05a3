package check

import (
	"net"
	"testing"
	"time"
)

// "spread-checks 50" varies each interval by up to half of it, either way,
// and really varies it; 0 keeps it exact.
func TestSpreadChecks(t *testing.T) {
	const inter = 2 * time.Second
	if d := spread(inter, 0); d != inter {
		t.Fatalf("spread-checks 0: %v, want %v", d, inter)
	}
	lo, hi := inter, inter
	for range 2000 {
		d := spread(inter, 50)
		if d < time.Second || d > 3*time.Second {
			t.Fatalf("spread-checks 50: %v outside [1s, 3s]", d)
		}
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo > 1100*time.Millisecond || hi < 2900*time.Millisecond {
		t.Errorf("spread-checks 50 drew only [%v, %v] in 2000 tries", lo, hi)
	}
}

// "max-spread-checks" bounds the start-up spreading of long intervals.
func TestMaxSpreadChecks(t *testing.T) {
	if d := startDelay(30*time.Second, 30*time.Second, 0, 3, 4); d != 22500*time.Millisecond {
		t.Errorf("no bound: %v", d)
	}
	if d := startDelay(30*time.Second, 30*time.Second, 4*time.Second, 3, 4); d != 3*time.Second {
		t.Errorf("max-spread-checks 4s: %v, want 3s", d)
	}
}

// A send-proxy-v2 server's checks send LOCAL, or with
// "pp2-never-send-local" a PROXY command carrying the check connection's
// addresses.
func TestCheckProxyV2Command(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if b := proxyLine(c, true, false); b[12] != 0x20 || len(b) != 16 {
		t.Errorf("LOCAL header: % x", b)
	}
	b := proxyLine(c, true, true)
	if b[12] != 0x21 || b[13] != 0x11 || len(b) != 28 {
		t.Fatalf("PROXY header: % x", b)
	}
	if port := int(b[24])<<8 | int(b[25]); port != c.LocalAddr().(*net.TCPAddr).Port {
		t.Errorf("source port %d, want the check connection's %v", port, c.LocalAddr())
	}
}
