package check

import (
	"bufio"
	"context"
	"net"
	"testing"
	"time"

	"dhproxy/internal/model"
)

// fakeSMTP sends greet, answers the first command line with reply and QUIT
// with 221, recording the commands.
func fakeSMTP(t *testing.T, greet, reply string, cmds chan<- string) string {
	return rawServer(t, func(c net.Conn) {
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		c.Write([]byte(greet))
		if reply == "" {
			bufio.NewReader(c).ReadString('\n')
			return
		}
		br := bufio.NewReader(c)
		l, err := br.ReadString('\n')
		if err != nil {
			return
		}
		if cmds != nil {
			cmds <- l
		}
		c.Write([]byte(reply))
		if l, _ = br.ReadString('\n'); l == "QUIT\r\n" {
			c.Write([]byte("221 2.0.0 Bye\r\n"))
		}
	})
}

// Results as haproxy 2.6 reports them for the same exchanges.
func TestSMTPCheck(t *testing.T) {
	cmds := make(chan string, 1)
	cases := []struct {
		name   string
		addr   string
		cmd    string
		status Status
		code   int
		info   string
	}{
		{"helo", fakeSMTP(t, "220 mx ESMTP\r\n", "250 mx Hello\r\n", cmds), "HELO localhost\r\n", StatusL7OK, 221, "2.0.0 Bye"},
		{"ehlo multi-line", fakeSMTP(t, "220 mx ESMTP\r\n", "250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n", cmds), "EHLO checker.example\r\n", StatusL7OK, 221, "2.0.0 Bye"},
		{"greeting 554", fakeSMTP(t, "554 5.7.1 No service for you\r\n", "", nil), "", StatusL7STS, 554, "5.7.1 No service for you"},
		{"not smtp", fakeSMTP(t, "hello there\r\n", "", nil), "", StatusL7RSP, 0, "hello there"},
		{"helo refused, kept open", fakeSMTP(t, "220 ok\r\n", "501 5.5.2 Syntax\r\n", nil), "", StatusL7TOUT, 0, ""},
		{"empty", rawServer(t, func(c net.Conn) { c.Close() }), "", StatusL7RSP, 0, "TCPCHK got an empty response at step 2"},
	}
	for _, c := range cases {
		opts := model.CheckOpts{Kind: "smtpchk"}
		if c.cmd == "EHLO checker.example\r\n" {
			opts.SMTPCmd = "EHLO checker.example"
		}
		be := &model.Proxy{Options: map[string]bool{}, Check: opts}
		res, ok := compile(be, false).run(context.Background(), c.addr, timing{inter: 300 * time.Millisecond}, runEnv{})
		if !ok || res.Status != c.status || res.Code != c.code || res.Info != c.info {
			t.Errorf("%s: %v code %d info %q, want %v code %d info %q", c.name, res.Status, res.Code, res.Info, c.status, c.code, c.info)
		}
		if c.cmd != "" {
			if got := <-cmds; got != c.cmd {
				t.Errorf("%s: sent %q, want %q", c.name, got, c.cmd)
			}
		}
	}
}
