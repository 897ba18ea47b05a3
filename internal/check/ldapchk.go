package check

import (
	"bytes"
	connerr "dhproxy/internal/conn"
	"encoding/binary"
	"net"
	"regexp"
)

// "option ldap-check", as HAProxy's tcpcheck.c compiles it: send an
// anonymous LDAPv3 simple bind (message ID 1), check that the reply is BER
// (a SEQUENCE, "Not LDAPv3 protocol" otherwise), then that it is the
// BindResponse for message 1 and its resultCode is success (0); any other
// resultCode fails with Layer7 wrong status and the code.

var ldapSeqRe = regexp.MustCompile(`^30`)

const ldapNotV3 = "Not LDAPv3 protocol"

func ldapRules() *ruleset {
	return &ruleset{rules: []rule{
		{kind: ruleConnect},
		{kind: ruleSend, data: []byte("\x30\x0c\x02\x01\x01\x60\x07\x02\x01\x03\x04\x00\x80\x00")},
		{kind: ruleExpectRegex, re: ldapSeqRe, hexDump: true, minRecv: 14, errStatus: StatusL7RSP,
			info: func([]byte) string { return ldapNotV3 }},
		{kind: ruleExpectLDAP},
	}, implicitConnect: true}
}

// expectLDAPBind is HAProxy 2.6's tcpcheck_ldap_expect_bindrsp: the
// LDAPMessage length may be in short form or on 2 or 4 bytes (Active
// Directory); a message shorter than its length waits for more data, and
// fails as an invalid response if the server closes first.
func expectLDAPBind(conn net.Conn, in *[]byte) Result {
	for {
		res, short := judgeLDAPBind(*in)
		if !short {
			return res
		}
		buf := *in
		if len(buf) == cap(buf) {
			return Result{Status: StatusL7RSP}
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		*in = buf[:len(buf)+n]
		if err != nil && n == 0 {
			if connerr.IsTimeout(err) {
				return ioFailure(err)
			}
			return Result{Status: StatusL7RSP}
		}
	}
}

func judgeLDAPBind(b []byte) (res Result, short bool) {
	notV3 := Result{Status: StatusL7RSP, Info: ldapNotV3}
	if len(b) < 2 {
		return Result{}, true
	}
	p, msgLen := 2, int(b[1])
	if b[1]&0x80 != 0 {
		n := int(b[1] & 0x7f)
		if len(b) < 2+n {
			return Result{}, true
		}
		switch n {
		case 4:
			msgLen = int(binary.BigEndian.Uint32(b[2:]))
		case 2:
			msgLen = int(binary.BigEndian.Uint16(b[2:]))
		default:
			return notV3, false
		}
		p += n
	}
	if len(b) < p+msgLen {
		return Result{}, true
	}
	// messageID INTEGER 1, then protocolOp bindResponse (0x61).
	if len(b) < p+5 || !bytes.Equal(b[p:p+4], []byte("\x02\x01\x01\x61")) {
		return notV3, false
	}
	p += 4
	if b[p]&0x80 != 0 { // skip the bindResponse length
		p += int(b[p] & 0x7f)
	}
	p++
	// resultCode ENUMERATED.
	if len(b) < p+3 || !bytes.Equal(b[p:p+2], []byte("\x0a\x01")) {
		return notV3, false
	}
	if code := int(b[p+2]); code != 0 {
		return Result{Status: StatusL7STS, Code: code, Info: "See RFC: http://tools.ietf.org/html/rfc4511#section-4.1.9"}, false
	}
	return Result{Status: StatusL7OK, Info: "Success"}, false
}
