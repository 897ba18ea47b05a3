package model

import (
	"strconv"

	"dhproxy/internal/config"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// Captures: "capture request|response header NAME len N", "declare capture
// request|response len N" and "http-request|http-response capture <expr>
// len N | id N" fill numbered slots of a frontend; the log's %hr/%hs and
// the capture.req.hdr/capture.res.hdr fetches read them.

// Capture is one capture slot.
type Capture struct {
	Header string // a header captured as the message arrives; empty: filled by rules
	Len    int    // bytes kept
}

func init() {
	registerProxy("capture", CapFE, parseCapture)
	registerProxy("declare", CapFE, parseDeclare)
}

func captureLen(b *builder, l config.Line, s string) (int, bool) {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		b.errorf(l, "'%s': 'len' expects a positive length (got '%s').", l.Args[0], s)
		return 0, false
	}
	return n, true
}

func parseCapture(b *builder, p *Proxy, l config.Line) {
	a := l.Args
	if len(a) >= 2 && a[1] == "cookie" {
		if len(a) != 5 || a[3] != "len" {
			b.errorf(l, "'capture cookie' expects <cookie_name> 'len' <max_length>.")
			return
		}
		if n, ok := captureLen(b, l, a[4]); ok {
			p.CaptureCookie, p.CaptureCookieLen = a[2], n // the last line wins, as in haproxy
		}
		return
	}
	if len(a) != 6 || (a[1] != "request" && a[1] != "response") || a[2] != "header" || a[4] != "len" {
		b.errorf(l, "'capture' expects 'request header <name> len <length>' or 'response header <name> len <length>'.")
		return
	}
	n, ok := captureLen(b, l, a[5])
	if !ok {
		return
	}
	c := Capture{Header: a[3], Len: n}
	if a[1] == "request" {
		p.ReqCaptures = append(p.ReqCaptures, c)
	} else {
		p.ResCaptures = append(p.ResCaptures, c)
	}
}

func parseDeclare(b *builder, p *Proxy, l config.Line) {
	a := l.Args
	if len(a) != 5 || a[1] != "capture" || (a[2] != "request" && a[2] != "response") || a[3] != "len" {
		b.errorf(l, "'declare' expects 'capture request|response len <length>'.")
		return
	}
	n, ok := captureLen(b, l, a[4])
	if !ok {
		return
	}
	if a[2] == "request" {
		p.ReqCaptures = append(p.ReqCaptures, Capture{Len: n})
	} else {
		p.ResCaptures = append(p.ResCaptures, Capture{Len: n})
	}
}

// parseCaptureRule is "http-request|http-response capture <expr> len N |
// id N [if|unless cond]": len takes a new slot of the frontend, id names a
// declared one. "http-after-response capture <expr> id N" (kw) fills a
// response slot from what the client is sent.
func parseCaptureRule(b *builder, p *Proxy, l config.Line, kw string) {
	response := kw != "http-request"
	dir := "request"
	phase := sample.PhaseReq
	slots := &p.ReqCaptures
	if response {
		dir, phase, slots = "response", sample.PhaseRes, &p.ResCaptures
	}
	a := l.Args
	if len(a) < 5 || (a[3] != "len" && a[3] != "id") {
		usage := "<expr> len <length> | id <slot>"
		if kw == "http-after-response" {
			usage = "<expr> id <slot>"
		}
		b.errorf(l, "'%s capture' expects %s [{if | unless} <condition>].", kw, usage)
		return
	}
	e, err := b.comp.Compile(a[2], phase)
	if err != nil {
		b.errorf(l, "'%s capture %s': %v.", kw, a[2], err)
		return
	}
	r := &rules.Rule{Action: rules.Capture, Expr: e}
	n, err := strconv.Atoi(a[4])
	if err != nil || n < 0 {
		b.errorf(l, "'%s capture': '%s' is not a number.", kw, a[4])
		return
	}
	if a[3] == "len" {
		if response {
			b.errorf(l, "'%s capture' only takes 'id <slot>' (declare the slot with 'declare capture response len <length>').", kw)
			return
		}
		if !p.IsFrontend() || n == 0 {
			b.errorf(l, "'%s capture ... len' needs a positive length, in a frontend or listen section (a backend names a declared slot with 'id').", kw)
			return
		}
		r.Slot = len(*slots)
		*slots = append(*slots, Capture{Len: n})
	} else {
		r.Slot = n // checked against the frontends once all are read
	}
	if len(a) > 5 {
		if a[5] != "if" && a[5] != "unless" {
			b.errorf(l, "'%s capture': unexpected '%s'.", kw, a[5])
			return
		}
		c, warns, err := p.ACLs.ParseCond(b.comp, a[5:], phase, ruleWhere(p, kw))
		if err != nil {
			b.errorf(l, "error detected while parsing an '%s capture' condition : %v.", kw, err)
			return
		}
		for _, w := range warns {
			b.warnf(l, "%s.", w)
		}
		r.Cond = c
	}
	if a[3] == "id" && p.IsFrontend() && n >= len(*slots) {
		b.errorf(l, "'%s capture ... id %d': no capture slot %d is declared (use 'declare capture %s len <length>').", kw, n, n, dir)
		return
	}
	r.Pos = l.Pos
	switch kw {
	case "http-after-response":
		p.HTTPAfterResponseRules = append(p.HTTPAfterResponseRules, r)
	case "http-response":
		p.HTTPResponseRules = append(p.HTTPResponseRules, r)
	default:
		p.HTTPRequestRules = append(p.HTTPRequestRules, r)
	}
}
