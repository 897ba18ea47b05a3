package check

import (
	"bytes"
	"errors"
	"io"
	"net"

	connerr "dhproxy/internal/conn"
	"dhproxy/internal/model"
)

// "option mysql-check [ user <username> [ { post-41 | pre-41 } ] ]", compiled
// as HAProxy's tcpcheck.c does: connect, send the client authentication
// packet and a COM_QUIT (only with a user), expect the server's greeting,
// then (only with a user) expect the reply to the authentication. The
// password is always empty, so the user must be allowed without one.

// mysqlRules returns the ruleset for the backend's mysql-check arguments.
func mysqlRules(c model.CheckOpts) *ruleset {
	rs := &ruleset{rules: []rule{{kind: ruleConnect}}}
	if c.MySQLUser != "" {
		rs.rules = append(rs.rules, rule{kind: ruleSend, data: mysqlAuthPacket(c.MySQLUser, c.MySQLPre41)})
	}
	rs.rules = append(rs.rules, rule{kind: ruleExpectMySQL})
	if c.MySQLUser != "" {
		rs.rules = append(rs.rules, rule{kind: ruleExpectMySQL, afterGreeting: true})
	}
	return rs
}

// mysqlAuthPacket builds HAProxy's handshake response (sequence id 1) with
// no auth data, followed by COM_QUIT (sequence id 0) so that the server
// closes cleanly instead of counting an aborted connection.
func mysqlAuthPacket(user string, pre41 bool) []byte {
	var body []byte
	if pre41 {
		body = append(body, 0x00, 0x80) // capabilities: secure connection
		body = append(body, 0x00, 0x00, 0x01)
	} else {
		body = append(body, 0x00, 0x82, 0x00, 0x00) // protocol 4.1, secure connection
		body = append(body, 0x00, 0x80, 0x00, 0x01) // max packet
		body = append(body, 0x21)                   // character set (utf8)
		body = append(body, make([]byte, 23)...)    // reserved
	}
	body = append(body, user...)
	body = append(body, 0x00) // end of user name
	body = append(body, 0x00) // auth data length 0: no password
	n := len(body)
	p := []byte{byte(n), byte(n >> 8), byte(n >> 16), 1}
	p = append(p, body...)
	return append(p, 0x01, 0x00, 0x00, 0x00, 0x01) // COM_QUIT
}

// expectMySQL waits for one whole MySQL packet in *in (the greeting at
// offset 0, or the packet after it) and judges it as HAProxy's
// tcpcheck_mysql_expect_packet: an error packet (0xff) fails with Layer7
// wrong status, MySQL's error number as code and the rest of the data as
// info; otherwise the check goes on, and the last rule passes with the
// server version from the greeting as info. done is false when the next
// rule must run.
func expectMySQL(conn net.Conn, in *[]byte, afterGreeting bool, step int, last bool) (res Result, done bool) {
	for {
		buf := *in
		off := 0
		if afterGreeting && len(buf) >= 3 {
			off = 4 + mysqlLen(buf)
		}
		if len(buf) >= off+4 && len(buf) >= off+4+mysqlLen(buf[off:]) {
			return judgeMySQL(buf, off, last)
		}
		if len(buf) >= readBufSize {
			return Result{Status: StatusL7RSP}, true // packet larger than the buffer
		}
		if cap(buf) == 0 {
			buf = make([]byte, 0, readBufSize)
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		*in = buf[:len(buf)+n]
		if err != nil && n == 0 {
			if len(*in) > 0 && !connerr.IsTimeout(err) {
				// A truncated packet, whatever closed the connection.
				return Result{Status: StatusL7RSP}, true
			}
			if errors.Is(err, io.EOF) {
				return emptyResponse(step, StatusUnknown), true
			}
			return ioFailure(err), true
		}
	}
}

func mysqlLen(b []byte) int { return int(b[0]) | int(b[1])<<8 | int(b[2])<<16 }

func judgeMySQL(buf []byte, off int, last bool) (Result, bool) {
	if len(buf) > off+4 && buf[off+4] == 0xff {
		var res Result
		res.Status = StatusL7STS
		if len(buf) >= off+7 {
			res.Code = int(buf[off+5]) | int(buf[off+6])<<8
			res.Info = cString(buf[off+7:])
		}
		return res, true
	}
	if !last {
		return Result{}, false
	}
	res := Result{Status: StatusL7OK}
	if len(buf) > 5 {
		res.Info = cString(buf[5:]) // server version, after the protocol version byte
	}
	return res, true
}

// cString cuts b at its first NUL, as HAProxy's C strings are.
func cString(b []byte) string {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	}
	return string(b)
}
