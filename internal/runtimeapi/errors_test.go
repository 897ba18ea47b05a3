package runtimeapi

import (
	"strings"
	"testing"
)

// The dump of haproxy 2.6's "show errors" for the same bytes (captured
// from haproxy): escapes, uppercase hex, the 80-column wrap with '+'.
func TestDumpTextLineAsHAProxy(t *testing.T) {
	data := []byte("GET /" + strings.Repeat("a", 103) + " HTTP/1.1\r\nX: a\tb\\c\x1b\x7f\xff\"<>\r\nHo st: x\r\n\r\n")
	want := "  00000  GET /" + strings.Repeat("a", 65) + "\n" +
		"  00070+ " + strings.Repeat("a", 38) + ` HTTP/1.1\r\n` + "\n" +
		`  00119  X: a\tb\\c\e\x7F\xFF"<>\r\n` + "\n" +
		`  00135  Ho st: x\r\n` + "\n" +
		`  00145  \r\n` + "\n"
	var b strings.Builder
	for pos := 0; pos < len(data); {
		pos = dumpTextLine(&b, data, pos, pos == 0 || data[pos-1] == '\n')
	}
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
