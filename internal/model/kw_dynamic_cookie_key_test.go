package model

import (
	"fmt"
	"testing"

	"dhproxy/internal/sample"
)

func TestXXH64Vectors(t *testing.T) {
	for in, want := range map[string]uint64{
		"":    0xef46db3751d8e999,
		"a":   0xd24ec4f1a98c6e5b,
		"abc": 0x44bc2cf5ad770999,
	} {
		if got := sample.XXH64([]byte(in), 0); got != want {
			t.Errorf("xxh64(%q) = %016x, want %016x", in, got, want)
		}
	}
}

// The expected cookies are what HAProxy 2.6.12 sent for these servers
// (IPv4, IPv6, and a key long enough for XXH64's 32-byte stripes).
func TestDynamicCookies(t *testing.T) {
	cfg := buildText(t, fmt.Sprintf(`
defaults
    mode http
backend web
    cookie SRV insert dynamic
    dynamic-cookie-key secretkey
    server s1 127.0.0.1:18082
    server s2 [::1]:18083
    server fixed 127.0.0.1:18085 cookie mine
    server named localhost:18086
backend long
    dynamic-cookie-key %s
    cookie SRV insert dynamic
    server s1 127.0.0.1:18082
backend nokey
    cookie SRV insert dynamic
    server s1 127.0.0.1:18082
`, "a-much-longer-secret-key-of-more-than-32-bytes"))
	want := map[string]string{
		"web/s1": "0a6fcf0d68cd32f5", "web/s2": "08967774a4ad0870", "web/fixed": "mine", "web/named": "",
		"long/s1": "e9b08e758ce5a0d3", "nokey/s1": "",
	}
	for _, p := range cfg.Proxies {
		for _, s := range p.Servers {
			if got := s.Cookie; got != want[p.Name+"/"+s.Name] {
				t.Errorf("%s/%s: cookie %q, want %q", p.Name, s.Name, got, want[p.Name+"/"+s.Name])
			}
		}
	}
}
