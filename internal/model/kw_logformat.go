package model

import (
	"dhproxy/internal/config"
	"dhproxy/internal/logging/logformat"
)

// "log-format <string>": the traffic log line, compiled at load time
// (unknown variables and bad %[expr] name their line). The last of
// log-format, "option httplog", "option httpslog" and "option tcplog" in a
// section wins.

func init() {
	registerProxy("log-format", CapFE|CapDef, parseLogFormat)
	registerProxy("log-format-sd", CapFE|CapBE|CapDef, parseLogFormatSD)
	registerProxy("unique-id-format", CapFE|CapDef, parseUniqueIDFormat)
	// haproxy 2.6 formats with it the lines of connections that never
	// became a stream (a failed TLS handshake, a request refused while
	// its head was parsed); dhproxy writes those lines in its fixed formats.
	registerProxy("error-log-format", CapFE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		b.errorf(l, "'error-log-format' is not supported by dhproxy yet: connection error lines (TLS handshake failures, requests refused before they were parsed) keep haproxy's default format; remove the line.")
	})
	registerProxy("unique-id-header", CapFE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if b.wantArgs(l, 1, 1, "unique-id-header <name>") {
			p.UniqueIDHeader = l.Args[1]
		}
	})
}

// parseUniqueIDFormat is "unique-id-format <fmt>": the request's unique id
// (%ID, the unique-id fetch, unique-id-header), built when the request
// arrives.
func parseUniqueIDFormat(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 1, 1, "unique-id-format <string> (quote it when it has spaces)") {
		return
	}
	f, err := logformat.Compile(b.comp, l.Args[1], false)
	if err != nil {
		b.errorf(l, "%v.", err)
		return
	}
	p.UniqueIDFormat = f
}

func parseLogFormat(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 1, 1, "log-format <string> (quote it when it has spaces)") {
		return
	}
	f, err := logformat.Compile(b.comp, l.Args[1], true)
	if err != nil {
		b.errorf(l, "%v.", err)
		return
	}
	p.LogFormat, p.HTTPSLogAt = f, config.Pos{}
}

// parseLogFormatSD is "log-format-sd <string>": the structured-data field
// of the traffic lines sent to "format rfc5424" log targets (escape the
// values with %{+E} so that '"', '\\' and ']' stay valid SD).
func parseLogFormatSD(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 1, 1, "log-format-sd <string> (quote it when it has spaces)") {
		return
	}
	if p.Cap == CapBE {
		// haproxy 2.6 accepts it there and ignores it: a backend writes no
		// traffic line of its own.
		b.warnf(l, "backend '%s' : 'log-format-sd' directive is ignored in backends.", p.Name)
		return
	}
	f, err := logformat.Compile(b.comp, l.Args[1], true)
	if err != nil {
		b.errorf(l, "%v.", err)
		return
	}
	p.LogFormatSD = f
}
