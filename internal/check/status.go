package check

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
	"time"
)

// Status is the outcome of one check, named as in HAProxy's stats
// ("check_status" column) and logs.
type Status uint8

// The order matters: statuses from L7OK on carry an HTTP (or agent) code in
// log lines, as in HAProxy where they sort after HCHK_STATUS_L57DATA.
const (
	StatusUnknown Status = iota
	StatusINI            // not checked yet
	StatusHANA           // the passive observation's verdict ("observe")
	StatusSOCKERR
	StatusL4OK
	StatusL4TOUT
	StatusL4CON
	StatusL6OK
	StatusL6TOUT
	StatusL6RSP
	StatusL7TOUT
	StatusL7RSP
	StatusL7OK
	StatusL7OKC
	StatusL7STS
	StatusPROCERR  // external check: the program failed
	StatusPROCTOUT // external check: the program did not end in time
	StatusPROCOK   // external check: the program exited with 0
	// StatusCHECKED: an agent answered without a state (haproxy's "No
	// status change"), no code
	StatusCHECKED
)

type statusInfo struct {
	name, desc string
	passed     bool
}

var statuses = [...]statusInfo{
	StatusUnknown: {"UNK", "Unknown", false},
	StatusINI:     {"INI", "Initializing", false},
	StatusHANA:    {"HANA", "Health analyze", false},
	StatusSOCKERR: {"SOCKERR", "Socket error", false},
	StatusL4OK:    {"L4OK", "Layer4 check passed", true},
	StatusL4TOUT:  {"L4TOUT", "Layer4 timeout", false},
	StatusL4CON:   {"L4CON", "Layer4 connection problem", false},
	StatusL6OK:    {"L6OK", "Layer6 check passed", true},
	StatusL6TOUT:  {"L6TOUT", "Layer6 timeout", false},
	StatusL6RSP:   {"L6RSP", "Layer6 invalid response", false},
	StatusL7TOUT:  {"L7TOUT", "Layer7 timeout", false},
	StatusL7RSP:   {"L7RSP", "Layer7 invalid response", false},
	StatusL7OK:    {"L7OK", "Layer7 check passed", true},
	StatusL7OKC:   {"L7OKC", "Layer7 check conditionally passed", true},
	StatusL7STS:   {"L7STS", "Layer7 wrong status", false},

	StatusPROCERR:  {"PROCERR", "External check error", false},
	StatusPROCTOUT: {"PROCTOUT", "External check timeout", false},
	StatusPROCOK:   {"PROCOK", "External check passed", true},
	StatusCHECKED:  {"CHECKED", "No status change", false},
}

// String is the short name shown in stats, e.g. "L4CON".
func (s Status) String() string {
	if int(s) < len(statuses) {
		return statuses[s].name
	}
	return statuses[StatusUnknown].name
}

// Description is the long form used after "reason:" in log lines.
func (s Status) Description() string {
	if int(s) < len(statuses) {
		return statuses[s].desc
	}
	return statuses[StatusUnknown].desc
}

// Passed tells whether the status counts as a success for rise/fall.
func (s Status) Passed() bool { return int(s) < len(statuses) && statuses[s].passed }

// HasCode tells whether the status carries a layer 7 (or agent) code, as
// HAProxy's statuses after HCHK_STATUS_L57DATA.
func (s Status) HasCode() bool { return s >= StatusL7OK && s != StatusCHECKED }

// Result is the outcome of one check run.
type Result struct {
	Status   Status
	Code     int           // HTTP status for Layer7 results
	Info     string        // HAProxy's check "desc": errno text, HTTP reason phrase
	Duration time.Duration // from the start of the check to its outcome; <0: none

	agent *agentReply // an agent check's parsed line
}

// infoMax is HAProxy's HCHK_DESC_LEN minus its NUL: longer infos are cut.
const infoMax = 127

// appendReason appends ", reason: ..., code: ..., info: "...", check
// duration: Nms" as HAProxy's check_append_info does.
func (r Result) appendReason(b *strings.Builder) {
	b.WriteString(", reason: ")
	b.WriteString(r.Status.Description())
	if r.Status.HasCode() {
		fmt.Fprintf(b, ", code: %d", r.Code)
	}
	if r.Info != "" {
		info := r.Info
		if len(info) > infoMax {
			info = info[:infoMax]
		}
		b.WriteString(`, info: "`)
		asciiEncode(b, info, '"')
		b.WriteByte('"')
	}
	if r.Duration >= 0 {
		fmt.Fprintf(b, ", check duration: %dms", r.Duration.Milliseconds())
	}
}

// asciiEncode writes s with non-printable bytes, '<', '>' and q as "<HH>",
// so that a server-provided reason phrase cannot forge a log line.
func asciiEncode(b *strings.Builder, s string, q byte) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c >= 0x7f || c == '<' || c == '>' || c == q {
			fmt.Fprintf(b, "<%02X>", c)
			continue
		}
		b.WriteByte(c)
	}
}

// errnoText returns the C library's strerror() wording for the errno inside
// err ("Connection refused"), since operators grep HAProxy's logs for it; Go
// spells the same messages in lower case. It returns "" when err carries no
// errno.
func errnoText(err error) string {
	var errno syscall.Errno
	if !errors.As(err, &errno) || errno == 0 {
		return ""
	}
	s := errno.Error()
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
