package runtimeapi

import (
	"strings"
	"testing"
)

// A command ending in "<<" takes the lines up to an empty one as its
// payload; the next command of an interactive session reads normally.
func TestPayloadCommand(t *testing.T) {
	sock, _ := start(t, "admin")
	out := send(t, sock, "prompt\nset ssl cert /x.pem <<\nline one\nline two\n\nshow ssl cert\nquit\n")
	if !strings.Contains(out, "Can't replace a certificate which is not referenced by the configuration!\nCan't update /x.pem!\n") {
		t.Errorf("payload command:\n%s", out)
	}
	if !strings.Contains(out, "# filename\n") || strings.Contains(out, "Unknown command") {
		t.Errorf("the payload leaked into the next command:\n%s", out)
	}
	if got := send(t, sock, "set ssl cert /x.pem\n"); got != "'set ssl cert expects a filename and a certificate as a payload\n\n" {
		t.Errorf("without payload: %q", got)
	}
	if got := send(t, sock, "operator; set ssl cert /x.pem <<\nx\n\n"); got != "\nPermission denied\n\n" {
		t.Errorf("operator level may not replace certificates: %q", got)
	}
}
