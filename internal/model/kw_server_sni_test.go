package model

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dhproxy/internal/config"
)

// "sni str(<name>)" is a constant name; any other expression (a converter
// after str() included) is compiled and evaluated per connection; the
// server line's sni replaces default-server's.
func TestServerSNIExpression(t *testing.T) {
	cfg := buildText(t, `
defaults
    mode http
    default-server ssl verify none sni req.hdr(host)
backend be
    server inherits 127.0.0.1:1
    server constant 127.0.0.1:2 sni str(a.test)
    server converted 127.0.0.1:3 sni str(A.test),lower
`)
	srv := map[string]*Server{}
	for _, p := range cfg.Proxies {
		for _, s := range p.Servers {
			srv[s.Name] = s
		}
	}
	if s := srv["inherits"]; s.SNIExpr == nil || s.SNIExpr.Text != "req.hdr(host)" || s.TLS.SNI != "" {
		t.Errorf("inherited: %+v %q", s.SNIExpr, s.TLS.SNI)
	}
	if s := srv["constant"]; s.SNIExpr != nil || s.TLS.SNI != "a.test" || s.TLSConfig.ServerName != "a.test" {
		t.Errorf("constant: %+v %q", s.SNIExpr, s.TLS.SNI)
	}
	if s := srv["converted"]; s.SNIExpr == nil || s.TLS.SNI != "" {
		t.Errorf("str() with a converter: %+v %q", s.SNIExpr, s.TLS.SNI)
	}

	path := filepath.Join(t.TempDir(), "haproxy.cfg")
	os.WriteFile(path, []byte("backend be\n    server s 127.0.0.1:1 ssl verify none sni req.hdrr(host)\n"), 0o644)
	var d config.Diags
	Build(config.Load([]string{path}, nil, &d), &d)
	var b bytes.Buffer
	d.Write(&b, 0)
	if !strings.Contains(b.String(), "haproxy.cfg:2] : 'server be/s' : error detected while parsing sni expression : unknown fetch method 'req.hdrr'") {
		t.Errorf("unknown fetch:\n%s", b.String())
	}
}
