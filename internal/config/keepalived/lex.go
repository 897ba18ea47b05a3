// Package keepalived reads keepalived.conf files into a validated model.
//
// The reader follows keepalived's configuration language: words separated
// by blanks, "double quoted" words, comments starting with '#' or '!' at
// the start of a word, blocks in braces (the braces need no blank around
// them), `include <glob>` anywhere (relative paths resolve from the
// including file's directory), `$NAME=value` definitions used as `$NAME` or
// `${NAME}` (a definition whose line ends in '\' continues on the next line
// and expands to several lines), and `@id` / `@^id` line prefixes that keep
// a line only when the config id matches (or, with '^', does not). Like
// keepalived there is no general line continuation: '\' only continues a
// definition.
//
// Every problem is collected in a config.Diags naming file:line, never
// first-fail; unknown keywords are errors.
package keepalived

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"dhproxy/internal/config"
)

// node is one statement: its words and, when it opened a block, the
// statements inside the braces.
type node struct {
	pos   config.Pos
	words []string
	kids  []*node
	block bool // written with { }
}

type token struct {
	pos  config.Pos
	text string
	eol  bool // end of a line (text is empty)
	lit  bool // came from a quoted word: never a brace or keyword marker
}

// maxIncludeDepth bounds include nesting (keepalived refuses deep nesting
// too); maxExpand bounds $NAME expansion inside definitions.
const (
	maxIncludeDepth = 16
	maxExpand       = 16
	maxFileSize     = 16 << 20
	maxTotalSize    = 64 << 20 // all files and expansions together
	maxLineLen      = 64 << 10 // a line after $NAME expansion
)

type lexer struct {
	d        *config.Diags
	configID string
	defs     map[string]def
	toks     []token
	active   map[string]bool // files being read, for include loops
	total    int             // bytes read and expanded so far
	tooBig   bool            // maxTotalSize reached (reported once)
}

type def struct {
	lines []string
}

// readFile appends the tokens of one file.
func (l *lexer) readFile(path string, from config.Pos, depth int) {
	if depth > maxIncludeDepth {
		l.d.Errorf(from, "includes are nested more than %d deep at '%s'; flatten the include chain", maxIncludeDepth, path)
		return
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	if l.active[abs] {
		l.d.Errorf(from, "'%s' includes itself (directly or through other files); remove the include loop", path)
		return
	}
	var data []byte
	fi, err := os.Stat(path)
	switch {
	case err != nil:
	case !fi.Mode().IsRegular():
		err = errNotRegular
	case fi.Size() > maxFileSize:
		err = errTooLarge
	default:
		data, err = os.ReadFile(path)
	}
	if err == nil && from.Line != 0 && fi.Mode()&0o111 != 0 {
		err = errExecutable
	}
	if err != nil {
		if from.Line == 0 {
			l.d.Errorf(config.Pos{File: path}, "cannot open configuration file '%s': %v", path, unwrapPathErr(err))
		} else {
			// keepalived logs and skips an include it cannot read.
			l.d.Warnf(from, "included file '%s' skipped: %v (keepalived skips it too); fix the path or remove the include", path, unwrapPathErr(err))
		}
		return
	}
	l.total += len(data)
	if l.total > maxTotalSize {
		if !l.tooBig {
			l.d.Errorf(from, "configuration is larger than %d MiB with its includes; nothing more is read", maxTotalSize>>20)
			l.tooBig = true
		}
		return
	}
	l.active[abs] = true
	defer delete(l.active, abs)

	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		pos := config.Pos{File: path, Line: i + 1}
		line := lines[i]
		if strings.IndexByte(line, 0) >= 0 {
			l.d.Errorf(pos, "line contains a NUL byte; remove it")
			continue
		}
		trimmed := strings.TrimLeft(line, " \t\f\v\r")
		// @id and @^id prefixes.
		if strings.HasPrefix(trimmed, "@") {
			id, rest, _ := strings.Cut(trimmed[1:], " ")
			if t, r, ok := strings.Cut(trimmed[1:], "\t"); ok && len(t) < len(id) {
				id, rest = t, r
			}
			neg := strings.HasPrefix(id, "^")
			id = strings.TrimPrefix(id, "^")
			if id == "" {
				// keepalived compares the empty word like any other id:
				// '@ ...' is never used, '@^ ...' always is.
				if neg {
					l.d.Warnf(pos, "'@^' is not followed by a config id, so this line is used on every node (as keepalived does); write '@^ID' with no blank after '@^'")
				} else {
					l.d.Warnf(pos, "'@' is not followed by a config id, so this line is never used (keepalived skips it too); write '@ID' with no blank after '@'")
				}
			}
			if (id == l.configID) == neg {
				continue
			}
			trimmed = strings.TrimLeft(rest, " \t\f\v\r")
		}
		// $NAME=value definitions.
		if name, val, ok := parseDef(trimmed); ok {
			var vals []string
			for strings.HasSuffix(val, "\\") {
				vals = append(vals, strings.TrimRight(strings.TrimSuffix(val, "\\"), " \t"))
				if i+1 >= len(lines) {
					l.d.Errorf(pos, "definition of '$%s' ends with '\\' on the last line; remove the '\\' or add the next line", name)
					val = ""
					break
				}
				i++
				val = strings.TrimSpace(lines[i])
			}
			vals = append(vals, val)
			if len(vals) > 1 && vals[len(vals)-1] == "" {
				vals = vals[:len(vals)-1]
			}
			if len(vals) == 1 {
				v := l.expand(vals[0], pos, 0)
				if len(v) > maxLineLen {
					l.d.Errorf(pos, "definition of '$%s' is longer than %d KiB after expansion; shorten it", name, maxLineLen>>10)
					v = ""
				}
				l.defs[name] = def{lines: []string{v}}
			} else {
				l.defs[name] = def{lines: vals} // multiline: expanded when used
			}
			continue
		}
		for _, ln := range l.expandLine(trimmed, pos) {
			if len(ln) > maxLineLen {
				l.d.Errorf(pos, "line is longer than %d KiB after '$' expansion; shorten the definitions it uses", maxLineLen>>10)
				continue
			}
			l.total += len(ln)
			if l.total > maxTotalSize {
				if !l.tooBig {
					l.d.Errorf(pos, "configuration is larger than %d MiB with its includes and expansions; nothing more is read", maxTotalSize>>20)
					l.tooBig = true
				}
				return
			}
			l.lexLine(ln, pos, depth)
		}
	}
}

var (
	errNotRegular = errors.New("not a regular file")
	errTooLarge   = errors.New("file larger than 16 MiB")
	errExecutable = errors.New("executable files are not read as configuration")
)

func unwrapPathErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// parseDef recognises "$NAME=value".
func parseDef(s string) (name, val string, ok bool) {
	if !strings.HasPrefix(s, "$") {
		return "", "", false
	}
	n := nameLen(s[1:])
	if n == 0 || len(s) <= 1+n || s[1+n] != '=' {
		return "", "", false
	}
	return s[1 : 1+n], strings.TrimSpace(s[2+n:]), true
}

func nameLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return i
	}
	return len(s)
}

// expandLine substitutes definitions; a line that is only a multiline
// definition's name becomes its lines.
func (l *lexer) expandLine(s string, pos config.Pos) []string {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "$") {
		name := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(t, "$"), "{"), "}")
		if dd, ok := l.defs[name]; ok && len(dd.lines) > 1 && nameLen(name) == len(name) {
			var out []string
			for _, x := range dd.lines {
				out = append(out, l.expand(x, pos, 1))
			}
			return out
		}
	}
	return []string{l.expand(s, pos, 0)}
}

// expand replaces $NAME and ${NAME} with single-line definitions.
// Undefined names are left as written, as keepalived does, with a warning.
func (l *lexer) expand(s string, pos config.Pos, depth int) string {
	return l.expandStack(s, pos, depth, nil)
}

// expandStack does expand; stack holds the names being expanded, so that
// a definition using itself is reported instead of growing exponentially.
func (l *lexer) expandStack(s string, pos config.Pos, depth int, stack []string) string {
	if !strings.Contains(s, "$") {
		return s
	}
	if depth > maxExpand {
		l.d.Errorf(pos, "definitions refer to each other more than %d deep; remove the definition loop", maxExpand)
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		var name string
		end := i + 1
		if end < len(s) && s[end] == '{' {
			j := strings.IndexByte(s[end:], '}')
			if j < 0 {
				b.WriteByte('$')
				continue
			}
			name = s[end+1 : end+j]
			end += j + 1
			if nameLen(name) != len(name) || name == "" {
				b.WriteString(s[i:end])
				i = end - 1
				continue
			}
		} else {
			n := nameLen(s[end:])
			if n == 0 {
				b.WriteByte('$')
				continue
			}
			name = s[end : end+n]
			end += n
		}
		dd, ok := l.defs[name]
		switch {
		case !ok:
			l.d.Warnf(pos, "'$%s' is not defined and is left as written; define it first with a line '$%s=value'", name, name)
			b.WriteString(s[i:end])
		case len(dd.lines) > 1:
			l.d.Errorf(pos, "multiline definition '$%s' must be used alone on its line", name)
		case slices.Contains(stack, name):
			l.d.Errorf(pos, "'$%s' refers to itself through its definition; remove the loop", name)
			return s
		default:
			b.WriteString(l.expandStack(dd.lines[0], pos, depth+1, append(stack, name)))
		}
		if b.Len() > maxLineLen {
			return b.String() // reported by the caller
		}
		i = end - 1
	}
	return b.String()
}

// lexLine splits one line into tokens, handling include.
func (l *lexer) lexLine(s string, pos config.Pos, depth int) {
	if rest, ok := strings.CutPrefix(s, "include"); ok && (rest == "" || isBlank(rest[0])) {
		// The pattern is taken whole: braces are glob alternatives here.
		rest = strings.TrimSpace(rest)
		if len(rest) >= 2 && rest[0] == '"' {
			if end := strings.IndexByte(rest[1:], '"'); end >= 0 {
				rest = rest[1:end+1] + rest[end+2:]
			}
		}
		if i := strings.IndexAny(rest, "#!"); i >= 0 {
			rest = strings.TrimSpace(rest[:i])
		}
		if rest == "" || strings.ContainsAny(rest, " \t") {
			l.d.Errorf(pos, "'include' takes exactly one file name or glob, as in 'include /etc/keepalived/conf.d/*.conf'")
			return
		}
		l.include(rest, pos, depth)
		return
	}
	var toks []token
	i := 0
	for {
		for i < len(s) && isBlank(s[i]) {
			i++
		}
		if i >= len(s) || s[i] == '#' || s[i] == '!' {
			break
		}
		switch s[i] {
		case '{', '}':
			toks = append(toks, token{pos: pos, text: s[i : i+1]})
			i++
			continue
		case '"':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(s) {
				if s[j] == '\\' && j+1 < len(s) && (s[j+1] == '"' || s[j+1] == '\\') {
					b.WriteByte(s[j+1])
					j += 2
					continue
				}
				if s[j] == '"' {
					closed = true
					j++
					break
				}
				b.WriteByte(s[j])
				j++
			}
			if !closed {
				l.d.Errorf(pos, "unterminated quoted string; add the closing '\"'")
			}
			toks = append(toks, token{pos: pos, text: b.String(), lit: true})
			i = j
			continue
		}
		// As in keepalived 2.x, '#' and '!' start a comment even inside
		// an unquoted word.
		j := i
		for j < len(s) && !isBlank(s[j]) && s[j] != '{' && s[j] != '}' && s[j] != '"' && s[j] != '#' && s[j] != '!' {
			j++
		}
		toks = append(toks, token{pos: pos, text: s[i:j]})
		i = j
	}
	if len(toks) == 0 {
		return
	}
	l.toks = append(l.toks, toks...)
	l.toks = append(l.toks, token{pos: pos, eol: true})
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == '\f' || c == '\v' || c == '\r' }

func (l *lexer) include(pattern string, pos config.Pos, depth int) {
	if !filepath.IsAbs(pattern) {
		pattern = filepath.Join(filepath.Dir(pos.File), pattern)
	}
	isGlob := strings.ContainsAny(pattern, "*?[{")
	if !isGlob {
		l.readFile(pattern, pos, depth+1)
		return
	}
	var matches []string
	for _, pat := range braceExpand(pattern, 0) {
		m, err := filepath.Glob(pat)
		if err != nil {
			l.d.Errorf(pos, "bad include pattern '%s': %v; fix the glob syntax", pattern, err)
			return
		}
		matches = append(matches, m...)
	}
	if len(matches) == 0 {
		l.d.Warnf(pos, "include pattern '%s' matches no file; nothing included", pattern)
		return
	}
	sort.Strings(matches)
	matches = slices.Compact(matches)
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.IsDir() {
			continue
		}
		l.readFile(m, pos, depth+1)
	}
}

// braceExpand expands the first {a,b} group of a glob (GLOB_BRACE),
// recursively; nesting is bounded.
func braceExpand(p string, depth int) []string {
	open := strings.IndexByte(p, '{')
	if open < 0 || depth > 8 {
		return []string{p}
	}
	closeAt := strings.IndexByte(p[open:], '}')
	if closeAt < 0 {
		return []string{p}
	}
	closeAt += open
	var out []string
	for _, alt := range strings.Split(p[open+1:closeAt], ",") {
		out = append(out, braceExpand(p[:open]+alt+p[closeAt+1:], depth+1)...)
		if len(out) > 256 {
			break
		}
	}
	return out
}

// parseTree groups the tokens into statements and blocks.
func parseTree(toks []token, d *config.Diags) []*node {
	p := &treeParser{toks: toks, d: d}
	return p.list(0, config.Pos{})
}

type treeParser struct {
	toks []token
	i    int
	d    *config.Diags
}

func (p *treeParser) list(depth int, open config.Pos) []*node {
	var out []*node
	var cur *node
	for p.i < len(p.toks) {
		t := p.toks[p.i]
		p.i++
		switch {
		case t.eol:
			if cur != nil {
				out = append(out, cur)
				cur = nil
			}
		case !t.lit && t.text == "{":
			if cur == nil && len(out) > 0 && !out[len(out)-1].block {
				// "{" alone on the line after its keyword.
				cur = out[len(out)-1]
				out = out[:len(out)-1]
			}
			if cur == nil {
				cur = &node{pos: t.pos}
				p.d.Errorf(t.pos, "'{' without a keyword before it; write the block's keyword first, as in 'vrrp_instance VI_1 {'")
			}
			if depth >= 32 {
				p.d.Errorf(t.pos, "blocks are nested too deep")
				return out
			}
			cur.block = true
			cur.kids = p.list(depth+1, t.pos)
			out = append(out, cur)
			cur = nil
		case !t.lit && t.text == "}":
			if cur != nil {
				out = append(out, cur)
			}
			if depth == 0 {
				p.d.Errorf(t.pos, "'}' closes no block; remove it")
				cur = nil
				continue
			}
			return out
		default:
			if cur == nil {
				cur = &node{pos: t.pos}
			}
			cur.words = append(cur.words, t.text)
		}
	}
	if cur != nil {
		out = append(out, cur)
	}
	if depth > 0 {
		p.d.Errorf(open, "block opened here is never closed; add a '}'")
	}
	return out
}
