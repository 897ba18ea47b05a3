package tlsconf

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A crt-list line with "acme <name>" names a certificate an acme section
// keeps: a missing file gets a self-signed placeholder for its domains
// (the line's filters when "domains" is absent) and is listed as managed.
func TestManagedCrtListLines(t *testing.T) {
	dir := t.TempDir()
	have := selfSigned(t, dir, "have.pem", "have.test")
	missing := filepath.Join(dir, "missing.pem")
	list := filepath.Join(dir, "list")
	os.WriteFile(list, []byte(have+" [acme LE domains have.test]\n"+missing+" [acme LE alpn h2] new.test www.new.test\n"), 0o644)
	reg := NewRegistry()
	var warned []string
	cfg, err := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: list, List: true}}, Registry: reg, ACMESections: []string{"LE"}}, &Defaults{}, func(w string) { warned = append(warned, w) })
	if err != nil {
		t.Fatal(err)
	}
	if len(warned) != 0 {
		t.Errorf("warnings: %q", warned)
	}
	if lc, _ := cfg.GetConfigForClient(&tls.ClientHelloInfo{ServerName: "new.test"}); lc == nil || len(lc.NextProtos) != 1 || lc.NextProtos[0] != "h2" {
		t.Errorf("the options beside acme are not applied: %+v", lc)
	}
	ms := reg.Managed()
	if len(ms) != 2 || ms[0].Path != have || ms[1].Path != missing || strings.Join(ms[1].Domains, ",") != "new.test,www.new.test" {
		t.Fatalf("managed: %+v", ms)
	}
	c, _ := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: "www.new.test"})
	if leafCN(t, c) != "new.test" || !reg.Cert(missing).Placeholder {
		t.Errorf("placeholder for the missing file: %s", leafCN(t, c))
	}
	if _, err := os.Stat(missing); err == nil {
		t.Error("the placeholder was written to disk")
	}
	if _, err := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: list, List: true}}}, &Defaults{}, func(string) {}); err == nil || !strings.Contains(err.Error(), "unknown acme section 'LE'") {
		t.Errorf("undeclared section: %v", err)
	}
}

func FuzzACMEOptions(f *testing.F) {
	f.Add("acme LE domains a.test,b.test alpn h2")
	f.Add("domains")
	f.Fuzz(func(t *testing.T, s string) {
		acme, domains, rest, err := splitACMEOptions(s)
		if err != nil {
			return
		}
		if words := strings.Fields(s); strings.Contains(" "+rest+" ", " acme ") || (acme == "" && len(words) > 0 && words[0] == "acme") {
			t.Fatalf("%q: acme %q rest %q", s, acme, rest)
		}
		for _, d := range domains {
			if d == "" || strings.Contains(d, ",") {
				t.Fatalf("%q: domain %q", s, d)
			}
		}
	})
}

// A tls-alpn-01 validation (ALPN acme-tls/1 for a name with a pending
// challenge) gets the challenge certificate; other handshakes the bind's.
func TestChallengeConfig(t *testing.T) {
	reg := NewRegistry()
	ch := &tls.Certificate{Certificate: [][]byte{{1}}}
	hello := &tls.ClientHelloInfo{ServerName: "A.test", SupportedProtos: []string{"acme-tls/1"}}
	if c, _ := reg.challengeConfig(hello); c != nil {
		t.Error("no challenge pending, yet a challenge configuration")
	}
	reg.SetChallengeCert("a.test", ch)
	c, _ := reg.challengeConfig(hello)
	if c == nil || len(c.Certificates) != 1 || c.NextProtos[0] != "acme-tls/1" {
		t.Fatalf("validation handshake: %+v", c)
	}
	if c, _ := reg.challengeConfig(&tls.ClientHelloInfo{ServerName: "a.test", SupportedProtos: []string{"http/1.1"}}); c != nil {
		t.Error("a normal client got the challenge certificate")
	}
	reg.SetChallengeCert("A.test", nil)
	if c, _ := reg.challengeConfig(hello); c != nil {
		t.Error("the challenge outlived its removal")
	}
}
