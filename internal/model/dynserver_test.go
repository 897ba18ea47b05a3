package model

import (
	"strings"
	"testing"
)

func TestDynamicServerKeywords(t *testing.T) {
	cfg := &Config{}
	p := &Proxy{Name: "be", Mode: ModeHTTP}
	for _, c := range []struct {
		args  string
		err   string
		ready bool
	}{
		{"127.0.0.1:80 weight 10 check inter 2s rise 3 fall 2 maxconn 5 backup", "", false},
		{"127.0.0.1:80 enabled", "", true},
		{"127.0.0.1:80 cookie abc", "'cookie' option is not accepted for dynamic server", false},
		{"127.0.0.1:80 redir http://x", "'redir' option is not accepted for dynamic server", false},
		{"127.0.0.1:80 init-addr last", "'init-addr' option is not accepted for dynamic server", false},
		{"127.0.0.1:80 weight 300", "weight of server n is not within 0 and 256 (300)..", false},
		{"127.0.0.1:80 foo", "unknown keyword 'foo'; did you mean 'tfo' maybe ?", false},
		{"127.0.0.1:80 ssl verify none sni str(x)", "", false},
		{"127.0.0.1:99999", "'server n': invalid port '99999'; ports go from 1 to 65535.", false},
	} {
		f := strings.Fields(c.args)
		s, ready, err := DynamicServer(cfg, p, "n", f[0], f[1:])
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%q: error %v, want %q", c.args, err, c.err)
			}
			continue
		}
		if err != nil || s == nil || ready != c.ready {
			t.Errorf("%q: %v ready %v", c.args, err, ready)
		}
	}
	s, _, _ := DynamicServer(cfg, p, "n", "127.0.0.1:80", strings.Fields("weight 10 check maxconn 5 backup"))
	if s.Weight != 10 || !s.Check || s.Maxconn != 5 || !s.Backup || s.Rise != 2 {
		t.Errorf("options not applied: %+v", s)
	}
	if s, _, _ := DynamicServer(cfg, p, "n", "127.0.0.1:80", []string{"ssl", "verify", "none"}); s.TLSConfig == nil {
		t.Errorf("ssl server without a TLS configuration")
	}
}

func FuzzDynamicServer(f *testing.F) {
	f.Add("n1", "127.0.0.1:80", "weight 10 check inter 2s")
	f.Add("n1", "[::1]:80", "ssl verify none sni str(x) agent-check agent-port 1")
	f.Add("n/1", "x:0", "cookie a id 0 weight")
	f.Fuzz(func(t *testing.T, name, addr, args string) {
		DynamicServer(&Config{}, &Proxy{Name: "be"}, name, addr, strings.Fields(args))
	})
}
