package e2e

import (
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// TestTCPLogFormatVars: a mode tcp frontend's log-format reads the
// connection's variables as haproxy 2.6 does: sess and txn ones set by
// tcp-request content rules are there when the line is written, req ones
// are over with the request's processing.
func TestTCPLogFormatVars(t *testing.T) {
	be, _ := serveTCP(t, func(c net.Conn) {
		c.Write([]byte("hi\n"))
		c.Close()
	})
	const want = "v=hello t=world r=- n=7"
	for _, path := range []string{haproxyBin, bin} {
		logPort, next := udpLog(t)
		fe := freePort(t)
		p := startBinary(t, path, logHead(logPort, "tcp")+fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    tcp-request content set-var(sess.x) str(hello)
    tcp-request content set-var(txn.y) str(world)
    tcp-request content set-var(req.z) str(zzz)
    tcp-request content set-var(sess.n) int(7)
    log-format "v=%%[var(sess.x)] t=%%[var(txn.y)] r=%%[var(req.z)] n=%%[var(sess.n)]"
    default_backend be
backend be
    server s 127.0.0.1:%d
`, fe, be), fe)
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte("x\n"))
		io.ReadAll(c)
		c.Close()
		if got := next.line(t, path); got != want {
			t.Errorf("%s logged %q, want %q", path, got, want)
		}
		p.stop()
	}
}
