package model

import (
	"bytes"
	"dhproxy/internal/txtar"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dhproxy/internal/config"
)

var update = flag.Bool("update", false, "rewrite the expected output of golden tests")

// TestGoldenDiagnostics loads each testdata/*.txtar (its .cfg files, in
// order), builds the model and compares the diagnostics, printed as
// "dhproxy -c" prints them, with the "expect" section.
func TestGoldenDiagnostics(t *testing.T) {
	archives, _ := filepath.Glob("testdata/*.txtar")
	if len(archives) == 0 {
		t.Fatal("no golden files")
	}
	for _, path := range archives {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			a := txtar.Parse(string(raw))
			dir := t.TempDir()
			var cfgs []string
			for _, f := range a.Files {
				if strings.HasSuffix(f.Name, ".cfg") {
					os.WriteFile(filepath.Join(dir, f.Name), []byte(f.Data), 0o644)
					cfgs = append(cfgs, filepath.Join(dir, f.Name))
				}
			}
			var d config.Diags
			secs := config.Load(cfgs, func(string) (string, bool) { return "", false }, &d)
			cfg := Build(secs, &d)
			var out bytes.Buffer
			d.Write(&out, 0)
			if cfg == nil {
				out.WriteString("result: refused\n")
			} else {
				out.WriteString("result: valid\n")
			}
			got := strings.ReplaceAll(out.String(), dir+"/", "")
			if *update {
				out := txtar.Archive{Comment: a.Comment}
				for _, f := range a.Files {
					if f.Name != "expect" {
						out.Files = append(out.Files, f)
					}
				}
				out.Files = append(out.Files, txtar.File{Name: "expect", Data: got})
				os.WriteFile(path, []byte(out.Format()), 0o644)
				return
			}
			if want, _ := a.Get("expect"); got != want {
				t.Errorf("diagnostics differ (rerun with -update to accept)\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}
