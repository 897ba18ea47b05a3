package tlsconf

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A crt-list line's options replace the bind's for the names it serves;
// the other names keep the bind's settings.
func TestCrtListLineOptions(t *testing.T) {
	dir := t.TempDir()
	selfSigned(t, dir, "a.pem", "a.test")
	selfSigned(t, dir, "b.pem", "b.test")
	selfSigned(t, dir, "c.pem", "c.test")
	ca := newCA(t, "ca")
	caFile := writePEM(t, "CERTIFICATE", ca.cert.Raw)
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte("a.pem\n"+
		"b.pem [alpn h2 ssl-min-ver TLSv1.3 curves X25519:X448 npn h2 ocsp-update on] b.test\n"+
		"c.pem [verify required ca-file "+caFile+" no-ca-names ciphers ECDHE-ECDSA-AES256-GCM-SHA384] c.test\n"), 0o644)
	var warns []string
	o := &BindOpts{SSL: true, Certs: []CertSource{{Path: list, List: true}}, CrtBase: dir, ALPN: "http/1.1"}
	cfg, err := Server(o, &Defaults{}, func(w string) { warns = append(warns, w) })
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{list + ":2: 'npn' has no effect", list + ":2: 'ocsp-update'", list + ":2: curves: X448 cannot be used"} {
		if !slices.ContainsFunc(warns, func(s string) bool { return strings.Contains(s, w) }) {
			t.Errorf("no warning %q in %q", w, warns)
		}
	}
	if got, _ := cfg.GetConfigForClient(&tls.ClientHelloInfo{ServerName: "a.test"}); got != nil {
		t.Error("a line without options got its own configuration")
	}
	b, _ := cfg.GetConfigForClient(&tls.ClientHelloInfo{ServerName: "B.test"})
	if b == nil || !slices.Equal(b.NextProtos, []string{"h2"}) || b.MinVersion != tls.VersionTLS13 || b.MaxVersion != tls.VersionTLS13 ||
		!slices.Equal(b.CurvePreferences, []tls.CurveID{tls.X25519}) || b.ClientAuth != tls.NoClientCert {
		t.Fatalf("b.test: %+v", b)
	}
	c, _ := cfg.GetConfigForClient(&tls.ClientHelloInfo{ServerName: "c.test"})
	if c == nil || c.ClientAuth != tls.RequireAnyClientCert || c.ClientCAs != nil || c.MinVersion != tls.VersionTLS12 ||
		!slices.Equal(c.NextProtos, []string{"http/1.1"}) || !slices.Equal(c.CipherSuites, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}) {
		t.Fatalf("c.test: %+v", c)
	}
	v := o.ClientAuth.Verifier
	if v.For("a.test") != nil || v.For("c.test") == nil {
		t.Error("client checks not chosen by the line")
	}
	if l := v.Served("c.test"); l == nil || l.Subject.CommonName != "c.test" {
		t.Errorf("served for c.test: %v", l)
	}
	if l := v.Served("unknown.test"); l == nil || l.Subject.CommonName != "a.test" {
		t.Errorf("served for an unknown name: %v", l)
	}
	// An unknown option is an error naming the line.
	os.WriteFile(list, []byte("a.pem\nb.pem [alpn h2 bogus 1] b.test\n"), 0o644)
	if _, err := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: list, List: true}}, CrtBase: dir}, &Defaults{}, func(string) {}); err == nil ||
		!strings.Contains(err.Error(), "line 2: unknown ssl option 'bogus'") {
		t.Errorf("unknown option: %v", err)
	}
}

func TestCurves(t *testing.T) {
	var warns []string
	cfg := &tls.Config{}
	applyCurves(cfg, "P-384:prime256v1:X448", "secp521r1", func(w string) { warns = append(warns, w) })
	if !slices.Equal(cfg.CurvePreferences, []tls.CurveID{tls.CurveP384, tls.CurveP256}) || len(warns) != 1 || !strings.Contains(warns[0], "X448") {
		t.Errorf("curves: %v %q", cfg.CurvePreferences, warns)
	}
	cfg = &tls.Config{}
	applyCurves(cfg, "", "secp384r1", func(w string) { t.Error(w) })
	if !slices.Equal(cfg.CurvePreferences, []tls.CurveID{tls.CurveP384}) {
		t.Errorf("ecdhe: %v", cfg.CurvePreferences)
	}
	warns = nil
	cfg = &tls.Config{}
	applyCurves(cfg, "ffdhe2048", "", func(w string) { warns = append(warns, w) })
	if cfg.CurvePreferences != nil || len(warns) != 2 {
		t.Errorf("nothing usable: %v %q", cfg.CurvePreferences, warns)
	}
}

func FuzzLineOptions(f *testing.F) {
	f.Add("alpn h2 ssl-min-ver TLSv1.3 verify required ca-file x no-ca-names npn h2")
	f.Add("ssl-max-ver SSLv3 curves")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := parseLineOptions(s, func(string) {})
		if err == nil && o != nil && o.MinVer != "" {
			if _, err := parseVersion("ssl-min-ver", o.MinVer); err != nil {
				t.Fatalf("bad version accepted from %q", s)
			}
		}
		applyCurves(&tls.Config{}, s, s, func(string) {})
	})
}

// A line's options warn about themselves only: the bind's unusable
// cipher names are not warned about again for each line.
func TestCrtListLineWarnsOnce(t *testing.T) {
	dir := t.TempDir()
	selfSigned(t, dir, "a.pem", "a.test")
	selfSigned(t, dir, "b.pem", "b.test")
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte("a.pem\nb.pem [alpn h2 ssl-min-ver TLSv1.0] b.test\n"), 0o644)
	var warns []string
	cfg, err := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: list, List: true}}, CrtBase: dir, Ciphers: "HIGH:ECDHE-ECDSA-AES128-GCM-SHA256"}, &Defaults{}, func(w string) { warns = append(warns, w) })
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 1 || !strings.Contains(warns[0], "HIGH") || strings.Contains(warns[0], "crt-list") {
		t.Errorf("warnings: %q", warns)
	}
	b, _ := cfg.GetConfigForClient(&tls.ClientHelloInfo{ServerName: "b.test"})
	if b.MinVersion != tls.VersionTLS10 || !slices.Equal(b.CipherSuites, []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}) {
		t.Errorf("b.test: min %x suites %v", b.MinVersion, b.CipherSuites)
	}
}
