package sample

import (
	"fmt"
	"strings"
)

// Format is a compiled log-format string as header actions, "return
// lf-string", set-var-fmt and dynamic use_backend take it: literal text,
// %[expr] samples and, when the compiler knows them (Compiler.LogVar),
// the log-format %-variables, written as HAProxy writes them there: an
// absent value writes nothing.
type Format struct {
	parts []formatPart
	// Static is the text when the format holds no sample at all.
	Static   []byte
	IsStatic bool
}

type formatPart struct {
	lit  []byte
	expr *Expr
	lv   *LogVar
}

// LogVar is a compiled log-format %-variable: its kind and flags are the
// log-format compiler's (package logformat), opaque here.
type LogVar struct {
	Kind, Flags uint8
}

// LogVarTxn is a transaction that can write log-format %-variables (the
// HTTP one); elsewhere they write nothing.
type LogVarTxn interface {
	AppendLogVar(dst []byte, lv LogVar) []byte
}

// CompileFormat compiles text for phase where.
func (c *Compiler) CompileFormat(text string, where Phase) (*Format, error) {
	f := &Format{}
	var lit []byte
	for i := 0; i < len(text); i++ {
		ch := text[i]
		if ch == '\\' && i+1 < len(text) && text[i+1] == '%' {
			lit = append(lit, '%')
			i++
			continue
		}
		if ch != '%' {
			lit = append(lit, ch)
			continue
		}
		if i+1 < len(text) && text[i+1] == '%' {
			lit = append(lit, '%')
			i++
			continue
		}
		if i+1 < len(text) && text[i+1] == '{' {
			// flags before an expression change nothing in a header
			// value (HAProxy does not even quote it with +Q)
			end := strings.IndexByte(text[i+1:], '}')
			if end >= 0 && i+2+end < len(text) && text[i+2+end] == '[' {
				text = text[:i+1] + text[i+2+end:]
			}
		}
		if i+1 >= len(text) || text[i+1] != '[' {
			if c.LogVar == nil {
				end := i + 1
				for end < len(text) && (text[end] >= 'a' && text[end] <= 'z' || text[end] >= 'A' && text[end] <= 'Z' || text[end] == '{' || text[end] == '}' || text[end] == '+' || text[end] == '-') {
					end++
				}
				return nil, fmt.Errorf("log-format variable '%s' is not supported here; only %%[<sample expression>] works", text[i:end])
			}
			lv, n, err := c.LogVar(text[i+1:])
			if err != nil {
				return nil, err
			}
			if len(lit) > 0 {
				f.parts = append(f.parts, formatPart{lit: lit})
				lit = nil
			}
			f.parts = append(f.parts, formatPart{lv: &lv})
			i += n
			continue
		}
		close := strings.IndexByte(text[i+2:], ']')
		if close < 0 {
			return nil, fmt.Errorf("missing ']' after '%s'", text[i:])
		}
		// a ']' inside quotes or parentheses belongs to the expression
		depth, quote, j := 0, byte(0), i+2
		for ; j < len(text); j++ {
			c := text[j]
			if c == '\\' {
				j++ // an escaped character, a quote among them, is the expression's
				continue
			}
			if quote != 0 {
				if c == quote {
					quote = 0
				}
				continue
			}
			if c == '"' || c == '\'' {
				quote = c
			} else if c == '(' {
				depth++
			} else if c == ')' {
				depth--
			} else if c == ']' && depth <= 0 {
				break
			}
		}
		if j >= len(text) { // past the end when the text ends in a backslash
			return nil, fmt.Errorf("missing ']' after '%s'", text[i:])
		}
		e, err := c.Compile(text[i+2:j], where)
		if err != nil {
			return nil, fmt.Errorf("failed to parse sample expression <%s> : %v", text[i+2:j], err)
		}
		if len(lit) > 0 {
			f.parts = append(f.parts, formatPart{lit: lit})
			lit = nil
		}
		f.parts = append(f.parts, formatPart{expr: e})
		i = j
	}
	if len(lit) > 0 {
		f.parts = append(f.parts, formatPart{lit: lit})
	}
	f.IsStatic = true
	for _, p := range f.parts {
		if p.expr != nil || p.lv != nil {
			f.IsStatic = false
		}
		f.Static = append(f.Static, p.lit...)
	}
	if !f.IsStatic {
		f.Static = nil
	}
	return f, nil
}

// Append evaluates the format after dst; v is the caller's long-lived
// value slot. dst must not be the transaction's scratch: the samples'
// converters append there while dst grows. A sample that does not exist
// adds nothing, as in HAProxy's header actions.
func (f *Format) Append(t Txn, v *Value, dst []byte) []byte {
	if f.IsStatic {
		return append(dst, f.Static...)
	}
	for i := range f.parts {
		p := &f.parts[i]
		if p.lv != nil {
			if lt, ok := t.(LogVarTxn); ok {
				start := len(dst)
				dst = lt.AppendLogVar(dst, *p.lv)
				dst = escapeControls(dst, start)
			}
			continue
		}
		if p.expr == nil {
			dst = append(dst, p.lit...)
			continue
		}
		if !p.expr.Eval(t, v) {
			continue
		}
		start := len(dst)
		dst = appendText(dst, v)
		if !plainText(v) {
			dst = escapeControls(dst, start)
		}
	}
	return dst
}

// plainText tells that v's text has no control character to escape: a
// number, or an address without a zone.
func plainText(v *Value) bool {
	switch v.Type {
	case TypeInt, TypeBool:
		return true
	case TypeIP:
		return v.IP.Zone() == ""
	}
	return false
}

// escapeControls rewrites the control characters of dst[start:] (but
// the tab) as %XX, as HAProxy prints a sample in a log-format: a value
// carrying CR LF (a url_dec'ed parameter) never splits a header in two.
func escapeControls(dst []byte, start int) []byte {
	n := 0
	for _, c := range dst[start:] {
		if c < 0x20 && c != '\t' || c == 0x7f {
			n++
		}
	}
	if n == 0 {
		return dst
	}
	end := len(dst)
	dst = append(dst, make([]byte, 2*n)...)
	// from the end, so that each byte moves once
	w := len(dst)
	for r := end - 1; r >= start; r-- {
		c := dst[r]
		if c < 0x20 && c != '\t' || c == 0x7f {
			const hexdig = "0123456789ABCDEF"
			w -= 3
			dst[w], dst[w+1], dst[w+2] = '%', hexdig[c>>4], hexdig[c&15]
		} else {
			w--
			dst[w] = c
		}
	}
	return dst
}

// Usable tells whether every sample of the format can be taken in phase;
// the %-variables need an HTTP transaction.
func (f *Format) Usable(phase Phase) bool {
	for _, p := range f.parts {
		if p.lv != nil && phase&(PhaseReq|PhaseRes) == 0 {
			return false
		}
		if p.expr != nil && p.expr.Fetch.Phases&phase == 0 {
			return false
		}
	}
	return true
}
