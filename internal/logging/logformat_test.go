package logging

import (
	"net/netip"
	"testing"

	"dhproxy/internal/logging/logformat"
)

// A header format's %-variables are written as in a log line, but an
// absent value writes nothing, quoted or not (haproxy 2.6's lf-string).
func TestAppendVar(t *testing.T) {
	e := &Entry{
		ClientIP: netip.MustParseAddr("192.0.2.7"), ClientPort: 4321,
		Frontend: "fe", Status: -1, Method: []byte("GET"), URI: []byte("/a?b"), Proto: "HTTP/1.1",
	}
	for spec, want := range map[string]string{
		"ci": "192.0.2.7", "{+Q}ci": `"192.0.2.7"`, "{+X}cp": "10E1", "b": "fe", "s": "<NOSRV>",
		"ID": "", "{+Q}ID": "", "CC": "", "HQ": "?b", "r": "GET /a?b HTTP/1.1", "ST": "-1",
	} {
		lv, n, err := logformat.HeaderVar(spec)
		if err != nil || n != len(spec) {
			t.Errorf("HeaderVar(%q) = %d, %v", spec, n, err)
			continue
		}
		if got := string(AppendVar(nil, lv, e)); got != want {
			t.Errorf("%%%s = %q, want %q", spec, got, want)
		}
	}
}
