package check

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	connerr "dhproxy/internal/conn"
	"dhproxy/internal/h2"
	"dhproxy/internal/model"
	"dhproxy/internal/netns"
	"dhproxy/internal/proxyproto"
)

// The rule engine. As in HAProxy's tcpcheck.c, every kind of check is a
// list of rules (connect, send, expect) run by one function: the default
// check is a lone connect, "option httpchk" is connect + send + expect, and
// later options (mysql-check, redis-check, tcp-check sequences) only add
// rulesets.

type ruleKind uint8

const (
	ruleConnect        ruleKind = iota
	ruleSend                    // write data
	ruleExpectMySQL             // read one MySQL packet (greeting, then the auth reply)
	ruleExpectString            // protocol checks: wait until the data received contains data
	ruleExpectRegex             // protocol checks: judge the first minRecv bytes with re
	ruleExpectLDAP              // judge an LDAP BindResponse
	ruleExpectTCP               // a "tcp-check expect" rule (tcpexpect.go)
	ruleExpectHTTPRule          // an "http-check expect" rule (httpexpect.go)
	ruleExpectAgent             // read and parse an agent's line (agent.go)
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

	// User rules (tcp-check, http-check): HAProxy's step id (0 for the
	// implicit connect) and the rule's comment.
	step     int
	hasStep  bool
	comment  string
	implicit bool // the connect HAProxy adds in front of the rules

	// ruleConnect: where to, and the PROXY header.
	port      int
	host      string
	sendProxy bool

	// ruleExpectTCP / ruleExpectHTTPRule.
	x *userExpect
	// An http-check request, rebuilt at each run with "send-state".
	http *model.HTTPSend
}

type ruleset struct {
	rules []rule
	// implicitConnect: HAProxy numbers this ruleset's steps without the
	// leading connect (it adds that one itself), which shows in the
	// "at step N" of its messages.
	implicitConnect bool
	// userTCP: an "option tcp-check" ruleset, whose connection errors and
	// timeouts name the step, and whose passes say "(tcp-check)".
	userTCP bool
	// http: an "option httpchk" ruleset; disableOn404 turns a 404 from a
	// server that is not down into a conditional pass.
	http         bool
	disableOn404 bool
	sendState    bool // the requests carry X-Haproxy-Server-State
	proxyV2      bool // the PROXY header is version 2 (send-proxy-v2 server)
	proxyV2Addrs bool // and carries the connection's addresses (pp2-never-send-local)
	// noPure: even a lone connect must let the server see the connection
	// (a PROXY header, or rules that follow).
	noPure bool
}

// runEnv is what a check run needs to know of the server.
type runEnv struct {
	notDown bool        // the server is not DOWN (disable-on-404 applies)
	state   string      // X-Haproxy-Server-State value, with "send-state"
	tls     *tls.Config // the server's TLS, for the connection to the server itself
	proto   string      // "h2", "h1" or "none" forced for the server's own connections; "": as ALPN says
}

// step is HAProxy's number of rule i in log messages.
func (rs *ruleset) step(i int) int {
	if rs.rules[i].hasStep {
		return rs.rules[i].step
	}
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
func (rs *ruleset) pure() bool { return len(rs.rules) == 1 && !rs.noPure }

// timing bounds one check run. Without "timeout check" the whole run must
// fit in inter; with it, the connect gets min(timeout connect, inter) and
// everything after the connect gets "timeout check" (HAProxy's documented
// behaviour for "timeout check").
type timing struct {
	inter   time.Duration // the server's configured "inter"
	connect time.Duration // backend "timeout connect", 0 if unset
	check   time.Duration // backend "timeout check", 0 if unset
	// source is where check connections leave from (the server's or
	// backend's "source"); nil: the system's choice.
	source *net.TCPAddr
	netns  string // the server's "namespace": where connections are made
	// userTimeout is the server's "tcp-ut" in milliseconds (0: none).
	userTimeout int
}

// readBufSize bounds what a response may take, like HAProxy's check
// buffer (tune.bufsize).
const readBufSize = 16384

// run executes the rules against addr. A cancelled ctx returns ok=false: the
// check was aborted and has no result to report.
func (rs *ruleset) run(ctx context.Context, addr string, tm timing, env runEnv) (res Result, ok bool) {
	start := time.Now()
	res = rs.exec(ctx, addr, tm, start, env)
	res.Duration = time.Since(start)
	return res, ctx.Err() == nil
}

func (rs *ruleset) exec(ctx context.Context, addr string, tm timing, start time.Time, env runEnv) Result {
	var conn net.Conn
	var mux *h2.ClientConn // the connection's HTTP/2 layer, when the check speaks it
	closeConn := func() {
		if conn != nil {
			conn.Close()
		}
	}
	defer func() { closeConn() }()
	// in keeps what the server sent across expect rules, as HAProxy's check
	// buffer does: a later rule may look past what an earlier one judged.
	var in []byte
	var resp *httpResponse // the response the http-check expects judge
	cond404 := false
	last := len(rs.rules) - 1
	for i, r := range rs.rules {
		isLast := i == last
		switch r.kind {
		case ruleConnect:
			closeConn()
			in, resp, mux = in[:0], nil, nil
			c, res, ok := connect(ctx, r.target(addr), tm, start, rs.pure())
			if !ok {
				return rs.connError(res, i)
			}
			// The PROXY header comes first, before a TLS handshake.
			if r.sendProxy {
				if _, err := c.Write(proxyLine(c, rs.proxyV2, rs.proxyV2Addrs)); err != nil {
					c.Close()
					return rs.connError(ioFailure(err), i)
				}
			}
			toServer := r.host == "" && r.port == 0
			alpn := ""
			if env.tls != nil && toServer {
				tc := tls.Client(c, env.tls)
				if err := tc.HandshakeContext(ctx); err != nil {
					c.Close()
					if connerr.IsTimeout(err) {
						return Result{Status: StatusL6TOUT}
					}
					return Result{Status: StatusL6RSP, Info: "SSL handshake failure"}
				}
				c = tc
				alpn = tc.ConnectionState().NegotiatedProtocol
			}
			if rs.http && toServer && (env.proto == "h2" || env.proto == "" && alpn == "h2") {
				var err error
				if mux, err = startH2(c, env.tls != nil); err != nil {
					c.Close()
					return rs.connError(ioFailure(err), i)
				}
			}
			// Stopping the checks must not wait for a silent server.
			unwatch := context.AfterFunc(ctx, func() { c.Close() })
			conn = c
			m := mux
			closeConn = func() {
				unwatch()
				if m != nil {
					m.Close() // with a GOAWAY
				}
				c.Close()
			}
		case ruleSend:
			in, resp = in[:0], nil // HAProxy empties the read buffer at every send
			data := r.data
			if r.http != nil && env.state != "" {
				data = httpRequest(*r.http, env.state)
			}
			if mux != nil {
				st, err := h2Stream(mux, ioDeadline(tm, start))
				if err != nil {
					return rs.connError(ioFailure(err), i)
				}
				conn = st // the expect rules read the response from the stream
			}
			if _, err := conn.Write(data); err != nil {
				return rs.connError(ioFailure(err), i)
			}
		case ruleExpectRegex:
			if res, done := expectRegex(conn, &in, r, rs.step(i), isLast); done {
				return res
			}
		case ruleExpectLDAP:
			return expectLDAPBind(conn, &in)
		case ruleExpectString:
			if res, done := expectString(conn, &in, r, rs.step(i), isLast); done {
				return res
			}
		case ruleExpectMySQL:
			if res, done := expectMySQL(conn, &in, r.afterGreeting, rs.step(i), isLast); done {
				return res
			}
		case ruleExpectTCP:
			if res, done := expectTCP(conn, &in, r, rs.step(i), rs.userTCP); done {
				return rs.connError(res, i)
			}
		case ruleExpectHTTPRule:
			if resp == nil {
				var res Result
				if resp, res = readHTTPResponse(conn, &in, rs.needBody(i)); resp == nil {
					return rs.connError(res, i)
				}
			}
			if resp.code == 404 && rs.disableOn404 && env.notDown {
				cond404 = true // a stopping server: the other rules need not pass
				continue
			}
			if res, failed := expectHTTPRule(resp, r); failed {
				return res
			}
		case ruleExpectAgent:
			return expectAgent(conn, &in)
		}
	}
	return rs.passed(conn, resp, cond404)
}

// passed is the result of a run that went through every rule.
func (rs *ruleset) passed(conn net.Conn, resp *httpResponse, cond404 bool) Result {
	lastRule := rs.rules[len(rs.rules)-1]
	switch {
	case cond404:
		return Result{Status: StatusL7OKC, Code: 404}
	case rs.http:
		res := Result{Status: StatusL7OK}
		if resp != nil {
			res.Code = resp.code
		}
		if x := lastRule.x; x != nil {
			res.Info = x.onSuccess
			if x.okStatus != StatusUnknown {
				res.Status = x.okStatus
			}
		}
		return res
	case !rs.userTCP && lastRule.kind == ruleExpectTCP:
		if st := lastRule.x.okStatus; st != StatusUnknown {
			return Result{Status: st}
		}
		return Result{Status: StatusL7OK}
	case rs.userTCP:
		switch lastRule.kind {
		case ruleConnect:
			if lastRule.implicit {
				return Result{Status: StatusL4OK}
			}
			return Result{Status: StatusL4OK, Info: "(tcp-check)"}
		case ruleExpectTCP:
			res := Result{Status: StatusL7OK, Info: "(tcp-check)"}
			if lastRule.x.onSuccess != "" {
				res.Info = lastRule.x.onSuccess
			}
			if lastRule.x.okStatus != StatusUnknown {
				res.Status = lastRule.x.okStatus
			}
			return res
		}
		return Result{Status: StatusL7OK, Info: "(tcp-check)"}
	}
	// A pure check passes once established; close with a reset as HAProxy
	// does: no TIME_WAIT, and with delayACK the server never completes the
	// handshake.
	if tc, ok := conn.(*net.TCPConn); ok && rs.pure() {
		tc.SetLinger(0)
	}
	return Result{Status: StatusL4OK}
}

// target is where a connect rule goes: its own host and port when it has
// them, else the server's check address.
func (r rule) target(addr string) string {
	if path, ok := model.UnixSocket(r.host); ok {
		return unixPrefix + path // "connect addr" to a UNIX socket, whatever the port
	}
	if r.host == "" && (r.port == 0 || strings.HasPrefix(addr, unixPrefix)) {
		return addr // the port of a UNIX socket changes nothing, as in haproxy
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if r.host != "" {
		h, p := splitAddrOption(r.host)
		host = h
		if p != "" {
			port = p
		}
	}
	if r.port != 0 {
		port = strconv.Itoa(r.port)
	}
	return resolve(net.JoinHostPort(host, port))
}

// connError adds what HAProxy's chk_report_conn_err says of a tcp-check
// ruleset's connection errors and timeouts: the step and what it was doing.
func (rs *ruleset) connError(res Result, i int) Result {
	r := rs.rules[i]
	if res.Status == StatusL7TOUT && r.x != nil && r.x.toutStatus != StatusUnknown {
		res.Status = r.x.toutStatus
	}
	if !rs.userTCP {
		return res
	}
	switch res.Status {
	case StatusL4CON, StatusL4TOUT, StatusL7TOUT, StatusSOCKERR, StatusL6TOUT, StatusL6RSP:
	default:
		return res
	}
	step := rs.step(i)
	var b strings.Builder
	b.WriteString(res.Info)
	if step == 0 {
		b.WriteString(" at initial connection step of tcp-check")
		res.Info = b.String()
		return res
	}
	fmt.Fprintf(&b, " at step %d of tcp-check", step)
	switch r.kind {
	case ruleConnect:
		if r.port != 0 {
			fmt.Fprintf(&b, " (connect port %d)", r.port)
		} else {
			b.WriteString(" (connect)")
		}
	case ruleSend:
		b.WriteString(" (send)")
	case ruleExpectTCP:
		switch r.x.match {
		case "string":
			fmt.Fprintf(&b, " (expect string '%s')", r.x.data)
		case "binary":
			fmt.Fprintf(&b, " (expect binary '%s')", r.x.pattern)
		case "rstring":
			b.WriteString(" (expect regex)")
		case "rbinary":
			b.WriteString(" (expect binary regex)")
		}
	}
	if r.comment != "" {
		fmt.Fprintf(&b, " comment: '%s'", r.comment)
	}
	res.Info = b.String()
	return res
}

// proxyLine is the PROXY header of a check connection: version 1 with the
// connection's own addresses, or, for a send-proxy-v2 server, a version 2
// LOCAL header (HAProxy sends LOCAL for connections it starts itself),
// a PROXY one with the addresses when v2Addrs (pp2-never-send-local).
func proxyLine(c net.Conn, v2, v2Addrs bool) []byte {
	var src, dst netip.AddrPort
	if a, ok := c.LocalAddr().(*net.TCPAddr); ok {
		src = a.AddrPort()
	}
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		dst = a.AddrPort()
	}
	if !src.IsValid() || !dst.IsValid() {
		src, dst = netip.AddrPort{}, netip.AddrPort{}
	}
	if v2 {
		if !v2Addrs {
			src, dst = netip.AddrPort{}, netip.AddrPort{}
		}
		return proxyproto.AppendV2(nil, src, dst, nil)
	}
	return proxyproto.AppendV1(nil, src, dst)
}

// connect opens the check connection and arms the deadline for the rest of
// the run; on failure it returns the Layer4 result.
func connect(ctx context.Context, addr string, tm timing, start time.Time, pure bool) (net.Conn, Result, bool) {
	limit := tm.inter
	if tm.check > 0 && tm.connect > 0 && tm.connect < limit {
		limit = tm.connect
	}
	d := net.Dialer{Deadline: start.Add(limit)}
	network, addr := splitNetwork(addr)
	tcp := network == "tcp" // a UNIX socket gets no source address nor TCP option
	if tm.source != nil && tcp {
		d.LocalAddr = tm.source
	}
	if ut := tm.userTimeout; (pure || ut > 0) && tcp {
		d.Control = func(network, address string, c syscall.RawConn) error {
			if pure {
				if err := delayACK(network, address, c); err != nil {
					return err
				}
			}
			if ut > 0 {
				return setUserTimeout(c, ut)
			}
			return nil
		}
	}
	var c net.Conn
	var err error
	if tm.netns != "" && tcp {
		c, err = netns.Dial(ctx, tm.netns, &d, addr)
	} else {
		c, err = d.DialContext(ctx, network, addr)
	}
	if err != nil {
		if connerr.IsTimeout(err) {
			return nil, Result{Status: StatusL4TOUT}, false
		}
		info := errnoText(err)
		if info == "" {
			info = err.Error()
		}
		if !tcp {
			// connect(2) to a UNIX socket fails at once (no such file, no
			// listener): haproxy reports that as a socket error
			return nil, Result{Status: StatusSOCKERR, Info: "General socket error (" + info + ")"}, false
		}
		return nil, Result{Status: StatusL4CON, Info: info}, false
	}
	c.SetDeadline(ioDeadline(tm, start))
	return c, Result{}, true
}

// ioDeadline bounds what follows the connect: the rest of inter, or
// "timeout check" from now.
func ioDeadline(tm timing, start time.Time) time.Time {
	if tm.check > 0 {
		return time.Now().Add(tm.check)
	}
	return start.Add(tm.inter)
}

// ioFailure maps an error after the connection was established: a timeout is
// a Layer7 timeout, a clean close before the expected data an invalid
// response, anything else a socket error with the errno text.
func ioFailure(err error) Result {
	switch {
	case connerr.IsTimeout(err):
		return Result{Status: StatusL7TOUT}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, h2.ErrConnClosed), errors.Is(err, h2.ErrServerReset):
		return Result{Status: StatusL7RSP}
	}
	return Result{Status: StatusSOCKERR, Info: errnoText(err)}
}
