package stream

import (
	"net/netip"
	"testing"

	"dhproxy/internal/acl"
	"dhproxy/internal/sample"
)

func TestUseServerAndPersistRules(t *testing.T) {
	b := testBackend(t, `backend be
 force-persist if { src 10.0.0.1 }
 ignore-persist if { src 10.0.0.2 }
 use-server s2 if { src 10.0.0.0/8 }
 use-server s1 if { src 10.0.0.0/8 }
 use-server %[str(s2)] if { src 172.16.0.1 }
 use-server %[str(nope)] if { src 172.16.0.2 }
 use-server s1 if { src 172.16.0.0/16 }
 server s1 127.0.0.1:1
 server s2 127.0.0.1:2 disabled
`)
	s1, s2 := b.Servers[0], b.Servers[1]
	const phase = sample.PhaseReq | sample.PhaseContent
	var as acl.State
	var buf []byte
	for _, c := range []struct {
		src  string
		mode persistMode
		want *Server
	}{
		{"10.0.0.1", persistForce, s2},  // forced onto the DOWN server
		{"10.0.0.3", persistNormal, s1}, // the DOWN server is skipped for the next rule
		{"10.0.0.2", persistIgnore, s1},
		{"172.16.0.1", persistNormal, s1},  // a computed name of a DOWN server: the next rule
		{"172.16.0.2", persistNormal, nil}, // a computed name of no server ends the rules
		{"192.168.0.1", persistNormal, nil},
	} {
		tx := &testTxn{src: netip.MustParseAddr(c.src)}
		as = acl.State{}
		mode := b.persistMode(tx, &as, phase)
		got := b.useServer(tx, &tx.v, &buf, &as, phase, mode == persistForce)
		if mode != c.mode || got != c.want {
			t.Errorf("src %s: mode %d server %s, want %d %s", c.src, mode, srvName(got), c.mode, srvName(c.want))
		}
		if len(buf) != 0 {
			t.Errorf("src %s: the name buffer was not given back", c.src)
		}
	}
	s2.SetUp(true)
	tx := &testTxn{src: netip.MustParseAddr("172.16.0.1")}
	if got := b.useServer(tx, &tx.v, &buf, &as, phase, false); got != s2 {
		t.Fatalf("computed name of an up server: %s, want s2", srvName(got))
	}
	if n := testing.AllocsPerRun(100, func() { b.useServer(tx, &tx.v, &buf, &as, phase, false) }); n != 0 {
		t.Errorf("a computed use-server name allocates %.0f times", n)
	}
}

func srvName(s *Server) string {
	if s == nil {
		return "none"
	}
	return s.Conf.Name
}

func TestDropHeaderLines(t *testing.T) {
	head := []byte("GET / HTTP/1.1\r\nX-Server: a\r\nHost: h\r\nx-server: b\r\nX-Server-Id: 1\r\nX-SERVER:c\r\n")
	want := "GET / HTTP/1.1\r\nHost: h\r\nX-Server-Id: 1\r\n"
	if got := dropHeaderLines(head, "X-Server"); string(got) != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := dropHeaderLines([]byte("GET / HTTP/1.1\r\nX-Server: a"), "X-Server"); string(got) != "GET / HTTP/1.1\r\n" {
		t.Fatalf("a last line without its end: %q", got)
	}
	if n := testing.AllocsPerRun(10, func() { dropHeaderLines(head, "X-Server") }); n != 0 {
		t.Errorf("%.0f allocations", n)
	}
}

func TestLastServer(t *testing.T) {
	for _, c := range []struct {
		extra    string
		full     bool
		wantLast bool
	}{
		{"", false, false}, // no prefer-last-server
		{" option prefer-last-server\n", false, true},
		{" option prefer-last-server\n", true, true}, // it queues there without limit
		{" option prefer-last-server\n max-keep-alive-queue 0\n", false, true},
		{" option prefer-last-server\n max-keep-alive-queue 0\n", true, false},
		{" option prefer-last-server\n balance source\n", false, false}, // hash-based
	} {
		b := testBackend(t, "backend be\n"+c.extra+" server s1 127.0.0.1:1 maxconn 1\n server s2 127.0.0.1:2\n")
		s1 := b.Servers[0]
		if c.full {
			if got, _ := b.Take(&s1.Server, true, nil, 0, false, nil); got != s1 {
				t.Fatal("could not fill s1")
			}
		}
		got := b.lastServer(&serverConn{srv: s1})
		if (got == s1) != c.wantLast || got != nil && got != s1 {
			t.Errorf("%q full %v: %s, want last %v", c.extra, c.full, srvName(got), c.wantLast)
		}
		if b.lastServer(nil) != nil {
			t.Error("no kept connection, yet a last server")
		}
	}
}
