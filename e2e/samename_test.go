package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

// TestFrontendBackendSameName: "frontend kube-apiserver" and "backend
// kube-apiserver" coexist, as in HAProxy (only proxies with overlapping
// capabilities must differ): traffic flows, "show stat" has a FRONTEND and
// a BACKEND row under the same pxname, and the runtime API finds the
// backend's server by that name.
func TestFrontendBackendSameName(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	srv, _ := startHTTPBackend(t, "s1")
	fe := freePort(t)
	cfg := fmt.Sprintf(`global
    stats socket %s mode 600 level admin`, sock) + defaultsSection("http", "1s", "5s", "5s") + fmt.Sprintf(`
frontend kube-apiserver
    bind 127.0.0.1:%d
    default_backend kube-apiserver
backend kube-apiserver
    server s1 127.0.0.1:%d
`, fe, srv)
	startProxy(t, cfg, fe)
	url := fmt.Sprintf("http://127.0.0.1:%d/", fe)
	for i := 0; i < 2; i++ {
		if body, err := curl(t, url); err != nil || body != "s1" {
			t.Fatalf("request %d: %q %v", i, body, err)
		}
	}
	rows, names := statRows(t, cliCmd(t, sock, "show stat"))
	// The frontend's stot (and haproxy's req_tot) also count the
	// harness's readiness probe: compare the 2xx answers there.
	for _, c := range [][2]string{{"kube-apiserver/FRONTEND", "hrsp_2xx"}, {"kube-apiserver/BACKEND", "stot"}, {"kube-apiserver/s1", "stot"}} {
		if got := field(t, rows, names, c[0], c[1]); got != "2" {
			t.Errorf("%s %s = %q, want 2", c[0], c[1], got)
		}
	}
	if got := field(t, rows, names, "kube-apiserver/FRONTEND", "type"); got != "0" {
		t.Errorf("FRONTEND row type %q, want 0", got)
	}
	if got := field(t, rows, names, "kube-apiserver/BACKEND", "type"); got != "1" {
		t.Errorf("BACKEND row type %q, want 1", got)
	}

	if out := cliCmd(t, sock, "disable server kube-apiserver/s1"); strings.TrimSpace(out) != "" {
		t.Fatalf("disable server: %q", out)
	}
	if out, _ := curl(t, "-o", "/dev/null", "-w", "%{http_code}", url); out != "503" {
		t.Errorf("with s1 disabled: status %s, want 503", out)
	}
	cliCmd(t, sock, "enable server kube-apiserver/s1")
	if body, err := curl(t, url); err != nil || body != "s1" {
		t.Errorf("with s1 enabled again: %q %v", body, err)
	}
}
