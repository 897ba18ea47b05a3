package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"time"
)

// The rule engine. As in HAProxy's tcpcheck.c, every kind of check is a
// list of rules (connect, send, expect) run by one function: the default
// check is a lone connect, "option httpchk" is connect + send + expect, and
// later options (mysql-check, redis-check, tcp-check sequences) only add
// rulesets.

type ruleKind uint8

const (
	ruleConnect      ruleKind = iota
	ruleSend                  // write data
	ruleExpectHTTP            // read an HTTP response head, judge its status
	ruleExpectMySQL           // read one MySQL packet (greeting, then the auth reply)
	ruleExpectString          // wait until the data received contains data
	ruleExpectRegex           // judge the first minRecv bytes with re
	ruleExpectLDAP            // judge an LDAP BindResponse
)

type rule struct {
	kind ruleKind
	data []byte // ruleSend: the bytes to write; ruleExpectString: the bytes to find
	// ruleExpectMySQL: the packet follows the server's greeting (the
	// reply to the authentication packet) rather than being the greeting.
	afterGreeting bool
	// ruleExpectString: the info of a pass, the status of a mismatch.
	okInfo    string
	errStatus Status
	// ruleExpectRegex: the pattern, the bytes to wait for, and how to
	// make the info and the code from the data (nil: none).
	re      *regexp.Regexp
	inverse bool // "!rstring": a match fails
	hexDump bool // "rbinary": re applies to the hex dump of the data
	minRecv int
	info    func([]byte) string
	code    func([]byte) int
}

type ruleset struct {
	rules []rule
	// implicitConnect: HAProxy numbers this ruleset's steps without the
	// leading connect (it adds that one itself), which shows in the
	// "at step N" of its messages.
	implicitConnect bool
}

// step is HAProxy's number of rule i in log messages.
func (rs *ruleset) step(i int) int {
	if rs.implicitConnect {
		return i
	}
	return i + 1
}

// emptyResponse is HAProxy's report when the server closes before sending
// anything an expect rule could look at; st is the rule's error status.
func emptyResponse(step int, st Status) Result {
	if st == StatusUnknown {
		st = StatusL7RSP
	}
	return Result{Status: st, Info: fmt.Sprintf("TCPCHK got an empty response at step %d", step)}
}

// pure tells a lone connect (the default check), which HAProxy runs without
// letting the server's application see the connection.
func (rs *ruleset) pure() bool { return len(rs.rules) == 1 }

// timing bounds one check run. Without "timeout check" the whole run must
// fit in inter; with it, the connect gets min(timeout connect, inter) and
// everything after the connect gets "timeout check" (HAProxy's documented
// behaviour for "timeout check").
type timing struct {
	inter   time.Duration // the server's configured "inter"
	connect time.Duration // backend "timeout connect", 0 if unset
	check   time.Duration // backend "timeout check", 0 if unset
}

// readBufSize bounds what a response head may take, like HAProxy's check
// buffer (tune.bufsize).
const readBufSize = 16384

// run executes the rules against addr. A cancelled ctx returns ok=false: the
// check was aborted and has no result to report.
func (rs *ruleset) run(ctx context.Context, addr string, tm timing) (res Result, ok bool) {
	start := time.Now()
	res = rs.exec(ctx, addr, tm, start)
	res.Duration = time.Since(start)
	return res, ctx.Err() == nil
}

func (rs *ruleset) exec(ctx context.Context, addr string, tm timing, start time.Time) Result {
	var conn net.Conn
	closeConn := func() {
		if conn != nil {
			conn.Close()
		}
	}
	defer func() { closeConn() }()
	// in keeps what the server sent across expect rules, as HAProxy's check
	// buffer does: a later rule may look past what an earlier one judged.
	var in []byte
	for i, r := range rs.rules {
		switch r.kind {
		case ruleConnect:
			closeConn()
			c, res, ok := connect(ctx, addr, tm, start, rs.pure())
			if !ok {
				return res
			}
			// Stopping the checks must not wait for a silent server.
			unwatch := context.AfterFunc(ctx, func() { c.Close() })
			conn = c
			closeConn = func() { unwatch(); c.Close() }
		case ruleSend:
			in = in[:0] // HAProxy empties the read buffer at every send
			if _, err := conn.Write(r.data); err != nil {
				return ioFailure(err)
			}
		case ruleExpectHTTP:
			return expectHTTP(conn)
		case ruleExpectRegex:
			if res, done := expectRegex(conn, &in, r, rs.step(i), i == len(rs.rules)-1); done {
				return res
			}
		case ruleExpectLDAP:
			return expectLDAPBind(conn, &in)
		case ruleExpectString:
			if res, done := expectString(conn, &in, r, rs.step(i), i == len(rs.rules)-1); done {
				return res
			}
		case ruleExpectMySQL:
			if res, done := expectMySQL(conn, &in, r.afterGreeting, rs.step(i), i == len(rs.rules)-1); done {
				return res
			}
		}
	}
	// A pure check passes once established; close with a reset as HAProxy
	// does: no TIME_WAIT, and with delayACK the server never completes the
	// handshake.
	if tc, ok := conn.(*net.TCPConn); ok && rs.pure() {
		tc.SetLinger(0)
	}
	return Result{Status: StatusL4OK}
}

// connect opens the check connection and arms the deadline for the rest of
// the run; on failure it returns the Layer4 result.
func connect(ctx context.Context, addr string, tm timing, start time.Time, pure bool) (net.Conn, Result, bool) {
	limit := tm.inter
	if tm.check > 0 && tm.connect > 0 && tm.connect < limit {
		limit = tm.connect
	}
	d := net.Dialer{Deadline: start.Add(limit)}
	if pure {
		d.Control = delayACK
	}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if isTimeout(err) {
			return nil, Result{Status: StatusL4TOUT}, false
		}
		info := errnoText(err)
		if info == "" {
			info = err.Error()
		}
		return nil, Result{Status: StatusL4CON, Info: info}, false
	}
	deadline := start.Add(tm.inter)
	if tm.check > 0 {
		deadline = time.Now().Add(tm.check)
	}
	c.SetDeadline(deadline)
	return c, Result{}, true
}

// ioFailure maps an error after the connection was established: a timeout is
// a Layer7 timeout, a clean close before the expected data an invalid
// response, anything else a socket error with the errno text.
func ioFailure(err error) Result {
	switch {
	case isTimeout(err):
		return Result{Status: StatusL7TOUT}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Result{Status: StatusL7RSP}
	}
	return Result{Status: StatusSOCKERR, Info: errnoText(err)}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// expectHTTP reads a response head and judges it: 2xx and 3xx pass, other
// codes fail with the reason phrase as info, a head that is not HTTP is an
// invalid response. The body is not waited for, as in HAProxy when no rule
// looks at it.
func expectHTTP(conn net.Conn) Result {
	buf := make([]byte, 0, readBufSize)
	for {
		head, used, st := parseResponseHead(buf)
		switch {
		case st == headInvalid:
			return Result{Status: StatusL7RSP}
		case st == headComplete && head.code < 200:
			// Interim responses (100 Continue...) precede the real one.
			buf = append(buf[:0], buf[used:]...)
			continue
		case st == headComplete && head.code < 400:
			return Result{Status: StatusL7OK, Code: head.code}
		case st == headComplete:
			return Result{Status: StatusL7STS, Code: head.code, Info: head.reason}
		}
		if len(buf) == cap(buf) {
			return Result{Status: StatusL7RSP} // head larger than the buffer
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && n == 0 {
			return ioFailure(err)
		}
	}
}
