package model

import (
	"strings"
	"time"

	"dhproxy/internal/config"
)

// tcp-request: only what "balance rdp-cookie" needs for now, the idiom of
// HAProxy's manual:
//
//	tcp-request inspect-delay 5s
//	tcp-request content accept if RDP_COOKIE
//
// which waits up to the delay for the client's first packet to carry a
// complete RDP cookie before the server is chosen. ACLs do not exist yet,
// so other tcp-request rules are refused with a clear error.

// TCPRequest holds the supported tcp-request settings of a proxy.
type TCPRequest struct {
	InspectDelay time.Duration
	// AcceptRDPCookie is "tcp-request content accept if RDP_COOKIE".
	AcceptRDPCookie bool
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
	default:
		b.errorf(l, "'tcp-request %s' is not supported by dhproxy yet (no ACLs); only 'tcp-request inspect-delay <time>' and 'tcp-request content accept if RDP_COOKIE' work for now.", strings.Join(args, " "))
	}
}
