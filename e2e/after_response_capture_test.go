package e2e

import (
	"fmt"
	"testing"
)

// http-after-response capture fills a declared response slot from what
// the client is sent, the proxy's own replies included: %hs and
// capture.res.hdr() show it in the log line. Same lines from dhproxy and
// haproxy.
func TestAfterResponseCaptureAsHAProxy(t *testing.T) {
	web, _ := startHTTPBackend(t, "web")
	var got [][]string
	for _, path := range []string{haproxyBin, bin} {
		logPort, next := udpLog(t)
		fe := freePort(t)
		p := startBinary(t, path, logHead(logPort, "http", "option dontlognull")+fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    declare capture response len 8
    declare capture response len 4
    log-format "%%ST %%hs %%[capture.res.hdr(0)] %%[capture.res.hdr(1)]"
    http-request return status 403 content-type text/plain string no if { path /deny }
    http-after-response set-header x-after abcdefghijkl
    http-after-response capture res.hdr(x-after) id 0
    http-after-response capture status id 1 if { status 200 }
    default_backend be
backend be
    http-after-response capture str(be) id 1
    server s 127.0.0.1:%d
`, fe, web), fe)
		var lines []string
		for _, uri := range []string{"/", "/deny"} {
			curl(t, fmt.Sprintf("http://127.0.0.1:%d%s", fe, uri))
			lines = append(lines, next.line(t, fmt.Sprintf("%s, %s; stderr:\n%s", path, uri, p.Stderr())))
		}
		got = append(got, lines)
	}
	// The backend's rules run first: the frontend's status capture
	// overwrites its "be" on a 200.
	want := []string{"200 {abcdefgh|200} abcdefgh 200", "403 {abcdefgh|} abcdefgh -"}
	for i, name := range []string{"haproxy", "dhproxy"} {
		if fmt.Sprint(got[i]) != fmt.Sprint(want) {
			t.Errorf("%s lines:\n%q\nwant:\n%q", name, got[i], want)
		}
	}
}
