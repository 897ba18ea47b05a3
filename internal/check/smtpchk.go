package check

import (
	"bytes"
	"regexp"
	"strconv"

	"dhproxy/internal/model"
)

// "option smtpchk [ { EHLO | HELO } <domain> ]", as HAProxy's tcpcheck.c
// compiles it: the greeting must look like an SMTP reply (else Layer7
// invalid response) and be 2xx (else Layer7 wrong status with the code
// and text), then the EHLO/HELO ("HELO localhost" by default) must get a
// 2xx reply, and so must the QUIT that follows, whose reply text is the
// info of a pass.

var (
	smtpReplyRe = regexp.MustCompile(`^[0-9]{3}[ \r]`)
	smtpGreetRe = regexp.MustCompile(`^2[0-9]{2}[ \r]`)
	smtpHeloRe  = regexp.MustCompile(`^(2[0-9]{2}-[^\r]*\r\n)*2[0-9]{2}[ \r]`)
	smtpQuitRe  = regexp.MustCompile(`^2[0-9]{2}[- \r]`)
)

func smtpRules(c model.CheckOpts) *ruleset {
	cmd := "HELO localhost"
	if c.SMTPCmd != "" {
		cmd = c.SMTPCmd
	}
	return &ruleset{rules: []rule{
		{kind: ruleConnect},
		{kind: ruleExpectRegex, re: smtpReplyRe, minRecv: 4, errStatus: StatusL7RSP, info: firstLine},
		{kind: ruleExpectRegex, re: smtpGreetRe, minRecv: 4, errStatus: StatusL7STS, info: smtpText, code: smtpCode},
		{kind: ruleSend, data: []byte(cmd + "\r\n")},
		// No min-recv: a multi-line EHLO reply is waited for until its
		// last line, or until the server closes.
		{kind: ruleExpectRegex, re: smtpHeloRe, errStatus: StatusL7STS, info: smtpText, code: smtpCode},
		{kind: ruleSend, data: []byte("QUIT\r\n")},
		{kind: ruleExpectRegex, re: smtpQuitRe, minRecv: 4, errStatus: StatusL7STS, info: smtpText, code: smtpCode},
	}}
}

// smtpText is "%[res.payload(4,0),ltrim(' '),cut_crlf]": the reply text.
func smtpText(b []byte) string {
	if len(b) < 4 {
		return ""
	}
	return firstLine(bytes.TrimLeft(b[4:], " "))
}

// smtpCode is "res.payload(0,3)" as an integer: the reply code.
func smtpCode(b []byte) int {
	if len(b) < 3 {
		return 0
	}
	n, _ := strconv.Atoi(string(b[:3]))
	return n
}
