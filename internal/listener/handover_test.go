package listener

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"dhproxy/internal/model"
)

// A worker opening its binds gets the master's sockets, and the master
// reopens nothing on a reload that keeps them.
func TestSetHandsOverSockets(t *testing.T) {
	port := freeTCPPort(t)
	sock := filepath.Join(t.TempDir(), "fe.sock")
	tcpBind := &model.Bind{Network: "tcp", Addr: net.JoinHostPort("127.0.0.1", port)}
	unixBind := &model.Bind{Network: "unix", Addr: sock}
	cfg := &model.Config{Proxies: []*model.Proxy{{Name: "fe", Cap: model.CapFE, Binds: []*model.Bind{tcpBind, unixBind}}}}
	var s Set
	keys, files, err := s.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || len(files) != 2 {
		t.Fatalf("keys %v", keys)
	}
	again, files2, err := s.Open(cfg)
	if err != nil || files2[0] != files[0] || files2[1] != files[1] || len(again) != 2 {
		t.Fatalf("second Open reopened sockets: %v %v", again, err)
	}
	// The worker side: its binds find the inherited sockets, so binding
	// the same address again does not fail with "address in use".
	m := map[string]*os.File{}
	for i, k := range keys {
		m[k] = files[i]
	}
	Inherit(m)
	defer Inherit(nil)
	for _, b := range []*model.Bind{tcpBind, unixBind} {
		l, err := Open(b, 10)
		if err != nil {
			t.Fatalf("%s: %v", b.Addr, err)
		}
		c, err := net.Dial(l.Addr().Network(), l.Addr().String())
		if err != nil {
			t.Fatalf("dial %s: %v", b.Addr, err)
		}
		a, err := l.Accept()
		if err != nil {
			t.Fatal(err)
		}
		a.Close()
		c.Close()
		l.Close()
	}
	// The worker closing its listener leaves the path to the next one.
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("unix socket path removed: %v", err)
	}
	s.Keep([]string{keys[0]})
	if len(s.files) != 1 {
		t.Fatalf("Keep left %d sockets", len(s.files))
	}
	s.Keep(nil)
}

func freeTCPPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	_, p, _ := net.SplitHostPort(l.Addr().String())
	return p
}
