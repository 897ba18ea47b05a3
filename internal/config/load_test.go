package config

import (
	"dhproxy/internal/txtar"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the expectations of testdata/load/*.txtar")

// word prints a word bare when that is unambiguous, quoted otherwise.
func word(w string) string {
	if w == "" || !utf8.ValidString(w) || strings.ContainsFunc(w, func(r rune) bool {
		return r <= ' ' || r == '"' || r == '\\' || r >= 0x7f
	}) {
		return strconv.Quote(w)
	}
	return w
}

func words(ws []string) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteByte(' ')
		b.WriteString(word(w))
	}
	return b.String()
}

// summary renders what Load returned in the golden files' format.
func summary(secs []Section, d *Diags) string {
	var b strings.Builder
	for _, s := range secs {
		fmt.Fprintf(&b, "%s %s%s", s.Pos, s.Kind, words(s.Args))
		if s.Scope != "" {
			fmt.Fprintf(&b, " [scope %s]", s.Scope)
		}
		b.WriteByte('\n')
		for _, l := range s.Lines {
			fmt.Fprintf(&b, "  %s%s", l.Pos, words(l.Args))
			if l.Scope != "" {
				fmt.Fprintf(&b, " [scope %s]", l.Scope)
			}
			b.WriteByte('\n')
		}
	}
	b.WriteString("diagnostics:\n")
	d.Write(&b, 0)
	return b.String()
}

// TestGolden loads each testdata/load/*.txtar archive. Special members:
// "expect" holds the expected summary, "env" NAME=value lines for the
// environment, "args" the paths to load (one a line; default: every other
// member in order). Every other member is written to a scratch directory.
func TestGolden(t *testing.T) {
	archives, err := filepath.Glob("testdata/load/*.txtar")
	if err != nil || len(archives) == 0 {
		t.Fatalf("no golden archives: %v", err)
	}
	for _, path := range archives {
		abs, err := filepath.Abs(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			data, err := os.ReadFile(abs)
			if err != nil {
				t.Fatal(err)
			}
			a := txtar.Parse(string(data))
			dir := t.TempDir()
			vars := map[string]string{}
			var paths []string
			var haveArgs bool
			expect := -1
			for i, f := range a.Files {
				switch f.Name {
				case "expect":
					expect = i
				case "env":
					for line := range strings.Lines(f.Data) {
						if name, val, ok := strings.Cut(strings.TrimSuffix(line, "\n"), "="); ok {
							vars[name] = val
						}
					}
				case "args":
					haveArgs = true
					paths = append(paths, strings.Fields(f.Data)...)
				default:
					p := filepath.Join(dir, filepath.FromSlash(f.Name))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte(f.Data), 0o644); err != nil {
						t.Fatal(err)
					}
					if !haveArgs {
						paths = append(paths, f.Name)
					}
				}
			}
			env := func(name string) (string, bool) {
				v, ok := vars[name]
				return v, ok
			}
			t.Chdir(dir) // so that file names in positions stay relative

			var d Diags
			got := summary(Load(paths, env, &d), &d)

			if *update {
				if expect < 0 {
					a.Files = append(a.Files, txtar.File{Name: "expect"})
					expect = len(a.Files) - 1
				}
				a.Files[expect].Data = got
				if err := os.WriteFile(abs, []byte(a.Format()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if expect < 0 {
				t.Fatalf("%s has no expect section; run with -update", path)
			}
			if want := a.Files[expect].Data; got != want {
				t.Errorf("%s: Load summary differs\n--- got:\n%s--- want:\n%s", path, got, want)
			}
		})
	}
}

// load writes files into a scratch directory and loads them.
func load(t *testing.T, env Env, files ...string) ([]Section, *Diags) {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for i := 0; i+1 < len(files); i += 2 {
		p := filepath.Join(dir, files[i])
		if err := os.WriteFile(p, []byte(files[i+1]), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	var d Diags
	return Load(paths, env, &d), &d
}

func diagText(d *Diags) string {
	var b strings.Builder
	for _, x := range d.List {
		fmt.Fprintf(&b, "%d %s\n", x.Pos.Line, x.Msg)
	}
	return b.String()
}

func TestLoadNUL(t *testing.T) {
	// The part before a NUL is used; a NUL on the last line is reported
	// as a truncated file, elsewhere as a stray NUL that stops the file.
	secs, d := load(t, testEnv(), "a.cfg", "global\n  maxconn 1\x00junk\n  nbthread 2\n")
	if len(secs) != 1 || len(secs[0].Lines) != 1 || !slices.Equal(secs[0].Lines[0].Args, []string{"maxconn", "1"}) {
		t.Errorf("sections = %+v", secs)
	}
	if got, want := diagText(d), "2 Stray NUL character at position 12.\n"; got != want {
		t.Errorf("diagnostics = %q, want %q", got, want)
	}
	_, d = load(t, testEnv(), "a.cfg", "global\n  maxconn 1\x00junk\n")
	if got, want := diagText(d), "2 Missing LF on last line, file might have been truncated at position 12.\n"; got != want {
		t.Errorf("diagnostics = %q, want %q", got, want)
	}
}

func TestLoadMissingLF(t *testing.T) {
	secs, d := load(t, testEnv(), "a.cfg", "global\n  maxconn 1")
	if len(secs) != 1 || len(secs[0].Lines) != 1 {
		t.Errorf("the last line is still used: %+v", secs)
	}
	if got, want := diagText(d), "2 Missing LF on last line, file might have been truncated at position 12.\n"; got != want {
		t.Errorf("diagnostics = %q, want %q", got, want)
	}
	_, d = load(t, testEnv(), "a.cfg", "", "b.cfg", "global\n")
	if len(d.List) != 0 {
		t.Errorf("empty file: %s", diagText(d))
	}
}

func TestLoadTooManyErrors(t *testing.T) {
	var b strings.Builder
	for range 60 {
		b.WriteString("x\n")
	}
	_, d := load(t, testEnv(), "a.cfg", b.String())
	if n := d.Count(Alert); n != 51 {
		t.Errorf("got %d alerts, want 50 errors and one stop", n)
	}
	if last := d.List[len(d.List)-1]; last.Pos.Line != 51 || last.Msg != "too many fatal errors (50), stopping now." {
		t.Errorf("last diagnostic = %+v", last)
	}
}

func TestLoadTooManyNestedIfs(t *testing.T) {
	src := "global\n" + strings.Repeat(".if 1\n", 100) + "  maxconn 1\n"
	secs, d := load(t, testEnv(), "a.cfg", src)
	if len(secs) != 1 || len(secs[0].Lines) != 0 {
		t.Errorf("sections = %+v", secs)
	}
	if got, want := diagText(d), "101 too many nested '.if', max is 100.\n"+
		"101 non-terminated '.if' block: the '.if' at line 2 has no matching '.endif'.\n"; got != want {
		t.Errorf("diagnostics = %q, want %q", got, want)
	}
	// 99 levels are fine.
	src = "global\n" + strings.Repeat(".if 1\n", 99) + "  maxconn 1\n" + strings.Repeat(".endif\n", 99)
	secs, d = load(t, testEnv(), "a.cfg", src)
	if len(d.List) != 0 || len(secs[0].Lines) != 1 {
		t.Errorf("99 levels: %s %+v", diagText(d), secs)
	}
}

func TestLoadUnreadable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads everything")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "a.cfg")
	if err := os.WriteFile(p, []byte("global\n"), 0o000); err != nil {
		t.Fatal(err)
	}
	var d Diags
	Load([]string{p}, nil, &d)
	if got, want := diagText(&d), "0 Could not open configuration file "+p+" : Permission denied\n"; got != want {
		t.Errorf("diagnostics = %q, want %q", got, want)
	}
}

func TestLoadDefaultEnv(t *testing.T) {
	t.Setenv("DHPROXY_LOAD_TEST", "7")
	secs, d := load(t, nil, "a.cfg", "global\n.if defined(DHPROXY_LOAD_TEST)\n  nbthread \"$DHPROXY_LOAD_TEST\"\n.endif\n")
	if len(d.List) != 0 || len(secs) != 1 || len(secs[0].Lines) != 1 || secs[0].Lines[0].Args[1] != "7" {
		t.Errorf("got %+v, %s", secs, diagText(d))
	}
}

func TestSanitizeForPrinting(t *testing.T) {
	long := strings.Repeat("abcdefghij", 12) // 120 bytes
	tests := []struct {
		line       string
		pos, width int
		want       string
		wantPos    int
	}{
		{"a\tb\x01c", 2, 80, "a b?c", 2},
		{long, 10, 80, long[:80], 10},
		{long, 100, 80, "..." + long[63:] + "...", 40},
		{long + long, 100, 80, "..." + (long + long)[63:137] + "...", 40},
	}
	for _, tt := range tests {
		got, pos := sanitizeForPrinting(tt.line, tt.pos, tt.width)
		if got != tt.want || pos != tt.wantPos {
			t.Errorf("sanitizeForPrinting(%q, %d, %d) = %q, %d; want %q, %d", tt.line, tt.pos, tt.width, got, pos, tt.want, tt.wantPos)
		}
	}
}

// quoteWords writes words so that SplitLine gives them back: each byte in
// single quotes, except single quotes, CR and LF which are escaped.
func quoteWords(ws []string) string {
	var b strings.Builder
	for i, w := range ws {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("''")
		for _, c := range []byte(w) {
			switch c {
			case '\'':
				b.WriteString(`\'`)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			default:
				b.WriteString("'")
				b.WriteByte(c)
				b.WriteString("'")
			}
		}
	}
	return b.String()
}

func FuzzSplitLine(f *testing.F) {
	for _, s := range []string{
		`log-format "%{+Q}o %t"' %s'\ %{-Q}r`,
		`reqrep "^([^\ :]*)\ /static/(.*)"     \1\ /\2`,
		`bind "fd@${FD_APP1}" # comment`,
		`log "${LOCAL_SYSLOG-127.0.0.1}:514" local0`,
		`x"${ARR[*]}"y "$NOPE" "${SP[*]}" \x41\x00 a\#b`,
		`"${FOO:-x}"`, `a "b`, `\x4g`, `"$.LINE"`, "a\tb\rc",
	} {
		f.Add(s)
	}
	env := testEnv()
	f.Fuzz(func(t *testing.T, s string) {
		got, err := SplitLine(s, env)
		again, err2 := SplitLine(s, env)
		if !slices.Equal(got, again) || (err == nil) != (err2 == nil) {
			t.Fatalf("SplitLine(%q) is not deterministic", s)
		}
		if err != nil {
			return
		}
		for _, w := range got {
			if strings.IndexByte(w, 0) >= 0 {
				t.Fatalf("SplitLine(%q) = %q: word holds a NUL", s, got)
			}
		}
		// What follows an unquoted, unescaped '#' never reaches a word.
		// The blank before it may only make a trailing "" count.
		if !strings.HasSuffix(s, `\`) && !strings.ContainsAny(s, "\x00\n\r") && len(got) < MaxLineArgs-1 {
			with, err := SplitLine(s+" #\"'x \\ ${", env)
			if n := len(with); err == nil && n == len(got)+1 && with[n-1] == "" {
				with = with[:n-1]
			}
			if err != nil || !slices.Equal(with, got) {
				t.Fatalf("SplitLine(%q) = %q, but with a comment appended: %q, %v", s, got, with, err)
			}
		}
		// The words survive quoting and splitting again, unless a
		// trailing empty word would be dropped.
		if n := len(got); n > 0 && got[n-1] != "" {
			q := quoteWords(got)
			back, err := SplitLine(q, env)
			if err != nil || !slices.Equal(back, got) {
				t.Fatalf("SplitLine(%q) = %q; requoted as %q it gives %q, %v", s, got, q, back, err)
			}
		}
	})
}

func FuzzLoad(f *testing.F) {
	for _, s := range []string{
		"global\n  maxconn 100\n\ndefaults web from base\n  mode http\n",
		"global\n.if defined(FOO) && !streq(\"$FOO\",x)\n  nbthread 2\n.elif 1\n.else\n.endif\n",
		".if 0\n.if (((\n.endif\n.else\nfrontend f\n.warning \"w\"\n.alert x y\n.endif\n",
		"[scope]\nbackend b\n  server s \"${ARR[*]}\" \"$NOPE\"\n\"\" x\n",
		"x 'unterminated\nlisten l \\x4\n.endif\n.if",
	} {
		f.Add(s)
	}
	env := testEnv()
	// One file per worker process: inputs run one at a time in a worker,
	// and a directory per input costs more than Load itself.
	p := filepath.Join(f.TempDir(), "f.cfg")
	f.Fuzz(func(t *testing.T, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		var d Diags
		secs := Load([]string{p}, env, &d)
		lines := strings.Count(s, "\n") + 1
		for _, sec := range secs {
			if !slices.Contains(SectionKeywords, sec.Kind) || sec.Pos.Line < 1 || sec.Pos.Line > lines {
				t.Fatalf("bad section %+v", sec)
			}
			for _, l := range sec.Lines {
				if len(l.Args) == 0 || l.Args[0] == "" || l.Pos.Line <= sec.Pos.Line || l.Pos.Line > lines {
					t.Fatalf("bad line %+v in section at %v", l, sec.Pos)
				}
			}
		}
		for _, x := range d.List {
			if x.Pos.File != p || x.Pos.Line > lines || x.Msg == "" {
				t.Fatalf("bad diagnostic %+v", x)
			}
		}
	})
}
