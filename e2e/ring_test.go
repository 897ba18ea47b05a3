package e2e

import (
	"bufio"
	"fmt"
	"net"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestRingAsHAProxy: ring sections hold the lines of "log ring@" targets
// with the ring's format (a proxy's own lines and a log-forward's relayed
// ones), cut to the target's len and the ring's maxlen, drop the oldest
// lines when full, show them with "show events", and send them to their
// servers over TCP (legacy LF framing and octet counting), as haproxy 2.6.
func TestRingAsHAProxy(t *testing.T) {
	type result struct{ events, legacy, octet string }
	got := map[string]result{}
	pid := regexp.MustCompile(`tagx( |\[)\d+`)
	for _, path := range []string{haproxyBin, bin} {
		legacy, octet := syslogTCPServer(t), syslogTCPServer(t)
		fe, udpIn := freePort(t), freeUDPPort(t)
		sock := filepath.Join(t.TempDir(), "api.sock")
		startBinary(t, path, fmt.Sprintf(`global
    nbthread 1
    stats socket %s level admin
    log-send-hostname myhost
    log-tag tagx
ring buf
    description "front ring"
    format rfc5424
    maxlen 150
    size 20000
    timeout connect 1s
    timeout server 2s
    server legacy 127.0.0.1:%d
    server octet 127.0.0.1:%d log-proto octet-count
ring small
    format rfc3164
    size 16384
defaults
    mode http
    timeout connect 1s
    timeout client 2s
    timeout server 2s
    option dontlognull
    log-format "%%ST %%{+Q}r"
frontend f
    bind 127.0.0.1:%d
    log ring@buf local2
    log ring@small len 80 format raw local3 info
    http-request return status 200
log-forward relay
    dgram-bind 127.0.0.1:%d
    log ring@buf local4
    log ring@small local5
`, sock, legacy.port, octet.port, fe, udpIn), fe)
		for i := 0; i < 160; i++ {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", fe))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "GET /%d%s HTTP/1.0\r\n\r\n", i, strings.Repeat("x", 10*(i%12)))
			c.SetReadDeadline(time.Now().Add(2 * time.Second))
			bufio.NewReader(c).ReadString('\n')
			c.Close()
		}
		tx, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", udpIn))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range []string{"<13>Oct 11 22:14:15 host1 app[123]: relayed", "<34>1 2003-10-11T22:14:15.003Z mach su - ID47 - five", "bare " + strings.Repeat("y", 300)} {
			tx.Write([]byte(m))
		}
		tx.Close()
		time.Sleep(300 * time.Millisecond)
		var r result
		for _, ring := range []string{"buf", "small"} {
			r.events += "== " + ring + "\n" + cliCmd(t, sock, "show events "+ring)
		}
		r.legacy, r.octet = legacy.wait(), octet.wait()
		norm := func(s string) string {
			s = maskNow(s)
			s = pid.ReplaceAllString(s, "tagx$1<pid>")
			return regexp.MustCompile(`127\.0\.0\.1:\d+`).ReplaceAllString(s, "<addr>")
		}
		// the frontend's port is in the lines, and the octet counts count it
		r = result{norm(r.events), norm(r.legacy), norm(r.octet)}
		got[path] = r
	}
	h, d := got[haproxyBin], got[bin]
	if !strings.Contains(h.events, "relayed") || h.legacy == "" || h.octet == "" {
		t.Fatalf("haproxy's ring got too little:\n%s\nlegacy: %q\noctet: %q", h.events, h.legacy, h.octet)
	}
	if strings.Contains(h.events, `"GET /0 HTTP`) || !strings.Contains(h.events, `"GET /159`) {
		t.Fatalf("haproxy's rings did not drop their oldest lines:\n%s", h.events)
	}
	if h.events != d.events {
		t.Errorf("show events differs:\n%s", diffLines(strings.Split(h.events, "\n"), strings.Split(d.events, "\n")))
	}
	if h.legacy != d.legacy {
		t.Errorf("legacy server received:\nhaproxy: %q\ndhproxy: %q", h.legacy, d.legacy)
	}
	if h.octet != d.octet {
		t.Errorf("octet-count server received:\nhaproxy: %q\ndhproxy: %q", h.octet, d.octet)
	}
}

type syslogServer struct {
	port int
	got  chan string
}

// syslogTCPServer accepts one connection and collects what it sends until
// nothing came for 500ms (wait).
func syslogTCPServer(t *testing.T) *syslogServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	s := &syslogServer{port: l.Addr().(*net.TCPAddr).Port, got: make(chan string, 1)}
	go func() {
		c, err := l.Accept()
		if err != nil {
			s.got <- ""
			return
		}
		defer c.Close()
		var all []byte
		buf := make([]byte, 65536)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		for {
			n, err := c.Read(buf)
			all = append(all, buf[:n]...)
			if err != nil {
				break
			}
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		}
		s.got <- string(all)
	}()
	return s
}

func (s *syslogServer) wait() string { return <-s.got }
