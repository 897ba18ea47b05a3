package sample

import (
	"fmt"
	"os"
	"strconv"
	"strings"

	"dhproxy/internal/config"
)

// Compiler turns sample expressions into Exprs at load time. One Compiler
// serves a whole configuration, so that a map or pattern file named in
// several places is read once.
type Compiler struct {
	// Files caches what Prepare hooks loaded, by a key of their choosing
	// (the map converters use "map_beg:/etc/haproxy/hosts.map").
	Files map[string]any
	// Env is the environment the env() fetch reads at load time (the
	// configuration's setenv lines change it); the process's when nil.
	Env config.Env
	// ReadFile reads pattern and map files; os.ReadFile when nil.
	ReadFile func(name string) ([]byte, error)
	// Notices collects what the configuration should be told about
	// without refusing it (a regex that fell back); the caller prints
	// them with the position of the line being compiled and empties it.
	Notices []string
	varIDs  map[string]int // variable names, numbered (vars.go)
	proc    *SharedVars    // the process-scope variables of this configuration
	// LogVar compiles a log-format %-variable of a header format: spec is
	// what follows the '%' ("ci", "{+Q}ci"); it returns the variable and
	// how many bytes of spec it took. Nil: formats take only %[expr].
	LogVar func(spec string) (LogVar, int, error)
	// WhereFile and WhereLine are the configuration line being compiled,
	// for what Prepare hooks record (the runtime API's "show map").
	WhereFile string
	WhereLine int
	// ProxyRefs are the backends and servers that the fetches compiled
	// since the caller last emptied it name; the caller checks them once
	// every section is read (a backend may be declared after the rule).
	ProxyRefs []ProxyRef
	// where is the phase of the expression being compiled (0 for an
	// ACL, compiled once for every phase): the Prepare hook of a fetch
	// whose direction follows the rule's (cookie) reads it.
	where Phase
}

// ProxyRef is one fetch's reference to a backend, and to one of its
// servers when Server is set. An empty Backend is the proxy whose rule
// holds the fetch, which must then have a backend of its own.
type ProxyRef struct {
	Fetch           string
	Backend, Server string
	// OfFrontend: the fetch reads a frontend, Frontend ("": the rule's
	// own proxy).
	OfFrontend bool
	Frontend   string
}

// Read reads a file named in the configuration.
func (c *Compiler) Read(name string) ([]byte, error) {
	if c.ReadFile != nil {
		return c.ReadFile(name)
	}
	return os.ReadFile(name)
}

// Cached returns what was stored under key, building it once with build.
func (c *Compiler) Cached(key string, build func() (any, error)) (any, error) {
	if v, ok := c.Files[key]; ok {
		return v, nil
	}
	v, err := build()
	if err != nil {
		return nil, err
	}
	if c.Files == nil {
		c.Files = map[string]any{}
	}
	c.Files[key] = v
	return v, nil
}

// Expr is a compiled "fetch(args),conv(args),..." expression.
type Expr struct {
	Text  string
	Fetch *FetchDef
	Out   Type // the type of the result
	fargs Args
	multi bool // an ACL sees every value of the fetch
	convs []convCall
}

type convCall struct {
	def  *ConvDef
	args Args
}

// Compile parses and checks expr for use in phase where (a single phase;
// 0 when the user checks Fetch.Phases itself, as ACLs declared once and
// used in several phases do): unknown keywords, bad arguments, converters
// that cannot take the value before them and fetches that cannot work
// there are errors.
func (c *Compiler) Compile(expr string, where Phase) (*Expr, error) {
	name, args, rest, err := splitCall(expr)
	if err != nil {
		return nil, err
	}
	fd := fetches[name]
	if fd == nil {
		if why, ok := absentFetches[name]; ok {
			return nil, fmt.Errorf("fetch method '%s' is not supported by dhproxy: %s", name, why)
		}
		return nil, fmt.Errorf("unknown fetch method '%s' (dhproxy supports the ones docs/rules.md lists)%s", name, suggestName(name, FetchNames()))
	}
	if where != 0 && fd.Phases&where == 0 {
		return nil, fmt.Errorf("sample fetch '%s' cannot be used in %s: it needs %s, which is not available there", name, PhaseWord(where), fd.Needs)
	}
	e := &Expr{Text: expr, Fetch: fd, Out: fd.Out}
	c.where = where
	if err := c.parseArgs("fetch method", fd.Name, args, fd.Args, fd.MinArgs, fd.Prepare, &e.fargs); err != nil {
		return nil, err
	}
	e.multi = fd.Multi && !(fd.OccArg && e.fargs.N == len(fd.Args))
	for rest != "" {
		name, args, rest, err = splitCall(rest)
		if err != nil {
			return nil, err
		}
		cd := converters[name]
		if cd == nil {
			return nil, fmt.Errorf("unknown converter '%s' in '%s' (dhproxy supports the ones docs/rules.md lists)%s", name, expr, suggestName(name, ConverterNames()))
		}
		if !castable(e.Out, cd.In) {
			return nil, fmt.Errorf("converter '%s' cannot be applied to the %s output of '%s'", name, e.Out, expr[:len(expr)-len(rest)-len(name)-len(args)-1])
		}
		cc := convCall{def: cd}
		if err := c.parseArgs("converter", cd.Name, args, cd.Args, cd.MinArgs, cd.Prepare, &cc.args); err != nil {
			return nil, err
		}
		e.convs = append(e.convs, cc)
		if cd.Out != TypeAny {
			e.Out = cd.Out
		}
	}
	return e, nil
}

// splitCall cuts "name(args),rest" into its parts; args is "" without
// parentheses, rest has no leading comma.
func splitCall(s string) (name, args, rest string, err error) {
	i := strings.IndexAny(s, "(,")
	if i < 0 {
		return s, "", "", checkName(s)
	}
	name = s[:i]
	if err := checkName(name); err != nil {
		return "", "", "", err
	}
	if s[i] == ',' {
		if i+1 == len(s) {
			return "", "", "", fmt.Errorf("missing converter name after ',' in '%s'", s)
		}
		return name, "", s[i+1:], nil
	}
	// find the closing parenthesis, skipping quoted and escaped ones
	var quote byte
	for j := i + 1; j < len(s); j++ {
		ch := s[j]
		switch {
		case ch == '\\' && quote != '\'':
			j++
		case quote != 0:
			if ch == quote {
				quote = 0
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == ')':
			rest = s[j+1:]
			if rest != "" {
				if rest[0] != ',' || len(rest) == 1 {
					return "", "", "", fmt.Errorf("unexpected '%s' after '%s' (converters are separated by ',')", rest, s[:j+1])
				}
				rest = rest[1:]
			}
			return name, "(" + s[i+1:j], rest, nil
		}
	}
	return "", "", "", fmt.Errorf("missing closing ')' after arguments to '%s'", name)
}

func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("missing fetch method or converter name")
	}
	for _, ch := range name {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '.' || ch == '_' || ch == '-' || ch == '+') {
			return fmt.Errorf("invalid character '%c' in sample keyword '%s'", ch, name)
		}
	}
	return nil
}

// argEscapable are the bytes a backslash protects in an argument; before
// any other byte (a regsub group reference like \\1) it stays as written.
const argEscapable = "\\\"', ()"

// splitArgs cuts an argument list (after its '(') at unquoted commas,
// removing quotes and backslash escapes as HAProxy 2.4+ does.
func splitArgs(s string) []string {
	var out []string
	var cur strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch {
		case ch == '\\' && quote != '\'' && i+1 < len(s) && strings.IndexByte(argEscapable, s[i+1]) >= 0:
			i++
			cur.WriteByte(s[i])
		case quote != 0:
			if ch == quote {
				quote = 0
			} else {
				cur.WriteByte(ch)
			}
		case ch == '"' || ch == '\'':
			quote = ch
		case ch == ',':
			out = append(out, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(ch)
		}
	}
	return append(out, cur.String())
}

func (c *Compiler) parseArgs(kind, name, list string, types []ArgType, minArgs int, prep PrepareFunc, a *Args) error {
	var args []string
	if list != "" {
		args = splitArgs(list[1:])
		if len(args) == 1 && args[0] == "" && len(types) == 0 {
			args = nil // "name()" is "name"
		}
	}
	if len(args) < minArgs {
		return fmt.Errorf("%s '%s' expects at least %d argument(s), got %d", kind, name, minArgs, len(args))
	}
	if len(args) > len(types) {
		return fmt.Errorf("%s '%s' takes at most %d argument(s), got %d", kind, name, len(types), len(args))
	}
	a.N = len(args)
	for i, s := range args {
		a.Str[i], a.Byt[i] = s, []byte(s)
		switch types[i] {
		case ArgInt:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("%s '%s': argument %d ('%s') must be an integer", kind, name, i+1, s)
			}
			a.Int[i] = n
		}
	}
	if prep != nil {
		if err := prep(c, a); err != nil {
			return fmt.Errorf("%s '%s': %v", kind, name, err)
		}
	}
	return nil
}

// Eval computes the expression's single value (a multi-valued fetch gives
// its last occurrence). It allocates nothing once t's scratch has grown;
// v escapes (it reaches the registered functions), so callers keep it in
// a long-lived place such as their transaction, not in a local variable.
func (e *Expr) Eval(t Txn, v *Value) bool {
	if !e.Fetch.Fn(t, &e.fargs, nil, v) {
		return false
	}
	return e.convert(t, v)
}

// Next computes the next value for an ACL: every occurrence of a
// multi-valued fetch in turn, else the single value once. Start with a
// zero Iter; false means no more values.
func (e *Expr) Next(t Txn, it *Iter, v *Value) bool {
	if !e.multi {
		if it.done {
			return false
		}
		it.done = true
		return e.Eval(t, v)
	}
	for !it.done {
		it.More = false
		if !e.Fetch.Fn(t, &e.fargs, it, v) {
			it.done = true
			return false
		}
		it.done = !it.More
		if e.convert(t, v) {
			return true
		}
	}
	return false
}

func (e *Expr) convert(t Txn, v *Value) bool {
	for i := range e.convs {
		cc := &e.convs[i]
		if !CastIn(t, v, cc.def.In) {
			return false
		}
		if !cc.def.Fn(t, &cc.args, v) {
			return false
		}
	}
	return true
}

// suggestName proposes the closest known keyword, if one is close.
func suggestName(word string, known []string) string {
	best, bestD := "", 3
	for _, k := range known {
		if d := config.EditDistance(word, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best == "" {
		return ""
	}
	return "; did you mean '" + best + "'?"
}
