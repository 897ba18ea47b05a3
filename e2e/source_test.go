package e2e

import (
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// "source" in a backend makes its servers' connections and health checks
// leave from that address; a server's own "source" wins. The servers see
// the same peers from dhproxy as from haproxy.
func TestSourceAddress(t *testing.T) {
	var mu sync.Mutex
	peers := map[string]map[string]bool{} // server name -> peer IPs seen
	serve := func(name string) int {
		port, _ := serveTCP(t, func(c net.Conn) {
			ip := c.RemoteAddr().(*net.TCPAddr).IP.String()
			mu.Lock()
			if peers[name] == nil {
				peers[name] = map[string]bool{}
			}
			peers[name][ip] = true
			mu.Unlock()
			c.SetDeadline(time.Now().Add(2 * time.Second))
			buf := make([]byte, 4096)
			if n, _ := c.Read(buf); n > 0 {
				fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n%s", name)
			}
		})
		return port
	}
	p1, p2 := serve("s1"), serve("s2")
	seen := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		mu.Lock()
		peers = map[string]map[string]bool{}
		mu.Unlock()
		fe := freePort(t)
		startBinary(t, path, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend fe
    bind 127.0.0.1:%d
    default_backend be
backend be
    balance roundrobin
    source 127.0.0.2
    option httpchk GET /
    server s1 127.0.0.1:%d check inter 200
    server s2 127.0.0.1:%d check inter 200 source 127.0.0.3
`, fe, p1, p2), fe)
		for i := 0; i < 4; i++ {
			if _, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", fe)); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		time.Sleep(300 * time.Millisecond) // a check of each at least
		mu.Lock()
		var got []string
		for name, ips := range peers {
			for ip := range ips {
				got = append(got, name+" from "+ip)
			}
		}
		mu.Unlock()
		sort.Strings(got)
		seen[path] = strings.Join(got, ", ")
	}
	want := "s1 from 127.0.0.2, s2 from 127.0.0.3"
	if seen[haproxyBin] != want || seen[bin] != want {
		t.Errorf("peers the servers saw\nhaproxy: %s\ndhproxy: %s\nwant:    %s", seen[haproxyBin], seen[bin], want)
	}
}
