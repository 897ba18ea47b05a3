package runtimeapi

import "testing"

func TestParseSeconds(t *testing.T) {
	for in, want := range map[string]int64{"5": 5, "5s": 5, "500ms": 1, "1500ms": 2, "1us": 1, "2m": 120, "1h": 3600, "0": 0, "2147483": 2147483, "1d": 86400} {
		if got, ok := parseSeconds(in); !ok || got != want {
			t.Errorf("%q: %d, %v; want %d", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "x", "5x", "-1", "2147484", "100000000000", "25d", "999999999999999999999"} {
		if got, ok := parseSeconds(in); ok {
			t.Errorf("%q: accepted as %d", in, got)
		}
	}
}

func FuzzParseSeconds(f *testing.F) {
	for _, s := range []string{"5", "500ms", "1h", "x", "99999999999999999", "0us"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, ok := parseSeconds(s); ok && (n < 0 || n > (1<<31-1)/1000) {
			t.Errorf("%q: %d out of range", s, n)
		}
	})
}
