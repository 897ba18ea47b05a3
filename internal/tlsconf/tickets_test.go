package tlsconf

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func keyLine(b byte, n int) string {
	k := make([]byte, n)
	for i := range k {
		k[i] = b
	}
	return base64.StdEncoding.EncodeToString(k)
}

func TestTicketKeysFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "keys")
	// Four keys: the last three are used, as HAProxy does.
	os.WriteFile(file, []byte(strings.Join([]string{keyLine(1, 48), keyLine(2, 48), "# comment", keyLine(3, 48), keyLine(4, 48)}, "\n")), 0o600)
	reg := NewRegistry()
	a := selfSigned(t, dir, "a.pem", "a.test")
	for range 2 {
		if _, err := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: a}}, Registry: reg, TicketKeys: file}, &Defaults{}, func(string) {}); err != nil {
			t.Fatal(err)
		}
	}
	want := "# id secret\n# 0 (" + file + ")\n0.0 " + keyLine(2, 48) + "\n0.1 " + keyLine(3, 48) + "\n0.2 " + keyLine(4, 48) + "\n"
	if got := reg.ShowTLSKeys("*"); got != want {
		t.Errorf("show tls-keys *:\n%s", got)
	}
	if got := reg.ShowTLSKeys(""); got != "# id (file)\n0 ("+file+")\n" {
		t.Errorf("two binds, one file: one reference, got\n%s", got)
	}
	if got := reg.SetTLSKey("#0", keyLine(5, 48)); got != "TLS ticket key updated!\n" {
		t.Errorf("set: %q", got)
	}
	if got := reg.ShowTLSKeys(file); !strings.HasSuffix(got, "0.0 "+keyLine(3, 48)+"\n0.1 "+keyLine(4, 48)+"\n0.2 "+keyLine(5, 48)+"\n") {
		t.Errorf("after rotation:\n%s", got)
	}
	for key, want := range map[string]string{"!!": "invalid base64", keyLine(1, 80): "wrong size", "": "expects a filename"} {
		if got := reg.SetTLSKey("#0", key); !strings.Contains(got, want) {
			t.Errorf("set %q: %q", key, got)
		}
	}
	for content, want := range map[string]string{
		keyLine(1, 48) + "\n" + keyLine(2, 48): "at least 3 keys",
		"%%%\n":                                "unable to decode base64 key on line 1",
		keyLine(1, 32):                         "wrong sized key on line 1",
		keyLine(1, 48) + "\n" + keyLine(2, 80) + "\n" + keyLine(3, 48): "line 2",
	} {
		bad := filepath.Join(t.TempDir(), "bad")
		os.WriteFile(bad, []byte(content), 0o600)
		_, err := Server(&BindOpts{SSL: true, Certs: []CertSource{{Path: a}}, TicketKeys: bad}, &Defaults{}, func(string) {})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: want %q, got %v", content, want, err)
		}
	}
}

func FuzzTicketKeys(f *testing.F) {
	f.Add(keyLine(1, 48) + "\n" + keyLine(2, 48) + "\n" + keyLine(3, 48) + "\n")
	f.Add("#\n\n" + keyLine(1, 80))
	f.Fuzz(func(t *testing.T, s string) {
		keys, err := parseTicketKeys("f", strings.NewReader(s))
		if err == nil && len(keys) < ticketKeysInUse {
			t.Fatalf("%d keys accepted", len(keys))
		}
	})
}
