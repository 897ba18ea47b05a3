package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for names (CN = the first) with its key
// in one PEM file.
func selfSigned(t *testing.T, dir, file string, names ...string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, _ := x509.MarshalPKCS8PrivateKey(key)
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd})...)
	p := filepath.Join(dir, file)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func leafCN(t *testing.T, c *tls.Certificate) string {
	l, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	return l.Subject.CommonName
}

func TestSNISelection(t *testing.T) {
	dir := t.TempDir()
	selfSigned(t, dir, "1.pem", "default.test")
	selfSigned(t, dir, "2.pem", "*.wild.test", "Exact.Test")
	// A side file is not a certificate; an unreadable response is
	// ignored with a warning, as HAProxy does.
	os.WriteFile(filepath.Join(dir, "2.pem.ocsp"), []byte("not a response"), 0o644)
	for _, strict := range []bool{false, true} {
		cfg, err := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: dir}}, StrictSNI: strict}, &Defaults{}, func(w string) {
			if !strings.Contains(w, "2.pem.ocsp': unable to parse the OCSP response; content ignored") {
				t.Error(w)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		for sni, want := range map[string]string{
			"a.wild.test": "*.wild.test", "EXACT.test": "*.wild.test", "default.test": "default.test",
			"a.b.wild.test": "", "wild.test": "", "": "",
		} {
			c, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: sni})
			switch {
			case want == "" && strict:
				if err == nil {
					t.Errorf("strict-sni: %q got a certificate", sni)
				}
			case want == "":
				if err != nil || leafCN(t, c) != "default.test" {
					t.Errorf("%q: want the default certificate, got %v", sni, err)
				}
			default:
				if err != nil || leafCN(t, c) != want {
					t.Errorf("%q: want %s, got %v", sni, want, err)
				}
			}
		}
	}
}

func TestVersionsAndCiphers(t *testing.T) {
	p := selfSigned(t, t.TempDir(), "c.pem", "x.test")
	cases := []struct {
		o        BindOpts
		d        Defaults
		min, max uint16
		warn     string
		err      string
	}{
		{o: BindOpts{}, min: tls.VersionTLS12, max: tls.VersionTLS13},
		{o: BindOpts{MinVer: "TLSv1.0"}, min: tls.VersionTLS10, max: tls.VersionTLS13},
		{o: BindOpts{NoVer: []string{"no-tlsv12"}}, min: tls.VersionTLS13, max: tls.VersionTLS13},
		{o: BindOpts{NoVer: []string{"no-tlsv13"}}, min: tls.VersionTLS12, max: tls.VersionTLS12},
		{d: Defaults{Options: []string{"ssl-min-ver", "TLSv1.3"}}, min: tls.VersionTLS13, max: tls.VersionTLS13},
		{o: BindOpts{MinVer: "TLSv1.2"}, d: Defaults{Options: []string{"ssl-min-ver", "TLSv1.3"}}, min: tls.VersionTLS12, max: tls.VersionTLS13},
		{o: BindOpts{NoVer: []string{"force-tlsv12"}}, min: tls.VersionTLS12, max: tls.VersionTLS12},
		{o: BindOpts{MinVer: "TLSv1.0", NoVer: []string{"no-tlsv11"}}, min: tls.VersionTLS10, max: tls.VersionTLS13, warn: "gap"},
		{o: BindOpts{MinVer: "SSLv3"}, err: "SSLv3"},
		{o: BindOpts{MinVer: "TLSv1.3", MaxVer: "TLSv1.2"}, err: "no TLS version"},
		{o: BindOpts{Ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:HIGH:!aNULL"}, min: tls.VersionTLS12, max: tls.VersionTLS13, warn: "HIGH cannot be mapped"},
		{o: BindOpts{Suites: "TLS_AES_128_GCM_SHA256"}, min: tls.VersionTLS12, max: tls.VersionTLS13, warn: "not applied"},
		{o: BindOpts{ALPN: "h2,http/1.1"}, min: tls.VersionTLS12, max: tls.VersionTLS13},
	}
	for i, c := range cases {
		c.o.SSL, c.o.Certs = true, []CertSource{{Path: p}}
		var warns []string
		cfg, err := Server(&c.o, &c.d, func(w string) { warns = append(warns, w) })
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%d: want error %q, got %v", i, c.err, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if cfg.MinVersion != c.min || cfg.MaxVersion != c.max {
			t.Errorf("%d: range %x-%x, want %x-%x", i, cfg.MinVersion, cfg.MaxVersion, c.min, c.max)
		}
		if got := strings.Join(warns, "|"); (c.warn == "") != (got == "") || !strings.Contains(got, c.warn) {
			t.Errorf("%d: warnings %q, want one with %q", i, got, c.warn)
		}
	}
	cfg, _ := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: p}}, Ciphers: "ECDHE-ECDSA-AES128-GCM-SHA256:HIGH", ALPN: "h2,http/1.1"}, &Defaults{}, func(string) {})
	if len(cfg.CipherSuites) != 1 || cfg.CipherSuites[0] != tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256 {
		t.Errorf("ciphers %v", cfg.CipherSuites)
	}
	if strings.Join(cfg.NextProtos, ",") != "h2,http/1.1" {
		t.Errorf("alpn %v", cfg.NextProtos)
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	noKey := filepath.Join(dir, "nokey.pem")
	data, _ := os.ReadFile(selfSigned(t, dir, "full.pem", "x.test"))
	os.WriteFile(noKey, data[:strings.Index(string(data), "-----BEGIN PRIVATE KEY")], 0o644)
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "only.key"), []byte("x"), 0o644)
	for p, want := range map[string]string{
		noKey:                        "no private key",
		filepath.Join(dir, "absent"): "no such file",
		empty:                        "holds no certificate",
	} {
		if _, err := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: p}}}, &Defaults{}, func(string) {}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: want %q, got %v", p, want, err)
		}
	}
	if _, err := Server(&BindOpts{SSL: true}, &Defaults{}, func(string) {}); err == nil {
		t.Error("ssl without crt accepted")
	}
}

// FuzzOptions: any version and cipher words give a configuration or an
// error, never a panic.
func FuzzOptions(f *testing.F) {
	f.Add("TLSv1.0", "TLSv1.3", "no-tlsv11 force-tlsv12", "ECDHE-RSA-AES128-SHA:!MD5:HIGH", "TLS_AES_128_GCM_SHA256", "ssl-min-ver TLSv1.2 no-tlsv13")
	f.Fuzz(func(t *testing.T, min, max, no, ciphers, suites, defaults string) {
		cfg := &tls.Config{}
		o := &BindOpts{MinVer: min, MaxVer: max, NoVer: strings.Fields(no), Ciphers: ciphers, Suites: suites}
		if err := applyVersions(cfg, o, &Defaults{Options: strings.Fields(defaults)}, func(string) {}); err == nil && cfg.MinVersion > cfg.MaxVersion {
			t.Fatalf("empty range accepted: %x-%x", cfg.MinVersion, cfg.MaxVersion)
		}
		mapCiphers(ciphers, func(string) {})
		checkSuites(suites, func(string) {})
	})
}

func TestCrtList(t *testing.T) {
	dir := t.TempDir()
	selfSigned(t, dir, "a.pem", "a.test")
	selfSigned(t, dir, "b.pem", "*.wild.test")
	selfSigned(t, dir, "c.pem", "c.test")
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte("# certificates\n\na.pem\nb.pem [alpn http/1.1] *.wild.test !secret.wild.test\nc.pem other.test\n"), 0o644)
	var warns []string
	cfg, err := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: list, List: true}}, CrtBase: dir}, &Defaults{}, func(w string) { warns = append(warns, w) })
	if err != nil {
		t.Fatal(err)
	}
	if len(warns) != 0 {
		t.Errorf("warnings %q", warns)
	}
	for sni, want := range map[string]string{"x.wild.test": "*.wild.test", "secret.wild.test": "a.test", "other.test": "c.test", "c.test": "a.test", "": "a.test"} {
		c, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: sni})
		if err != nil || leafCN(t, c) != want {
			t.Errorf("%q: want %s, got %v", sni, want, err)
		}
	}
	os.WriteFile(list, []byte("a.pem [alpn http/1.1\n"), 0o644)
	if _, err := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: list, List: true}}, CrtBase: dir}, &Defaults{}, func(string) {}); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad line: %v", err)
	}
}

func FuzzCrtListLine(f *testing.F) {
	f.Add("b.pem [alpn h2 ssl-min-ver TLSv1.2] *.x.test !y.x.test")
	f.Add("  # comment")
	f.Fuzz(func(t *testing.T, s string) {
		l, err := parseCrtListLine(s, "")
		if err == nil && l != nil && l.Crt == "" {
			t.Fatalf("empty certificate path from %q", s)
		}
	})
}

// Without "ciphers", TLS 1.2 offers AEAD suites only, unless older
// versions are enabled (they have none).
func TestDefaultSuites(t *testing.T) {
	crt := selfSigned(t, t.TempDir(), "a.pem", "a.test")
	cfg, err := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: crt}}}, &Defaults{}, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range cfg.CipherSuites {
		if n := tls.CipherSuiteName(id); !strings.Contains(n, "GCM") && !strings.Contains(n, "CHACHA20") {
			t.Errorf("default suite %s is not AEAD", n)
		}
	}
	if len(cfg.CipherSuites) == 0 {
		t.Error("no default suite list: Go's, with CBC suites, applies")
	}
	if !cfg.DynamicRecordSizingDisabled {
		t.Error("records start small (Go's dynamic sizing), unlike haproxy's full-size ones")
	}
	old, err := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: crt}}, MinVer: "TLSv1.0"}, &Defaults{}, func(string) {})
	if err != nil || old.CipherSuites != nil {
		t.Errorf("ssl-min-ver TLSv1.0: suites %v %v", old.CipherSuites, err)
	}
}
