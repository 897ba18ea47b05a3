package check

import (
	"bytes"
	"context"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"dhproxy/internal/model"
)

func pgErrorResponse(fields ...string) string {
	var body []byte
	for _, f := range fields {
		body = append(body, f...)
		body = append(body, 0)
	}
	body = append(body, 0)
	return "E" + string(binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))) + string(body)
}

// fakePg reads the startup message and answers reply.
func fakePg(t *testing.T, reply string, got chan<- []byte) string {
	return rawServer(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		buf := make([]byte, 128)
		n, _ := c.Read(buf)
		if got != nil {
			got <- buf[:n]
		}
		c.Write([]byte(reply))
	})
}

// Results as haproxy 2.6 reports them for the same replies.
func TestPgSQLCheck(t *testing.T) {
	sent := make(chan []byte, 1)
	cases := []struct {
		name   string
		addr   string
		status Status
		info   string
	}{
		{"trust", fakePg(t, "R\x00\x00\x00\x08\x00\x00\x00\x00", sent), StatusL7OK, "PostgreSQL server is ok"},
		{"md5", fakePg(t, "R\x00\x00\x00\x0c\x00\x00\x00\x05abcd", nil), StatusL7OK, "PostgreSQL server is ok"},
		{"sasl", fakePg(t, "R\x00\x00\x00\x17\x00\x00\x00\x0aSCRAM-SHA-256\x00\x00", nil), StatusL7OK, "PostgreSQL server is ok"},
		{"no such role", fakePg(t, pgErrorResponse("SFATAL", "VFATAL", "C28000", `Mrole "nobody" does not exist`), nil), StatusL7RSP, "FATAL"},
		{"gss", fakePg(t, "R\x00\x00\x00\x08\x00\x00\x00\x07", nil), StatusL7OK, "PostgreSQL server is ok"},
		{"sspi", fakePg(t, "R\x00\x00\x00\x08\x00\x00\x00\x09", nil), StatusL7OK, "PostgreSQL server is ok"},
		{"odd length", fakePg(t, "R\x00\x00\x00\xff\x00\x00\x00\x03", nil), StatusL7OK, "PostgreSQL server is ok"},
		{"kerberos v5", fakePg(t, "R\x00\x00\x00\x08\x00\x00\x00\x01", nil), StatusL7STS, "PostgreSQL unknown error"},
		{"sasl continue", fakePg(t, "R\x00\x00\x00\x08\x00\x00\x00\x0b", nil), StatusL7STS, "PostgreSQL unknown error"},
		{"junk", fakePg(t, "N", nil), StatusL7STS, "PostgreSQL unknown error"},
		{"empty", fakePg(t, "", nil), StatusL7RSP, "TCPCHK got an empty response at step 3"},
	}
	be := &model.Proxy{Options: map[string]bool{}, Check: model.CheckOpts{Kind: "pgsql-check", PgSQLUser: "haproxy"}}
	for i, c := range cases {
		res, ok := compile(be, false).run(context.Background(), c.addr, timing{inter: 300 * time.Millisecond}, runEnv{})
		if !ok || res.Status != c.status || res.Code != 0 || res.Info != c.info {
			t.Errorf("%s: %v code %d info %q, want %v info %q", c.name, res.Status, res.Code, res.Info, c.status, c.info)
		}
		if i == 0 {
			if got, want := <-sent, []byte("\x00\x00\x00\x16\x00\x03\x00\x00user\x00haproxy\x00\x00"); !bytes.Equal(got, want) {
				t.Errorf("startup message %q, want %q", got, want)
			}
		}
	}
}
