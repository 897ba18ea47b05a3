package txtar

import "testing"

func TestRoundTrip(t *testing.T) {
	in := "comment\n-- a.cfg --\nx\ny\n-- expect --\n-- b --\nz"
	a := Parse(in)
	if a.Comment != "comment\n" || len(a.Files) != 3 || a.Files[0].Data != "x\ny\n" || a.Files[1].Data != "" || a.Files[2].Data != "z" {
		t.Fatalf("parsed %+v", a)
	}
	if d, ok := a.Get("b"); !ok || d != "z" {
		t.Fatalf("Get b = %q %v", d, ok)
	}
	if out := a.Format(); out != in+"\n" {
		t.Fatalf("Format = %q", out)
	}
}
