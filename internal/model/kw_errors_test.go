package model

import (
	"os"
	"path/filepath"
	"testing"
)

// A section starts from its defaults' pages; later lines win; errorfiles
// takes a section's pages, all or those listed; http-errors sections may
// come after the proxies naming them.
func TestErrorPagesOrder(t *testing.T) {
	dir := t.TempDir()
	page := func(name, status string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte("HTTP/1.1 "+status+"\r\nContent-Length: 0\r\n\r\n"), 0o644)
		return p
	}
	cfg := buildText(t, `
defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
    errorfile 503 `+page("d503", "503 Defaults")+`
    errorfile 504 `+page("d504", "504 Defaults")+`
frontend fe
    bind 127.0.0.1:8080
    errorloc302 503 /down
    errorfiles later 500
    default_backend be
backend be
    errorfiles later
    errorfile 502 `+page("b502", "502 Own")+`
    server s 127.0.0.1:80
http-errors later
    errorfile 500 `+page("s500", "500 Section")+`
    errorfile 502 `+page("s502", "502 Section")+`
`)
	line := func(proxy string, code int) string {
		r := cfg.Proxy(proxy).ErrorPages[code]
		if r == nil {
			return ""
		}
		if r.Raw && len(r.Tail) > 0 && string(r.Line) == "HTTP/1.1 302 Found\r\n" {
			return "errorloc"
		}
		return string(r.Line)
	}
	for _, c := range []struct {
		proxy string
		code  int
		want  string
	}{
		{"fe", 503, "errorloc"},
		{"fe", 504, "HTTP/1.1 504 Defaults\r\n"},
		{"fe", 500, "HTTP/1.1 500 Section\r\n"},
		{"fe", 502, ""}, // not listed
		{"be", 503, "HTTP/1.1 503 Defaults\r\n"},
		{"be", 500, "HTTP/1.1 500 Section\r\n"},
		{"be", 502, "HTTP/1.1 502 Own\r\n"},
	} {
		if got := line(c.proxy, c.code); got != c.want {
			t.Errorf("%s %d: %q, want %q", c.proxy, c.code, got, c.want)
		}
	}
	if r := cfg.Proxy("fe").ErrorPages[500]; r.Status != 500 {
		t.Errorf("status %d, want the errorfile's code", r.Status)
	}
}
