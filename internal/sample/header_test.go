package sample

import "testing"

// TestElementEnd: a header element ends at the first comma outside
// double quotes.
func TestElementEnd(t *testing.T) {
	for v, want := range map[string]int{
		"":                0,
		"a":               1,
		"a, b":            1,
		",":               0,
		`"a,b", c`:        5,
		`x "a,b" y, z`:    9,
		`a,"b,c"`:         1,
		`"unclosed, a`:    12,
		`"a" , "b,c", d`:  4,
		`"a\",b", c`:      4, // a backslash escapes nothing here, as before
		"www.example.com": 15,
	} {
		if got := elementEnd([]byte(v)); got != want {
			t.Errorf("elementEnd(%q) = %d, want %d", v, got, want)
		}
	}
}
