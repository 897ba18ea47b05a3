package keepalived

import (
	"bytes"
	"fmt"
	"testing"
)

// FuzzParseHex: whatever it is given, ParseHex returns an error or bytes
// that print back to a string it reads the same way.
func FuzzParseHex(f *testing.F) {
	for _, s := range []string{"0a1b 2c", "0a xx fX", "1 2 3", "zz", "", "0a\t0b"} {
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, s string, wild bool) {
		data, mask, err := ParseHex(s, wild)
		if err != nil {
			return
		}
		if len(data) == 0 || mask != nil && len(mask) != len(data) || !wild && mask != nil {
			t.Fatalf("%q: data %x mask %x", s, data, mask)
		}
		var out bytes.Buffer
		for i, b := range data {
			fmt.Fprintf(&out, "%02x ", b)
			if mask != nil && mask[i] != 0 {
				out.Truncate(out.Len() - 3)
				hi, lo := fmt.Sprintf("%x", b>>4), fmt.Sprintf("%x", b&0xf)
				if mask[i]&0xf0 != 0 {
					hi = "x"
				}
				if mask[i]&0x0f != 0 {
					lo = "x"
				}
				out.WriteString(hi + lo + " ")
			}
		}
		d2, m2, err := ParseHex(out.String(), wild)
		if err != nil || !bytes.Equal(d2, data) || !bytes.Equal(m2, mask) {
			t.Fatalf("%q -> %q -> %x %x %v", s, out.String(), d2, m2, err)
		}
	})
}
