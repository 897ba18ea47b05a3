package model

import (
	"dhproxy/internal/config"
)

// http-request rules and ACLs do not exist yet. One idiom is accepted
// because operators copy it from HAProxy's documentation to expose the
// built-in Prometheus exporter:
//
//	http-request use-service prometheus-exporter if { path /metrics }
//
// Any other rule is an error rather than silently ignored: a forgotten
// "deny" would open what the operator meant to close.

func init() {
	registerProxy("http-request", CapFE|CapBE|CapDef, parseHTTPRequest)
}

func parseHTTPRequest(b *builder, p *Proxy, l config.Line) {
	a := l.Args
	if len(a) == 8 && a[1] == "use-service" && a[2] == "prometheus-exporter" && a[3] == "if" &&
		a[4] == "{" && a[5] == "path" && a[7] == "}" {
		if !p.IsFrontend() {
			b.errorf(l, "'http-request use-service prometheus-exporter' is only supported in a frontend or listen section.")
			return
		}
		p.PrometheusPath = a[6]
		b.warnf(l, "dhproxy supports 'http-request' only as 'use-service prometheus-exporter if { path <p> }' for now; other rules and ACLs are not implemented.")
		return
	}
	b.errorf(l, "'http-request' rules are not supported yet; the only accepted form is 'http-request use-service prometheus-exporter if { path <path> }'.")
}
