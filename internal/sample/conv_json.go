package sample

import (
	"fmt"
	"strconv"

	"dhproxy/internal/http1"
)

// json_query(<path>[,int]): the value at a JSON path ("$.a.b[2]", a '.'
// in a key escaped as "\."), read as haproxy's bundled mjson reads it:
// the scan stops at the value found, so what follows it is not checked;
// strings are unescaped (only \u00XX of the \u forms), numbers are
// printed as printf's %g or, with "int", read as a leading integer within
// ±(2^53-1); booleans give 1 or 0; null, objects and arrays no sample.

func init() {
	RegisterConverter(&ConvDef{Name: "json_query", Args: []ArgType{ArgStr, ArgStr}, MinArgs: 1, In: TypeStr, Out: TypeAny,
		Prepare: prepareJSONQuery,
		Fn: func(t Txn, a *Args, v *Value) bool {
			return jsonQuery(t, a.Data.(*jsonPath), v.Bytes, v)
		}})
}

// jsonPath is a compiled path; bad is set when the path cannot match
// anything (haproxy accepts it and fails every sample).
type jsonPath struct {
	steps []jsonStep
	asInt bool
	bad   bool
}

type jsonStep struct {
	key   []byte // an object member, or
	index int    // an array element (key nil)
}

func prepareJSONQuery(c *Compiler, a *Args) error {
	p := parseJSONPath(a.Str[0])
	if a.N > 1 {
		if a.Str[1] != "int" {
			return fmt.Errorf("the output type '%s' is unknown; only 'int' exists", a.Str[1])
		}
		p.asInt = true
	}
	a.Data = p
	return nil
}

func parseJSONPath(s string) *jsonPath {
	p := &jsonPath{}
	if s == "" || s[0] != '$' {
		p.bad = true
		return p
	}
	for i := 1; i < len(s); {
		switch s[i] {
		case '.':
			i++
			var key []byte
			for i < len(s) && s[i] != '.' && s[i] != '[' {
				if s[i] == '\\' && i+1 < len(s) && s[i+1] == '.' {
					i++
				}
				key = append(key, s[i])
				i++
			}
			if len(key) == 0 {
				p.bad = true
				return p
			}
			p.steps = append(p.steps, jsonStep{key: key})
		case '[':
			j := i + 1
			n := 0
			for j < len(s) && s[j] >= '0' && s[j] <= '9' && n < 1<<24 {
				n = n*10 + int(s[j]-'0')
				j++
			}
			if j == i+1 || j >= len(s) || s[j] != ']' {
				p.bad = true
				return p
			}
			p.steps = append(p.steps, jsonStep{index: n})
			i = j + 1
		default:
			p.bad = true
			return p
		}
	}
	return p
}

// jsonMaxDepth is mjson's nesting limit.
const jsonMaxDepth = 20

type jsonScan struct {
	b   []byte
	pos int
}

func (sc *jsonScan) space() {
	for sc.pos < len(sc.b) {
		switch sc.b[sc.pos] {
		case ' ', '\t', '\n', '\r':
			sc.pos++
		default:
			return
		}
	}
}

// find walks the value at pos along steps; it returns the span of the
// value reached, or ok false on a syntax error or a missing step.
func (sc *jsonScan) find(steps []jsonStep, depth int) (start, end int, ok bool) {
	sc.space()
	if len(steps) == 0 {
		start = sc.pos
		ok = sc.skip(depth)
		return start, sc.pos, ok
	}
	if depth >= jsonMaxDepth || sc.pos >= len(sc.b) {
		return 0, 0, false
	}
	st := steps[0]
	switch sc.b[sc.pos] {
	case '{':
		if st.key == nil {
			return 0, 0, false
		}
		sc.pos++
		for first := true; ; first = false {
			sc.space()
			if sc.pos < len(sc.b) && sc.b[sc.pos] == '}' && first {
				return 0, 0, false
			}
			ks := sc.pos
			if !sc.skipString() {
				return 0, 0, false
			}
			key := sc.b[ks+1 : sc.pos-1]
			sc.space()
			if sc.pos >= len(sc.b) || sc.b[sc.pos] != ':' {
				return 0, 0, false
			}
			sc.pos++
			if string(key) == string(st.key) {
				return sc.find(steps[1:], depth+1)
			}
			sc.space()
			if !sc.skip(depth + 1) {
				return 0, 0, false
			}
			sc.space()
			if sc.pos >= len(sc.b) || sc.b[sc.pos] != ',' {
				return 0, 0, false // '}' here: the key is absent
			}
			sc.pos++
		}
	case '[':
		if st.key != nil {
			return 0, 0, false
		}
		sc.pos++
		for i := 0; ; i++ {
			sc.space()
			if sc.pos < len(sc.b) && sc.b[sc.pos] == ']' && i == 0 {
				return 0, 0, false
			}
			if i == st.index {
				return sc.find(steps[1:], depth+1)
			}
			if !sc.skip(depth + 1) {
				return 0, 0, false
			}
			sc.space()
			if sc.pos >= len(sc.b) || sc.b[sc.pos] != ',' {
				return 0, 0, false
			}
			sc.pos++
		}
	}
	return 0, 0, false
}

// skip passes one value, checking its syntax.
func (sc *jsonScan) skip(depth int) bool {
	sc.space()
	if sc.pos >= len(sc.b) || depth >= jsonMaxDepth {
		return false
	}
	switch c := sc.b[sc.pos]; {
	case c == '"':
		return sc.skipString()
	case c == '{' || c == '[':
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		sc.pos++
		sc.space()
		if sc.pos < len(sc.b) && sc.b[sc.pos] == closing {
			sc.pos++
			return true
		}
		for {
			if c == '{' {
				sc.space()
				if !sc.skipString() {
					return false
				}
				sc.space()
				if sc.pos >= len(sc.b) || sc.b[sc.pos] != ':' {
					return false
				}
				sc.pos++
			}
			if !sc.skip(depth + 1) {
				return false
			}
			sc.space()
			if sc.pos >= len(sc.b) {
				return false
			}
			switch sc.b[sc.pos] {
			case ',':
				sc.pos++
			case closing:
				sc.pos++
				return true
			default:
				return false
			}
		}
	case c == '-' || c >= '0' && c <= '9':
		for sc.pos < len(sc.b) && isJSONNumberByte(sc.b[sc.pos]) {
			sc.pos++
		}
		return true
	}
	for _, lit := range [...]string{"true", "false", "null"} {
		if len(sc.b)-sc.pos >= len(lit) && string(sc.b[sc.pos:sc.pos+len(lit)]) == lit {
			sc.pos += len(lit)
			return true
		}
	}
	return false
}

func isJSONNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// skipString passes a string: no raw control byte, a backslash protects
// the byte after it.
func (sc *jsonScan) skipString() bool {
	if sc.pos >= len(sc.b) || sc.b[sc.pos] != '"' {
		return false
	}
	for i := sc.pos + 1; i < len(sc.b); i++ {
		switch c := sc.b[i]; {
		case c == '"':
			sc.pos = i + 1
			return true
		case c == '\\':
			i++
		case c < 0x20:
			return false
		}
	}
	return false
}

func jsonQuery(t Txn, p *jsonPath, in []byte, v *Value) bool {
	if p.bad {
		return false
	}
	sc := jsonScan{b: in}
	start, end, ok := sc.find(p.steps, 0)
	if !ok {
		return false
	}
	tok := in[start:end]
	switch c := tok[0]; {
	case c == '"':
		s := t.Scratch()
		mark := len(*s)
		out, ok := appendJSONUnescape(*s, tok[1:len(tok)-1])
		if !ok {
			return false
		}
		*s = out
		v.SetStr((*s)[mark:len(*s):len(*s)])
	case c == 't' || c == 'f':
		v.SetBool(c == 't')
	case c == '-' || c >= '0' && c <= '9':
		if p.asInt {
			digits := tok
			if digits[0] == '-' {
				digits = digits[1:]
			}
			for i, c := range digits {
				if c < '0' || c > '9' {
					digits = digits[:i]
					break
				}
			}
			n, _ := parseLeadingInt(tok)
			const maxSafe = 1<<53 - 1
			if len(digits) > 16 || n > maxSafe || n < -maxSafe {
				return false
			}
			v.SetInt(n)
			return true
		}
		f := jsonNumber(tok)
		s := t.Scratch()
		mark := len(*s)
		*s = strconv.AppendFloat(*s, f, 'g', 6, 64)
		v.SetStr((*s)[mark:len(*s):len(*s)])
	default:
		return false // null, an object or an array
	}
	return true
}

// jsonNumber reads the longest prefix of tok that is a number (none: 0).
func jsonNumber(tok []byte) float64 {
	for n := len(tok); n > 0; n-- {
		if f, err := strconv.ParseFloat(string(tok[:n]), 64); err == nil {
			return f
		}
	}
	return 0
}

// appendJSONUnescape decodes a string's escapes: \" \\ \b \f \n \r \t and
// \u00XX (a single byte); any other escape fails, as in mjson.
func appendJSONUnescape(dst, s []byte) ([]byte, bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(s) {
			return dst, false
		}
		switch s[i] {
		case '"', '\\':
			dst = append(dst, s[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+4 >= len(s) || s[i+1] != '0' || s[i+2] != '0' || http1.HexDigit(s[i+3]) > 15 || http1.HexDigit(s[i+4]) > 15 {
				return dst, false
			}
			dst = append(dst, http1.HexDigit(s[i+3])<<4|http1.HexDigit(s[i+4]))
			i += 4
		default:
			return dst, false
		}
	}
	return dst, true
}
