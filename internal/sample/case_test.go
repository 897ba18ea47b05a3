package sample

import "testing"

// TestFirstUpper: the word-at-a-time scan finds the first upper case
// letter wherever it is, among every other byte value.
func TestFirstUpper(t *testing.T) {
	for n := range 20 {
		b := make([]byte, n)
		for i := range b {
			b[i] = 'a'
		}
		if got := FirstUpper(b); got != -1 {
			t.Fatalf("FirstUpper(%q) = %d, want -1", b, got)
		}
		for pos := range n {
			for c := range 256 {
				b[pos] = byte(c)
				want := -1
				if c >= 'A' && c <= 'Z' {
					want = pos
				}
				if got := FirstUpper(b); got != want {
					t.Fatalf("FirstUpper(%q) = %d, want %d", b, got, want)
				}
				// a later upper case letter does not hide it
				if pos+1 < n {
					b[n-1] = 'Q'
					if want < 0 {
						want = n - 1
					}
					if got := FirstUpper(b); got != want {
						t.Fatalf("FirstUpper(%q) = %d, want %d", b, got, want)
					}
					b[n-1] = 'a'
				}
			}
			b[pos] = 'a'
		}
	}
}
