package model

import (
	"dhproxy/internal/config"
	"dhproxy/internal/logging/logformat"
)

// "log-format <string>": the traffic log line, compiled at load time
// (unknown variables and bad %[expr] name their line). The last of
// log-format, "option httplog" and "option tcplog" in a section wins.

func init() {
	registerProxy("log-format", CapFE|CapDef, parseLogFormat)
}

func parseLogFormat(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 1, 1, "log-format <string> (quote it when it has spaces)") {
		return
	}
	f, err := logformat.Compile(b.comp, l.Args[1])
	if err != nil {
		b.errorf(l, "%v.", err)
		return
	}
	p.LogFormat = f
}
