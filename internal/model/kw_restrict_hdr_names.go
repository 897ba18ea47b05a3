package model

import "dhproxy/internal/config"

// RestrictHdrNames is "option http-restrict-req-hdr-names": what happens
// to a request header whose name has a character outside [A-Za-z0-9-],
// once the section's http-request rules have run.
type RestrictHdrNames uint8

const (
	RestrictPreserve RestrictHdrNames = iota // kept (the default)
	RestrictDelete                           // removed
	RestrictReject                           // the request is refused with a 403
)

func init() {
	registerOption("http-restrict-req-hdr-names", CapFE|CapBE, "", func(b *builder, p *Proxy, l config.Line, negate bool) {
		const expects = "option 'http-restrict-req-hdr-names' expects 'preserve', 'reject' or 'delete' option."
		switch {
		case len(l.Args) < 3:
			b.errorf(l, "missing parameter. %s", expects)
			return
		case len(l.Args) > 3:
			b.errorf(l, "'option' cannot handle unexpected argument '%s'.", l.Args[3])
			return
		}
		switch l.Args[2] {
		case "preserve":
			p.RestrictHdrNames = RestrictPreserve
		case "delete":
			p.RestrictHdrNames = RestrictDelete
		case "reject":
			p.RestrictHdrNames = RestrictReject
		default:
			b.errorf(l, "invalid parameter '%s'. %s", l.Args[2], expects)
		}
	})
	// "option disable-h2-upgrade": a cleartext HTTP/1 bind answers the
	// HTTP/2 client preface with a 400 instead of turning the connection
	// to HTTP/2.
	registerOption("disable-h2-upgrade", CapFE, "", func(b *builder, p *Proxy, l config.Line, negate bool) {
		if len(l.Args) > 2 {
			b.errorf(l, "'option disable-h2-upgrade' cannot handle unexpected argument '%s'.", l.Args[2])
			return
		}
		recordOption(b, p, l, negate)
	})
}
