package sample

import "testing"

// buildHello is a TLS 1.2 ClientHello in one record with the extensions
// given (type, body).
func buildHello(exts ...[]byte) []byte {
	var block []byte
	for i := 0; i+1 < len(exts); i += 2 {
		typ, body := exts[i], exts[i+1]
		block = append(block, typ[0], typ[1], byte(len(body)>>8), byte(len(body)))
		block = append(block, body...)
	}
	b := []byte{3, 3}
	b = append(b, make([]byte, 32)...)       // random
	b = append(b, 0, 0, 2, 0x00, 0x2f, 1, 0) // no session id, one cipher, no compression
	b = append(b, byte(len(block)>>8), byte(len(block)))
	b = append(b, block...)
	hs := append([]byte{1, byte(len(b) >> 16), byte(len(b) >> 8), byte(len(b))}, b...)
	return append([]byte{0x16, 3, 1, byte(len(hs) >> 8), byte(len(hs))}, hs...)
}

// The answers haproxy 2.6.12 gives for openssl s_client's hellos: with
// an empty SessionTicket extension (1), a ticket (2), none (-no_ticket:
// 0); without the elliptic curves extension (RSA ciphers only),
// req.ssl_ec_ext has no sample.
func TestSSLHelloExtensions(t *testing.T) {
	groups, ticket := []byte{0, 10}, []byte{0, 35}
	full := clientHello(t, "a.example")
	for _, c := range []struct {
		expr  string
		data  []byte
		want  string // "-": no sample
		more  bool
		phase Phase
	}{
		{"req.ssl_ec_ext", full, "1", false, PhaseContent},
		{"req.ssl_st_ext", full, "0", false, PhaseContent}, // Go offers tickets only with a session cache
		{"req.ssl_st_ext", buildHello(groups, []byte{0, 2, 0, 29}, ticket, []byte("ticket")), "2", false, PhaseContent},
		{"req.ssl_st_ext", buildHello(groups, []byte{0, 2, 0, 29}), "0", false, PhaseContent},
		{"req.ssl_ec_ext", buildHello(ticket, nil), "-", false, PhaseContent},
		{"req.ssl_st_ext", buildHello(ticket, nil), "1", false, PhaseContent},
		{"req.ssl_st_ext", full[:len(full)-1], "-", true, PhaseContent},
		{"req.ssl_ec_ext", []byte("GET / HTTP/1.1\r\n\r\n"), "-", false, PhaseContent},
		{"res.ssl_hello_type", []byte{0x16, 3, 3, 0, 4, 2, 0, 0, 0}, "2", false, PhaseResContent},
		{"rep_ssl_hello_type", []byte{0x16, 3}, "-", true, PhaseResContent},
		{"res.ssl_hello_type", []byte("HTTP/1.1 200 OK\r\n"), "-", false, PhaseResContent},
	} {
		f := &payloadTxn{data: c.data}
		var comp Compiler
		e, err := comp.Compile(c.expr, c.phase)
		if err != nil {
			t.Fatalf("%s: %v", c.expr, err)
		}
		var v Value
		got := "-"
		if e.Eval(f, &v) {
			Cast(&v, TypeStr, &f.scratch)
			got = string(v.Bytes)
		}
		if got != c.want || f.wantMore != c.more {
			t.Errorf("%s on %.40q: %q, more %v; want %q, more %v", c.expr, c.data, got, f.wantMore, c.want, c.more)
		}
	}
	var comp Compiler
	if _, err := comp.Compile("res.ssl_hello_type", PhaseConn|PhaseContent); err == nil {
		t.Error("res.ssl_hello_type compiled for tcp-request content rules")
	}
}
