package model

import (
	"dhproxy/internal/txtar"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// lineSections are the sections FuzzBuildLine puts its line in; each
// follows a configuration that is valid without it.
var lineSections = []string{"global", "defaults", "frontend f", "backend b", "listen l",
	"userlist u", "peers p", "resolvers r", "mailers m", "http-errors e", "ring rg",
	"cache c", "log-forward lf", "fcgi-app app", "program pg"}

// FuzzBuildLine puts one arbitrary line in one section of a valid
// configuration: mutations reach each keyword's arguments far more often
// than they do through FuzzBuild's whole files. The seeds are the lines of
// the golden configurations, in the sections they were written in.
func FuzzBuildLine(f *testing.F) {
	archives, _ := filepath.Glob("testdata/*.txtar")
	seen := map[string]bool{}
	for _, a := range archives {
		raw, err := os.ReadFile(a)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range txtar.Parse(string(raw)).Files {
			if !strings.HasSuffix(file.Name, ".cfg") {
				continue
			}
			kind := -1
			for _, line := range strings.Split(file.Data, "\n") {
				words := strings.Fields(line)
				if len(words) == 0 {
					continue
				}
				if line[0] != ' ' && line[0] != '\t' {
					kind = slices.IndexFunc(lineSections, func(s string) bool {
						return strings.Fields(s)[0] == words[0]
					})
					continue
				}
				if key := fmt.Sprint(kind, line); kind >= 0 && !seen[key] {
					seen[key] = true
					f.Add(uint8(kind), strings.TrimSpace(line))
				}
			}
		}
	}
	dir := f.TempDir()
	path, errorfile := filepath.Join(dir, "fuzz.cfg"), filepath.Join(dir, "503.http")
	if err := os.WriteFile(errorfile, []byte("HTTP/1.0 503 Busy\r\n\r\n"), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, kind uint8, line string) {
		line = strings.NewReplacer("\n", " ", "\r", " ").Replace(line)
		var b strings.Builder
		add := func(section string, lines ...string) {
			b.WriteString(section + "\n")
			for _, l := range lines {
				b.WriteString("    " + l + "\n")
			}
			if section == lineSections[int(kind)%len(lineSections)] {
				b.WriteString("    " + line + "\n")
			}
		}
		add("global")
		add("defaults", "mode http", "timeout connect 1s", "timeout client 1s", "timeout server 1s")
		add("frontend f", "bind 127.0.0.1:8080", "default_backend b")
		add("backend b", "server s 127.0.0.1:8081")
		add("listen l", "mode tcp", "bind 127.0.0.1:8082", "server s 127.0.0.1:8083")
		add("userlist u", "user admin insecure-password secret")
		add("peers p", "peer local 127.0.0.1:10000")
		add("resolvers r", "nameserver ns 127.0.0.1:53")
		add("mailers m", "mailer smtp 127.0.0.1:25")
		add("http-errors e", "errorfile 503 "+errorfile)
		add("ring rg", "size 32768")
		add("cache c", "total-max-size 4")
		add("log-forward lf", "dgram-bind 127.0.0.1:10514", "log 127.0.0.1:10515 local0")
		add("fcgi-app app", "docroot /var/www")
		add("program pg", "command true")
		text := b.String()
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
