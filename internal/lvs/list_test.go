package lvs

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"dhproxy/internal/txtar"
)

var update = flag.Bool("update", false, "rewrite the expected output of golden tests")

// TestGoldenList builds the services of each testdata/list/*.txtar
// (keepalived.conf), with every real server alive and the "stats" lines
// "addr active inactive", and compares `dhproxy lvs list` output with
// "expect".
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
			got := out.String()
			if *update {
				na := txtar.Archive{Comment: a.Comment}
				for _, f := range a.Files {
					if f.Name != "expect" {
						na.Files = append(na.Files, f)
					}
				}
				na.Files = append(na.Files, txtar.File{Name: "expect", Data: got})
				os.WriteFile(path, []byte(na.Format()), 0o644)
				return
			}
			if want, _ := a.Get("expect"); got != want {
				t.Errorf("list differs (rerun with -update to accept)\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

func sscan(line string, addr *string, act, inact *int64) (int, error) {
	return fmt.Sscan(line, addr, act, inact)
}
