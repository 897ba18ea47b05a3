package model

import (
	"strings"
	"time"

	"dhproxy/internal/acl"
	"dhproxy/internal/config"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// tcp-request: "tcp-request connection accept|reject [if|unless <cond>]",
// evaluated on each accepted connection before anything else (layer 4
// fetches only), and what "balance rdp-cookie" needs, the idiom of
// HAProxy's manual:
//
//	tcp-request inspect-delay 5s
//	tcp-request content accept if RDP_COOKIE
//
// which waits up to the delay for the client's first packet to carry a
// complete RDP cookie before the server is chosen. Other tcp-request rules
// are refused with a clear error.

// TCPRequest holds the supported tcp-request settings of a proxy.
type TCPRequest struct {
	InspectDelay time.Duration
	// AcceptRDPCookie is "tcp-request content accept if RDP_COOKIE".
	AcceptRDPCookie bool
	// Connection is the "tcp-request connection" rules, in order.
	Connection []TCPRule
}

// TCPRule is an accept, reject or track-sc* rule.
type TCPRule struct {
	Pos    config.Pos
	Reject bool
	Track  *rules.Rule // track-sc*: the counter, key and table (Action TrackSC)
	Cond   *acl.Cond   // nil: always
}

func init() {
	registerProxy("tcp-request", CapFE|CapBE|CapDef, parseTCPRequest)
}

func parseTCPRequest(b *builder, p *Proxy, l config.Line) {
	args := l.Args[1:]
	switch {
	case len(args) == 2 && args[0] == "inspect-delay":
		d, err := parseDuration(args[1])
		if err != nil {
			b.errorf(l, "'tcp-request inspect-delay': %v.", err)
			return
		}
		p.TCPRequest.InspectDelay = d
	case len(args) == 4 && args[0] == "content" && args[1] == "accept" && args[2] == "if" && args[3] == "RDP_COOKIE":
		p.TCPRequest.AcceptRDPCookie = true
	case len(args) >= 2 && args[0] == "connection" && (args[1] == "accept" || args[1] == "reject" || strings.HasPrefix(args[1], "track-sc")):
		if refuseRulesInDefaults(b, p, l) {
			return
		}
		if !p.IsFrontend() {
			b.errorf(l, "'tcp-request connection' is only allowed in a frontend or listen section.")
			return
		}
		r := TCPRule{Pos: l.Pos, Reject: args[1] == "reject"}
		cond := args[2:]
		if strings.HasPrefix(args[1], "track-sc") {
			// "track-scN <key> [table <t>]": the same parser as the
			// http-request form, in the connection phase.
			end := len(args)
			for i, w := range args {
				if w == "if" || w == "unless" {
					end = i
					break
				}
			}
			t, err := rules.ParseTrack(b.comp, args[1:end], sample.PhaseConn, "'tcp-request connection "+args[1]+"'")
			if err != nil {
				b.errorf(l, "%v.", err)
				return
			}
			r.Track, cond = t, args[end:]
		}
		if len(cond) > 0 {
			c, warns, err := p.ACLs.ParseCond(b.comp, cond, sample.PhaseConn, "frontend tcp-request connection rule")
			if err != nil {
				b.errorf(l, "error detected while parsing a 'tcp-request connection %s' condition : %v.", args[1], err)
				return
			}
			for _, w := range warns {
				b.warnf(l, "%s.", w)
			}
			r.Cond = c
		}
		p.TCPRequest.Connection = append(p.TCPRequest.Connection, r)
	default:
		b.errorf(l, "'tcp-request %s' is not supported by dhproxy yet; only 'tcp-request connection accept|reject|track-sc<N> <key> [table <t>] [if|unless <cond>]', 'tcp-request inspect-delay <time>' and 'tcp-request content accept if RDP_COOKIE' work for now.", strings.Join(args, " "))
	}
}
