package e2e

// Certificates replaced at run time over the stats socket, in haproxy
// 2.6's wording (the replies are checked against haproxy's own: run with
// DHPROXY_BIN=/usr/sbin/haproxy).

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tlsGetOn sends a request on an open TLS connection and reads the answer:
// the connection still serves after the certificate changed.
func tlsGetOn(t *testing.T, c *tls.Conn, br *bufio.Reader, host string) {
	t.Helper()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", host)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("request on the open connection: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("open connection: status %d", resp.StatusCode)
	}
}

// servedCert returns the leaf certificate the proxy serves for name, from
// a fresh handshake by openssl s_client.
func servedCert(t *testing.T, port int, ca *tlsCA, name string) *x509.Certificate {
	t.Helper()
	out, ok := sClient(t, port, "-servername", name, "-CAfile", ca.pemFil)
	if !ok {
		t.Fatalf("s_client %s failed:\n%s", name, out)
	}
	blk, _ := pem.Decode([]byte(out[max(0, strings.Index(out, "-----BEGIN CERTIFICATE-----")):]))
	if blk == nil {
		t.Fatalf("s_client %s: no certificate:\n%s", name, out)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// payloadCmd is a runtime API command with a payload, as haproxy 2.6
// takes it: the line ends in "<<", the payload ends at an empty line
// (cliCmd adds the last newline).
func payloadCmd(cmd string, payload []byte) string {
	return cmd + " <<\n" + strings.TrimRight(string(payload), "\n") + "\n"
}

func TestTLSRuntimeCertUpdate(t *testing.T) {
	ca := newTLSCA(t)
	dir := t.TempDir()
	a := ca.writePEM(t, dir, "a.pem", "a.test")
	b := ca.writePEM(t, dir, "b.pem", "b.test")
	list := filepath.Join(dir, "list.txt")
	if err := os.WriteFile(list, []byte(b+" b.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "api.sock")
	port := freePort(t)
	startProxy(t, fmt.Sprintf(`
global
	stats socket %s level admin`, sock)+defaultsSection("http", "2s", "10s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s crt-list %s
	http-request return status 200
`, port, a, list), port)

	old := servedCert(t, port, ca, "a.test")
	// A client connected before the change keeps its connection.
	held, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port), &tls.Config{ServerName: "a.test", RootCAs: caPool(t, ca)})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	br := bufio.NewReader(held)
	tlsGetOn(t, held, br, "a.test")

	if got := cliCmd(t, sock, "show ssl cert"); got != "# filename\n"+a+"\n"+b+"\n\n" {
		t.Errorf("show ssl cert:\n%q", got)
	}
	details := cliCmd(t, sock, "show ssl cert "+a)
	for _, want := range []string{"Filename: " + a + "\n", "Status: Used\n", fmt.Sprintf("%X\n", old.SerialNumber.Bytes()),
		"Subject Alternative Name: DNS:a.test\n", "Algorithm: EC256\n", "Subject: /CN=a.test\n", "Issuer: /CN=dhproxy test CA\n"} {
		if !strings.Contains(details, want) {
			t.Errorf("show ssl cert %s: no %q in\n%s", a, want, details)
		}
	}

	certPEM, keyPEM := ca.issue(t, "a.test", "www.a.test")
	newPEM := append(certPEM, keyPEM...)
	if got := cliCmd(t, sock, payloadCmd("set ssl cert "+a, newPEM)); got != "Transaction created for certificate "+a+"!\n\n" {
		t.Fatalf("set ssl cert: %q", got)
	}
	if got := cliCmd(t, sock, payloadCmd("set ssl cert "+a, newPEM)); got != "Transaction updated for certificate "+a+"!\n\n" {
		t.Errorf("set ssl cert again: %q", got)
	}
	if got := cliCmd(t, sock, "show ssl cert"); got != "# transaction\n*"+a+"\n# filename\n"+a+"\n"+b+"\n\n" {
		t.Errorf("show ssl cert during the transaction:\n%q", got)
	}
	if got := cliCmd(t, sock, "show ssl cert *"+a); !strings.Contains(got, "Status: Unused\n") || !strings.Contains(got, "DNS:a.test, DNS:www.a.test\n") {
		t.Errorf("show ssl cert *%s:\n%s", a, got)
	}
	if got := cliCmd(t, sock, "commit ssl cert "+b); got != fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\nCan't commit %s!\n\n", a, b, b) {
		t.Errorf("commit of another certificate: %q", got)
	}
	// Not committed yet: the old certificate is still served.
	if c := servedCert(t, port, ca, "a.test"); !c.Equal(old) {
		t.Error("the certificate changed before the commit")
	}
	if got := cliCmd(t, sock, "commit ssl cert "+a); got != "Committing "+a+".\nSuccess!\n\n" {
		t.Fatalf("commit ssl cert: %q", got)
	}
	now := servedCert(t, port, ca, "a.test")
	if now.Equal(old) || now.DNSNames[1] != "www.a.test" {
		t.Errorf("after the commit the new certificate is not served: %v", now.DNSNames)
	}
	// The connection made before the change still works.
	tlsGetOn(t, held, br, "a.test")

	// A new certificate added to the crt-list serves its name.
	d := filepath.Join(dir, "d.pem")
	if got := cliCmd(t, sock, "new ssl cert "+d); got != "New empty certificate store '"+d+"'!\n\n" {
		t.Errorf("new ssl cert: %q", got)
	}
	if got := cliCmd(t, sock, "add ssl crt-list "+list+" "+d); got != "Can't edit the crt-list: certificate '"+d+"' is empty!\n\n" {
		t.Errorf("add of an empty certificate: %q", got)
	}
	dc, dk := ca.issue(t, "d.test")
	cliCmd(t, sock, payloadCmd("set ssl cert "+d, append(dc, dk...)))
	if got := cliCmd(t, sock, "commit ssl cert "+d); got != "Committing "+d+"\nSuccess!\n\n" {
		t.Errorf("commit of an unused certificate: %q", got)
	}
	if got := cliCmd(t, sock, "add ssl crt-list "+list+" "+d+" d.test"); got != "Inserting certificate '"+d+"' in crt-list '"+list+"'.\nSuccess!\n\n" {
		t.Errorf("add ssl crt-list: %q", got)
	}
	if c := servedCert(t, port, ca, "d.test"); c.Subject.CommonName != "d.test" {
		t.Errorf("d.test after add ssl crt-list: got %s", c.Subject.CommonName)
	}
	if got := cliCmd(t, sock, "show ssl crt-list -n "+list); !strings.HasPrefix(got, "# "+list+"\n"+b+":1 b.test\n"+d+":2") {
		t.Errorf("show ssl crt-list -n:\n%q", got)
	}
	if got := cliCmd(t, sock, "show ssl crt-list"); got != list+"\n\n" {
		t.Errorf("show ssl crt-list: %q", got)
	}
	if got := cliCmd(t, sock, "del ssl cert "+d); got != "Can't remove the certificate: certificate '"+d+"' in use, can't be deleted!\n\n\n" {
		t.Errorf("del ssl cert in use: %q", got)
	}
	if got := cliCmd(t, sock, "del ssl crt-list "+list+" "+d); got != "Entry '"+d+"' deleted in crtlist '"+list+"'!\n\n" {
		t.Errorf("del ssl crt-list: %q", got)
	}
	if c := servedCert(t, port, ca, "d.test"); c.Subject.CommonName != "a.test" {
		t.Errorf("d.test after del ssl crt-list: got %s, want the default", c.Subject.CommonName)
	}
	if got := cliCmd(t, sock, "del ssl cert "+d); got != "Certificate '"+d+"' deleted!\n\n" {
		t.Errorf("del ssl cert: %q", got)
	}
	if got := cliCmd(t, sock, "abort ssl cert "+a); got != "No ongoing transaction!\n\n" {
		t.Errorf("abort without a transaction: %q", got)
	}
	cliCmd(t, sock, payloadCmd("set ssl cert "+a, []byte("garbage")))
	if got := cliCmd(t, sock, "show ssl cert"); strings.Contains(got, "transaction") {
		t.Errorf("a bad payload opened a transaction:\n%s", got)
	}
}

func caPool(t *testing.T, ca *tlsCA) *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(ca.cert)
	return p
}
