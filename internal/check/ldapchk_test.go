package check

import (
	"context"
	"math/rand"
	"net"
	"testing"
	"time"

	"dhproxy/internal/model"
)

// fakeLDAP reads the bind request, records it and sends reply in pieces.
func fakeLDAP(t *testing.T, got chan<- []byte, reply ...string) string {
	return rawServer(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 64)
		n, _ := c.Read(buf)
		if got != nil {
			got <- buf[:n]
		}
		for _, r := range reply {
			c.Write([]byte(r))
			time.Sleep(5 * time.Millisecond)
		}
	})
}

// Results as haproxy 2.6 reports them for the same replies.
func TestLDAPCheck(t *testing.T) {
	sent := make(chan []byte, 1)
	const rfc = "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9"
	ok := "\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x00\x04\x00\x04\x00"
	ad := "\x30\x84\x00\x00\x00\x10\x02\x01\x01\x61\x84\x00\x00\x00\x07\x0a\x01\x00\x04\x00\x04\x00"
	cases := []struct {
		name   string
		addr   string
		status Status
		code   int
		info   string
	}{
		{"success", fakeLDAP(t, sent, ok), StatusL7OK, 0, "Success"},
		{"invalid credentials", fakeLDAP(t, nil, "\x30\x0c\x02\x01\x01\x61\x07\x0a\x01\x31\x04\x00\x04\x00"), StatusL7STS, 49, rfc},
		{"active directory lengths", fakeLDAP(t, nil, ad), StatusL7OK, 0, "Success"},
		{"active directory, split", fakeLDAP(t, nil, ad[:15], ad[15:]), StatusL7OK, 0, "Success"},
		{"http", fakeLDAP(t, nil, "HTTP/1.0 400 Bad Request\r\n\r\n"), StatusL7RSP, 0, ldapNotV3},
		{"wrong message id", fakeLDAP(t, nil, "\x30\x0c\x02\x01\x02\x61\x07\x0a\x01\x00\x04\x00\x04\x00"), StatusL7RSP, 0, ldapNotV3},
		{"empty", fakeLDAP(t, nil), StatusL7RSP, 0, "TCPCHK got an empty response at step 2"},
		{"truncated", fakeLDAP(t, nil, "\x30\x0c"), StatusL7RSP, 0, ""},
	}
	be := &model.Proxy{Options: map[string]bool{}, Check: model.CheckOpts{Kind: "ldap-check"}}
	for i, c := range cases {
		res, done := compile(be, false).run(context.Background(), c.addr, timing{inter: 300 * time.Millisecond}, runEnv{})
		if !done || res.Status != c.status || res.Code != c.code || res.Info != c.info {
			t.Errorf("%s: %v code %d info %q, want %v code %d info %q", c.name, res.Status, res.Code, res.Info, c.status, c.code, c.info)
		}
		if i == 0 {
			if got := string(<-sent); got != "\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00" {
				t.Errorf("bind request %q", got)
			}
		}
	}
}

// Arbitrary replies never make the parser read out of bounds.
func TestJudgeLDAPBindNoPanic(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 20000; i++ {
		b := make([]byte, r.Intn(40))
		r.Read(b)
		if len(b) > 0 && r.Intn(2) == 0 {
			b[0] = 0x30
		}
		if len(b) > 6 && r.Intn(2) == 0 {
			copy(b[2:], "\x02\x01\x01\x61")
		}
		judgeLDAPBind(b)
	}
}
