package model

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"dhproxy/internal/config"
	"dhproxy/internal/tlsconf"
)

// Every TLS server keyword lands in its own field; a later keyword of a
// pair (ssl / no-ssl, ssl-reuse / no-ssl-reuse) undoes the earlier one.
func TestServerTLSKeywords(t *testing.T) {
	var d config.Diags
	b := &builder{d: &d, cfg: &Config{Global: Global{CrtBase: "/etc/certs"}}, warned: map[string]bool{}}
	args := strings.Fields(`ssl no-ssl ssl check-ssl no-ssl-reuse ssl-reuse no-ssl-reuse no-tlsv10 force-tlsv12
		check-sni c.test crt client.pem ciphersuites TLS_AES_128_GCM_SHA256 verify required ca-file /ca.pem
		sni str(s.test) alpn h2,http/1.1 ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3 ciphers ECDHE-RSA-AES128-GCM-SHA256`)
	var s Server
	b.applyServerOptions(config.Line{Pos: config.Pos{File: "t.cfg", Line: 1}}, &s, args)
	var diag bytes.Buffer
	d.Write(&diag, 0)
	if diag.Len() != 0 {
		t.Fatalf("diagnostics:\n%s", diag.String())
	}
	want := tlsconf.ServerOpts{SSL: true, CheckSSL: true, NoReuse: true, NoVer: []string{"no-tlsv10", "force-tlsv12"},
		CheckSNI: "c.test", Crt: "/etc/certs/client.pem", Suites: "TLS_AES_128_GCM_SHA256", Verify: "required",
		CAFile: "/ca.pem", SNI: "s.test", ALPN: "h2,http/1.1", MinVer: "TLSv1.2", MaxVer: "TLSv1.3",
		Ciphers: "ECDHE-RSA-AES128-GCM-SHA256"}
	if s.TLS == nil || !reflect.DeepEqual(*s.TLS, want) {
		t.Errorf("got  %+v\nwant %+v", s.TLS, want)
	}

	d = config.Diags{}
	s = Server{}
	b.applyServerOptions(config.Line{Pos: config.Pos{File: "t.cfg", Line: 2}}, &s, []string{"alpn"})
	diag.Reset()
	d.Write(&diag, 0)
	if !strings.Contains(diag.String(), "server option 'alpn' expects an argument.") {
		t.Errorf("alpn without argument:\n%s", diag.String())
	}
}
