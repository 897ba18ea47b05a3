package logging

import (
	"net/netip"
	"testing"
	"time"

	"dhproxy/internal/logging/logformat"
)

// A header format's %-variables are written as in a log line, but an
// absent value writes nothing, quoted or not (haproxy 2.6's lf-string).
func TestAppendVar(t *testing.T) {
	e := &Entry{
		ClientIP: netip.MustParseAddr("192.0.2.7"), ClientPort: 4321,
		Frontend: "fe", Status: -1, Method: []byte("GET"), URI: []byte("/a?b"), Proto: "HTTP/1.1",
	}
	for spec, want := range map[string]string{
		"ci": "192.0.2.7", "{+Q}ci": `"192.0.2.7"`, "{+X}ci": "C0000207", "{+X}cp": "10E1", "b": "fe", "s": "<NOSRV>",
		"ID": "", "{+Q}ID": "", "CC": "", "HQ": "?b", "r": "GET /a?b HTTP/1.1", "ST": "-1",
	} {
		lv, n, err := logformat.HeaderVar(spec)
		if err != nil || n != len(spec) {
			t.Errorf("HeaderVar(%q) = %d, %v", spec, n, err)
			continue
		}
		if got := string(AppendVar(nil, lv, e)); got != want {
			t.Errorf("%%%s = %q, want %q", spec, got, want)
		}
	}
}

// The server connection's ends, TLS and %Tu variables as haproxy 2.6
// writes them in a log line, present and absent.
func TestAppendFormatServerAndTLSVars(t *testing.T) {
	with := &Entry{
		ServerAddr: netip.MustParseAddrPort("127.0.0.1:18091"), BackendAddr: netip.MustParseAddrPort("127.0.0.1:56418"),
		SSLCipher: []byte("TLS_AES_128_GCM_SHA256"), SSLVersion: []byte("TLSv1.3"),
		Accept: time.Unix(100, 0), ReqStart: time.Unix(100, 0).Add(30 * time.Millisecond), Tt: 250 * time.Millisecond,
	}
	without := &Entry{Tt: -1}
	const format = `bi=%bi bp=%bp si=%si sp=%sp sslc=%sslc sslv=%sslv Tu=%Tu q=%{+Q}bi x=%{+X}bi:%{+X}bp %{+X}si:%{+X}sp %{+Q}sslc %{+Q}sp`
	f, err := logformat.Compile(nil, format, true)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		e    *Entry
		want string
	}{
		{with, `bi=127.0.0.1 bp=56418 si=127.0.0.1 sp=18091 sslc=TLS_AES_128_GCM_SHA256 sslv=TLSv1.3 Tu=220 q="127.0.0.1" x=7F000001:DC62 7F000001:46AB "TLS_AES_128_GCM_SHA256" 18091`},
		{without, `bi=- bp=- si=- sp=- sslc=- sslv=- Tu=-1 q="" x=-:- -:- "" ""`},
		// a UNIX socket server, connected, then only tried
		{&Entry{ServerUnix: true, BackendUnix: true, Tt: -1}, `bi=unix bp=0 si=unix sp=0 sslc=- sslv=- Tu=-1 q="unix" x=unix:0 unix:0 "" 0`},
		{&Entry{ServerUnix: true, Tt: -1}, `bi=- bp=- si=unix sp=0 sslc=- sslv=- Tu=-1 q="" x=-:- unix:0 "" 0`},
	} {
		if got := string(AppendFormat(nil, f, c.e)); got != c.want {
			t.Errorf("got  %s\nwant %s", got, c.want)
		}
	}
}
