package tlsconf

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bindWith builds one bind's configuration over reg and returns its
// certificate choice for a name.
func bindWith(t *testing.T, reg *Registry, certs ...CertSource) func(sni string) (string, error) {
	t.Helper()
	cfg, err := Server(&BindOpts{SSL: true, Certs: certs, Registry: reg, Where: "test.cfg:3"}, &Defaults{}, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	return func(sni string) (string, error) {
		c, err := cfg.GetCertificate(&tls.ClientHelloInfo{ServerName: sni})
		if err != nil {
			return "", err
		}
		return leafCN(t, c), nil
	}
}

func TestRuntimeCertTransaction(t *testing.T) {
	dir := t.TempDir()
	a := selfSigned(t, dir, "a.pem", "a.test")
	reg := NewRegistry()
	pick := bindWith(t, reg, CertSource{Path: a})
	next, _ := os.ReadFile(selfSigned(t, t.TempDir(), "n.pem", "renewed.test", "a.test"))

	if got := reg.CommitCert(a); got != "No ongoing transaction! !\nCan't commit "+a+"!\n" {
		t.Errorf("commit without transaction: %q", got)
	}
	if got := reg.SetCert(a, ""); !strings.Contains(got, "expects a filename and a certificate as a payload") {
		t.Errorf("set without payload: %q", got)
	}
	if got := reg.SetCert("/nowhere.pem", string(next)); !strings.HasPrefix(got, "Can't replace a certificate which is not referenced") {
		t.Errorf("set of an unknown file: %q", got)
	}
	if got := reg.SetCert(a, "garbage"); got != "unable to load certificate from file '"+a+"'.\nCan't load the payload\nCan't update "+a+"!\n" {
		t.Errorf("set garbage: %q", got)
	}
	certOnly := string(next[:strings.Index(string(next), "-----BEGIN PRIVATE KEY")])
	reg.SetCert(a, certOnly)
	if got := reg.CommitCert(a); !strings.HasPrefix(got, "The transaction must contain at least a certificate and a private key!") {
		t.Errorf("commit without key: %q", got)
	}
	if got := reg.SetCert(a, string(next)); got != "Transaction updated for certificate "+a+"!\n" {
		t.Errorf("set: %q", got)
	}
	if cn, _ := pick("a.test"); cn != "a.test" {
		t.Errorf("before commit: %s", cn)
	}
	if got := reg.CommitCert(a); got != "Committing "+a+".\nSuccess!\n" {
		t.Errorf("commit: %q", got)
	}
	for _, sni := range []string{"a.test", "renewed.test", ""} {
		if cn, _ := pick(sni); cn != "renewed.test" {
			t.Errorf("after commit, %q: %s", sni, cn)
		}
	}
	if got := reg.AbortCert(a); got != "No ongoing transaction!\n" {
		t.Errorf("abort: %q", got)
	}
	if got := reg.DelCert(a); !strings.Contains(got, "in use, can't be deleted") {
		t.Errorf("del in use: %q", got)
	}
}

func TestRuntimeCrtListEdits(t *testing.T) {
	dir := t.TempDir()
	a := selfSigned(t, dir, "a.pem", "a.test")
	b := selfSigned(t, dir, "b.pem", "b.test")
	list := filepath.Join(dir, "list")
	os.WriteFile(list, []byte(a+"\n"+b+" [alpn http/1.1] b.test !x.b.test\n"), 0o644)
	reg := NewRegistry()
	pick := bindWith(t, reg, CertSource{Path: list, List: true})
	d := filepath.Join(dir, "d.pem")
	dPEM, _ := os.ReadFile(selfSigned(t, t.TempDir(), "d.pem", "d.test"))

	if got := reg.ShowCrtList([]string{"-n", list}); got != "# "+list+"\n"+a+":1\n"+b+":2 [alpn http/1.1] b.test !x.b.test\n" {
		t.Errorf("show ssl crt-list -n:\n%s", got)
	}
	if got := reg.ShowCrtList(nil); got != list+"\n" {
		t.Errorf("show ssl crt-list: %q", got)
	}
	if got := reg.ShowCrtList([]string{"nolist"}); got != "didn't find the specified filename\n" {
		t.Errorf("unknown list: %q", got)
	}
	reg.NewEmptyCert(d)
	if got := reg.NewEmptyCert(d); got != "Certificate '"+d+"' already exists!\n" {
		t.Errorf("new twice: %q", got)
	}
	if got := reg.ShowCert(d); got != "Filename: "+d+"\nStatus: Empty\nOCSP Response Key: \n" {
		t.Errorf("show empty: %q", got)
	}
	if got := reg.AddCrtList(list, d); !strings.HasSuffix(got, "is empty!\n") {
		t.Errorf("add empty: %q", got)
	}
	reg.SetCert(d, string(dPEM))
	reg.CommitCert(d)
	if got := reg.AddCrtList(list, d+" d.test"); got != "Inserting certificate '"+d+"' in crt-list '"+list+"'.\nSuccess!\n" {
		t.Errorf("add: %q", got)
	}
	if cn, _ := pick("d.test"); cn != "d.test" {
		t.Errorf("after add: %s", cn)
	}
	reg.AddCrtList(list, d+" other.test")
	if got := reg.DelCrtList(list, d); !strings.Contains(got, "in several entries, please specify a line number preceded by colons (3, 4)!") {
		t.Errorf("ambiguous del: %q", got)
	}
	if got := reg.DelCrtList(list, a); got != "Can't delete the entry: certificate '"+a+"' cannot be deleted, it is used as default certificate by the following frontends:\n\t- test.cfg:3\n\n" {
		t.Errorf("del of the default: %q", got)
	}
	if got := reg.DelCrtList(list, d+":3"); got != "Entry '"+d+"' deleted in crtlist '"+list+"'!\n" {
		t.Errorf("del: %q", got)
	}
	if cn, _ := pick("d.test"); cn != "a.test" {
		t.Errorf("after del, d.test gets %s, want the default", cn)
	}
	if cn, _ := pick("other.test"); cn != "d.test" {
		t.Errorf("the other line is still there: %s", cn)
	}
	if cn, _ := pick("x.b.test"); cn != "a.test" {
		t.Errorf("negative filter: %s", cn)
	}
}

// FuzzCertPayload: any payload gives a transaction or an error reply,
// never a panic.
func FuzzCertPayload(f *testing.F) {
	f.Add("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
	f.Add("-----BEGIN PRIVATE KEY-----\n\n-----END PRIVATE KEY-----\n")
	f.Fuzz(func(t *testing.T, payload string) {
		p, err := parsePayload("x.pem", []byte(payload))
		if err == nil && len(p.certs) == 0 && p.key == nil {
			t.Fatal("empty transaction accepted")
		}
	})
}
