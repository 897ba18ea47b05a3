package model

import (
	"fmt"
	"testing"
)

// A "log tcp@" line gets an implicit ring after the ring sections (one per
// line: the proxies that inherit a defaults line share it), with the
// target's format and a legacy-framed server, and the target logs to it.
func TestLogTCPImplicitRing(t *testing.T) {
	cfg := buildText(t, `global
    log tcp@127.0.0.1:1514 len 100 local0
ring explicit
defaults
    mode http
    log tcp6@[::1] format rfc5424 local1
frontend f1
    bind 127.0.0.1:8080
frontend f2
    bind 127.0.0.1:8081
`)
	var got []string
	for _, r := range cfg.Rings {
		got = append(got, fmt.Sprintf("%s|%s|%q|%+v", r.Name, r.Description, r.Format, r.Servers))
	}
	if len(got) != 3 || cfg.Rings[0].Name != "explicit" {
		t.Fatalf("rings: %q", got)
	}
	for i, w := range []struct{ name, desc, format, addr string }{
		{"ring#1", "created from logserver declared into '%s' at line 2", "", "127.0.0.1:1514"},
		{"ring#2", "created from logserver declared into '%s' at line 6", "rfc5424", "[::1]:514"},
	} {
		r := cfg.Rings[i+1]
		desc := fmt.Sprintf(w.desc, r.Pos.File)
		if r.Name != w.name || r.Description != desc || r.Format != w.format || len(r.Servers) != 1 || r.Servers[0].Addr != w.addr || r.Servers[0].OctetCount {
			t.Errorf("ring %d: %+v", i+1, r)
		}
	}
	if a := cfg.Global.Logs[0].Address; a != "ring@ring#1" {
		t.Errorf("global target logs to %q", a)
	}
	for _, p := range cfg.Proxies {
		if p.Name == "f1" || p.Name == "f2" {
			if len(p.Logs) != 1 || p.Logs[0].Address != "ring@ring#2" || p.Logs[0].Format != "rfc5424" {
				t.Errorf("%s logs to %+v", p.Name, p.Logs)
			}
		}
	}
}
