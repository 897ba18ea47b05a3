package model

import (
	"dhproxy/internal/txtar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dhproxy/internal/config"
)

// FuzzBuild feeds arbitrary configurations through the loader and every
// keyword handler: bad input must give diagnostics, never a panic, and a
// refused configuration must say why.
func FuzzBuild(f *testing.F) {
	archives, _ := filepath.Glob("testdata/*.txtar")
	for _, a := range archives {
		raw, err := os.ReadFile(a)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range txtar.Parse(string(raw)).Files {
			if strings.HasSuffix(file.Name, ".cfg") {
				f.Add(file.Data)
			}
		}
	}
	f.Add("listen l :80\n server s 1.2.3.4 check port 0 weight 300\n bind :1-0,unix@\n timeout client 99999999999\n")
	path := filepath.Join(f.TempDir(), "fuzz.cfg")
	f.Fuzz(func(t *testing.T, text string) {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		var d config.Diags
		cfg := Build(config.Load([]string{path}, func(string) (string, bool) { return "", false }, &d), &d)
		if cfg == nil && !d.HasErrors() {
			t.Fatalf("configuration refused without an error:\n%s", text)
		}
	})
}
