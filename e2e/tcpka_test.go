package e2e

import (
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// "option tcpka" with clitcpka-idle and srvtcpka-idle: the proxy's sockets
// on both sides run the kernel's keepalive timer with the idle times given
// (as `ss -o` shows it, for dhproxy and haproxy alike); without the option
// neither runs one.
func TestTCPKeepAliveOptions(t *testing.T) {
	if _, err := exec.LookPath("ss"); err != nil {
		t.Fatal("ss (iproute2) is needed")
	}
	held := make(chan net.Conn, 4)
	bePort, _ := serveTCP(t, func(c net.Conn) {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		// Handed over once the client's byte came through: the server
		// accepts as soon as the handshake ends, before the proxy has set
		// its socket options; it has when it forwards data.
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			c.Close()
			return
		}
		held <- c
		io.Copy(io.Discard, c) // until the test closes it
	})
	for _, path := range []string{haproxyBin, bin} {
		for _, on := range []bool{true, false} {
			fe := freePort(t)
			opts := ""
			if on {
				opts = "    option tcpka\n    clitcpka-idle 40\n    clitcpka-cnt 4\n    clitcpka-intvl 7\n    srvtcpka-idle 50s\n    srvtcpka-cnt 5\n"
			}
			p := startBinary(t, path, fmt.Sprintf(`defaults
    mode tcp
    timeout connect 1s
    timeout client 30s
    timeout server 30s
listen li
    bind 127.0.0.1:%d
%s    server s 127.0.0.1:%d
`, fe, opts, bePort), fe)
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe))
			if err != nil {
				t.Fatal(err)
			}
			c.Write([]byte("x"))
			var srv net.Conn
			select {
			case srv = <-held:
			case <-time.After(5 * time.Second):
				t.Fatalf("%s: no connection reached the server", path)
			}
			cli, back := keepAliveTimer(t, fe, "sport"), keepAliveTimer(t, bePort, "dport")
			c.Close()
			srv.Close()
			p.stop()
			switch {
			case on && (cli <= 30 || cli > 40 || back <= 40 || back > 50):
				t.Errorf("%s: keepalive timers client side %ds, server side %ds; want about 40 and 50", path, cli, back)
			case !on && (cli != 0 || back != 0):
				t.Errorf("%s without tcpka: keepalive timers %ds and %ds, want none", path, cli, back)
			}
		}
	}
}

var keepAliveRE = regexp.MustCompile(`timer:\(keepalive,(?:(\d+)min)?(\d+)sec`)

// keepAliveTimer is the seconds left on the keepalive timer of the one
// established socket whose local ("sport") or peer ("dport") port is
// port, 0 when it runs none.
func keepAliveTimer(t *testing.T, port int, which string) int {
	t.Helper()
	out, err := exec.Command("ss", "-tnoH", "state", "established", fmt.Sprintf("( %s = :%d )", which, port)).CombinedOutput()
	if err != nil {
		t.Fatalf("ss: %v: %s", err, out)
	}
	m := keepAliveRE.FindSubmatch(out)
	if m == nil {
		return 0
	}
	mins, _ := strconv.Atoi(string(m[1]))
	secs, _ := strconv.Atoi(string(m[2]))
	return mins*60 + secs
}
