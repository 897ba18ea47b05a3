package model

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dhproxy/internal/config"
)

// Binds without "id" are numbered as HAProxy numbers its listeners
// (so_id, the stats' sid).
func TestBindIDs(t *testing.T) {
	cfg := buildText(t, `
frontend fe
    bind 127.0.0.1:80 id 7 name web
    bind 127.0.0.1:81
    bind 127.0.0.1:82 id 2
    bind 127.0.0.1:83-84
    bind 127.0.0.1:85 id 3
`)
	var got []int
	for _, b := range cfg.Proxy("fe").Binds {
		got = append(got, b.ID)
	}
	// 81 skips the taken 2 and 3 (4); 83 gets 6 (the count moved on
	// past 82); 84, past the taken 7, gets 8.
	if got, want := fmt.Sprint(got), "[7 4 2 6 8 3]"; got != want {
		t.Errorf("ids %s, want %s", got, want)
	}
	for text, want := range map[string]string{
		"bind 127.0.0.1:80 id 0":                             "expects an integer > 0",
		"bind 127.0.0.1:80 id x":                             "expects an integer > 0",
		"bind 127.0.0.1:80-81 id 4":                          "can only be used with a single socket",
		"bind 127.0.0.1:80,127.0.0.1:81 id 4":                "can only be used with a single socket",
		"bind 127.0.0.1:80 id 4\n    bind 127.0.0.1:81 id 4": "custom id 4 already used at",
	} {
		path := filepath.Join(t.TempDir(), "haproxy.cfg")
		os.WriteFile(path, []byte("frontend fe\n    "+text+"\n"), 0o644)
		var d config.Diags
		c := Build(config.Load([]string{path}, nil, &d), &d)
		var b strings.Builder
		d.Write(&b, 0)
		if c != nil || !strings.Contains(b.String(), want) {
			t.Errorf("%q: accepted %v, diagnostics %q; want %q", text, c != nil, b.String(), want)
		}
	}
}
