package model

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dhproxy/internal/config"
)

var update = flag.Bool("update", false, "rewrite the expected output of golden tests")

// readArchive splits a txtar-style file: "-- name --" lines start files.
func readArchive(data string) (names []string, files map[string]string) {
	files = map[string]string{}
	cur := ""
	for _, line := range strings.SplitAfter(data, "\n") {
		t := strings.TrimRight(line, "\n")
		if strings.HasPrefix(t, "-- ") && strings.HasSuffix(t, " --") && len(t) > 6 {
			cur = t[3 : len(t)-3]
			names = append(names, cur)
			files[cur] = ""
			continue
		}
		if cur != "" {
			files[cur] += line
		}
	}
	return names, files
}

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
			names, files := readArchive(string(raw))
			dir := t.TempDir()
			var cfgs []string
			for _, n := range names {
				if strings.HasSuffix(n, ".cfg") {
					os.WriteFile(filepath.Join(dir, n), []byte(files[n]), 0o644)
					cfgs = append(cfgs, filepath.Join(dir, n))
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
				var b strings.Builder
				for _, n := range names {
					if n == "expect" {
						continue
					}
					b.WriteString("-- " + n + " --\n" + files[n])
				}
				b.WriteString("-- expect --\n" + got)
				os.WriteFile(path, []byte(b.String()), 0o644)
				return
			}
			if want := files["expect"]; got != want {
				t.Errorf("diagnostics differ (rerun with -update to accept)\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}
