package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// SectionKeywords are the words that open a section (HAProxy 3.x's
// registered config sections). A line starting with one of them starts a
// new Section; every other line belongs to the section above it.
var SectionKeywords = []string{
	"global", "defaults", "frontend", "backend", "listen",
	"userlist", "peers", "resolvers", "mailers", "program",
	"http-errors", "ring", "cache", "log-forward", "crt-store",
	"traces", "namespace_list", "acme", "fcgi-app",
}

const (
	maxNestedConds = 100 // HAProxy's MAXNESTEDCONDS: at most 99 nested .if
	maxFatal       = 50  // a file stops being read after this many errors
	printWidth     = 80  // width of the excerpt quoted under an error
)

// Load reads the configuration files and directories in paths, in order,
// and returns their sections in order. A directory contributes its
// regular files whose name ends with ".cfg" (first ".cfg" at the very end,
// so "a.cfg.cfg" is skipped) and does not start with '.', sorted bytewise,
// without recursion, as HAProxy's -f does. Every path is checked before
// any file is read, so "Cannot open" errors come first.
//
// Each file starts outside any section, like in HAProxy: lines before the
// first section keyword of a file are errors even if the previous file
// ended inside a section. Problems go into d and loading goes on: where
// HAProxy would stop (.alert, a bad .if condition, a lone .endif) dhproxy
// records the error and carries on so that one run reports everything.
// A bad .if/.elif condition drops every branch of its block.
func Load(paths []string, env Env, d *Diags) []Section {
	l := &loader{d: d}
	l.env = &envOverlay{base: env.orDefault()}
	for _, f := range expandPaths(paths, d) {
		data, err := os.ReadFile(f)
		if err != nil {
			d.Errorf(Pos{File: f}, "Could not open configuration file %s : %s", f, errnoText(err))
			continue
		}
		l.loadFile(f, data)
	}
	return l.sections
}

func expandPaths(paths []string, d *Diags) []string {
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			d.Errorf(Pos{File: p}, "Cannot open configuration file/directory %s : %s", p, errnoText(err))
			continue
		}
		if !st.IsDir() {
			files = append(files, p)
			continue
		}
		// ReadDir sorts bytewise, which is alphasort() in the C locale.
		entries, err := os.ReadDir(p)
		if err != nil {
			d.Errorf(Pos{File: p}, "Cannot open configuration directory %s : %s", p, errnoText(err))
			continue
		}
		for _, e := range entries {
			name := e.Name()
			if i := strings.Index(name, ".cfg"); name[0] == '.' || i < 0 || i != len(name)-4 {
				continue
			}
			f := p + "/" + name // HAProxy's "%s/%s", even if p ends with '/'
			st, err := os.Stat(f)
			if err != nil {
				d.Errorf(Pos{File: f}, "Cannot open configuration file %s : %s", f, errnoText(err))
				continue
			}
			if st.Mode().IsRegular() {
				files = append(files, f)
			}
		}
	}
	return files
}

// errnoText spells an OS error the way strerror() does.
func errnoText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		msg := errno.Error()
		return strings.ToUpper(msg[:1]) + msg[1:]
	}
	return err.Error()
}

// condState is the state of one .if level (HAProxy's nested_cond_state).
type condState uint8

const (
	ifTake   condState = iota // the .if branch is being read
	ifDrop                    // the .if was false, a later branch may be taken
	ifSkip                    // nothing in this block is taken
	elifTake                  // this .elif is being read
	elifDrop                  // this .elif was false, a later one may be taken
	elifSkip                  // a previous branch was taken
	elseTake                  // the .else is being read
	elseDrop                  // the .else is skipped
)

func (s condState) taking() bool { return s == ifTake || s == elifTake || s == elseTake }

// decided reports whether a branch was already taken (or the whole block
// is skipped), so later .elif/.else branches are dropped.
func (s condState) decided() bool {
	return s == ifTake || s == ifSkip || s == elifTake || s == elifSkip
}

type condLevel struct {
	state condState
	line  int // where the .if is, to name it if it is never closed
}

type loader struct {
	env           *envOverlay // changed by the global section's setenv lines
	d             *Diags
	sections      []Section
	nonGlobalSeen bool

	// per file
	file    string
	line    int
	cur     int    // index of the current section, -1 before the first
	section string // $.SECTION: the current section's name
	scope   string
	conds   []condLevel
	fatal   int
}

func (l *loader) pos() Pos { return Pos{File: l.file, Line: l.line} }

func (l *loader) loadFile(file string, data []byte) {
	l.file, l.line, l.cur, l.section, l.scope, l.conds, l.fatal = file, 0, -1, "", "", nil, 0
	// missingLF is the length of a line that did not end with LF (or was
	// cut by a NUL byte); HAProxy reports it against the next line, or at
	// the end of the file.
	missingLF := -1
	for rest := data; len(rest) > 0; {
		line, next, lf := bytes.Cut(rest, []byte{'\n'})
		rest = next
		if missingLF >= 0 {
			l.d.Errorf(l.pos(), "Stray NUL character at position %d.", missingLF+1)
			missingLF = -1
			break
		}
		l.line++
		if l.fatal >= maxFatal {
			l.d.Errorf(l.pos(), "too many fatal errors (%d), stopping now.", l.fatal)
			break
		}
		if k := bytes.IndexByte(line, 0); k >= 0 {
			line, missingLF = line[:k], k
		} else if !lf {
			missingLF = len(line)
		}
		if !l.processLine(string(line)) {
			break
		}
	}
	if missingLF >= 0 {
		l.d.Errorf(l.pos(), "Missing LF on last line, file might have been truncated at position %d.", missingLF+1)
	}
	if len(l.conds) > 0 {
		l.d.Errorf(l.pos(), "non-terminated '.if' block: the '.if' at line %d has no matching '.endif'.", l.conds[0].line)
	}
}

// lookup adds HAProxy's pseudo-variables to the caller's environment.
func (l *loader) lookup(name string) (string, bool) {
	switch name {
	case ".LINE":
		return strconv.Itoa(l.line), true
	case ".FILE":
		return l.file, true
	case ".SECTION":
		return l.section, l.section != ""
	}
	return l.env.lookup(name)
}

func (l *loader) active() bool {
	return len(l.conds) == 0 || l.conds[len(l.conds)-1].state.taking()
}

// processLine handles one line; false stops reading the file.
func (l *loader) processLine(text string) bool {
	pos := l.pos()
	lead := 0
	for lead < len(text) && isSpace(text[lead]) {
		lead++
	}
	line := text[lead:]
	// Scope lines are recognised before anything else, even in a
	// skipped .if branch.
	if strings.HasPrefix(line, "[") {
		l.scopeLine(line)
		return true
	}

	raw, offs, err := splitRaw(text, l.lookup)
	if err != nil {
		var se *SyntaxError
		if errors.As(err, &se) && se.Off >= 0 {
			l.d.Errorf(pos, "%s at position %d:\n%s", se.Msg, se.Off+1, excerpt("", line, se.Off-lead, printWidth))
		} else {
			l.d.Errorf(pos, "%s", err)
		}
		l.fatal++
		return true
	}
	words := cWords(raw)
	args := words
	for i, w := range words {
		if w != "" {
			continue
		}
		off := offs[i]
		if off >= len(line) {
			off = 0 // HAProxy's approximation: the offset is in its output buffer
		}
		l.d.Warnf(pos, "argument number %d at position %d is empty and marks the end of the argument list; all subsequent arguments will be ignored:\n%s",
			i, lead+off+1, excerpt("", line, off, printWidth))
		// HAProxy's keyword parsers stop at the first empty word; cut
		// the list so that dhproxy's parsers see what HAProxy's see.
		args = words[:i+1]
		break
	}
	if len(words) == 0 || words[0] == "" {
		return true
	}
	switch words[0] {
	case ".if", ".elif", ".else", ".endif":
		return l.condLine(words, raw)
	}
	if !l.active() {
		return true
	}
	if words[0][0] == '.' {
		l.directive(words)
		return true
	}

	if slices.Contains(SectionKeywords, words[0]) {
		l.section = words[0]
		if len(words) > 1 && words[1] != "" {
			l.section = words[1]
		}
		if words[0] == "global" {
			if l.nonGlobalSeen {
				l.d.add(pos, Diagnostic, "global section detected after a non-global one, the prevalence of their statements is unspecified", nil)
			}
		} else {
			l.nonGlobalSeen = true
		}
		sec := Section{Pos: pos, Kind: words[0], Scope: l.scope, Env: l.env.lookup}
		if len(args) > 1 {
			sec.Args = args[1:]
		}
		l.sections = append(l.sections, sec)
		l.cur = len(l.sections) - 1
		return true
	}
	if l.cur < 0 {
		l.d.Errorf(pos, "unknown keyword '%s' out of section.", words[0])
		l.fatal++
		return true
	}
	sec := &l.sections[l.cur]
	sec.Lines = append(sec.Lines, Line{Pos: pos, Args: args, Scope: l.scope})
	if sec.Kind == "global" && IsEnvKeyword(args[0]) && EnvLineOK(args) {
		l.env = l.env.apply(args)
	}
	return true
}

// condLine handles .if/.elif/.else/.endif. words are C strings, raw the
// same words before truncation at NUL bytes.
func (l *loader) condLine(words, raw []string) bool {
	pos := l.pos()
	top := len(l.conds) - 1
	switch words[0] {
	case ".if":
		if len(l.conds)+1 >= maxNestedConds {
			l.d.Errorf(pos, "too many nested '.if', max is %d.", maxNestedConds)
			return false
		}
		if top >= 0 && !l.conds[top].state.taking() {
			l.conds = append(l.conds, condLevel{ifSkip, l.line})
			return true
		}
		state := ifDrop
		if val, ok := l.eval(".if", raw[1:]); !ok {
			state = ifSkip
		} else if val {
			state = ifTake
		}
		l.conds = append(l.conds, condLevel{state, l.line})

	case ".elif":
		switch {
		case top < 0:
			l.d.Errorf(pos, "lone '.elif' with no matching '.if'.")
		case l.conds[top].state == elseTake || l.conds[top].state == elseDrop:
			l.d.Errorf(pos, "'.elif' after '.else' is not permitted.")
		case l.conds[top].state.decided():
			l.conds[top].state = elifSkip
		default:
			state := elifDrop
			if val, ok := l.eval(".elif", raw[1:]); !ok {
				state = elifSkip
			} else if val {
				state = elifTake
			}
			l.conds[top].state = state
		}

	case ".else", ".endif":
		if len(words) > 1 && words[1] != "" {
			l.d.Errorf(pos, "Unexpected argument '%s' for '%s'.", words[1], words[0])
		}
		switch {
		case top < 0:
			l.d.Errorf(pos, "lone '%s' with no matching '.if'.", words[0])
		case words[0] == ".endif":
			l.conds = l.conds[:top]
		case l.conds[top].state == elseTake || l.conds[top].state == elseDrop:
			l.d.Errorf(pos, "'.else' after '.else' is not permitted.")
		case l.conds[top].state.decided():
			l.conds[top].state = elseDrop
		default:
			l.conds[top].state = elseTake
		}
	}
	return true
}

// eval evaluates a .if/.elif condition; ok is false if it does not parse
// (the error is recorded).
func (l *loader) eval(kw string, words []string) (val, ok bool) {
	val, err := EvalCond(words, l.env.lookup)
	if err == nil {
		return val, true
	}
	text := strings.ReplaceAll(strings.Join(words, " "), "\x00", " ")
	off := 0
	var ce *CondError
	if errors.As(err, &ce) {
		off = ce.Off
	}
	l.d.Errorf(l.pos(), "%s in '%s' at position %d:\n%s", err, kw, off+1,
		excerpt(kw+" ", text, off, printWidth-len(kw)-1))
	return false, false
}

// directive handles the message directives of active branches.
func (l *loader) directive(words []string) {
	pos := l.pos()
	var sev Severity
	switch words[0] {
	case ".alert":
		sev = Alert
	case ".warning":
		sev = Warning
	case ".notice":
		sev = Notice
	case ".diag":
		sev = Diagnostic
	default:
		l.d.Errorf(pos, "unknown directive '%s'.", words[0])
		l.fatal++
		return
	}
	if len(words) > 2 && words[2] != "" {
		l.d.Errorf(pos, "Unexpected argument '%s' for '%s'. Use quotes if the message should contain spaces.", words[2], words[0])
		return
	}
	msg := ""
	if len(words) > 1 {
		msg = words[1]
	}
	l.d.add(pos, sev, "'%s'.", []any{msg})
}

// scopeLine handles "[name]", which sets the scope of the following lines
// (HAProxy uses it in SPOE configuration files).
func (l *loader) scopeLine(line string) {
	pos := l.pos()
	end := strings.IndexByte(line, ']')
	if end <= 1 {
		l.d.Errorf(pos, "empty scope name is forbidden.")
		return
	}
	name := line[1:end]
	for i := 0; i < len(name); i++ {
		if c := name[i]; !isAlnum(c) && c != '.' && c != ':' && c != '_' && c != '-' {
			l.d.Errorf(pos, "character '%c' is not permitted in a scope name.", c)
			return
		}
	}
	rest := line[end+1:]
	for rest != "" && isSpace(rest[0]) {
		rest = rest[1:]
	}
	if rest != "" && rest[0] != '#' {
		l.d.Errorf(pos, "character '%c' is not permitted after scope declaration.", rest[0])
		return
	}
	l.scope = name
}

// excerpt renders the two lines HAProxy prints under a parse error: the
// line (prefixed by prefix) and a caret under byte off.
func excerpt(prefix, line string, off, width int) string {
	shown, caret := sanitizeForPrinting(line, off, width)
	return fmt.Sprintf("  %s%s\n  %*s", prefix, shown, len(prefix)+caret+1, "^")
}

// sanitizeForPrinting is HAProxy's function of the same name: it keeps
// about width bytes around pos, adding "..." where it cuts, and replaces
// blanks with spaces and other unprintable bytes with '?'. It returns the
// excerpt and pos's offset in it.
func sanitizeForPrinting(line string, pos, width int) (string, int) {
	var b []byte
	in, limit, shift := 0, width, 0
	if pos >= width {
		shift = pos - width/2
		in = shift + 3
		limit = width - 3
		b = append(b, "..."...)
	}
	for ; len(b) < limit && in < len(line) && line[in] != 0; in++ {
		switch c := line[in]; {
		case isSpace(c):
			b = append(b, ' ')
		case c >= 0x20 && c < 0x7f:
			b = append(b, c)
		default:
			b = append(b, '?')
		}
	}
	if limit < width {
		b = append(b, "..."...)
	}
	return string(b), pos - shift
}
