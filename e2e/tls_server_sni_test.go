package e2e

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// sniEchoPeer runs haproxy as a TLS server for *.site.test that answers
// each request with the SNI of its connection and that connection's port
// ("sni=NAME conn=PORT"); its port and the CA of its certificate.
func sniEchoPeer(t *testing.T) (int, *tlsCA) {
	needHAProxyPeer(t)
	ca := newTLSCA(t)
	srvCrt := ca.writePEM(t, t.TempDir(), "backend.pem", "*.site.test")
	peer := freePort(t)
	startBinary(t, haproxyBin, `
global
	nbthread 1`+defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend tlsserver
	bind 127.0.0.1:%d ssl crt %s
	http-request return status 200 content-type text/plain lf-string "sni=%%[ssl_fc_sni] conn=%%[src_port]\n"
`, peer, srvCrt), peer)
	return peer, ca
}

// hostSNIGet requests / from the proxy on port with Host: host and returns
// what sniEchoPeer said (empty when it did not answer) and the status.
func hostSNIGet(t *testing.T, port int, host string) (sni, conn, code string) {
	t.Helper()
	out, err := curl(t, "-s", "-w", "\nCODE=%{http_code}", "-H", "Host: "+host, fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("%s: %v", host, err)
	}
	body, code, _ := strings.Cut(out, "\nCODE=")
	for _, f := range strings.Fields(body) {
		if v, ok := strings.CutPrefix(f, "sni="); ok {
			sni = v
		} else if v, ok := strings.CutPrefix(f, "conn="); ok {
			conn = v
		}
	}
	return sni, conn, code
}

// "sni req.hdr(host)" sends each request's Host as the SNI of a new TLS
// connection to the server (haproxy 2.6 is the TLS server and says what it
// saw, and on which connection); a pooled connection is reused only by a
// request computing the same name, and verify required checks the server's
// certificate against that name.
func TestTLSServerDynamicSNI(t *testing.T) {
	peer, ca := sniEchoPeer(t)
	port := freePort(t)
	startProxy(t, `
global
	nbthread 1`+defaultsSection("http", "2s", "5s", "5s", "http-reuse always")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d
	default_backend be
backend be
	server s 127.0.0.1:%d ssl verify required ca-file %s sni req.hdr(host),lower
`, port, peer, ca.pemFil), port)
	sniA, connA, _ := hostSNIGet(t, port, "A.site.test")
	if sniA != "a.site.test" {
		t.Fatalf("first request: SNI %q, want a.site.test", sniA)
	}
	sniB, connB, _ := hostSNIGet(t, port, "b.site.test")
	if sniB != "b.site.test" || connB == connA {
		t.Errorf("other name: SNI %q on connection %s (a.site.test's was %s): want b.site.test on a new one", sniB, connB, connA)
	}
	if sni, conn, _ := hostSNIGet(t, port, "a.site.test"); sni != "a.site.test" || conn != connA {
		t.Errorf("a.site.test again: SNI %q on connection %s, want the pooled connection %s", sni, conn, connA)
	}
	if _, _, code := hostSNIGet(t, port, "other.test"); code != "503" {
		t.Errorf("a name the server's certificate does not cover: status %s, want 503", code)
	}
}

// proxy-v2-options cert-sig,cert-key send the algorithms of the proxy's own
// certificate, as served to the client, in the SSL TLV: a PROXY v2 reader
// written here shows them (haproxy 2.6 cannot fetch these TLVs).
func TestProxyProtocolCertSigKey(t *testing.T) {
	ca := newTLSCA(t)
	dir := t.TempDir()
	crt := ca.writePEM(t, dir, "site.pem", "site.test")
	srv := h1StartRawBackend(t, answerWithSSLTLVs)
	port := freePort(t)
	startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s
	default_backend be
backend be
	server r 127.0.0.1:%d send-proxy-v2 proxy-v2-options ssl,cert-sig,cert-key,ssl-cipher
`, port, crt, srv), port)
	out, err := curl(t, append([]string{"--cacert", ca.pemFil, "--tls-max", "1.2", "--ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256"}, tlsURL("site.test", port, "/")...)...)
	if err != nil {
		t.Fatal(err)
	}
	want := "version=TLSv1.2 keyalg=EC256 sigalg=ecdsa-with-SHA256 cipher=ECDHE-ECDSA-AES128-GCM-SHA256"
	if strings.TrimSpace(out) != want {
		t.Errorf("SSL TLV: %q, want %q", out, want)
	}
}

// answerWithSSLTLVs reads a PROXY v2 header and answers an HTTP request
// with the sub-TLVs of its PP2_TYPE_SSL TLV.
func answerWithSSLTLVs(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	head := make([]byte, 16)
	if _, err := io.ReadFull(r, head); err != nil {
		return
	}
	rest := make([]byte, binary.BigEndian.Uint16(head[14:]))
	if _, err := io.ReadFull(r, rest); err != nil {
		return
	}
	names := map[byte]string{0x21: "version", 0x22: "cn", 0x23: "cipher", 0x24: "sigalg", 0x25: "keyalg"}
	var got []string
	tlvs := rest[12:] // after the IPv4 addresses and ports
	for len(tlvs) >= 3 {
		typ, n := tlvs[0], int(binary.BigEndian.Uint16(tlvs[1:]))
		if len(tlvs) < 3+n {
			break
		}
		v := tlvs[3 : 3+n]
		if typ == 0x20 && n >= 5 {
			for sub := v[5:]; len(sub) >= 3; {
				st, sn := sub[0], int(binary.BigEndian.Uint16(sub[1:]))
				if len(sub) < 3+sn {
					break
				}
				got = append(got, names[st]+"="+string(sub[3:3+sn]))
				sub = sub[3+sn:]
			}
		}
		tlvs = tlvs[3+n:]
	}
	for {
		l, err := r.ReadString('\n')
		if err != nil || l == "\r\n" {
			break
		}
	}
	body := strings.Join(got, " ") + "\n"
	fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
}

// A server added at run time with "sni req.hdr(host)" sends each request's
// Host as its SNI, as one from the configuration does (the expression is
// compiled by "add server"; that once crashed the process).
func TestRuntimeAddServerDynamicSNI(t *testing.T) {
	peer, ca := sniEchoPeer(t)
	port := freePort(t)
	sock := t.TempDir() + "/api.sock"
	startProxy(t, fmt.Sprintf(`
global
	stats socket %s level admin`, sock)+defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d
	default_backend be
backend be
`, port), port)
	add := fmt.Sprintf("add server be/n1 127.0.0.1:%d ssl verify required ca-file %s sni req.hdr(host),lower", peer, ca.pemFil)
	if out := cliCmd(t, sock, add); out != "New server registered.\n\n" {
		t.Fatalf("%s: %q", add, out)
	}
	if out := cliCmd(t, sock, "enable server be/n1"); out != "\n" {
		t.Fatalf("enable server: %q", out)
	}
	for _, host := range []string{"A.site.test", "b.site.test"} {
		if sni, _, code := hostSNIGet(t, port, host); sni != strings.ToLower(host) {
			t.Errorf("Host %s: status %s, SNI %q, want %q", host, code, sni, strings.ToLower(host))
		}
	}
}
