package e2e

// PROXY protocol v1 and v2, both ways, with real haproxy 2.6 as the peer:
// the proxy under test (dhproxy, or haproxy with DHPROXY_BIN) sends
// send-proxy(-v2) headers to an haproxy that accepts them and reports the
// addresses it read, and receives them from an haproxy that sends them.

import (
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"
)

func needHAProxyPeer(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(haproxyBin); err != nil {
		t.Skip("haproxy is not installed")
	}
}

// curlFrom fetches url and returns the response (head and body) and the
// local port curl used, which a PROXY header must carry.
func curlFrom(t *testing.T, url string) (string, string) {
	t.Helper()
	out, err := curl(t, "-i", "-w", "\nLOCALPORT=%{local_port}", url)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	i := strings.LastIndex(out, "\nLOCALPORT=")
	return strings.ToLower(out[:i]), out[i+len("\nLOCALPORT="):]
}

// The proxy sends the client's addresses to an haproxy peer with
// accept-proxy, which puts what it read in headers and in its log.
func TestProxyProtocolSendToHAProxy(t *testing.T) {
	needHAProxyPeer(t)
	echo := startHeaderEcho(t)
	for _, mode := range []string{"http", "tcp"} {
		for _, send := range []string{"send-proxy", "send-proxy-v2", "send-proxy-v2 proxy-v2-options crc32c,unique-id"} {
			t.Run(mode+"/"+strings.ReplaceAll(send, " ", "_"), func(t *testing.T) {
				peer, port := freePort(t), freePort(t)
				hp := startBinary(t, haproxyBin, `
global
	log stdout format raw local0`+defaultsSection("http", "2s", "5s", "5s", "log global")+fmt.Sprintf(`
frontend peer
	bind 127.0.0.1:%d accept-proxy
	log-format "peer-saw src=%%ci:%%cp dst=%%fi:%%fp"
	http-request set-header X-Src %%[src]:%%[src_port]
	http-request set-header X-Dst %%[dst]:%%[dst_port]
	http-request set-header X-UID %%[fc_pp_unique_id] if { fc_pp_unique_id -m found }
	default_backend echo
backend echo
	server e 127.0.0.1:%d
`, peer, echo), peer)
				startProxy(t, fmt.Sprintf(`
defaults
	mode %s
	timeout connect 2s
	timeout client 5s
	timeout server 5s
frontend fe
	bind 127.0.0.1:%d
	unique-id-format uid-%%fp
	default_backend be
backend be
	server hp 127.0.0.1:%d %s
`, mode, port, peer, send), port)
				out, lport := curlFrom(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
				for _, want := range []string{
					"echo-x-src: 127.0.0.1:" + lport,
					fmt.Sprintf("echo-x-dst: 127.0.0.1:%d", port),
				} {
					if !strings.Contains(out, want) {
						t.Errorf("want %q in:\n%s", want, out)
					}
				}
				if strings.Contains(send, "unique-id") && !strings.Contains(out, fmt.Sprintf("echo-x-uid: uid-%d", port)) {
					t.Errorf("want the unique id in:\n%s", out)
				}
				line := fmt.Sprintf("peer-saw src=127.0.0.1:%s dst=127.0.0.1:%d", lport, port)
				deadline := time.Now().Add(3 * time.Second)
				for !strings.Contains(hp.Stdout(), line) && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if !strings.Contains(hp.Stdout(), line) {
					t.Errorf("haproxy's log lacks %q:\n%s", line, hp.Stdout())
				}
			})
		}
	}
}

// An haproxy in front sends PROXY headers to the proxy's accept-proxy
// bind: src, dst, the logs and the v2 TLVs are the client's.
func TestProxyProtocolReceiveFromHAProxy(t *testing.T) {
	needHAProxyPeer(t)
	echo := startHeaderEcho(t)
	for _, mode := range []string{"http", "tcp"} {
		for _, send := range []string{"send-proxy", "send-proxy-v2", "send-proxy-v2 proxy-v2-options crc32c,unique-id"} {
			t.Run(mode+"/"+strings.ReplaceAll(send, " ", "_"), func(t *testing.T) {
				front, port := freePort(t), freePort(t)
				rules := ""
				if mode == "http" {
					rules = `
	http-request set-header X-Src %[src]:%[src_port]
	http-request set-header X-Dst %[dst]:%[dst_port]
	http-request set-header X-UID %[fc_pp_unique_id] if { fc_pp_unique_id -m found }
	http-request set-header X-Rcvd %[fc_rcvd_proxy]`
				}
				p := startProxy(t, fmt.Sprintf(`
global
	log stdout format raw local0
defaults
	mode %s
	log global
	timeout connect 2s
	timeout client 5s
	timeout server 5s
frontend fe
	bind 127.0.0.1:%d accept-proxy
	log-format "got src=%%ci:%%cp dst=%%fi:%%fp"%s
	default_backend be
backend be
	server e 127.0.0.1:%d
`, mode, port, rules, echo), port)
				startBinary(t, haproxyBin, fmt.Sprintf(`
defaults
	mode %s
	timeout connect 2s
	timeout client 5s
	timeout server 5s
frontend front
	bind 127.0.0.1:%d
	unique-id-format hp-%%fp
	default_backend be
backend be
	server s 127.0.0.1:%d %s
`, mode, front, port, send), front)
				out, lport := curlFrom(t, fmt.Sprintf("http://127.0.0.1:%d/", front))
				if mode == "http" {
					for _, want := range []string{
						"echo-x-src: 127.0.0.1:" + lport,
						fmt.Sprintf("echo-x-dst: 127.0.0.1:%d", front),
						"echo-x-rcvd: 1",
					} {
						if !strings.Contains(out, want) {
							t.Errorf("want %q in:\n%s", want, out)
						}
					}
					if strings.Contains(send, "unique-id") && !strings.Contains(out, fmt.Sprintf("echo-x-uid: hp-%d", front)) {
						t.Errorf("want the unique id in:\n%s", out)
					}
				} else if !strings.Contains(out, "hello") {
					t.Errorf("no answer through mode tcp:\n%s", out)
				}
				line := fmt.Sprintf("got src=127.0.0.1:%s dst=127.0.0.1:%d", lport, front)
				deadline := time.Now().Add(3 * time.Second)
				for !strings.Contains(p.Stdout(), line) && time.Now().Before(deadline) {
					time.Sleep(20 * time.Millisecond)
				}
				if !strings.Contains(p.Stdout(), line) {
					t.Errorf("log lacks %q:\n%s", line, p.Stdout())
				}
			})
		}
	}
}

// Missing, malformed and hostile headers: a log line naming the peer and
// the reason, the connection closed, the proxy still serving.
func TestProxyProtocolBadHeaders(t *testing.T) {
	echo := startHeaderEcho(t)
	port := freePort(t)
	p := startProxy(t, `
global
	log stdout format raw local0`+defaultsSection("http", "2s", "1s", "5s", "log global", "option httplog")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d accept-proxy name pp
	default_backend be
backend be
	server e 127.0.0.1:%d
`, port, echo), port)
	// haproxy names the address a v2 header gave before a bad TLV was
	// found (hpSrc); dhproxy names the peer that sent it.
	cases := []struct{ send, log, hpSrc string }{
		{"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "Received something which does not look like a PROXY protocol header", ""},
		{"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "Received an invalid PROXY protocol header", ""},
		{"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", "Received an unhandled protocol in the PROXY protocol header", ""},
		{"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x0c\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01", "Truncated PROXY protocol header received", ""},
		{"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x10\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x00\x02\x02\x00\xff\x00", "Received an invalid PROXY protocol header", "1.2.3.4:1"},
		{"", "Timeout while waiting for PROXY protocol header", ""},
	}
	for _, c := range cases {
		conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		if c.send != "" {
			conn.Write([]byte(c.send))
		}
		if strings.HasPrefix(c.log, "Truncated") {
			conn.(*net.TCPConn).CloseWrite()
		}
		conn.SetReadDeadline(time.Now().Add(3 * time.Second))
		buf := make([]byte, 100)
		n, rerr := conn.Read(buf)
		conn.Close()
		if n > 0 || rerr == nil {
			t.Errorf("%q: the proxy answered %q instead of closing", c.send, buf[:n])
		}
		want := conn.LocalAddr().String() + " ["
		if isHAProxy() && c.hpSrc != "" {
			want = c.hpSrc + " ["
		}
		deadline := time.Now().Add(3 * time.Second)
		found := false
		for !found && time.Now().Before(deadline) {
			for _, l := range strings.Split(p.Stdout(), "\n") {
				if strings.HasPrefix(l, want) && strings.HasSuffix(l, "] fe/pp: "+c.log) {
					found = true
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !found {
			t.Errorf("%q: no line %q...fe/pp: %s in:\n%s", c.send, want, c.log, p.Stdout())
		}
	}
	// Still serving: a good header.
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "PROXY TCP6 2001:db8::7 ::1 4242 80\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := conn.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !strings.Contains(b.String(), "hello") {
		t.Errorf("after bad headers, a good one: %q", b.String())
	}
}

// expect-proxy applies to the connections its condition selects (here by
// the port they reached), evaluated before the header is read.
func TestProxyProtocolExpectProxyRule(t *testing.T) {
	echo := startHeaderEcho(t)
	pp, plain := freePort(t), freePort(t)
	startProxy(t, defaultsSection("http", "2s", "2s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d
	bind 127.0.0.1:%d
	tcp-request connection expect-proxy layer4 if { dst_port %d }
	http-request set-header X-Src %%[src]
	default_backend be
backend be
	server e 127.0.0.1:%d
`, pp, plain, pp, echo), pp, plain)
	if out, err := curl(t, "-i", fmt.Sprintf("http://127.0.0.1:%d/", plain)); err != nil || !strings.Contains(strings.ToLower(out), "echo-x-src: 127.0.0.1") {
		t.Errorf("plain port: %q %v", out, err)
	}
	if out, err := curl(t, "-i", "--haproxy-protocol", fmt.Sprintf("http://127.0.0.1:%d/", pp)); err != nil || !strings.Contains(strings.ToLower(out), "echo-x-src: 127.0.0.1") {
		t.Errorf("PROXY port with curl --haproxy-protocol: %q %v", out, err)
	}
	if out, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/", pp)); err == nil {
		t.Errorf("PROXY port without a header answered %q", out)
	}
}

// A PROXY header before TLS (curl --haproxy-protocol to an ssl bind), and
// a v2 header with the SSL and authority TLVs towards haproxy: the
// authority is the client's SNI.
func TestProxyProtocolWithTLS(t *testing.T) {
	needHAProxyPeer(t)
	ca := newTLSCA(t)
	crt := ca.writePEM(t, t.TempDir(), "site.pem", "site.test")
	echo, peer, port := startHeaderEcho(t), freePort(t), freePort(t)
	startBinary(t, haproxyBin, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend peer
	bind 127.0.0.1:%d accept-proxy
	http-request set-header X-Src %%[src]:%%[src_port]
	http-request set-header X-Authority %%[fc_pp_authority]
	default_backend echo
backend echo
	server e 127.0.0.1:%d
`, peer, echo), peer)
	startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s accept-proxy
	http-request set-header X-Front-Src %%[src]
	default_backend be
backend be
	server hp 127.0.0.1:%d send-proxy-v2-ssl-cn proxy-v2-options authority,crc32c,ssl-cipher
`, port, crt, peer), port)
	out, err := curl(t, append([]string{"-i", "--haproxy-protocol", "--cacert", ca.pemFil, "-w", "\nLOCALPORT=%{local_port}"}, tlsURL("site.test", port, "/")...)...)
	if err != nil {
		t.Fatal(err)
	}
	i := strings.LastIndex(out, "\nLOCALPORT=")
	lport := out[i+len("\nLOCALPORT="):]
	out = strings.ToLower(out[:i])
	for _, want := range []string{"echo-x-src: 127.0.0.1:" + lport, "echo-x-authority: site.test", "echo-x-front-src: 127.0.0.1"} {
		if !strings.Contains(out, want) {
			t.Errorf("want %q in:\n%s", want, out)
		}
	}
}

// Health checks of a send-proxy server start with a PROXY header too (as
// haproxy's, when they go to the server's own address): an haproxy peer
// with accept-proxy answers them, and the server stays UP.
func TestProxyProtocolChecks(t *testing.T) {
	needHAProxyPeer(t)
	for _, send := range []string{"send-proxy", "send-proxy-v2"} {
		t.Run(send, func(t *testing.T) {
			peer, port := freePort(t), freePort(t)
			hp := startBinary(t, haproxyBin, `
global
	log stdout format raw local0`+defaultsSection("http", "2s", "5s", "5s", "log global")+fmt.Sprintf(`
frontend peer
	bind 127.0.0.1:%d accept-proxy
	log-format "peer-got %%HU"
	http-request return status 200 content-type text/plain string ok
`, peer), peer)
			p := startProxy(t, defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d
	default_backend be
backend be
	option httpchk GET /chk
	timeout check 3s
	server hp 127.0.0.1:%d %s check inter 100ms fall 1
`, port, peer, send), port)
			deadline := time.Now().Add(3 * time.Second)
			for strings.Count(hp.Stdout(), "peer-got /chk") < 3 && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if n := strings.Count(hp.Stdout(), "peer-got /chk"); n < 3 {
				t.Errorf("haproxy answered %d checks:\n%s", n, hp.Stdout())
			}
			if strings.Contains(p.Stderr(), "is DOWN") {
				t.Errorf("the server went down:\n%s", p.Stderr())
			}
			if out, err := curl(t, fmt.Sprintf("http://127.0.0.1:%d/x", port)); err != nil || out != "ok" {
				t.Errorf("request: %q %v", out, err)
			}
		})
	}
}
