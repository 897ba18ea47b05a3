package e2e

// OCSP stapling from "<crt>.ocsp" (issuer from "<crt>.issuer"), replaced
// with "set ssl ocsp-response"; openssl s_client -status shows what is
// stapled. Passes against haproxy 2.6 too.

import (
	"crypto"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"
)

func TestTLSOCSPStapling(t *testing.T) {
	ca := newTLSCA(t)
	dir := t.TempDir()
	leaf, key := newCert(t, &x509.Certificate{SerialNumber: big.NewInt(0x4242), Subject: pkix.Name{CommonName: "o.test"}, DNSNames: []string{"o.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}, ca.cert, ca.key)
	crt := filepath.Join(dir, "o.pem")
	os.WriteFile(crt, append(encodeCertPEM(leaf), encodeKeyPEM(t, key)...), 0o600)
	os.WriteFile(crt+".issuer", encodeCertPEM(ca.cert), 0o644)
	response := func(status int) []byte {
		r, err := ocsp.CreateResponse(ca.cert, ca.cert, ocsp.Response{Status: status, SerialNumber: leaf.SerialNumber, IssuerHash: crypto.SHA1,
			ThisUpdate: time.Now().Add(-time.Minute), NextUpdate: time.Now().Add(time.Hour), RevokedAt: time.Now().Add(-time.Minute)}, ca.key)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	os.WriteFile(crt+".ocsp", response(ocsp.Good), 0o644)
	sock := filepath.Join(dir, "api.sock")
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`
global
	stats socket %s level admin`, sock)+defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s
	http-request return status 200
`, port, crt), port)

	out, ok := sClient(t, port, "-status", "-servername", "o.test", "-CAfile", ca.pemFil)
	if !ok || !strings.Contains(out, "OCSP Response Status: successful") || !strings.Contains(out, "Cert Status: good") {
		t.Fatalf("no good OCSP response stapled:\n%s", out)
	}
	list := cliCmd(t, sock, "show ssl ocsp-response")
	if !strings.HasPrefix(list, "# Certificate IDs\nCertificate ID key : 30") || !strings.Contains(list, "   Serial Number: 4242\n") {
		t.Errorf("show ssl ocsp-response:\n%s", list)
	}
	id := strings.Fields(strings.SplitN(list, "\n", 3)[1])[4]
	if got := cliCmd(t, sock, "show ssl cert "+crt); !strings.Contains(got, "OCSP Response Key: "+id+"\n") {
		t.Errorf("show ssl cert does not name the response %s:\n%s", id, got)
	}
	if got := cliCmd(t, sock, "show ssl ocsp-response "+id); !strings.Contains(got, "    Cert Status: good\n") {
		t.Errorf("show ssl ocsp-response %s:\n%s", id, got)
	}

	if got := cliCmd(t, sock, "set ssl ocsp-response "+base64.StdEncoding.EncodeToString(response(ocsp.Revoked))); got != "OCSP Response updated!\n\n" {
		t.Fatalf("set ssl ocsp-response: %q", got)
	}
	out, _ = sClient(t, port, "-status", "-servername", "o.test", "-CAfile", ca.pemFil)
	if !strings.Contains(out, "Cert Status: revoked") {
		t.Errorf("the new response is not stapled:\n%s", out)
	}
	if got := cliCmd(t, sock, "set ssl ocsp-response !!"); got != "'set ssl ocsp-response' received invalid base64 encoded response.\n\n" {
		t.Errorf("bad base64: %q", got)
	}
	if got := cliCmd(t, sock, "show ssl ocsp-response 00"); got != "Certificate ID does not match any certificate.\n\n" {
		t.Errorf("unknown id: %q", got)
	}
}
