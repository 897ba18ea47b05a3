package model

import (
	"net/netip"
	"strings"
	"testing"
)

// What the UNIX socket forms of a server address build: the path Go dials
// (an abstract name NUL-padded to all of sun_path, as haproxy's), no
// source address, no host name to resolve; and a dynamic server alike.
func TestServerUnixAddresses(t *testing.T) {
	cfg := buildText(t, `
defaults
    mode http
backend be
    source 127.0.0.2
    server abs /run/app.sock:80 source 127.0.0.3
    server rel unix@run/app.sock
    server at unix@@odd
    server uxst uxst@run/app.sock
    server abns abns@name
    server tcp 127.0.0.1:80
    dispatch unix@/run/d.sock
`)
	p := cfg.Proxy("be")
	want := map[string]string{
		"abs":  "/run/app.sock:80",
		"rel":  "run/app.sock",
		"at":   "./@odd",
		"uxst": "run/app.sock",
		"abns": "@name" + strings.Repeat("\x00", 103),
	}
	for _, s := range p.Servers {
		w, unix := want[s.Name]
		if s.Unix != unix || unix && s.Addr != w || s.FQDN != "" {
			t.Errorf("%s: Unix %v Addr %q FQDN %q, want %q", s.Name, s.Unix, s.Addr, s.FQDN, w)
		}
		if src := p.SourceFor(s); unix == src.IsValid() {
			t.Errorf("%s: source %v", s.Name, src)
		}
	}
	if s := p.Servers[4]; len(s.Addr) != 108 {
		t.Errorf("abstract address: %d bytes, want sun_path's 108", len(s.Addr))
	}
	if d := p.Dispatch; d == nil || !d.Unix || d.Addr != "/run/d.sock" {
		t.Errorf("dispatch: %+v", d)
	}
	if p.SourceFor(p.Servers[5]) != netip.MustParseAddrPort("127.0.0.2:0") {
		t.Errorf("a TCP server lost the backend's source")
	}

	s, _, err := DynamicServer(cfg, p, "dyn", "unix@app.sock", []string{"check"})
	if err != nil || !s.Unix || s.Addr != "app.sock" {
		t.Errorf("dynamic server: %+v %v", s, err)
	}
}
