package e2e

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
)

// nameSeenBackend answers with the X-Server fields it received.
func nameSeenBackend(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Join(r.Header.Values("X-Server"), ","))
	})}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().(*net.TCPAddr).Port
}

// http-send-name-header: the server's name replaces the client's fields of
// that name, and names the server finally reached after a redispatch.
func TestHTTPSendNameHeader(t *testing.T) {
	live := nameSeenBackend(t)
	dead := freePort(t) // nothing listens there
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`defaults
    mode http
    option redispatch
    retries 1
    timeout connect 1s
    timeout client 5s
    timeout server 5s
    http-send-name-header X-Server
listen web
    bind 127.0.0.1:%d
    use-server dead if { path /redispatch }
    server live 127.0.0.1:%d
    server dead 127.0.0.1:%d weight 0
`, port, live, dead), port)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	for _, path := range []string{"/", "/redispatch"} {
		got, err := curl(t, "-H", "X-Server: forged", "-H", "x-server: again", url+path)
		if err != nil || got != "live" {
			t.Errorf("%s: the server saw X-Server %q (%v), want live", path, got, err)
		}
	}
}
