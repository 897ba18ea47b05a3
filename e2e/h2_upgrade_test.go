package e2e

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"
)

// TestH2ImplicitUpgradeAsHAProxy: a cleartext HTTP/1 bind takes HTTP/2
// clients that start with the preface (prior knowledge), as haproxy 2.6
// does by default; "proto h1" on the bind or "option disable-h2-upgrade"
// turn that off, and HTTP/1 clients are served as before.
func TestH2ImplicitUpgradeAsHAProxy(t *testing.T) {
	web, _ := startHTTPBackend(t, "web")
	answers := map[string]string{}
	for _, path := range []string{haproxyBin, bin} {
		up, h1only, off := freePort(t), freePort(t), freePort(t)
		p := startBinary(t, path, fmt.Sprintf(`defaults
    mode http
    timeout connect 1s
    timeout client 5s
    timeout server 5s
frontend f
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d proto h1
    default_backend b
frontend g
    bind 127.0.0.1:%d
    option disable-h2-upgrade
    default_backend b
backend b
    server s 127.0.0.1:%d
`, up, h1only, off, web), up)
		var b strings.Builder
		out, _ := curl(t, "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code} %{http_version}\n", fmt.Sprintf("http://127.0.0.1:%d/a", up))
		b.WriteString(out)
		// many streams on upgraded connections
		h2l, err := exec.Command("h2load", "-n", "40", "-c", "2", "-m", "5", fmt.Sprintf("http://127.0.0.1:%d/b", up)).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: h2load: %v\n%s", path, err, h2l)
		}
		for _, l := range strings.Split(string(h2l), "\n") {
			if strings.HasPrefix(l, "requests:") {
				b.WriteString(l + "\n")
			}
		}
		// then the binds that refuse it
		for _, port := range []int{h1only, off} {
			out, _ := curl(t, "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_code} %{http_version}\n", fmt.Sprintf("http://127.0.0.1:%d/", port))
			b.WriteString(out)
		}
		out, _ = curl(t, "-o", "/dev/null", "-w", "%{http_code} %{http_version}\n", fmt.Sprintf("http://127.0.0.1:%d/", up))
		b.WriteString(out)
		answers[path] = b.String()
		p.stop()
	}
	const want = "200 2\nrequests: 40 total, 40 started, 40 done, 40 succeeded, 0 failed, 0 errored, 0 timeout\n000 0\n000 0\n200 1.1\n"
	for _, path := range []string{haproxyBin, bin} {
		if answers[path] != want {
			t.Errorf("%s answered\n%s\nwant\n%s", path, answers[path], want)
		}
	}
}
