package sample

import (
	"crypto/x509/pkix"
	"encoding/asn1"
	"testing"
)

func TestAppendDN(t *testing.T) {
	name := pkix.Name{Country: []string{"FR"}, Organization: []string{"A, B+C"}, OrganizationalUnit: []string{"x", "y"}, CommonName: " lead#"}
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(mustMarshal(t, name.ToRDNSequence()), &seq); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		args Args
		want string
		ok   bool
	}{
		{Args{}, "/C=FR/O=A, B+C/OU=x/OU=y/CN= lead#", true},
		{Args{N: 1, Str: [maxArgs]string{"cn"}}, " lead#", true},
		{Args{N: 2, Str: [maxArgs]string{"OU"}, Int: [maxArgs]int64{0, 2}}, "y", true},
		{Args{N: 2, Str: [maxArgs]string{"OU"}, Int: [maxArgs]int64{0, -2}}, "x", true},
		{Args{N: 2, Str: [maxArgs]string{"OU"}, Int: [maxArgs]int64{0, 3}}, "", false},
		{Args{N: 1, Str: [maxArgs]string{"L"}}, "", false},
		{Args{N: 3, Str: [maxArgs]string{"", "", "rfc2253"}}, `CN=\ lead#,OU=y,OU=x,O=A\, B\+C,C=FR`, true},
	}
	for _, c := range cases {
		got, ok := appendDN(nil, seq, &c.args)
		if string(got) != c.want || ok != c.ok {
			t.Errorf("%+v: %q %v, want %q %v", c.args.Str, got, ok, c.want, c.ok)
		}
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
