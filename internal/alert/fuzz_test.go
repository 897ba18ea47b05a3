package alert

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
)

// FuzzReadReply feeds arbitrary server output to the reply reader: it must
// never panic, and an accepted reply must end in a "NNN " or bare "NNN" line.
func FuzzReadReply(f *testing.F) {
	for _, seed := range []string{
		"220 ready\r\n", "250-a\r\n250-b\r\n250 c\r\n", "354\r\n", "250 ok\n",
		"25", "hello\r\n", "250+x\r\n", "220-only continuation\r\n", "\x00\xff\r\n",
		strings.Repeat("250-x\r\n", 101) + "250 ok\r\n", "220 " + strings.Repeat("y", 5000) + "\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		code, text, err := readReply(bufio.NewReaderSize(bytes.NewReader(data), 1024))
		if err != nil {
			return
		}
		if code < 0 || code > 999 {
			t.Fatalf("code %d", code)
		}
		last := text
		if i := strings.LastIndex(text, " / "); i >= 0 {
			last = text[i+3:]
		}
		if len(last) < 3 || len(last) > 3 && last[3] != ' ' && !strings.HasSuffix(last, "...") {
			t.Fatalf("accepted reply %q (code %d)", text, code)
		}
	})
}
