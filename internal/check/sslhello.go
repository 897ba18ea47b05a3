package check

import (
	"encoding/binary"
	"regexp"
	"time"
)

// "option ssl-hello-chk": HAProxy sends an SSLv3 ClientHello offering the
// 39 most common ciphers, with its own fixed random, and wants a TLS
// handshake (0x16) or alert (0x15) record of at least 5 bytes back: Layer6
// check passed, else Layer6 invalid response (or timeout).

var sslRecordRe = regexp.MustCompile(`^1[56]`)

func sslHelloRules() *ruleset {
	return &ruleset{rules: []rule{
		{kind: ruleConnect},
		{kind: ruleSend, data: sslClientHello(time.Now())},
		{kind: ruleExpectTCP, x: &userExpect{match: "rbinary", re: sslRecordRe, minRecv: 5,
			okStatus: StatusL6OK, errStatus: StatusL6RSP, toutStatus: StatusL6TOUT}},
	}, implicitConnect: true, noPure: true}
}

// sslClientHello builds the record: handshake, SSLv3, a ClientHello with
// the Unix time, a 28-byte random, no session, 39 cipher suites (0x01 to
// 0x1B, 0x2F to 0x3A) and the null compression.
func sslClientHello(now time.Time) []byte {
	var hello []byte
	hello = append(hello, 0x03, 0x00) // client version SSLv3
	hello = binary.BigEndian.AppendUint32(hello, uint32(now.Unix()))
	hello = append(hello, "HAPROXYSSLCHK\nHAPROXYSSLCHK\n"...)
	hello = append(hello, 0x00) // no session id
	var suites []byte
	for c := 0x01; c <= 0x1B; c++ {
		suites = append(suites, 0x00, byte(c))
	}
	for c := 0x2F; c <= 0x3A; c++ {
		suites = append(suites, 0x00, byte(c))
	}
	hello = binary.BigEndian.AppendUint16(hello, uint16(len(suites)))
	hello = append(hello, suites...)
	hello = append(hello, 0x01, 0x00) // one compression method: null
	hs := []byte{0x01, byte(len(hello) >> 16), byte(len(hello) >> 8), byte(len(hello))}
	hs = append(hs, hello...)
	rec := []byte{0x16, 0x03, 0x00, byte(len(hs) >> 8), byte(len(hs))}
	return append(rec, hs...)
}
