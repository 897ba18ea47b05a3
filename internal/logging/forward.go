package logging

import (
	"strconv"
	"sync/atomic"
	"time"
)

// Meta are the header fields of a received syslog message, as haproxy
// 2.6's parse_log_message finds them (LOG_META_*). An empty field is
// absent; Prio is the "<PRI>" as received.
type Meta struct {
	Prio, Time, Host, Tag, PID, MsgID, SD []byte
}

// Lengths of the two timestamps haproxy recognizes: "Oct 11 22:14:15"
// (RFC 3164) and at least "2003-10-11T22:14:15Z" (RFC 5424).
const (
	legacyTimeLen = 15
	isoTimeMinLen = 20
)

var receivedTotal atomic.Uint64

// ReceivedTotal counts the messages the log-forward sections received
// (haproxy's CumRecvLogs).
func ReceivedTotal() uint64 { return receivedTotal.Load() }

// ParseMessage reads the syslog header of buf the way haproxy 2.6 does:
// it returns the level and facility of "<PRI>" (-1 without one), the
// header fields it recognized, and the message after them. A header that
// starts like RFC 5424 or RFC 3164 but breaks the format keeps only
// "<PRI>"; the rest is the message, as haproxy sends it again.
func ParseMessage(buf []byte) (level, facility int, m Meta, msg []byte) {
	level, facility, msg = -1, -1, buf
	if len(buf) < 2 || buf[0] != '<' {
		return
	}
	pri, p := 0, 1
	for ; p < len(buf) && buf[p] != '>'; p++ {
		if buf[p] < '0' || buf[p] > '9' {
			return
		}
		pri = 10*pri + int(buf[p]-'0')
	}
	if p == len(buf) {
		return
	}
	facility, level = pri>>3, pri&7
	p++
	m.Prio = buf[:p]
	buf = buf[p:]
	msg = buf
	if len(buf) > 2 && buf[0] == '1' && buf[1] == ' ' {
		if rest, ok := parse5424(buf, &m); ok {
			return level, facility, m, rest
		}
		// haproxy 2.6 counts the version's two bytes off the message
		// size before it finds the header malformed: the message it
		// sends then misses its last two bytes.
		return level, facility, Meta{Prio: m.Prio}, buf[:len(buf)-2]
	}
	if len(buf) > legacyTimeLen {
		if rest, ok := parse3164(buf, &m); ok {
			return level, facility, m, rest
		}
		return level, facility, Meta{Prio: m.Prio}, buf
	}
	return
}

// field reads a space-terminated header field at p, which must not start
// with a space; "-" (NILVALUE) gives an empty field.
func field(buf []byte, p int) (f []byte, next int, ok bool) {
	if p >= len(buf) || buf[p] == ' ' {
		return nil, 0, false
	}
	start := p
	for buf[p] != ' ' {
		if p++; p >= len(buf) {
			return nil, 0, false
		}
	}
	f = buf[start:p]
	if len(f) == 1 && f[0] == '-' {
		f = nil
	}
	return f, p + 1, true
}

// parse5424 reads "1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD " and
// returns the message after it.
func parse5424(buf []byte, m *Meta) ([]byte, bool) {
	size := len(buf) - 2
	p := 2
	switch {
	case size > 2 && buf[p] == '-' && buf[p+1] == ' ':
		m.Time = buf[p : p+1]
		p++
	case size > isoTimeMinLen:
		start := p
		p += 19
		if buf[p] == '.' {
			if p++; p >= len(buf) {
				return nil, false
			}
			for buf[p] != 'Z' && buf[p] != '+' && buf[p] != '-' {
				if buf[p] < '0' || buf[p] > '9' {
					return nil, false
				}
				if p++; p >= len(buf) {
					return nil, false
				}
			}
		}
		if buf[p] == 'Z' {
			p++
		} else {
			p += 6 // "+00:00"
		}
		if p >= len(buf) || buf[p] != ' ' {
			return nil, false
		}
		m.Time = buf[start:p]
	default:
		return nil, false
	}
	p++
	var ok bool
	for _, f := range []*[]byte{&m.Host, &m.Tag, &m.PID, &m.MsgID} {
		if *f, p, ok = field(buf, p); !ok {
			return nil, false
		}
	}
	// Structured data: "-" or "[id k=v ...][...]", ending at a space
	// outside brackets ("\]" does not close an element).
	if p >= len(buf) || buf[p] == ' ' {
		return nil, false
	}
	start := p
	switch buf[p] {
	case '[':
		in := false
		for {
			if in {
				if buf[p] == ']' && buf[p-1] != '\\' {
					in = false
				}
			} else if buf[p] == '[' {
				in = true
			} else if buf[p] == ' ' {
				break
			} else {
				return nil, false
			}
			if p++; p >= len(buf) {
				return nil, false
			}
		}
		m.SD = buf[start:p]
	case '-':
		if p++; p >= len(buf) || buf[p] != ' ' {
			return nil, false
		}
	default:
		return nil, false
	}
	return buf[p+1:], true
}

// parse3164 reads "Mmm dd hh:mm:ss HOSTNAME [TAG[PID]: ]" and returns the
// message after it. Without a well-formed tag, the message starts after
// the host name.
func parse3164(buf []byte, m *Meta) ([]byte, bool) {
	if monthIndex(buf[:3]) < 0 {
		return nil, false
	}
	m.Time = buf[:legacyTimeLen]
	p := legacyTimeLen
	if p >= len(buf) || buf[p] != ' ' {
		return nil, false
	}
	p++
	if p >= len(buf) || buf[p] == ' ' {
		return nil, false
	}
	start := p
	for buf[p] != ' ' {
		if p++; p >= len(buf) {
			return nil, false
		}
	}
	m.Host = buf[start:p]
	buf = buf[p+1:]
	// a tag ends with ": " before any space
	q := 0
	for q < len(buf) && buf[q] != ' ' && buf[q] != ':' {
		q++
	}
	if q+1 >= len(buf) || buf[q] != ':' || buf[q+1] != ' ' {
		return buf, true
	}
	tagLen, pidStart := 0, -1
	for q = 0; buf[q] != ':'; q++ {
		if buf[q] == '[' {
			tagLen, pidStart = q, q+1
		} else if buf[q] == ']' && pidStart >= 0 {
			if buf[q+1] != ':' {
				// haproxy keeps the tag found so far, not the PID
				m.Tag = buf[:tagLen]
				return buf, true
			}
			m.PID = buf[pidStart:q]
		}
	}
	if tagLen == 0 {
		tagLen = q
	}
	m.Tag = buf[:tagLen]
	return buf[q+2:], true
}

func monthIndex(b []byte) int {
	for i, name := range months {
		if string(b) == name {
			return i
		}
	}
	return -1
}

// Forward sends a received message to the targets whose level admits it,
// each with the header of its format built from m (haproxy's
// process_send_log): level and facility -1 (no "<PRI>") take the
// target's facility and minimum level. Without a "format", a target
// writes the header the message came with (RFC 5424, RFC 3164, or only
// "<PRI>"), or none.
func (l *Logger) Forward(level, facility int, m *Meta, msg []byte) {
	if l == nil || len(l.targets) == 0 || l.closed.Load() {
		return
	}
	for len(msg) > 0 && (msg[len(msg)-1] == '\n' || msg[len(msg)-1] == 0) {
		msg = msg[:len(msg)-1]
	}
	now := time.Now()
	for _, t := range l.targets {
		if level > t.maxLevel || !t.sampled() {
			continue
		}
		fac := facility
		if fac < 0 {
			fac = t.facility
		}
		bp := l.getBuf()
		b := appendMetaHeader((*bp)[:0], t.format, max(level, t.minLevel), fac, m, now)
		b = append(b, t.body(msg)...)
		l.queueLine(t, bp, b)
	}
}

// appendMetaHeader writes the header of format for a forwarded message
// (haproxy's build_log_header with the received fields).
func appendMetaHeader(b []byte, format string, level, facility int, m *Meta, now time.Time) []byte {
	if format == "" {
		format = "raw"
		switch {
		case len(m.Host) > 0:
			format = "rfc3164"
			if string(m.Time) == "-" || len(m.Time) >= isoTimeMinLen {
				format = "rfc5424"
			}
		case len(m.Tag) > 0:
			format = "local"
		case len(m.Prio) > 0:
			format = "priority"
		}
	}
	switch format {
	case "local", "rfc3164", "rfc5424", "priority":
		b = appendFwdPri(b, facility<<3+level)
	case "timed", "short":
		b = appendFwdPri(b, level)
	}
	switch format {
	case "local", "rfc3164":
		b = appendLegacyTime(b, m.Time, now)
	case "rfc5424":
		b = append(b, "1 "...)
		if string(m.Time) == "-" {
			b = append(b, "- "...)
			break
		}
		b = appendISOTime(b, m.Time, now)
	case "timed", "iso":
		b = appendISOTime(b, m.Time, now)
	}
	switch format {
	case "rfc3164", "local":
		if format == "rfc3164" {
			if len(m.Host) > 0 {
				b = append(append(b, m.Host...), ' ')
			} else {
				b = append(b, "localhost "...)
			}
		}
		if len(m.Tag) > 0 {
			b = append(b, m.Tag...)
			if len(m.PID) > 0 {
				b = append(append(append(b, '['), m.PID...), ']')
			}
			b = append(b, ": "...)
		}
	case "rfc5424":
		for _, f := range [...][]byte{m.Host, m.Tag, m.PID, m.MsgID, m.SD} {
			b = append(appendOrNil(b, string(f)), ' ')
		}
	}
	return b
}

// appendFwdPri writes "<PRI>" with at most three digits, as haproxy's
// 6-byte priority buffer keeps only the last three of a larger value.
func appendFwdPri(b []byte, pri int) []byte {
	b = append(b, '<')
	if pri >= 1000 {
		b = append3(b, pri%1000)
	} else {
		b = strconv.AppendInt(b, int64(pri), 10)
	}
	return append(b, '>')
}

// appendLegacyTime writes an RFC 3164 timestamp and a space: the
// received one, or one made of a received ISO time, else now.
func appendLegacyTime(b []byte, ts []byte, now time.Time) []byte {
	if len(ts) == legacyTimeLen {
		return append(append(b, ts...), ' ')
	}
	if len(ts) >= isoTimeMinLen {
		month := 10*int(ts[5]-'0') + int(ts[6]-'0')
		if month > 0 {
			month--
		}
		if month >= 0 && month <= 11 {
			day := ts[8]
			if day == '0' {
				day = ' '
			}
			b = append(b, months[month]...)
			b = append(b, ' ', day, ts[9], ' ')
			b = append(b, ts[11:19]...)
			return append(b, ' ')
		}
	}
	return appendStamp3164(b, now)
}

// appendISOTime writes an RFC 5424 timestamp and a space: the received
// one, or one made of a received RFC 3164 time (this year, or the last
// one for a month still to come; the time zone unknown: -00:00), else now.
func appendISOTime(b []byte, ts []byte, now time.Time) []byte {
	if len(ts) >= isoTimeMinLen {
		return append(append(b, ts...), ' ')
	}
	if len(ts) == legacyTimeLen {
		if month := monthIndex(ts[:3]); month >= 0 {
			local := now.Local()
			year := local.Year()
			if int(local.Month())-1 < month {
				year--
			}
			day := ts[4]
			if day == ' ' {
				day = '0'
			}
			b = append4(b, year)
			b = append(b, '-')
			b = append2(b, month+1)
			b = append(b, '-', day, ts[5], 'T')
			b = append(b, ts[7:15]...)
			return append(b, "-00:00 "...)
		}
	}
	return append(appendISO(b, now), ' ')
}

// CountReceived counts one message received by a log-forward section.
func CountReceived() { receivedTotal.Add(1) }
