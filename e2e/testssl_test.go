package e2e

// testssl.sh (Debian package testssl.sh) against a default "bind ... ssl
// crt": no protocol below TLS 1.2, no weak cipher, secure renegotiation,
// no vulnerability flagged. Its run is bounded: --fast, only protocols
// (-p), cipher categories (-s) and vulnerabilities (-U). dhproxy only:
// haproxy 2.6's default cipher list (OpenSSL's) offers CBC suites, which
// testssl.sh reports as obsolete.

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type testsslFinding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Finding  string `json:"finding"`
}

func TestTLSTestssl(t *testing.T) {
	if isHAProxy() {
		t.Skip("haproxy 2.6's default ciphers include CBC suites, which testssl.sh flags")
	}
	bin, err := exec.LookPath("testssl")
	if err != nil {
		t.Skip("no testssl (Debian package testssl.sh; scripts/install-test-deps.sh):", err)
	}
	ca := newTLSCA(t)
	dir := t.TempDir()
	crt := ca.writePEM(t, dir, "site.pem", "site.test")
	port := freePort(t)
	startProxy(t, defaultsSection("http", "2s", "10s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s
	http-request return status 200
`, port, crt), port)

	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	report := filepath.Join(dir, "testssl.json")
	cmd := exec.CommandContext(ctx, bin, "--quiet", "--fast", "--warnings", "off", "--color", "0", "--openssl-timeout", "10",
		"-p", "-s", "-U", "--jsonfile", report, fmt.Sprintf("127.0.0.1:%d", port))
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("testssl.sh did not finish in time:\n%s", out)
	}
	data, rerr := os.ReadFile(report)
	if rerr != nil {
		t.Fatalf("testssl.sh: %v %v:\n%s", err, rerr, out)
	}
	var findings []testsslFinding
	if err := json.Unmarshal(data, &findings); err != nil {
		t.Fatalf("testssl.sh report: %v", err)
	}
	t.Logf("testssl.sh summary:\n%s", out)
	byID := map[string]testsslFinding{}
	for _, f := range findings {
		byID[f.ID] = f
		switch f.Severity {
		case "LOW", "MEDIUM", "HIGH", "CRITICAL":
			t.Errorf("testssl.sh flags %s (%s): %s", f.ID, f.Severity, f.Finding)
		}
	}
	// cipherlist_AVERAGE is testssl.sh's "Obsolete CBC ciphers" line.
	for _, id := range []string{"SSLv2", "SSLv3", "TLS1", "TLS1_1",
		"cipherlist_NULL", "cipherlist_aNULL", "cipherlist_EXPORT", "cipherlist_LOW", "cipherlist_3DES_IDEA", "cipherlist_AVERAGE"} {
		if f, ok := byID[id]; !ok || !strings.HasPrefix(f.Finding, "not offered") {
			t.Errorf("%s: want not offered, got %q", id, f.Finding)
		}
	}
	for _, id := range []string{"TLS1_2", "TLS1_3"} {
		if f := byID[id]; !strings.HasPrefix(f.Finding, "offered") {
			t.Errorf("%s: want offered, got %q", id, f.Finding)
		}
	}
	// Secure renegotiation, and the vulnerabilities checked, each OK.
	for _, id := range []string{"secure_renego", "secure_client_renego", "heartbleed", "CCS", "ROBOT", "LUCKY13", "SWEET32", "BEAST", "POODLE_SSL", "fallback_SCSV"} {
		if f := byID[id]; f.Severity != "OK" {
			t.Errorf("%s: want OK, got %+v", id, f)
		}
	}
}
