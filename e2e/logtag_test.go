package e2e

import (
	"fmt"
	"net"
	"regexp"
	"sort"
	"strings"
	"sync"
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
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		seen := map[string]bool{}
		go func() {
			buf := make([]byte, 4096)
			for {
				n, _, err := pc.ReadFrom(buf)
				if err != nil {
					return
				}
				if m := tagRE.FindStringSubmatch(string(buf[:n])); m != nil {
					word := m[2]
					if strings.HasPrefix(word, "127.0.0.1:") {
						word = "traffic"
					}
					mu.Lock()
					seen[m[1]+" "+word] = true
					mu.Unlock()
				}
			}
		}()
		fe, fe2, dead := freePort(t), freePort(t), freePort(t)
		startBinary(t, path, fmt.Sprintf(`global
    log %s local0
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
`, pc.LocalAddr(), fe, fe2, web, dead), fe)
		waitPort(t, fe2, 5*time.Second)
		for _, port := range []int{fe, fe2} {
			if _, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", port)); err != nil {
				t.Fatal(err)
			}
		}
		want := []string{"fetag traffic", "globaltag traffic", "betag Server"}
		deadline := time.Now().Add(5 * time.Second)
		for {
			mu.Lock()
			n := 0
			for _, w := range want {
				if seen[w] {
					n++
				}
			}
			var got []string
			for k := range seen {
				got = append(got, k)
			}
			mu.Unlock()
			if n == len(want) || time.Now().After(deadline) {
				sort.Strings(got)
				tags[path] = got
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		pc.Close()
	}
	h, d := strings.Join(tags[haproxyBin], ", "), strings.Join(tags[bin], ", ")
	if h != d || !strings.Contains(d, "fetag traffic") || !strings.Contains(d, "betag Server") || !strings.Contains(d, "globaltag traffic") {
		t.Errorf("tags and first words of the lines\nhaproxy: %s\ndhproxy: %s", h, d)
	}
}
