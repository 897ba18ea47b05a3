package stream

import "testing"

func TestHeaderCases(t *testing.T) {
	hc := newHeaderCases(map[string]string{"content-length": "Content-Length", "x-foo": "X-FOO"})
	for in, want := range map[string]string{
		"content-length": "Content-Length", "CONTENT-LENGTH": "Content-Length", "x-Foo": "X-FOO",
		"x-bar": "x-bar", "": "",
	} {
		if got := string(hc.name([]byte(in))); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	if got := string(headerCases(nil).name([]byte("x-foo"))); got != "x-foo" {
		t.Errorf("no table: %q", got)
	}
	long := make([]byte, maxCaseName+1)
	for i := range long {
		long[i] = 'a'
	}
	if got := hc.name(long); &got[0] != &long[0] {
		t.Errorf("a name longer than %d was not left alone", maxCaseName)
	}
	name := []byte("X-Foo")
	if n := testing.AllocsPerRun(100, func() { hc.name(name) }); n != 0 {
		t.Errorf("%v allocations per lookup", n)
	}
}
