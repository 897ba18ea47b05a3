package model

import (
	"strings"

	"dhproxy/internal/config"
)

// Two proxy keywords haproxy 2.6 still parses from older versions.
func init() {
	registerProxy("bind-process", CapFE|CapBE|CapDef, parseBindProcess)
	// "transparent" is the 1.x spelling of "option transparent"; haproxy
	// 2.6 takes it silently in a frontend, where it has no effect.
	registerProxy("transparent", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if len(l.Args) > 1 {
			b.errorf(l, "'transparent' cannot handle unexpected argument '%s'.", l.Args[1])
			return
		}
		if p.Cap&(CapBE|CapDef) != 0 {
			p.Options["transparent"] = true
			b.notYetOnce(l, "'transparent'", "transparent mode")
		}
	})
}

// parseBindProcess checks "bind-process" as haproxy 2.6 does, against a
// single process, then warns that it does nothing.
func parseBindProcess(b *builder, p *Proxy, l config.Line) {
	for _, a := range l.Args[1:] {
		if a == "all" {
			break // haproxy stops reading there
		}
		if msg := processRangeErr(a); msg != "" {
			b.errorf(l, "bind-process : %s", msg)
			return
		}
	}
	b.warnf(l, "'bind-process' has no effect, is deprecated, and will be removed in version 2.7.")
}

// processRangeErr is haproxy's parse_process_number with one process:
// "odd", "even", "N" or "N-M" where only 1 is in range.
func processRangeErr(a string) string {
	if a == "odd" || a == "even" {
		return ""
	}
	if a[0] != '-' && (a[0] < '0' || a[0] > '9') {
		return "'" + a + "' is not a valid number/range."
	}
	low := leadingUint(a)
	high := low
	if _, rest, ok := strings.Cut(a, "-"); ok {
		high = 1 // "N-": up to the last process
		if rest != "" {
			high = leadingUint(rest)
		}
	}
	if high < low {
		low, high = high, low
	}
	if low < 1 || high > 1 {
		return "'" + a + "' is not a valid number/range. It supports numbers from 1 to 1."
	}
	return ""
}

// leadingUint reads the digits s starts with, as strtoul does (0 if none).
func leadingUint(s string) int {
	n := 0
	for i := 0; i < len(s) && s[i] >= '0' && s[i] <= '9' && n < 1<<20; i++ {
		n = n*10 + int(s[i]-'0')
	}
	return n
}
