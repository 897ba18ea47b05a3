package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestLogFormatServerAndTLSVars: %bi %bp %si %sp %sslc %sslv %Tu read as
// haproxy 2.6 writes them, for a request served over TLS 1.2, a plain one
// and one denied before any server connection.
func TestLogFormatServerAndTLSVars(t *testing.T) {
	be := rulesBackend(t, "app")
	port, tport := freePort(t), freePort(t)
	logPort, next := udpLogExact(t)
	ca := newTLSCA(t)
	crt := ca.writePEM(t, t.TempDir(), "site.pem", "site.test")
	const format = `%f %HP bi=%bi bp=%bp si=%si sp=%sp sslc=%sslc sslv=%sslv Tu=%Tu q=%{+Q}bi x=%{+X}bi %{+X}si:%{+X}sp %{+Q}sslc %{+Q}sp`
	startProxy(t, logHead(logPort, "http", `log-format "`+strings.ReplaceAll(format, `"`, `\"`)+`"`)+fmt.Sprintf(`frontend fe
    bind 127.0.0.1:%d
    http-request deny if { path /deny }
    default_backend be
frontend fe_tls
    bind 127.0.0.1:%d ssl crt %s
    default_backend be
backend be
    server s 127.0.0.1:%d
`, port, tport, crt, be), port, tport)
	get := func(c net.Conn, path string) {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET %s HTTP/1.0\r\nHost: x\r\n\r\n", path)
		io.ReadAll(c)
		c.Close()
	}
	for _, path := range []string{"/plain", "/deny"} {
		c, err := net.Dial("tcp", h1Addr(port))
		if err != nil {
			t.Fatal(err)
		}
		get(c, path)
	}
	tc, err := tls.Dial("tcp", h1Addr(tport), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}})
	if err != nil {
		t.Fatal(err)
	}
	get(tc, "/tls")
	sp, spHex := strconv.Itoa(be), fmt.Sprintf("%04X", be)
	want := map[string]string{
		"/plain": `fe /plain bi=127.0.0.1 bp=P si=127.0.0.1 sp=` + sp + ` sslc=- sslv=- Tu=T q="127.0.0.1" x=7F000001 7F000001:` + spHex + ` "" ` + sp,
		"/deny":  `fe /deny bi=- bp=- si=- sp=- sslc=- sslv=- Tu=T q="" x=- -:- "" ""`,
		"/tls": `fe_tls /tls bi=127.0.0.1 bp=P si=127.0.0.1 sp=` + sp + ` sslc=ECDHE-ECDSA-AES128-GCM-SHA256 sslv=TLSv1.2 Tu=T q="127.0.0.1" x=7F000001 7F000001:` + spHex +
			` "ECDHE-ECDSA-AES128-GCM-SHA256" ` + sp,
	}
	masks := []*regexp.Regexp{regexp.MustCompile(` bp=\d+ `), regexp.MustCompile(` Tu=\d+ `)}
	for len(want) > 0 {
		line := next.line(t, fmt.Sprintf("%d more lines", len(want)))
		got := masks[0].ReplaceAllString(line, " bp=P ")
		got = masks[1].ReplaceAllString(got, " Tu=T ")
		path := strings.Fields(got)[1]
		w, ok := want[path]
		if !ok {
			continue // the readiness probes
		}
		delete(want, path)
		if got != w {
			t.Errorf("%s:\n line %s\n  got %s\n want %s", path, line, got, w)
		}
	}
}
