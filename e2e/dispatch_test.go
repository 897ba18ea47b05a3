package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// TestDispatch: "dispatch <addr>:<port>" is a server without a name. It
// takes every request of a backend without "balance", even one with
// servers; with "balance" HAProxy ignores it (with a warning) and the
// servers serve.
func TestDispatch(t *testing.T) {
	disp, _ := startHTTPBackend(t, "dispatch")
	srv, _ := startHTTPBackend(t, "server")
	onlyPort, bothPort, balancedPort := freePort(t), freePort(t), freePort(t)
	cfg := defaultsSection("http", "5s", "30s", "30s") + fmt.Sprintf(`
frontend only
    bind 127.0.0.1:%d
    default_backend be_only
frontend both
    bind 127.0.0.1:%d
    default_backend be_both
frontend balanced
    bind 127.0.0.1:%d
    default_backend be_balanced
backend be_only
    dispatch 127.0.0.1:%d
backend be_both
    dispatch 127.0.0.1:%d
    server s1 127.0.0.1:%d
backend be_balanced
    balance roundrobin
    dispatch 127.0.0.1:%d
    server s1 127.0.0.1:%d
`, onlyPort, bothPort, balancedPort, disp, disp, srv, disp, srv)
	p := startProxy(t, cfg, onlyPort, bothPort, balancedPort)
	for _, c := range []struct {
		port int
		want string
	}{{onlyPort, "dispatch"}, {bothPort, "dispatch"}, {balancedPort, "server"}} {
		for i := 0; i < 2; i++ {
			body, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", c.port))
			if err != nil || body != c.want {
				t.Errorf("port %d request %d: body %q (%v), want %q", c.port, i, body, err, c.want)
			}
		}
	}
	if !strings.Contains(p.Stderr(), "dispatch address of backend 'be_balanced' will be ignored in balance mode") {
		t.Errorf("no warning about the ignored dispatch address; stderr:\n%s", p.Stderr())
	}
}
