package config

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func FuzzLoadDebug(f *testing.F) {
	f.Add("global\n  maxconn 100\n")
	f.Add(".if 0\n.if (((\n.endif\n.else\nfrontend f\n.warning \"w\"\n.alert x y\n.endif\n")
	f.Add("[scope]\nbackend b\n  server s \"${ARR[*]}\" \"$NOPE\"\n\"\" x\n")
	env := testEnv()
	f.Fuzz(func(t *testing.T, s string) {
		p := filepath.Join(t.TempDir(), "f.cfg")
		os.WriteFile(p, []byte(s), 0o644)
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(3 * time.Second):
				os.WriteFile("/tmp/hang.cfg", []byte(s), 0o644)
				panic("hang")
			}
		}()
		var d Diags
		Load([]string{p}, env, &d)
		close(done)
	})
}
