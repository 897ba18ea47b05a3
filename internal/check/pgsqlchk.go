package check

import (
	"encoding/binary"
	"regexp"
)

// "option pgsql-check user <username>", as HAProxy's tcpcheck.c compiles it:
// send a protocol 3.0 startup message for the user (no database), then the
// reply must not be an ErrorResponse ('E', whose text is the info) and must
// be an AuthenticationOk or a password/SASL request, i.e. the server knows
// the user. The check never authenticates.

var (
	pgErrorRe = regexp.MustCompile(`^E`)
	// HAProxy 2.6's pattern: an Authentication message of any length whose
	// request is ok, a password, GSS/SSPI or SASL (codes 0, 2-7, 9, 10).
	pgAuthRe = regexp.MustCompile(`^52000000[A-Z0-9]{2}000000(00|02|03|04|05|06|07|09|0A)`)
)

func pgsqlRules(user string) *ruleset {
	return &ruleset{rules: []rule{
		{kind: ruleConnect},
		{kind: ruleSend, data: pgsqlStartup(user)},
		{kind: ruleExpectRegex, re: pgErrorRe, inverse: true, minRecv: 5, errStatus: StatusL7RSP, info: pgErrorText},
		{kind: ruleExpectRegex, re: pgAuthRe, hexDump: true, minRecv: 9, errStatus: StatusL7STS,
			okInfo: "PostgreSQL server is ok", info: func([]byte) string { return "PostgreSQL unknown error" }},
	}}
}

// pgsqlStartup is the StartupMessage: length, version 3.0, "user" and its
// value, and the final NUL.
func pgsqlStartup(user string) []byte {
	n := 15 + len(user)
	b := binary.BigEndian.AppendUint32(nil, uint32(n))
	b = append(b, 0, 3, 0, 0)
	b = append(b, "user\x00"...)
	b = append(b, user...)
	return append(b, 0, 0)
}

// pgErrorText is "%[res.payload(6,0)]" as HAProxy ends up showing it: the
// first field of the ErrorResponse after its type byte, up to its NUL.
func pgErrorText(b []byte) string {
	if len(b) < 6 {
		return ""
	}
	return cString(b[6:])
}
