package e2e

import (
	"fmt"
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
		port5424, next5424 := udpLog(t)
		port3164, next3164 := udpLog(t)
		fe, fe2 := freePort(t), freePort(t)
		p := startBinary(t, path, fmt.Sprintf(`global
    log 127.0.0.1:%d format rfc5424 local0
    log 127.0.0.1:%d local0
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
`, port5424, port3164, fe, fe2), fe)
		waitPort(t, fe2, 5*time.Second)
		var lines []string
		for _, port := range []int{fe, fe2} {
			if _, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil {
				t.Fatal(err)
			}
			line := next5424.line(t, fmt.Sprintf("%s, rfc5424; stderr:\n%s", path, p.Stderr()))
			m := header.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("%s: not an rfc5424 line: %q", path, line)
			}
			lines = append(lines, "5424 <"+m[1]+"> "+line[len(m[0]):])
			line = next3164.line(t, fmt.Sprintf("%s, rfc3164; stderr:\n%s", path, p.Stderr()))
			lines = append(lines, "3164 "+regexp.MustCompile(`^.*\]: `).ReplaceAllString(line, ""))
		}
		got = append(got, lines)
	}
	want := []string{
		"5424 <134> [ex@1234 v=\"a\\\"b\" bytes=\"76\" status=\"200\"] 200 76",
		"3164 200 76",
		"5424 <134> - 201 81",
		"3164 201 81",
	}
	for i, name := range []string{"haproxy", "dhproxy"} {
		if fmt.Sprint(got[i]) != fmt.Sprint(want) {
			t.Errorf("%s lines:\n%q\nwant:\n%q", name, got[i], want)
		}
	}
}
