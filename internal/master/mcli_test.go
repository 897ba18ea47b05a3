package master

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseCLISpec(t *testing.T) {
	cases := []struct {
		spec string
		path string
		mode os.FileMode
		bad  bool
	}{
		{"/run/m.sock", "/run/m.sock", 0, false},
		{"unix@/run/m.sock,mode,600", "/run/m.sock", 0o600, false},
		{"/run/m.sock,level,admin,mode,660", "/run/m.sock", 0o660, false},
		{"/run/m.sock,mode", "", 0, true},
		{"/run/m.sock,mode,9", "", 0, true},
		{"/run/m.sock,bogus", "", 0, true},
		{",mode,600", "", 0, true},
	}
	for _, c := range cases {
		path, mode, err := parseCLISpec(c.spec)
		if (err != nil) != c.bad || path != c.path || mode != c.mode {
			t.Errorf("%q: %q %o %v", c.spec, path, mode, err)
		}
		if err != nil && !strings.Contains(err.Error(), c.spec) {
			t.Errorf("%q: the error does not name the option: %v", c.spec, err)
		}
	}
}

func FuzzParseCLISpec(f *testing.F) {
	for _, s := range []string{"/run/m.sock", "unix@/x,mode,600", "/x,level,admin", ",", "/x,mode,777777"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		path, mode, err := parseCLISpec(spec)
		if err == nil && (path == "" || mode > 0o7777) {
			t.Fatalf("%q: accepted path %q mode %o", spec, path, mode)
		}
	})
}

// "show proc" in haproxy 2.6's columns (copied from its output's layout).
func TestShowProcLayout(t *testing.T) {
	now := time.Now()
	cur := &worker{pid: 12, started: now, reloads: 0}
	old := &worker{pid: 11, started: now.Add(-3725 * time.Second), reloads: 1}
	m := &Master{opt: Options{Version: "0.1.0"}, started: now.Add(-3725 * time.Second), nreload: 2, nfailed: 1, workers: []*worker{old, cur}, current: cur}
	got := m.showProc()
	pid := strconv.Itoa(os.Getpid())
	want := "#<PID>          <type>          <reloads>       <uptime>        <version>      \n" +
		pid + strings.Repeat(" ", 16-len(pid)) + "master          2 [failed: 1]   0d01h02m05s     0.1.0\n" +
		"# workers\n" +
		"12              worker          0               0d00h00m00s     0.1.0\n" +
		"# old workers\n" +
		"11              worker          1               0d01h02m05s     0.1.0\n" +
		"# programs\n\n"
	if got != want {
		t.Errorf("got:\n%q\nwant:\n%q", got, want)
	}
}
