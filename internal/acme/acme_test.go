package acme

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/model"
	"dhproxy/internal/tlsconf"
)

func TestDue(t *testing.T) {
	m := &Manager{}
	now := time.Now()
	cert := func(from, to time.Time) *tlsconf.Cert {
		return &tlsconf.Cert{TLS: &tls.Certificate{Leaf: &x509.Certificate{NotBefore: from, NotAfter: to}}}
	}
	if d := m.due(&model.ACME{}, nil); !d.IsZero() {
		t.Errorf("missing certificate: due %v, want now", d)
	}
	if d := m.due(&model.ACME{}, &tlsconf.Cert{TLS: &tls.Certificate{}, Placeholder: true}); !d.IsZero() {
		t.Errorf("placeholder: due %v, want now", d)
	}
	// 90 days: renewed 30 days before the end by default.
	c := cert(now, now.Add(90*24*time.Hour))
	if d := m.due(&model.ACME{}, c); !d.Equal(now.Add(60 * 24 * time.Hour)) {
		t.Errorf("default window: %v", d.Sub(now))
	}
	c = cert(now, now.Add(90*24*time.Hour))
	if d := m.due(&model.ACME{RenewBefore: 10 * 24 * time.Hour}, c); !d.Equal(now.Add(80 * 24 * time.Hour)) {
		t.Errorf("renew-before 10d: %v", d.Sub(now))
	}
}

func TestChallengeAnswer(t *testing.T) {
	m := &Manager{}
	m.tokens.Store("tok", "tok.thumb")
	resp, status, ok := m.Answer([]byte(ChallengePath + "tok"))
	if !ok || status != 200 || !strings.HasSuffix(string(resp), "\r\n\r\ntok.thumb") || !strings.Contains(string(resp), "content-length: 9\r\n") {
		t.Errorf("known token: %v %d %q", ok, status, resp)
	}
	if _, status, ok := m.Answer([]byte(ChallengePath + "other")); !ok || status != 404 {
		t.Errorf("unknown token: %v %d", ok, status)
	}
	if _, _, ok := m.Answer([]byte("/haproxy?stats")); ok {
		t.Error("other path answered")
	}
}

func TestAccountKeyMadeOnce(t *testing.T) {
	p := filepath.Join(t.TempDir(), "account.key")
	k1, err := accountKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v %v", fi, err)
	}
	k2, err := accountKey(p)
	if err != nil {
		t.Fatal(err)
	}
	if !k1.(*ecdsa.PrivateKey).Equal(k2) {
		t.Error("the saved account key is not the one read back")
	}
	os.WriteFile(p, []byte("garbage"), 0o600)
	if _, err := accountKey(p); err == nil || !strings.Contains(err.Error(), "no PEM private key") {
		t.Errorf("garbage key: %v", err)
	}
}
