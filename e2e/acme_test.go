package e2e

// Automatic certificates (an "acme" section, HAProxy 3.2's syntax) against
// pebble, Let's Encrypt's test CA (Debian package pebble), with
// pebble-challtestsrv as its DNS resolving every name to 127.0.0.1. dhproxy
// only: haproxy 2.6 has no ACME client.

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startPebble runs pebble-challtestsrv (DNS only) and pebble on loopback
// ports, pebble validating http-01 on httpPort; certificates last
// validity seconds. It returns the directory URL and the CA file that
// checks pebble's own HTTPS server.
func startPebble(t *testing.T, httpPort, tlsPort int, validity int) (dirURL, caFile string) {
	t.Helper()
	for _, bin := range []string{"pebble", "pebble-challtestsrv"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("no %s (Debian package pebble; scripts/install-test-deps.sh): %v", bin, err)
		}
	}
	dir := t.TempDir()
	ca := newTLSCA(t)
	c, k := ca.issue(t, "localhost")
	os.WriteFile(filepath.Join(dir, "cert.pem"), c, 0o644)
	os.WriteFile(filepath.Join(dir, "key.pem"), k, 0o600)
	acmePort, mgmtPort, dnsPort, challMgmt := freePort(t), freePort(t), freePort(t), freePort(t)
	cfg := fmt.Sprintf(`{"pebble": {"listenAddress": "127.0.0.1:%d", "managementListenAddress": "127.0.0.1:%d",
 "certificate": "%s", "privateKey": "%s", "httpPort": %d, "tlsPort": %d, "ocspResponderURL": "",
 "externalAccountBindingRequired": false, "certificateValidityPeriod": %d}}`,
		acmePort, mgmtPort, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"), httpPort, tlsPort, validity)
	cfgFile := filepath.Join(dir, "pebble.json")
	os.WriteFile(cfgFile, []byte(cfg), 0o644)

	dns := exec.Command("pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
		"-dns01", fmt.Sprintf("127.0.0.1:%d", dnsPort), "-http01", "", "-https01", "", "-tlsalpn01", "",
		"-management", fmt.Sprintf("127.0.0.1:%d", challMgmt))
	startHelper(t, dns, challMgmt)
	pb := exec.Command("pebble", "-config", cfgFile, "-dnsserver", fmt.Sprintf("127.0.0.1:%d", dnsPort))
	pb.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	startHelper(t, pb, acmePort)
	return fmt.Sprintf("https://localhost:%d/dir", acmePort), ca.pemFil
}

// startHelper starts a peer process, stops it (by PID) at the end of the
// test and waits until it listens on port.
func startHelper(t *testing.T, cmd *exec.Cmd, port int) {
	t.Helper()
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s output:\n%s", cmd.Path, out.String())
		}
	})
	waitPort(t, port, 10*time.Second)
}

// leafOnDisk reads the certificate dhproxy stored at path.
func leafOnDisk(path string) *x509.Certificate {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	blk, _ := pem.Decode(data)
	if blk == nil {
		return nil
	}
	c, _ := x509.ParseCertificate(blk.Bytes)
	return c
}

func TestACMEObtainAndRenew(t *testing.T) {
	if isHAProxy() {
		t.Skip("haproxy 2.6 has no ACME client")
	}
	httpPort, httpsPort := freePort(t), freePort(t)
	// Certificates valid 40 s, renewed 25 s before expiry: the first
	// renewal comes about 15 s after the first certificate.
	dirURL, caFile := startPebble(t, httpPort, httpsPort, 40)
	dir := t.TempDir()
	site := filepath.Join(dir, "site.pem")
	list := filepath.Join(dir, "list")
	alpn := filepath.Join(dir, "alpn.pem")
	os.WriteFile(list, []byte(site+" [acme pebble domains site.test,www.site.test] site.test www.site.test\n"+
		alpn+" [acme pebble-alpn] alpn.test\n"), 0o644)
	be := startHeaderEcho(t)
	p := startProxy(t, fmt.Sprintf(`
global
	httpclient.ssl.ca-file %s
acme pebble
	directory %s
	contact admin@site.test
	account-key %s
	challenge HTTP-01
	keytype ECDSA
	curves P-256
	renew-before 25s
acme pebble-alpn
	directory %s
	account-key %s
	challenge tls-alpn-01
	keytype RSA
	bits 2048`, caFile, dirURL, filepath.Join(dir, "account.key"), dirURL, filepath.Join(dir, "account-alpn.key"))+defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d
	bind 127.0.0.1:%d ssl crt-list %s
	http-request redirect scheme https code 301 if !{ ssl_fc }
	default_backend be
backend be
	server s1 127.0.0.1:%d
`, httpPort, httpsPort, list, be), httpPort, httpsPort)

	// Obtained at start: written beside the configuration's path and served.
	var first *x509.Certificate
	deadline := time.Now().Add(30 * time.Second)
	for first == nil && time.Now().Before(deadline) {
		first = leafOnDisk(site)
		time.Sleep(100 * time.Millisecond)
	}
	if first == nil {
		t.Fatalf("no certificate obtained:\n%s", p.Stderr())
	}
	if _, err := os.Stat(filepath.Join(dir, "account.key")); err != nil {
		t.Errorf("the account key was not saved: %v", err)
	}
	if !strings.Contains(p.Stderr(), "acme: certificate '"+site+"' (site.test,www.site.test) obtained from 'pebble'") {
		t.Errorf("no notice of the new certificate:\n%s", p.Stderr())
	}
	served := func(name string) *x509.Certificate {
		out, ok := sClient(t, httpsPort, "-servername", name)
		if !ok {
			t.Fatalf("s_client:\n%s", out)
		}
		blk, _ := pem.Decode([]byte(out[max(0, strings.Index(out, "-----BEGIN CERTIFICATE-----")):]))
		if blk == nil {
			t.Fatalf("no certificate in:\n%s", out)
		}
		c, _ := x509.ParseCertificate(blk.Bytes)
		return c
	}
	if c := served("www.site.test"); !c.Equal(first) || strings.Join(c.DNSNames, ",") != "site.test,www.site.test" {
		t.Errorf("served %v %v, want the obtained certificate", c.Subject, c.DNSNames)
	}
	// The other section validates by tls-alpn-01 on the ssl bind.
	var byALPN *x509.Certificate
	for deadline := time.Now().Add(30 * time.Second); byALPN == nil && time.Now().Before(deadline); {
		byALPN = leafOnDisk(alpn)
		time.Sleep(100 * time.Millisecond)
	}
	if byALPN == nil {
		t.Fatalf("no certificate obtained by tls-alpn-01:\n%s", p.Stderr())
	}
	if c := served("alpn.test"); !c.Equal(byALPN) {
		t.Errorf("alpn.test: served %v, want the certificate obtained by tls-alpn-01", c.DNSNames)
	}
	// The redirect rule does not catch the challenge path; other paths it does.
	out, _ := curl(t, "-s", "-o", "/dev/null", "-w", "%{http_code}", fmt.Sprintf("http://127.0.0.1:%d/.well-known/acme-challenge/unknown", httpPort))
	if out != "404" {
		t.Errorf("unknown token: %s, want 404", out)
	}

	// Renewed before expiry: a new certificate on disk and in the binds.
	var renewed *x509.Certificate
	deadline = time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		if c := leafOnDisk(site); c != nil && !c.Equal(first) {
			renewed = c
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if renewed == nil {
		t.Fatalf("no renewal:\n%s", p.Stderr())
	}
	if c := served("site.test"); !c.Equal(renewed) {
		t.Errorf("the renewed certificate is not served (serial %X, want %X)", c.SerialNumber, renewed.SerialNumber)
	}
}
