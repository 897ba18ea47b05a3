package e2e

import (
	"fmt"
	"strings"
	"testing"
)

// rdpServerCookie is the value a terminal server in token redirection mode
// gives a client for 127.0.0.1:port: the address's bytes read as a
// little-endian integer, the port's bytes swapped.
func rdpServerCookie(port int) string {
	return fmt.Sprintf("%d.%d.0000", 0x0100007f, (port&0xff)<<8|port>>8)
}

// persist rdp-cookie sends a connection whose RDP cookie names a server's
// address and port to that server, round robin otherwise (unknown server,
// one in maintenance, no cookie of that name); same servers as haproxy's.
func TestPersistRDPCookieMatchesHAProxy(t *testing.T) {
	needHAProxy(t)
	ports := map[string]int{}
	var srv []string
	for _, n := range []string{"r1", "r2", "r3"} {
		ports[n] = startNameServer(t, n)
		srv = append(srv, fmt.Sprintf("    server %s 127.0.0.1:%d", n, ports[n]))
	}
	dead := freePort(t)
	srv = append(srv, fmt.Sprintf("    server down 127.0.0.1:%d disabled", dead)) // in maintenance: not usable
	for _, c := range []struct{ persist, name string }{
		{"persist rdp-cookie", "msts"},
		{"persist rdp-cookie(mycookie)", "mycookie"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var cookies []string
			for i := 0; i < 12; i++ {
				switch i % 4 {
				case 0:
					cookies = append(cookies, c.name+"="+rdpServerCookie(ports["r2"]))
				case 1:
					cookies = append(cookies, c.name+"="+rdpServerCookie(ports["r3"]))
				case 2:
					cookies = append(cookies, c.name+"="+rdpServerCookie(dead)) // not usable: balanced
				default:
					cookies = append(cookies, "other="+rdpServerCookie(ports["r2"])) // not the name: balanced
				}
			}
			port := freePort(t)
			cfg := defaultsSection("tcp", "5s", "30s", "30s") + fmt.Sprintf(`
listen rdp
    bind 127.0.0.1:%d
    tcp-request inspect-delay 2s
    tcp-request content accept if RDP_COOKIE
    %s
    balance roundrobin
%s
`, port, c.persist, strings.Join(srv, "\n"))
			compareWithHAProxy(t, cfg, port, func() []string {
				got := rdpServers(t, port, cookies)
				for i := range got {
					if i%4 >= 2 {
						if got[i] == "down" {
							got[i] = "went to the server in maintenance"
						} else {
							got[i] = "balanced"
						}
					}
				}
				return got
			})
		})
	}
}
