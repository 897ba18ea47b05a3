package e2e

// HAProxy 2.6's layer 7 and ssl_fc fetches that dhproxy added late
// (URL hashes, capture.*, header counts, integers, addresses and blocks,
// Authorization's parts, deprecated aliases, ssl_fc_has_sni and
// ssl_fc_is_resumed) on the same requests: the answers are haproxy
// 2.6.12's (DHPROXY_BIN=/usr/sbin/haproxy passes too).

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// fetchesOrigin answers every request with the same response, but /sc
// with Set-Cookie headers holding commas.
func fetchesOrigin(t *testing.T) int {
	const resp = "HTTP/1.1 200 OK\r\nX-N: 5x, 6\r\nx-n: -2\r\nX-IP: 10.0.0.1:80, ::1\r\nSet-Cookie: s=1; Path=/\r\n" +
		"Set-Cookie: t=2; s=9\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"
	// Set-Cookie headers are comma-separated lists for haproxy
	const cookies = "HTTP/1.1 200 OK\r\nSet-Cookie: s=1; Path=/; Expires=Wed, 21 Oct 2015 07:28:00 GMT\r\n" +
		"Set-Cookie: t=2, s=9\r\nSet-Cookie: q=\"a,b\"; x=1\r\nContent-Length: 0\r\n\r\n"
	return h1StartRawBackend(t, func(c net.Conn) {
		br := bufio.NewReader(c)
		for {
			head, err := h1ReadHead(br)
			if err != nil {
				return
			}
			out := resp
			if strings.HasPrefix(head, "GET /sc ") {
				out = cookies
			}
			if _, err := c.Write([]byte(out)); err != nil {
				return
			}
		}
	})
}

func TestFetchesMore(t *testing.T) {
	dir := t.TempDir()
	ca := newTLSCA(t)
	crt := ca.writePEM(t, dir, "site.pem", "site.test")
	port, tlsPort, h2Port, tcpPort, origin := freePort(t), freePort(t), freePort(t), freePort(t), fetchesOrigin(t)
	// mode tcp: which backend a passed-through hello goes to
	var helloSrv [4]int
	for i, name := range []string{"st0", "st1", "st2", "noec"} {
		answer := []byte(name)
		if name == "st0" {
			answer = append([]byte{0x16, 3, 3, 0, 4, 2, 0, 0, 0}, answer...) // a ServerHello's start
		}
		helloSrv[i] = h1StartRawBackend(t, func(c net.Conn) {
			c.Read(make([]byte, 4096))
			c.Write(answer)
		})
	}
	p := startProxy(t, `
global
    log stdout format raw local0`+defaultsSection("http", "2s", "5s", "5s", "log global")+fmt.Sprintf(`
frontend fe
    bind 127.0.0.1:%d
    bind 127.0.0.1:%d ssl crt %s
    bind 127.0.0.1:%d proto h2
    log-format "LOG %%[capture.req.method] %%[capture.req.uri] %%[capture.req.ver]"
    http-request return status 200 content-type text/plain lf-string "b32=%%[base32] b32s=%%[base32+src,hex] bq=%%[baseq] u32=%%[url32] u32s=%%[url32+src,hex] cm=%%[capture.req.method] cu=%%[capture.req.uri] cv=%%[capture.req.ver] fc=%%[req.fhdr_cnt] fcx=%%[req.fhdr_cnt(x)] hv=%%[req.hdr_val(x)] hv1=%%[hdr_val(x,1)] at=%%[http_auth_type] au=%%[http_auth_user] ap=%%[http_auth_pass] ab=%%[http_auth_bearer] abx=%%[http_auth_bearer(x-tok)] ck=%%[cookie(a)] ck0=%%[cookie] rv=%%[req_ver] hb=%%[req.hdrs_bin,hex]" if { path_beg /p }
    http-request return status 200 content-type text/plain lf-string "sni=%%[ssl_fc_has_sni] resumed=%%[ssl_fc_is_resumed] npn=%%[ssl_fc_npn] early=%%[ssl_fc_has_early]" if { path /tls }
    http-request return status 200 content-type text/plain lf-string "cv=%%[capture.req.ver] rv=%%[req_ver] cu=%%[capture.req.uri] bq=%%[baseq] b32=%%[base32] fc=%%[req.fhdr_cnt] hb=%%[req.hdrs_bin,hex]" if { path /h2 }
    http-request return status 200 content-type text/plain lf-string "c0=%%[req.cook] cnt=%%[req.cook_cnt] b=%%[req.cook(b)] a=%%[req.cook(a)]" if { path /c }
    http-request set-var(txn.hv) req.hdr_val(x) if { hdr_val(x) 7 }
    http-response set-header x-out "fc=%%[res.fhdr_cnt] fcx=%%[res.fhdr_cnt(x-n)] hv=%%[res.hdr_val(x-n)] shv=%%[shdr_val(x-n,1)] hip=%%[res.hdr_ip(x-ip)] sip=%%[shdr_ip(x-ip,1)] names=%%[res.hdr_names(;)] rv=%%[resp_ver] crv=%%[capture.res.ver] cm=%%[capture.req.method] cu=%%[capture.req.uri] cv=%%[capture.req.ver] ck=%%[cookie(s)] ck0=%%[cookie] hv7=%%[var(txn.hv)]"
    http-response set-header x-bin "%%[res.hdrs_bin,hex]"
    http-response set-header x-hdrs "%%[res.hdrs,hex]" if { shdr_val(x-n) -- -2 }
    http-response set-header x-h "%%[hdr(x-n)] %%[hdr(x-n,1)]"
    http-response set-header x-ck "rc=%%[res.cook(s)] rc0=%%[res.cook] cnt=%%[res.cook_cnt(s)] cnt0=%%[res.cook_cnt] val=%%[res.cook_val(s)] ck=%%[cookie(s)] q=%%[res.cook(q)]"
    default_backend b
backend b
    server s 127.0.0.1:%d
frontend hellos
    mode tcp
    bind 127.0.0.1:%d
    tcp-request inspect-delay 2s
    tcp-request content accept if { req.ssl_hello_type 1 }
    use_backend st%%[req.ssl_st_ext] if { req.ssl_ec_ext }
    default_backend noec
backend st0
    mode tcp
    tcp-response inspect-delay 2s
    tcp-response content accept if { res.ssl_hello_type 2 }
    tcp-response content reject
    server s 127.0.0.1:%d
backend st1
    mode tcp
    server s 127.0.0.1:%d
backend st2
    mode tcp
    server s 127.0.0.1:%d
backend noec
    mode tcp
    server s 127.0.0.1:%d
`, port, tlsPort, crt, h2Port, origin, tcpPort, helloSrv[0], helloSrv[1], helloSrv[2], helloSrv[3]), port, tlsPort, h2Port, tcpPort)

	reqOut := rawExchange(t, port, "GET /p/q?x=1 HTTP/1.1\r\nHost: Ex.com:80,b\r\nX: 12abc, 7\r\nx: -3\r\n"+
		"Authorization: Basic dXNlcjpwYTpzcw==\r\nCookie: a=1; b=2; a=3\r\nx-tok: Bearer  zz\r\nConnection: close\r\n\r\n")
	_, body, _ := strings.Cut(reqOut, "\r\n\r\n")
	want := "b32=3774396407 b32s=E0F8B7F77F000001 bq=Ex.com:80/p/q?x=1 u32=3760649432 u32s=E026F4D87F000001 cm=GET " +
		"cu=/p/q?x=1 cv=HTTP/1.1 fc=6 fcx=2 hv=-3 hv1=12 at=Basic au=user ap=pa:ss ab= abx=zz ck=3 ck0=1 rv=1.1 " +
		"hb=04686F73740B45782E636F6D3A38302C62017808313261626" + "32C20370178022D330D617574686F72697A6174696F6E164261" +
		"7369632064584E6C636A70775954707A63773D3D06636F6F6B69650D613D313B20623D323B20613D3305782D746F6B0A4265617265722" +
		"0207A7A0000<EOF>"
	if body != want {
		t.Errorf("request fetches:\n got %q\nwant %q", body, want)
	}

	resOut := rawExchange(t, port, "GET /r?s HTTP/1.0\r\nHost: h\r\nX: 1, 7\r\n\r\n")
	head, _, _ := strings.Cut(resOut, "\r\n\r\n")
	hdr := func(name string) string {
		for _, l := range strings.Split(head, "\r\n") {
			if n, v, ok := strings.Cut(l, ":"); ok && strings.EqualFold(n, name) {
				return strings.TrimSpace(v)
			}
		}
		return "<none>"
	}
	for name, want := range map[string]string{
		"x-out": "fc=7 fcx=2 hv=-2 shv=5 hip=::1 sip=10.0.0.1 names=x-n;x-n;x-ip;set-cookie;set-cookie;content-length;content-type " +
			"rv=1.1 crv=HTTP/1.1 cm=GET cu=/r?s cv=HTTP/1.0 ck=1 ck0=1 hv7=7",
		"x-bin": "03782D6E0535782C203603782D6E022D3204782D69701031302E302E302E313A38302C203A3A310A7365742D636F6F6B69650B" +
			"733D313B20506174683D2F0A7365742D636F6F6B696508743D323B20733D390E636F6E74656E742D6C656E67746801320C636F6E74656E742D747970650A" +
			"746578742F706C61696E" + "05782D6F7574" + "",
	} {
		got := hdr(name)
		if name == "x-bin" {
			// the block ends with x-out, set by the rule before: its value
			// is checked above
			if !strings.HasPrefix(got, want) || !strings.HasSuffix(got, "0000") {
				t.Errorf("%s = %q, want it to start with %q", name, got, want)
			}
			continue
		}
		if got != want {
			t.Errorf("%s:\n got %q\nwant %q", name, got, want)
		}
	}
	if got := hdr("x-h"); got != "-2 5x" {
		t.Errorf("hdr() in response rules: %q, want the response's headers", got)
	}
	if got := hdr("x-hdrs"); !strings.HasPrefix(got, fmt.Sprintf("%X", "x-n: 5x, 6\r\nx-n: -2\r\nx-ip: 10.0.0.1:80, ::1\r\nset-cookie: s=1; Path=/\r\n")) ||
		!strings.HasSuffix(got, "0D0A0D0A") {
		t.Errorf("x-hdrs = %q", got)
	}

	// HTTP/2: capture.req.ver is HTTP/1.1 there, req_ver 2.0
	out, err := curl(t, "--http2-prior-knowledge", "-H", "User-Agent:", "-H", "Host: h2.test", fmt.Sprintf("http://127.0.0.1:%d/h2?q", h2Port))
	if want := "cv=HTTP/1.1 rv=2.0 cu=/h2?q bq=h2.test/h2?q b32=1854126363 fc=2 hb=04686F73740768322E7465737406616363657074032A2F2A0000"; err != nil || out != want {
		t.Errorf("over HTTP/2: %q (%v), want %q", out, err, want)
	}

	// Cookie and Set-Cookie: a comma ends a cookie too, a pair without
	// '=' is none
	if _, b, _ := strings.Cut(rawExchange(t, port, "GET /c HTTP/1.1\r\nHost: h\r\nCookie: a; b=1, c\r\nConnection: close\r\n\r\n"), "\r\n\r\n"); b != "c0=1 cnt=1 b=1 a=<EOF>" {
		t.Errorf("request cookies: %q", b)
	}
	head, _, _ = strings.Cut(rawExchange(t, port, "GET /sc HTTP/1.0\r\nHost: h\r\n\r\n"), "\r\n\r\n")
	if got, want := hdr("x-ck"), `rc=9 rc0=1 cnt=2 cnt0=7 val=9 ck=9 q="a,b"`; got != want {
		t.Errorf("response cookies: %q, want %q", got, want)
	}

	// TLS: SNI or not; the second connection resumes the first's session.
	pool := x509.NewCertPool()
	pool.AddCert(ca.cert)
	cache := tls.NewLRUClientSessionCache(4)
	tlsGet := func(sni string) string {
		d := &net.Dialer{Timeout: 2 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort),
			&tls.Config{ServerName: sni, RootCAs: pool, ClientSessionCache: cache, InsecureSkipVerify: sni == ""})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET /tls HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n")
		var sb strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		_, b, _ := strings.Cut(sb.String(), "\r\n\r\n")
		return b
	}
	for i, want := range []string{"sni=1 resumed=0 npn= early=0", "sni=1 resumed=1 npn= early=0"} {
		if got := tlsGet("site.test"); got != want {
			t.Errorf("TLS connection %d: %q, want %q", i+1, got, want)
		}
	}
	if got := tlsGet(""); got != "sni=0 resumed=0 npn= early=0" {
		t.Errorf("TLS without SNI: %q", got)
	}
	plain := rawExchange(t, port, "GET /tls HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	if _, b, _ := strings.Cut(plain, "\r\n\r\n"); b != "sni=0 resumed=0 npn= early=<EOF>" {
		t.Errorf("plain connection: %q", b)
	}

	// req.ssl_ec_ext and req.ssl_st_ext choose the backend; st0's answer
	// passes its res.ssl_hello_type check
	groups, ticket := []byte{0, 10}, []byte{0, 35}
	for _, c := range []struct {
		hello []byte
		want  string
	}{
		{buildClientHello(groups, []byte{0, 2, 0, 29}), "\x16\x03\x03\x00\x04\x02\x00\x00\x00st0"},
		{buildClientHello(groups, []byte{0, 2, 0, 29}, ticket, nil), "st1"},
		{buildClientHello(ticket, []byte("ticket"), groups, []byte{0, 2, 0, 29}), "st2"},
		{buildClientHello(ticket, nil), "noec"},
	} {
		if got := strings.TrimSuffix(rawExchange(t, tcpPort, string(c.hello)), "<EOF>"); got != c.want {
			t.Errorf("hello % x went to %q, want %q", c.hello[43:], got, c.want)
		}
	}

	// the capture.req.* fetches are still there for the log line
	deadline := time.Now().Add(3 * time.Second)
	for !strings.Contains(p.Stdout(), "LOG GET /r?s HTTP/1.0") {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with the request's captures:\n%s", p.Stdout())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// buildClientHello is a TLS 1.2 ClientHello in one record with the
// extensions given (type, body pairs).
func buildClientHello(exts ...[]byte) []byte {
	var block []byte
	for i := 0; i+1 < len(exts); i += 2 {
		block = append(block, exts[i][0], exts[i][1], byte(len(exts[i+1])>>8), byte(len(exts[i+1])))
		block = append(block, exts[i+1]...)
	}
	b := append([]byte{3, 3}, make([]byte, 32)...) // version, random
	b = append(b, 0, 0, 2, 0xc0, 0x2b, 1, 0)       // no session id, one cipher, no compression
	b = append(b, byte(len(block)>>8), byte(len(block)))
	b = append(b, block...)
	hs := append([]byte{1, 0, byte(len(b) >> 8), byte(len(b))}, b...)
	return append([]byte{0x16, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...)
}
