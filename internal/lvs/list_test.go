package lvs

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"dhproxy/internal/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected output of golden tests")

// TestGoldenList builds the services of each testdata/list/*.txtar
// (keepalived.conf), with every real server alive and the "stats" lines
// "addr active inactive", and compares `dhproxy lvs list` output with
// "expect"; with "traffic" lines "addr conns inpkts outpkts inbytes
// outbytes", `dhproxy lvs list --stats` with "expect-stats".
func TestGoldenList(t *testing.T) {
	archives, _ := filepath.Glob("testdata/list/*.txtar")
	if len(archives) == 0 {
		t.Fatal("no golden files")
	}
	for _, path := range archives {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			a := txtar.Parse(string(raw))
			conf, _ := a.Get("keepalived.conf")
			svcs, err := Build(loadConf(t, conf))
			if err != nil {
				t.Fatal(err)
			}
			rt := New(svcs, nil, Options{})
			ds := rt.Desired()
			stats := map[DestKey]DestStats{}
			if s, ok := a.Get("stats"); ok {
				for _, d := range ds {
					for _, dst := range d.Dests {
						var addr string
						var act, inact int64
						for _, line := range bytes.Split([]byte(s), []byte("\n")) {
							if n, _ := sscan(string(line), &addr, &act, &inact); n == 3 && addr == dst.Addr.String() {
								stats[DestKey{Svc: d.Svc, Addr: dst.Addr}] = DestStats{Active: act, Inactive: inact}
							}
						}
					}
				}
			}
			var out bytes.Buffer
			WriteList(&out, "nftables", ds, stats)
			outputs := []txtar.File{{Name: "expect", Data: out.String()}}
			if s, ok := a.Get("traffic"); ok {
				for _, line := range strings.Split(s, "\n") {
					var addr string
					var tr Traffic
					if n, _ := fmt.Sscan(line, &addr, &tr.Conns, &tr.InPkts, &tr.OutPkts, &tr.InBytes, &tr.OutBytes); n != 6 {
						continue
					}
					for _, d := range ds {
						for _, r := range destAddrs(d.Svc) {
							if r.String() == addr {
								k := DestKey{Svc: d.Svc, Addr: r}
								st := stats[k]
								st.Traffic = &tr
								stats[k] = st
							}
						}
					}
				}
				out.Reset()
				WriteListStats(&out, "nftables", ds, stats, false)
				outputs = append(outputs, txtar.File{Name: "expect-stats", Data: out.String()})
			}
			if *update {
				na := txtar.Archive{Comment: a.Comment}
				for _, f := range a.Files {
					if !strings.HasPrefix(f.Name, "expect") {
						na.Files = append(na.Files, f)
					}
				}
				na.Files = append(na.Files, outputs...)
				os.WriteFile(path, []byte(na.Format()), 0o644)
				return
			}
			for _, o := range outputs {
				if want, _ := a.Get(o.Name); o.Data != want {
					t.Errorf("%s differs (rerun with -update to accept)\n--- got\n%s--- want\n%s", o.Name, o.Data, want)
				}
			}
		})
	}
}

// TestLargeNum: ipvsadm's counter field, scaled and --exact.
func TestLargeNum(t *testing.T) {
	for _, c := range []struct {
		v     uint64
		exact bool
		want  string
	}{
		{0, false, "        0"}, {99_999_999, false, " 99999999"}, {100_000_000, false, "  100000K"},
		{1_234_567_890, false, "    1234M"}, {123_456_789_012, false, "     123G"}, {100_000_000_000_000, false, "     100T"},
		{7, true, "        7"}, {1_234_567_890, true, " 1234567890"},
	} {
		if got := largeNum(c.v, c.exact); got != c.want {
			t.Errorf("largeNum(%d, %v) = %q, want %q", c.v, c.exact, got, c.want)
		}
	}
}

func sscan(line string, addr *string, act, inact *int64) (int, error) {
	return fmt.Sscan(line, addr, act, inact)
}
