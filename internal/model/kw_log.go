package model

import (
	"slices"

	"dhproxy/internal/config"
	"dhproxy/internal/logging/logtarget"
)

var (
	logFacilities = []string{"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron", "auth2", "ftp", "ntp", "audit", "alert", "cron2", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"}
	logLevels     = []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
)

func init() {
	registerGlobal("log", func(b *builder, g *Global, l config.Line) {
		if t, ok := parseLogTarget(b, l, false); ok {
			g.Logs = append(g.Logs, t)
		}
	})
	registerProxy("log", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if t, ok := parseLogTarget(b, l, true); ok {
			p.Logs = append(p.Logs, t)
		}
	})
	registerProxy("no-log", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		p.Logs = nil
	})
}

// parseLogTarget reads "log global" or
// "log <target> [len <n>] [format <fmt>] [sample <r>:<n>] <facility> [<level> [<minlevel>]]".
func parseLogTarget(b *builder, l config.Line, inProxy bool) (LogTarget, bool) {
	t := LogTarget{Pos: l.Pos}
	if len(l.Args) == 2 && l.Args[1] == "global" {
		if !inProxy {
			b.errorf(l, "'log global' is only valid in proxy sections.")
			return t, false
		}
		t.Global = true
		return t, true
	}
	if len(l.Args) < 3 {
		b.errorf(l, "'log' expects <address> and <facility> (e.g. 'log 127.0.0.1:514 local0'), or 'global'.")
		return t, false
	}
	t.Address = b.addr(l.Args[1])
	if _, err := logtarget.ParseAddress(t.Address); err != nil {
		b.errorf(l, "'log %s': %v.", l.Args[1], err)
		return t, false
	}
	format, length, smp, rest, err := logtarget.ParseTargetOptions(l.Args[2:])
	if err != nil {
		b.errorf(l, "'log %s': %v.", t.Address, err)
		return t, false
	}
	t.Format, t.Len, t.Sample = format, length, smp
	if a, _ := logtarget.ParseAddress(t.Address); a.Kind == logtarget.TCP {
		t.Address = "ring@" + b.implicitRing(l.Pos, a.Host, format).Name
	}
	if len(rest) == 0 || len(rest) > 3 {
		b.errorf(l, "'log %s': expects a facility, then optionally a level and a minimum level.", t.Address)
		return t, false
	}
	if !slices.Contains(logFacilities, rest[0]) {
		b.errorf(l, "unknown log facility '%s'; use one of kern, user, mail, daemon, auth, syslog, ..., local0 to local7.", rest[0])
		return t, false
	}
	t.Facility = rest[0]
	for i, lv := range rest[1:] {
		if !slices.Contains(logLevels, lv) {
			b.errorf(l, "unknown log level '%s'; use one of emerg, alert, crit, err, warning, notice, info, debug.", lv)
			return t, false
		}
		if i == 0 {
			t.Level = lv
		} else {
			t.MinLevel = lv
		}
	}
	return t, true
}
