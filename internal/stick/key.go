package stick

import (
	"net/netip"
)

// Keys are built the way HAProxy converts a sample to a table's key type;
// a sample that does not convert (an IPv6 client for a "type ip" table, a
// non-numeric string for "type integer") gives no key and the rule is
// skipped. The Append functions append to dst and allocate nothing when
// dst has room.

// AppendAddr appends the key for an address sample (src).
func (t *Table) AppendAddr(dst []byte, a netip.Addr) ([]byte, bool) {
	if !a.IsValid() {
		return dst, false
	}
	switch t.cfg.Type {
	case IP:
		a = a.Unmap()
		if !a.Is4() {
			return dst, false
		}
		b := a.As4()
		return append(dst, b[:]...), true
	case IPv6:
		b := a.As16()
		return append(dst, b[:]...), true
	case Integer:
		a = a.Unmap()
		if !a.Is4() {
			return dst, false
		}
		b := a.As4()
		return append(dst, b[:]...), true
	}
	start := len(dst)
	dst = a.Unmap().AppendTo(dst)
	return t.truncate(dst, start), true
}

// AppendString appends the key for a string sample (header, cookie,
// parameter value).
func (t *Table) AppendString(dst, s []byte) ([]byte, bool) {
	switch t.cfg.Type {
	case IP:
		b, ok := parseIPv4(s)
		if !ok {
			return dst, false
		}
		return append(dst, b[:]...), true
	case IPv6:
		a, err := netip.ParseAddr(string(s))
		if err != nil {
			return dst, false
		}
		b := a.As16()
		return append(dst, b[:]...), true
	case Integer:
		n, ok := parseInt32(s)
		if !ok {
			return dst, false
		}
		u := uint32(n)
		return append(dst, byte(u>>24), byte(u>>16), byte(u>>8), byte(u)), true
	}
	start := len(dst)
	dst = append(dst, s...)
	return t.truncate(dst, start), true
}

// truncate keeps at most Len bytes of a string key started at start.
func (t *Table) truncate(dst []byte, start int) []byte {
	if n := t.cfg.Len; n > 0 && len(dst)-start > n {
		return dst[:start+n]
	}
	return dst
}

func parseIPv4(s []byte) (b [4]byte, ok bool) {
	part, digits, n := 0, 0, 0
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			n = n*10 + int(c-'0')
			digits++
			if n > 255 || digits > 3 {
				return b, false
			}
		case c == '.' && digits > 0 && part < 3:
			b[part] = byte(n)
			part, digits, n = part+1, 0, 0
		default:
			return b, false
		}
	}
	if part != 3 || digits == 0 {
		return b, false
	}
	b[3] = byte(n)
	return b, true
}

func parseInt32(s []byte) (int32, bool) {
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg, s = s[0] == '-', s[1:]
	}
	if len(s) == 0 {
		return 0, false
	}
	var n int64
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
		if n > 1<<31 {
			return 0, false
		}
	}
	if neg {
		n = -n
	}
	if n > 1<<31-1 || n < -1<<31 {
		return 0, false
	}
	return int32(n), true
}
