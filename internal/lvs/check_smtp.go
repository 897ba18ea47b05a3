package lvs

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// probeSMTP runs keepalived's SMTP_CHECK conversation: expect a 220
// greeting, send HELO <helo_name>, expect 250, send QUIT and read the
// answer. Each read and write has connect_timeout.
func (c *checker) probeSMTP(ctx context.Context) result {
	server := fmt.Sprintf("[%s]:%d", c.target.Addr(), c.target.Port())
	fail := func(status string, code int, err error, format string) result {
		d := fmt.Sprintf(format, server)
		return result{weight: -1, detail: d, status: status, code: code, err: err, attempt: "SMTP_CHECK " + d}
	}
	conn, err := c.dial(ctx)
	if err != nil {
		if st := l4Status(err); st == "L4TOUT" {
			return fail(st, 0, err, "Connection timeout to server %s")
		}
		return fail("L4CON", 0, err, "Error connecting to server %s")
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	// reply reads one reply (continuation lines "220-..." included) and
	// returns its code, -1 when the line does not start with one.
	reply := func() (int, result, bool) {
		for {
			conn.SetReadDeadline(time.Now().Add(c.conf.ConnectTimeout))
			line, err := br.ReadString('\n')
			if err != nil {
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					return 0, fail("L7TOUT", 0, nil, "Read timeout from server %s"), false
				}
				return 0, fail("L7RSP", 0, nil, "Read failure from server %s"), false
			}
			code, more := smtpCode(line)
			if !more {
				return code, result{}, true
			}
		}
	}
	send := func(line string) (result, bool) {
		conn.SetWriteDeadline(time.Now().Add(c.conf.ConnectTimeout))
		if _, err := conn.Write([]byte(line)); err != nil {
			return fail("SOCKERR", 0, err, "Write failure to server %s"), false
		}
		return result{}, true
	}
	code, r, ok := reply()
	if !ok {
		return r
	}
	if code != 220 {
		return fail("L7STS", max(code, 0), nil, "Bad greeting banner from server %s")
	}
	if r, ok := send("HELO " + c.conf.HeloName + "\r\n"); !ok {
		return r
	}
	if code, r, ok = reply(); !ok {
		return r
	}
	if code != 250 {
		return fail("L7STS", max(code, 0), nil, "Bad HELO response from server %s")
	}
	if r, ok := send("QUIT\r\n"); !ok {
		return r
	}
	// keepalived waits for the answer to QUIT, whatever its code.
	if _, r, ok = reply(); !ok {
		return r
	}
	return result{ok: true, weight: -1, status: "L7OK", code: 250}
}

// smtpCode reads the reply code of an SMTP line: -1 unless it starts with
// three digits followed by a blank, a '-' (more lines follow) or the end.
func smtpCode(line string) (code int, more bool) {
	line = strings.TrimRight(line, "\r\n")
	if len(line) < 3 {
		return -1, false
	}
	n, err := strconv.Atoi(line[:3])
	if err != nil || line[0] < '0' || line[0] > '9' {
		return -1, false
	}
	if len(line) == 3 || line[3] == ' ' {
		return n, false
	}
	if line[3] == '-' {
		return n, true
	}
	return -1, false
}
