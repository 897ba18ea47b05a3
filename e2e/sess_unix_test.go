package e2e

import (
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestShowSessUnixServerAsHAProxy: "show sess all" for a session on a
// server on a UNIX socket gives "addr=unix" for both the backend's end
// and the server's, as haproxy 2.6 (dhproxy printed "@", the unnamed
// socket's address, for the backend's).
func TestShowSessUnixServerAsHAProxy(t *testing.T) {
	us := filepath.Join(t.TempDir(), "x.sock")
	unixEcho(t, us)
	lineRe := regexp.MustCompile(`(?m)^  (backend|server)=.*$`)
	got := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		sock := filepath.Join(t.TempDir(), "api.sock")
		fe := freePort(t)
		p := startBinary(t, path, fmt.Sprintf(`global
    stats socket %s level admin
defaults
    mode tcp
    timeout connect 1s
    timeout client 5s
    timeout server 5s
listen l
    bind 127.0.0.1:%d
    server s1 %s
`, sock, fe, us), fe)
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(3 * time.Second))
		c.Write([]byte("hi"))
		if _, err := c.Read(make([]byte, 2)); err != nil { // connected: the echo answered
			t.Fatal(err)
		}
		// The start-up probe's session may not have ended yet: wait for
		// this one alone.
		var lines []string
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			lines = lines[:0]
			for _, l := range lineRe.FindAllString(cliCmd(t, sock, "show sess all"), -1) {
				if !strings.Contains(l, "<NONE>") { // the CLI's own session
					lines = append(lines, l)
				}
			}
			if len(lines) <= 2 || time.Now().After(deadline) {
				break
			}
		}
		got[path] = strings.Join(lines, "\n")
		c.Close()
		p.stop()
	}
	want := "  backend=l (id=2 mode=tcp) addr=unix\n  server=s1 (id=1) addr=unix"
	for _, path := range []string{haproxyBin, bin} {
		if got[path] != want {
			t.Errorf("%s:\n%s\nwant\n%s", path, got[path], want)
		}
	}
}
