package e2e

import (
	"fmt"
	"net"
	"regexp"
	"testing"
	"time"
)

// log-format-sd fills the STRUCTURED-DATA field of the traffic lines sent
// to "format rfc5424" targets, escaped with %{+E}; a frontend without one
// sends "-" there, and an rfc3164 target never sees it. Same datagrams
// (after the timestamp and pid) from dhproxy and haproxy. dontlognull: the
// readiness probes are not lines of the test.
func TestLogFormatSDAsHAProxy(t *testing.T) {
	header := regexp.MustCompile(`^<(\d+)>1 \S+ - haproxy \d+ - `)
	var got [][]string
	for _, path := range []string{haproxyBin, bin} {
		sink5424, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer sink5424.Close()
		sink3164, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer sink3164.Close()
		fe, fe2 := freePort(t), freePort(t)
		p := startBinary(t, path, fmt.Sprintf(`global
    log %s format rfc5424 local0
    log %s local0
    log-tag haproxy
defaults
    mode http
    log global
    option dontlognull
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    log-format-sd "[ex@1234 v=\"%%{+E}[str(a\\\"b)]\" bytes=\"%%B\" status=\"%%ST\"]"
    log-format "%%ST %%B"
    http-request return status 200 content-type text/plain string hello
frontend fe2
    bind 127.0.0.1:%d
    log-format "%%ST %%B"
    http-request return status 201 content-type text/plain string hello
`, sink5424.LocalAddr(), sink3164.LocalAddr(), fe, fe2), fe)
		waitPort(t, fe2, 5*time.Second)
		var lines []string
		for _, port := range []int{fe, fe2} {
			if _, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil {
				t.Fatal(err)
			}
			for _, sink := range []net.PacketConn{sink5424, sink3164} {
				buf := make([]byte, 4096)
				sink.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, _, err := sink.ReadFrom(buf)
				if err != nil {
					t.Fatalf("%s: no log line: %v; stderr:\n%s", path, err, p.Stderr())
				}
				line := string(buf[:n])
				if sink == sink5424 {
					m := header.FindStringSubmatch(line)
					if m == nil {
						t.Fatalf("%s: not an rfc5424 line: %q", path, line)
					}
					line = "5424 <" + m[1] + "> " + line[len(m[0]):]
				} else {
					line = "3164 " + regexp.MustCompile(`^.*\]: `).ReplaceAllString(line, "")
				}
				lines = append(lines, line)
			}
		}
		got = append(got, lines)
	}
	want := []string{
		"5424 <134> [ex@1234 v=\"a\\\"b\" bytes=\"76\" status=\"200\"] 200 76\n",
		"3164 200 76\n",
		"5424 <134> - 201 81\n",
		"3164 201 81\n",
	}
	for i, name := range []string{"haproxy", "dhproxy"} {
		if fmt.Sprint(got[i]) != fmt.Sprint(want) {
			t.Errorf("%s lines:\n%q\nwant:\n%q", name, got[i], want)
		}
	}
}
