package model

import (
	"strconv"

	"dhproxy/internal/config"
)

// RetryOn is "retry-on": the failures after which a request is tried
// again, within "retries" attempts. The zero value is haproxy's default,
// conn-failure.
type RetryOn uint32

const (
	retrySet             RetryOn = 1 << iota // "retry-on" was written ("none": this bit alone)
	RetryConnFailure                         // the connection failed
	RetryEmptyResponse                       // the server closed without answering
	RetryJunkResponse                        // the server's answer is not an HTTP response
	RetryResponseTimeout                     // "timeout server" struck before the response
	Retry0RTTRejected                        // early data refused (dhproxy sends none to servers)
	retryFirstStatus
)

// retryStatuses are the statuses haproxy 2.6 retries on, in bit order
// from retryFirstStatus.
var retryStatuses = [...]int{401, 403, 404, 408, 425, 500, 501, 502, 503, 504}

// RetryL7 are the failures that need the request kept to be sent again.
const RetryL7 = ^(retrySet | RetryConnFailure)

// AllowsFastOpen tells whether the retries cover what data sent with a
// TCP fast open SYN may need: haproxy connects its "tfo" servers with
// TCP_FASTOPEN_CONNECT only then.
func (r RetryOn) AllowsFastOpen() bool {
	const need = RetryConnFailure | RetryEmptyResponse | RetryResponseTimeout
	return r&need == need
}

// ConnFailure tells whether a failed connection is retried.
func (r RetryOn) ConnFailure() bool { return r == 0 || r&RetryConnFailure != 0 }

// Status tells whether a response with status code asks for a retry.
func (r RetryOn) Status(code int) bool {
	for i, c := range retryStatuses {
		if c == code {
			return r&(retryFirstStatus<<i) != 0
		}
	}
	return false
}

func init() {
	registerProxy("retry-on", CapBE|CapDef, parseRetryOn)
	registerProxy("max-keep-alive-queue", CapFE|CapBE|CapDef, func(b *builder, p *Proxy, l config.Line) {
		if b.wantArgs(l, 1, 1, "max-keep-alive-queue <value> (-1: no limit)") && !frontendOnly(b, p, l) {
			if n, err := strconv.Atoi(l.Args[1]); err == nil {
				p.MaxKeepAliveQueue = n
			} else {
				b.errorf(l, "'max-keep-alive-queue' expects an integer value (or -1 to disable), not '%s'.", l.Args[1])
			}
		}
	})
}

func parseRetryOn(b *builder, p *Proxy, l config.Line) {
	if len(l.Args) < 2 {
		b.errorf(l, "'retry-on' needs at least one keyword to specify when to retry.")
		return
	}
	r := retrySet
	for _, w := range l.Args[1:] {
		switch w {
		case "none":
			if len(l.Args) > 2 {
				b.errorf(l, "'retry-on' 'none' keyword only usable alone.")
				return
			}
		case "conn-failure":
			r |= RetryConnFailure
		case "empty-response":
			r |= RetryEmptyResponse
		case "junk-response":
			r |= RetryJunkResponse
		case "response-timeout":
			r |= RetryResponseTimeout
		case "0rtt-rejected":
			r |= Retry0RTTRejected
		case "all-retryable-errors":
			r |= RetryConnFailure | RetryEmptyResponse | RetryJunkResponse | RetryResponseTimeout | Retry0RTTRejected
			for _, c := range [...]int{500, 502, 503, 504} {
				r |= retryStatusBit(c)
			}
		default:
			bit := RetryOn(0)
			if code, err := strconv.Atoi(w); err == nil && len(w) == 3 {
				bit = retryStatusBit(code)
			}
			if bit == 0 {
				b.errorf(l, "'retry-on': unknown keyword '%s'; write none, conn-failure, empty-response, junk-response, response-timeout, 0rtt-rejected, all-retryable-errors or a status among 401 403 404 408 425 500 501 502 503 504.", w)
				return
			}
			r |= bit
		}
	}
	// Each line replaces the previous one, as in haproxy.
	p.RetryOn = r
}

// retryStatusBit is the RetryOn bit of status code, 0 for a status
// haproxy does not retry on.
func retryStatusBit(code int) RetryOn {
	for i, c := range retryStatuses {
		if c == code {
			return retryFirstStatus << i
		}
	}
	return 0
}
