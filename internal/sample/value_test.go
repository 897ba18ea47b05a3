package sample

import "testing"

// TestCastStringToInt: a string becomes the integer its leading sign and
// digits spell, 0 when it starts with something else, as haproxy's cast
// does; only an empty string has no integer.
func TestCastStringToInt(t *testing.T) {
	for _, c := range []struct {
		in   string
		want int64
		ok   bool
	}{{"12", 12, true}, {"-12x", -12, true}, {"+7", 7, true}, {"abc", 0, true}, {"-", 0, true}, {"", 0, false}} {
		v := Value{Type: TypeStr, Bytes: []byte(c.in)}
		var scratch []byte
		ok := Cast(&v, TypeInt, &scratch)
		if ok != c.ok || ok && v.Int != c.want {
			t.Errorf("Cast(%q) = %d, %v; want %d, %v", c.in, v.Int, ok, c.want, c.ok)
		}
	}
}
