package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// listenBacklog is the accept queue length of the socket listening on
// 127.0.0.1:port: ss shows it as the Send-Q of a listening socket.
func listenBacklog(t *testing.T, port int) int {
	t.Helper()
	out, err := exec.Command("ss", "-Hltn", fmt.Sprintf("sport = :%d", port)).Output()
	if err != nil {
		t.Fatalf("ss: %v", err)
	}
	f := strings.Fields(string(out))
	if len(f) < 3 || f[0] != "LISTEN" {
		t.Fatalf("ss: no listening socket on port %d: %q", port, out)
	}
	n, err := strconv.Atoi(f[2])
	if err != nil {
		t.Fatalf("ss: %q", out)
	}
	return n
}

// countSockets is the number of socket descriptors of process pid.
func countSockets(t *testing.T, pid int) int {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if target, err := os.Readlink(dir + "/" + e.Name()); err == nil && strings.HasPrefix(target, "socket:") {
			n++
		}
	}
	return n
}

// The accept backlog of a bind is its "backlog", else the frontend's, else
// the bind's then the frontend's maxconn (which defaults to the global
// one), as in HAProxy; and each bind is one socket, in both modes.
func TestListenBacklogAndOneSocketPerBind(t *testing.T) {
	for _, mode := range []string{"tcp", "http"} {
		t.Run(mode, func(t *testing.T) {
			echo := startTCPEcho(t)
			ports := make([]int, 6)
			for i := range ports {
				ports[i] = freePort(t)
			}
			p := startProxy(t, fmt.Sprintf(`
global
    maxconn 3000
defaults
    mode %s
    timeout connect 1s
    timeout client 10s
    timeout server 10s
frontend fe_maxconn
    bind 127.0.0.1:%d
    maxconn 500
    default_backend be
frontend fe_backlog
    bind 127.0.0.1:%d
    maxconn 500
    backlog 100
    default_backend be
frontend bind_backlog
    bind 127.0.0.1:%d backlog 50
    maxconn 500
    backlog 100
    default_backend be
frontend global_maxconn
    bind 127.0.0.1:%d
    default_backend be
frontend bind_maxconn
    bind 127.0.0.1:%d maxconn 70
    default_backend be
frontend bind_maxconn_first
    bind 127.0.0.1:%d maxconn 70
    maxconn 500
    default_backend be
backend be
    server s1 127.0.0.1:%d
`, mode, ports[0], ports[1], ports[2], ports[3], ports[4], ports[5], echo), ports...)
			for i, want := range []int{500, 100, 50, 3000, 70, 70} {
				if got := listenBacklog(t, ports[i]); got != want {
					t.Errorf("port %d: backlog %d, want %d", ports[i], got, want)
				}
			}
			// The readiness probes' sessions may not have ended yet.
			n := countSockets(t, p.cmd.Process.Pid)
			for deadline := time.Now().Add(5 * time.Second); n != len(ports) && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
				n = countSockets(t, p.cmd.Process.Pid)
			}
			if n != len(ports) {
				t.Errorf("%d binds hold %d sockets, want one each", len(ports), n)
			}
		})
	}
}
