package logging

import (
	"strings"
	"testing"
	"time"
)

// TestParseAndRebuild: received headers are read as haproxy 2.6 reads
// them and written again in a target's format (the expected lines are
// haproxy 2.6.12's, see e2e TestLogForwardAsHAProxy).
func TestParseAndRebuild(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.Local)
	cases := []struct{ in, format, want string }{
		{"<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - BOM", "", "<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - BOM"},
		{"<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - BOM", "rfc3164", "<34>Oct 11 22:14:15 mymachine su: BOM"},
		{"<13>Oct 11 22:14:15 host1 app[123]: hello", "rfc5424", "<13>1 2026-10-11T22:14:15-00:00 host1 app 123 - - hello"},
		{"<13>Oct  1 22:14:15 host1 just a message", "", "<13>Oct  1 22:14:15 host1 just a message"},
		{"<13>Feb  3 01:02:03 host1 app[12]x: odd", "rfc5424", "<13>1 2026-02-03T01:02:03-00:00 host1 app - - - app[12]x: odd"},
		{"<13>1 bad", "", "<13>1 b"}, // haproxy 2.6 loses the last 2 bytes here
		{"<13>1 - - - - - - nil", "", "<13>nil"},
		{"<999>weird", "", "<999>weird"},
		{"<99999>weird", "priority", "<999>weird"},
		{"no pri", "", "no pri"},
		{"no pri", "short", "<0>no pri"},
	}
	for _, c := range cases {
		level, facility, m, msg := ParseMessage([]byte(c.in))
		if level < 0 {
			level, facility = 0, 0
		}
		got := string(append(appendMetaHeader(nil, c.format, level, facility, &m, now), msg...))
		if got != c.want {
			t.Errorf("%q as %q:\n got %q\nwant %q", c.in, c.format, got, c.want)
		}
	}
}

// FuzzParseMessage: any received datagram is parsed and written again in
// every target format without a panic; the message returned is part of
// the input (haproxy forwards the bytes it did not read as a header).
func FuzzParseMessage(f *testing.F) {
	for _, s := range []string{
		"<34>1 2003-10-11T22:14:15.003Z mymachine su - ID47 - BOM",
		"<34>1 2003-10-11T22:14:15.003+02:00 h a p m [x a=\"]\\]\"][y] msg",
		"<13>Oct 11 22:14:15 host1 app[123]: hello",
		"<13>Feb  3 01:02:03 host1 app[12]x: odd",
		"<13>1 - - - - - - nil", "<99999>weird", "no pri", "<1>", "<>",
	} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.Local)
	formats := []string{"", "raw", "local", "rfc3164", "rfc5424", "priority", "timed", "short", "iso"}
	f.Fuzz(func(t *testing.T, in string) {
		level, facility, m, msg := ParseMessage([]byte(in))
		if !strings.Contains(in, string(msg)) {
			t.Fatalf("message %q is not part of %q", msg, in)
		}
		if level < 0 {
			level, facility = 0, 0
		}
		for _, format := range formats {
			appendMetaHeader(nil, format, level, facility, &m, now)
		}
	})
}
