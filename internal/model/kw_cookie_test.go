package model

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dhproxy/internal/config"
)

// maxidle/maxlife count in seconds when no unit is given, unlike timeouts.
func TestCookieOptions(t *testing.T) {
	cfg := buildText(t, `
defaults
    mode http
backend plain
    cookie SRV insert postonly maxidle 30 maxlife 8h
    server a 127.0.0.1:80 cookie a
backend units
    cookie SRV insert maxidle 1500ms
    server a 127.0.0.1:80 cookie a
`)
	c := cfg.Proxy("plain").Cookie
	if !c.PostOnly || c.MaxIdle != 30*time.Second || c.MaxLife != 8*time.Hour {
		t.Fatalf("plain: %+v", c)
	}
	if c := cfg.Proxy("units").Cookie; c.PostOnly || c.MaxIdle != time.Second || c.MaxLife != 0 {
		t.Fatalf("units: %+v", c)
	}
}

func TestCookieAgeErrors(t *testing.T) {
	for _, bad := range []string{"maxidle 30x", "maxlife", "maxidle -1"} {
		path := filepath.Join(t.TempDir(), "haproxy.cfg")
		text := "defaults\n    mode http\nbackend b\n    cookie SRV insert " + bad + "\n    server a 127.0.0.1:80 cookie a\n"
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		var d config.Diags
		cfg := Build(config.Load([]string{path}, nil, &d), &d)
		var out bytes.Buffer
		d.Write(&out, 0)
		if cfg != nil || !strings.Contains(out.String(), "haproxy.cfg:4") {
			t.Errorf("%q: accepted or no file:line in %q", bad, out.String())
		}
	}
}
