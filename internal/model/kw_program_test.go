package model

import (
	"slices"
	"testing"
)

func TestProgramSection(t *testing.T) {
	cfg := buildText(t, "program api\n  command /usr/bin/api -f \"a b\"\n  user root\n  no option start-on-reload\nprogram helper\n  command /bin/true\n")
	if len(cfg.Programs) != 2 {
		t.Fatalf("got %d programs, want 2", len(cfg.Programs))
	}
	api := cfg.ProgramNamed("api")
	if api == nil || !slices.Equal(api.Command, []string{"/usr/bin/api", "-f", "a b"}) || api.UID != 0 || api.GID != -1 || api.StartOnReload {
		t.Fatalf("api: got %+v", api)
	}
	if h := cfg.ProgramNamed("helper"); h == nil || !h.StartOnReload || h.UID != -1 {
		t.Fatalf("helper: got %+v (start-on-reload is the default)", h)
	}
}
