package sample

import (
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"
)

// payloadTxn is a fakeTxn with a request payload.
type payloadTxn struct {
	fakeTxn
	data     []byte
	final    bool
	wantMore bool
}

func (p *payloadTxn) Payload() []byte    { return p.data }
func (p *payloadTxn) PayloadFinal() bool { return p.final }
func (p *payloadTxn) WantMore()          { p.wantMore = true }

// clientHello returns the first record a Go TLS client sends.
func clientHello(t testing.TB, sni string, alpn ...string) []byte {
	t.Helper()
	cli, srv := net.Pipe()
	go func() {
		c := tls.Client(cli, &tls.Config{ServerName: sni, NextProtos: alpn, InsecureSkipVerify: true})
		c.SetDeadline(time.Now().Add(time.Second))
		c.Handshake()
		cli.Close()
	}()
	defer srv.Close()
	buf := make([]byte, 5)
	if _, err := readFull(srv, buf); err != nil {
		t.Fatal(err)
	}
	rec := make([]byte, int(buf[3])<<8|int(buf[4]))
	if _, err := readFull(srv, rec); err != nil {
		t.Fatal(err)
	}
	return append(buf, rec...)
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func TestPayloadFetches(t *testing.T) {
	hello := clientHello(t, "a.example", "h2", "http/1.1")
	noSNI := clientHello(t, "")
	get := []byte("GET / HTTP/1.1\r\n\r\n")
	lv := []byte{0, 3, 'a', 'b', 'c', 9, 'x'}
	for _, c := range []struct {
		expr  string
		data  []byte
		final bool
		want  string // "" with ok false: no sample
		ok    bool
		more  bool // the fetch asked for more data
	}{
		{"req.len", get, false, "18", true, true},
		{"req_len", get, true, "18", true, false},
		{"req.payload(0,4)", get, false, "GET ", true, false},
		{"req.payload(0,4),hex", get, false, "47455420", true, false},
		{"req.payload(16,4)", get, false, "", false, true},
		{"req.payload(16,4)", get, true, "", false, false},
		{"req.payload(15,0)", get, true, "\n\r\n", true, false},
		{"req.payload_lv(0,2)", lv, false, "abc", true, false},
		{"req.payload_lv(0,2,+1)", lv, false, "bc\t", true, false},
		{"req.payload_lv(5,1)", lv, false, "", false, true},
		{"req.ssl_hello_type", hello, false, "1", true, false},
		{"req.ssl_hello_type", hello[:3], false, "", false, true},
		{"req.ssl_hello_type", get, false, "", false, false},
		// 3.3: the hello's version (TLS 1.2, as TLS 1.3's hellos say), not
		// the record's (3.1), as haproxy
		{"req.ssl_ver", hello, false, "196611", true, false},
		{"req.ssl_ver", hello[:len(hello)-1], false, "", false, true},
		{"req.ssl_ver", get, false, "", false, false},
		{"req.ssl_sni", hello, false, "a.example", true, false},
		{"req_ssl_sni", hello[:len(hello)-1], false, "", false, true},
		{"req.ssl_sni", hello[:len(hello)-1], true, "", false, false},
		{"req.ssl_sni", noSNI, false, "", false, false},
		{"req.ssl_sni", get, false, "", false, false},
		{"req.ssl_alpn", hello, false, "h2", true, false},
		{"req.ssl_alpn", noSNI, false, "", false, false},
		{"req.rdp_cookie(mstshash)", []byte("\x03\x00\x00\x2a\x25\xe0\x00\x00\x00\x00\x00Cookie: mstshash=bob\r\n"), false, "bob", true, false},
		{"req.rdp_cookie_cnt", []byte("\x03\x00\x00\x2a"), false, "", false, true},
		{"req.proto_http", []byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n"), false, "1", true, false},
		{"req.proto_http", get[:10], false, "0", true, true},
		{"req.proto_http", get[:10], true, "0", true, false},
		{"req.proto_http", hello, false, "0", true, false},
		{"wait_end", get, false, "", false, true},
		{"wait_end", get, true, "1", true, false},
	} {
		f := &payloadTxn{data: c.data, final: c.final}
		var comp Compiler
		e, err := comp.Compile(c.expr, PhaseContent)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		var v Value
		ok := e.Eval(f, &v)
		got := ""
		if ok {
			Cast(&v, TypeStr, &f.scratch)
			got = string(v.Bytes)
		}
		if ok != c.ok || got != c.want || f.wantMore != c.more {
			t.Errorf("%s on %q (final %v): got %q %v, more %v; want %q %v, more %v", c.expr, c.data, c.final, got, ok, f.wantMore, c.want, c.ok, c.more)
		}
	}
}

// An ACL sees every protocol of the ALPN list, as haproxy's req.ssl_alpn
// (a sample is the first one).
func TestClientHelloALPNEach(t *testing.T) {
	hello := clientHello(t, "", "http/1.1", "h2", "x")
	var got []string
	it := &Iter{}
	for i := 0; i < 10; i++ {
		v, st := clientHelloExt(hello, extALPN, it)
		if st != tlsOK {
			t.Fatalf("protocol %d: state %d", i, st)
		}
		got = append(got, string(v))
		if !it.More {
			break
		}
	}
	if strings.Join(got, ",") != "http/1.1,h2,x" {
		t.Errorf("protocols %q", got)
	}
	if v, _ := clientHelloExt(hello, extALPN, nil); string(v) != "http/1.1" {
		t.Errorf("sample: %q, want the first protocol", v)
	}
}

// HTTP rules have no payload: the fetches give no sample and are refused
// where they are checked by phase.
func TestPayloadFetchesOutsideContent(t *testing.T) {
	var comp Compiler
	if _, err := comp.Compile("req.ssl_sni", PhaseReq); err == nil {
		t.Error("req.ssl_sni compiled for http-request rules")
	}
	if _, err := comp.Compile("req.len", PhaseConn); err == nil {
		t.Error("req.len compiled for tcp-request connection rules")
	}
	e, err := comp.Compile("req.len", PhaseReq|PhaseContent)
	if err != nil {
		t.Fatal(err)
	}
	var v Value
	if e.Eval(&fakeTxn{}, &v) {
		t.Error("req.len answered without a payload")
	}
}

func FuzzClientHelloExt(f *testing.F) {
	f.Add(clientHello(f, "a.example", "h2"))
	f.Add([]byte{0x16, 3, 1, 0, 4, 1, 0, 0, 0})
	f.Fuzz(func(t *testing.T, d []byte) {
		for _, ext := range []uint16{extSNI, extALPN} {
			v, st := clientHelloExt(d, ext, nil)
			if st == tlsOK && len(v) > len(d) {
				t.Fatalf("value longer than the data")
			}
			it := &Iter{}
			for i := 0; i < len(d); i++ {
				it.More = false
				if _, st := clientHelloExt(d, ext, it); st != tlsOK || !it.More {
					break
				}
			}
		}
		helloType(d)
		helloVersion(d)
		if exts, st := helloExtensions(d); st == tlsOK {
			for _, ext := range []uint16{extSupportedGroups, extSessionTicket} {
				if body, _, _ := findExtension(exts, ext); len(body) > len(exts) {
					t.Fatalf("extension longer than its block")
				}
			}
		}
	})
}

// bodyTxn is a fakeTxn whose body was read before the rules.
type bodyTxn struct {
	fakeTxn
	body []byte
	size int64
}

func (b *bodyTxn) RequestBody() ([]byte, int64, bool) { return b.body, b.size, b.body != nil }

func TestBodyFetches(t *testing.T) {
	f := &bodyTxn{body: []byte("x=1&user=bob&y="), size: 40}
	for expr, want := range map[string]string{
		"req.body":              "x=1&user=bob&y=",
		"req.body_len":          "15",
		"req.body_size":         "40",
		"req.body_param(user)":  "bob",
		"req.body_param(y)":     "",
		"req.body_param":        "x=1&user=bob&y=",
		"req.body,lower,length": "15",
	} {
		_, _, ok := evalString(t, &f.fakeTxn, expr, PhaseReq)
		var c Compiler
		e, err := c.Compile(expr, PhaseReq)
		if err != nil {
			t.Fatal(err)
		}
		var v Value
		if !e.Eval(f, &v) || !Cast(&v, TypeStr, &f.scratch) || string(v.Bytes) != want {
			t.Errorf("%s: got %q, want %q", expr, v.Bytes, want)
		}
		if ok {
			t.Errorf("%s answered on a transaction without a body", expr)
		}
	}
	var c Compiler
	e, _ := c.Compile("req.body_param(nope)", PhaseReq)
	var v Value
	if e.Eval(f, &v) {
		t.Error("req.body_param(nope) found something")
	}
}
