package config

import (
	"fmt"
	"os"
	"strings"
)

// Env looks up a variable; nil means os.LookupEnv.
type Env func(name string) (string, bool)

func (e Env) orDefault() Env {
	if e == nil {
		return os.LookupEnv
	}
	return e
}

// MaxLineArgs is how many words one line may hold (HAProxy's
// MAX_LINE_ARGS). The limit counts word slots, so 64 words followed by
// trailing blanks or a blank-separated comment already exceed it, exactly
// as in HAProxy.
const MaxLineArgs = 64

// SyntaxError is a line HAProxy refuses to split. Msg uses HAProxy's
// wording; Off is the byte offset in the line of the offending character
// (the opening quote or brace, the backslash, ...), or -1 when the message
// carries its own position.
type SyntaxError struct {
	Msg string
	Off int
}

func (e *SyntaxError) Error() string {
	if e.Off < 0 {
		return e.Msg
	}
	return fmt.Sprintf("%s at position %d", e.Msg, e.Off+1)
}

// SplitLine splits one raw configuration line into words the way
// HAProxy's parse_line() does for configuration files:
//
//   - blanks separate words; leading blanks are ignored;
//   - '#' outside quotes starts a comment, even inside a word ("a#b" is "a");
//   - a NUL, CR or LF byte ends the line;
//   - outside single quotes a backslash escapes a blank, a backslash, '#'
//     and either quote, and encodes \t \n \r \xHH; "\$" is an escape
//     only inside double quotes; any other backslash is kept literally
//     ("\1" stays "\1", a trailing backslash stays);
//   - single quotes are literal; double quotes keep escapes and are the
//     only place where this splitter expands variables (addresses get a
//     second expansion later, see ExpandAddrEnv): "$NAME", "${NAME}",
//     "${NAME-default}" (default only when NAME is unset, not when empty;
//     there is no ":-" form) and "${NAME[*]}" which splits the value on
//     blanks into several words;
//   - an unset variable immediately followed by the closing quote makes
//     that quote and the blanks after it vanish, so `"$UNSET"` produces no
//     word at all (and `"a$UNSET" b` produces "ab");
//   - quoted parts concatenate with what touches them, `""` in the middle
//     of a line is an empty word, but a trailing empty word is dropped.
//
// Names starting with '.' are HAProxy's pseudo-variables .LINE, .FILE and
// .SECTION; they are looked up in env like the others (Load provides
// them). A byte \x00 ends its word as it does in C.
func SplitLine(s string, env Env) ([]string, error) {
	raw, _, err := splitRaw(s, env.orDefault())
	if err != nil {
		return nil, err
	}
	return cWords(raw), nil
}

// cWords cuts every word at its first NUL: HAProxy keeps words as C
// strings, so "\x00" silently ends a word.
func cWords(raw []string) []string {
	if len(raw) == 0 {
		return nil
	}
	out := make([]string, len(raw))
	for i, w := range raw {
		out[i] = cString(w)
	}
	return out
}

func cString(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// isSpace is C's isspace() in the C locale.
func isSpace(c byte) bool {
	return c == ' ' || (c >= '\t' && c <= '\r')
}

func isAlpha(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isAlnum(c byte) bool { return isAlpha(c) || isDigit(c) }

func hexVal(c byte) (byte, bool) {
	switch {
	case isDigit(c):
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// splitter holds the state of one splitRaw run.
type splitter struct {
	s              string
	env            Env
	words          []string
	offs           []int
	cur            []byte
	wordOff        int // output offset of the current word
	quote          int // offset of the quote still open, or -1
	squote, dquote bool
	tooMany        bool
}

func (p *splitter) at(i int) byte {
	if i < len(p.s) {
		return p.s[i]
	}
	return 0
}

// endWord closes the current word at a separator. HAProxy counts word
// slots, so opening slot 65 is the error even if it stays empty.
func (p *splitter) endWord() {
	p.words = append(p.words, string(p.cur))
	p.offs = append(p.offs, p.wordOff)
	p.wordOff += len(p.cur) + 1
	p.cur = p.cur[:0]
	if len(p.words) >= MaxLineArgs {
		p.tooMany = true
	}
}

// splitRaw does the work of SplitLine. It returns the words before C
// truncation (the .if parser needs them to rebuild the condition text)
// and, for each word, its offset in HAProxy's output buffer, which is what
// HAProxy reports as a word's "position".
func splitRaw(s string, env Env) (words []string, offs []int, err error) {
	p := &splitter{s: s, env: env, quote: -1}
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
loop:
	for i < len(s) {
		c := s[i]
		switch {
		case c == 0 || c == '\n' || c == '\r':
			break loop
		case c == '#' && !p.squote && !p.dquote:
			break loop
		case c == '"' && !p.squote:
			p.dquote = !p.dquote
			p.quote = -1
			if p.dquote {
				p.quote = i
			}
			i++
		case c == '\'' && !p.dquote:
			p.squote = !p.squote
			p.quote = -1
			if p.squote {
				p.quote = i
			}
			i++
		case c == '\\' && !p.squote:
			if i, err = p.escape(i); err != nil {
				return nil, nil, err
			}
		case isSpace(c) && !p.squote && !p.dquote:
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			p.endWord()
		case c == '$' && p.dquote:
			if i, err = p.variable(i); err != nil {
				return nil, nil, err
			}
		default:
			p.cur = append(p.cur, c)
			i++
		}
	}
	// A trailing word only counts when it holds at least one byte: this
	// is why a trailing "" disappears.
	if len(p.cur) > 0 && len(p.words) < MaxLineArgs {
		p.words = append(p.words, string(p.cur))
		p.offs = append(p.offs, p.wordOff)
	}
	if p.quote >= 0 {
		return nil, nil, &SyntaxError{"unmatched quote", p.quote}
	}
	if p.tooMany {
		return nil, nil, &SyntaxError{
			Msg: fmt.Sprintf("too many words, truncating after word %d, position %d: <%s>.",
				MaxLineArgs, p.offs[MaxLineArgs-1]+1, cString(p.words[MaxLineArgs-1])),
			Off: -1,
		}
	}
	return p.words, p.offs, nil
}

// escape handles a backslash at i (outside single quotes) and returns
// where to continue.
func (p *splitter) escape(i int) (int, error) {
	switch n := p.at(i + 1); n {
	case ' ', '\\', '#', '\'', '"':
		p.cur = append(p.cur, n)
		return i + 2, nil
	case 't':
		p.cur = append(p.cur, '\t')
		return i + 2, nil
	case 'n':
		p.cur = append(p.cur, '\n')
		return i + 2, nil
	case 'r':
		p.cur = append(p.cur, '\r')
		return i + 2, nil
	case '$':
		// Outside double quotes '$' is not special, so the backslash
		// stays and the '$' follows as itself.
		if p.dquote {
			p.cur = append(p.cur, '$')
			return i + 2, nil
		}
	case 'x':
		h, ok1 := hexVal(p.at(i + 2))
		l, ok2 := hexVal(p.at(i + 3))
		if !ok1 || !ok2 {
			return 0, &SyntaxError{"truncated or invalid hexadecimal sequence", i}
		}
		p.cur = append(p.cur, h<<4|l)
		return i + 4, nil
	}
	// Not an escape sequence: the backslash is kept and the next byte is
	// read normally (so a trailing backslash is a literal one).
	p.cur = append(p.cur, '\\')
	return i + 1, nil
}

// pseudoVars are the only names allowed to start with a dot.
var pseudoVars = map[string]bool{".LINE": true, ".FILE": true, ".SECTION": true}

// variable expands the variable whose '$' is at i (inside double quotes)
// and returns where to continue.
func (p *splitter) variable(i int) (int, error) {
	s := p.s
	i++
	brace := -1
	if p.at(i) == '{' {
		brace = i
		i++
	}
	if c := p.at(i); !isAlpha(c) && c != '_' && c != '.' {
		return 0, &SyntaxError{"forbidden first char in environment variable name", i}
	}
	start := i
	if s[i] == '.' {
		i++
	}
	for isAlnum(p.at(i)) || p.at(i) == '_' {
		i++
	}
	name := s[start:i]
	if name[0] == '.' && !pseudoVars[name] {
		return 0, &SyntaxError{"forbidden first char in environment variable name", start}
	}
	value, found := p.env(name)
	value = cString(value)

	// "[*]" asks for word splitting; it is only recognised inside braces.
	expand := false
	if p.at(i) == '[' && brace >= 0 {
		if p.at(i+1) != '*' || p.at(i+2) != ']' {
			return 0, &SyntaxError{"truncated or invalid word expansion sequence", i}
		}
		i += 3
		expand = true
	}
	if brace >= 0 {
		if p.at(i) == '-' {
			// The default runs raw up to the next '}', quotes and
			// blanks included; it is not itself expanded.
			end := i + 1
			for end < len(s) && s[end] != 0 && s[end] != '}' {
				end++
			}
			if end >= len(s) || s[end] != '}' {
				return 0, &SyntaxError{"unmatched brace in environment variable name", brace}
			}
			if !found {
				value, found = s[i+1:end], true
			}
			i = end
		} else if p.at(i) != '}' {
			return 0, &SyntaxError{"unmatched brace in environment variable name", brace}
		}
		i++
	}

	if !found {
		if name[0] != '.' && p.at(i) == '"' {
			i++
			for isSpace(p.at(i)) {
				i++
			}
			p.dquote = false
			p.quote = -1
		}
		return i, nil
	}
	for j := 0; j < len(value); {
		if expand && isSpace(value[j]) {
			p.endWord()
			for j < len(value) && isSpace(value[j]) {
				j++
			}
			continue
		}
		p.cur = append(p.cur, value[j])
		j++
	}
	return i, nil
}
