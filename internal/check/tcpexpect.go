package check

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"

	connerr "dhproxy/internal/conn"
	"dhproxy/internal/model"
)

// userExpect is a "tcp-check expect" or "http-check expect" rule.
type userExpect struct {
	match, pattern string // string, rstring, binary, rbinary, status, rstatus
	data           []byte
	re             *regexp.Regexp
	codes          [][2]int
	inverse        bool
	minRecv        int // -1: unset

	okStatus, errStatus, toutStatus Status // StatusUnknown: the default
	onSuccess, onError              string
	hdr                             *model.HdrMatch
}

var statusByName = map[string]Status{
	"L4OK": StatusL4OK, "L6OK": StatusL6OK, "L7OK": StatusL7OK, "L7OKC": StatusL7OKC,
	"L4CON": StatusL4CON, "L6RSP": StatusL6RSP, "L7RSP": StatusL7RSP, "L7STS": StatusL7STS,
	"L4TOUT": StatusL4TOUT, "L6TOUT": StatusL6TOUT, "L7TOUT": StatusL7TOUT,
}

func userExpectOf(e *model.ExpectRule) *userExpect {
	return &userExpect{
		match: e.Match, pattern: e.Pattern, data: e.Data, re: e.Re, codes: e.Codes,
		inverse: e.Inverse, minRecv: e.MinRecv,
		okStatus: statusByName[e.OKStatus], errStatus: statusByName[e.ErrStatus], toutStatus: statusByName[e.ToutStatus],
		onSuccess: e.OnSuccess, onError: e.OnError, hdr: e.Hdr,
	}
}

// matches runs the rule on the data received so far.
func (x *userExpect) matches(buf []byte) bool {
	switch x.match {
	case "string", "binary":
		return bytes.Contains(buf, x.data)
	case "rbinary":
		return x.re.MatchString(strings.ToUpper(hex.EncodeToString(buf)))
	}
	return x.re.Match(buf)
}

// expectTCP evaluates a "tcp-check expect" rule as HAProxy's
// tcpcheck_eval_expect does: a string or binary waits until as many bytes
// as it has arrived, min-recv until that many did; without min-recv a
// mismatch waits for more data until the server closes, the buffer fills or
// the check times out; a match of an inverted ("!") rule fails at once.
// generic is false for the protocol checks built on this rule, whose
// failures carry no "TCPCHK ..." info.
func expectTCP(conn net.Conn, in *[]byte, r rule, step int, generic bool) (res Result, done bool) {
	x := r.x
	buf := *in
	if cap(buf) == 0 {
		buf = make([]byte, 0, readBufSize)
	}
	lastRead := false
	mustRead := len(buf) == 0
	for {
		if mustRead && !lastRead {
			n, err := conn.Read(buf[len(buf):cap(buf)])
			buf = buf[:len(buf)+n]
			*in = buf
			if err != nil && n == 0 {
				switch {
				case len(buf) == 0 && errors.Is(err, io.EOF):
					st := x.errStatus
					if st == StatusUnknown {
						st = StatusL7RSP
					}
					info := fmt.Sprintf("TCPCHK got an empty response at step %d", step)
					if r.comment != "" {
						info += fmt.Sprintf(" comment: '%s'", r.comment)
					}
					return Result{Status: st, Info: info}, true
				case len(buf) == 0 || connerr.IsTimeout(err):
					return ioFailure(err), true
				}
				lastRead = true
			}
		}
		if len(buf) == cap(buf) {
			lastRead = true
		}
		if !lastRead {
			if (x.match == "string" || x.match == "binary") && len(buf) < len(x.data) {
				mustRead = true
				continue
			}
			if x.minRecv > 0 && len(buf) < x.minRecv {
				mustRead = true
				continue
			}
		}
		match := x.matches(buf)
		if !match && !lastRead && x.minRecv == -1 {
			mustRead = true
			continue
		}
		if match != x.inverse {
			return Result{}, false
		}
		st := x.errStatus
		if st == StatusUnknown {
			st = StatusL7RSP
		}
		info := x.onError
		if info == "" && generic {
			info = tcpMismatch(x, match, step)
		}
		if r.comment != "" && (generic || x.onError != "") {
			info += " comment: " + r.comment
		}
		return Result{Status: st, Info: info}, true
	}
}

// tcpMismatch is HAProxy's generic info for a failed tcp-check expect.
func tcpMismatch(x *userExpect, matched bool, step int) string {
	msg := "TCPCHK did not match content"
	if matched {
		msg = "TCPCHK matched unwanted content"
	}
	switch x.match {
	case "string":
		return fmt.Sprintf("%s '%s' at step %d", msg, x.data, step)
	case "binary":
		return fmt.Sprintf("%s (binary) at step %d", msg, step)
	case "rstring":
		return fmt.Sprintf("%s (regex) at step %d", msg, step)
	}
	return fmt.Sprintf("%s (binary regex) at step %d", msg, step)
}

// tcpCheckRules compiles "option tcp-check" with the section's rules. As in
// HAProxy, a connect is added in front when the rules do not start with
// one; it is step 0, "the initial connection step".
func tcpCheckRules(rules []model.CheckRule) *ruleset {
	rs := &ruleset{userTCP: true}
	if len(rules) == 0 || rules[0].Action != model.ActConnect {
		rs.rules = append(rs.rules, rule{kind: ruleConnect, implicit: true, hasStep: true})
	}
	for _, mr := range rules {
		r := userRule(mr)
		switch mr.Action {
		case model.ActSend:
			r.kind, r.data = ruleSend, mr.Data
		case model.ActExpect:
			r.kind, r.x = ruleExpectTCP, userExpectOf(mr.Expect)
		}
		rs.rules = append(rs.rules, r)
	}
	rs.noPure = len(rules) > 0
	return rs
}

// userRule carries the parts every tcp-check/http-check rule has.
func userRule(mr model.CheckRule) rule {
	r := rule{step: mr.Index + 1, hasStep: true, comment: mr.Comment}
	if mr.Action == model.ActConnect {
		r.kind, r.port, r.host, r.sendProxy = ruleConnect, mr.Port, mr.Addr, mr.SendProxy
	}
	return r
}
