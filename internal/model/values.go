package model

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/config"
)

// parseDuration reads HAProxy time values: a number with an optional unit
// us, ms, s, m, h or d; a plain number is in milliseconds.
func parseDuration(s string) (time.Duration, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("'%s' is not a time value; write a number with an optional unit (us, ms, s, m, h, d), e.g. '5s'", s)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("time value '%s' is too large", s)
	}
	unit := time.Millisecond
	switch s[i:] {
	case "", "ms":
	case "us":
		unit = time.Microsecond
	case "s":
		unit = time.Second
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	case "d":
		unit = 24 * time.Hour
	default:
		return 0, fmt.Errorf("unknown unit '%s' in time value '%s'; use us, ms, s, m, h or d", s[i:], s)
	}
	if n > int64((1<<31-1)*time.Millisecond/unit) {
		return 0, fmt.Errorf("time value '%s' is too large (the maximum is 2147483647ms, about 24.8 days)", s)
	}
	return time.Duration(n) * unit, nil
}

// parseCount reads a non-negative integer argument.
func parseCount(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("'%s' is not a positive integer", s)
	}
	return n, nil
}

// parseSize reads a byte size with an optional k/m/g suffix.
func parseSize(s string) (int, error) {
	mult := 1
	t := strings.ToLower(s)
	switch {
	case strings.HasSuffix(t, "k"):
		mult, t = 1024, t[:len(t)-1]
	case strings.HasSuffix(t, "m"):
		mult, t = 1024*1024, t[:len(t)-1]
	case strings.HasSuffix(t, "g"):
		mult, t = 1024*1024*1024, t[:len(t)-1]
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("'%s' is not a size; write a number with an optional k, m or g suffix", s)
	}
	return n * mult, nil
}

// wantArgs checks that l has between lo and hi arguments after the keyword
// (hi < 0: no upper bound) and reports usage otherwise.
func (b *builder) wantArgs(l config.Line, lo, hi int, usage string) bool {
	n := len(l.Args) - 1
	if n < lo || (hi >= 0 && n > hi) {
		b.errorf(l, "'%s' %s; usage: %s", l.Args[0], argCountWord(n, lo, hi), usage)
		return false
	}
	return true
}

func argCountWord(n, lo, hi int) string {
	if n < lo {
		return "is missing an argument"
	}
	return fmt.Sprintf("takes at most %d argument(s), %d given", hi, n)
}

// intArg parses l.Args[i] as a count, reporting errors against l.
func (b *builder) intArg(l config.Line, i int) (int, bool) {
	n, err := parseCount(l.Args[i])
	if err != nil {
		b.errorf(l, "'%s': %v.", l.Args[0], err)
		return 0, false
	}
	return n, true
}

// notYet records a keyword whose parsing is done but whose effect comes with
// a later feature: a warning, never silence.
func (b *builder) notYet(l config.Line, what string) {
	b.warnf(l, "'%s' is accepted but %s is not implemented in this version of dhproxy yet; it has no effect.", strings.Join(l.Args, " "), what)
}

// parseSource reads a "source" address: <addr>[:<port>], an IPv6 one in
// brackets when it has a port, with an optional ipv4@ or ipv6@ prefix.
// Port ranges (server lines in HAProxy) are refused.
func parseSource(v string) (netip.AddrPort, error) {
	a := v
	switch {
	case strings.HasPrefix(a, "ipv4@"), strings.HasPrefix(a, "ipv6@"):
		a = a[5:]
	case strings.Contains(a, "@"):
		return netip.AddrPort{}, fmt.Errorf("source '%s': only ipv4@ and ipv6@ addresses can be a source", v)
	}
	if ip, err := netip.ParseAddr(a); err == nil {
		return netip.AddrPortFrom(ip, 0), nil
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("source '%s' is not <addr>[:<port>]", v)
	}
	if strings.Contains(port, "-") {
		return netip.AddrPort{}, fmt.Errorf("source '%s': port ranges are not supported by dhproxy yet", v)
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("source '%s': '%s' is not an IP address", v, host)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("source '%s': '%s' is not a port", v, port)
	}
	return netip.AddrPortFrom(ip, uint16(n)), nil
}
