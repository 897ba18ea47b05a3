package e2e

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"
)

// A section's log-tag names its lines in the syslog header: a frontend's
// traffic lines and a backend's server events; a section without one
// takes the global log-tag. Same tags from dhproxy and haproxy.
func TestProxyLogTag(t *testing.T) {
	web, _ := startHTTPBackend(t, "web")
	tagRE := regexp.MustCompile(`^<\d+>\w{3} [ \d]\d \d\d:\d\d:\d\d (\S+)\[\d+\]: (\S+)`)
	tags := map[string][]string{}
	for _, path := range []string{haproxyBin, bin} {
		logPort, next := udpLog(t)
		fe, fe2, dead := freePort(t), freePort(t), freePort(t)
		startBinary(t, path, fmt.Sprintf(`global
    log 127.0.0.1:%d local0
    log-tag globaltag
defaults
    mode http
    log global
    option httplog
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    log-tag fetag
    default_backend be
frontend fe2
    bind 127.0.0.1:%d
    default_backend be
backend be
    log-tag betag
    server s 127.0.0.1:%d
    server down 127.0.0.1:%d check inter 100 fall 1
`, logPort, fe, fe2, web, dead), fe)
		waitPort(t, fe2, 5*time.Second)
		for _, port := range []int{fe, fe2} {
			if _, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil {
				t.Fatal(err)
			}
		}
		// The lines (the readiness probe's, the check's event, the
		// requests') until the three awaited came, or 5 s.
		seen := map[string]bool{}
		deadline := time.Now().Add(5 * time.Second)
		for !seen["fetag traffic"] || !seen["globaltag traffic"] || !seen["betag Server"] {
			l, ok := next(time.Until(deadline))
			if !ok {
				break
			}
			if m := tagRE.FindStringSubmatch(l); m != nil {
				word := m[2]
				if strings.HasPrefix(word, "127.0.0.1:") {
					word = "traffic"
				}
				seen[m[1]+" "+word] = true
			}
		}
		var got []string
		for k := range seen {
			got = append(got, k)
		}
		sort.Strings(got)
		tags[path] = got
	}
	h, d := strings.Join(tags[haproxyBin], ", "), strings.Join(tags[bin], ", ")
	if h != d || !strings.Contains(d, "fetag traffic") || !strings.Contains(d, "betag Server") || !strings.Contains(d, "globaltag traffic") {
		t.Errorf("tags and first words of the lines\nhaproxy: %s\ndhproxy: %s", h, d)
	}
}
