package sample

import "testing"

// Formats as haproxy 2.6 reads them (compared through lf-string): an
// escaped quote or a quoted ']' inside %[...] belongs to the expression.
func TestFormatEscapes(t *testing.T) {
	f := newTxn(t, testHead)
	for text, want := range map[string]string{
		`<%[str(a\"b\\c/d),json]>`: `<a\"b\\c\/d>`,
		`<%[str(a\"b)]>`:           `<a"b>`,
		`<%[str('x]y')]>`:          `<x]y>`,
		`a %[path,field(2,/)] b`:   `a static b`,
		// control characters but the tab are escaped: no header splitting
		`<%[str(a%0d%0aEvil: 1),url_dec]>`:       `<a%0D%0AEvil: 1>`,
		`<%[str(a%09b%7fc%1bd%80e%25),url_dec]>`: "<a\tb%7Fc%1Bd\x80e%>",
	} {
		var c Compiler
		fm, err := c.CompileFormat(text, PhaseReq)
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		var v Value
		if got := string(fm.Append(f, &v, nil)); got != want {
			t.Errorf("%s = %q, want %q", text, got, want)
		}
	}
}
