package stream

import (
	"dhproxy/internal/http1"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
	"dhproxy/internal/txn"
)

// Captures of the current request: each slot of the frontend has a fixed
// place in one buffer, so that filling them never moves a value already
// taken and allocates nothing once the buffer has grown.

type captureState struct {
	buf      []byte
	req, res [][]byte  // nil: the slot was not filled
	cookie   [2][]byte // capture cookie: the request's, the response's
}

func init() {
	for _, d := range []struct {
		name string
		res  bool
	}{{"capture.req.hdr", false}, {"capture.res.hdr", true}} {
		res := d.res
		sample.RegisterFetch(&sample.FetchDef{
			Name: d.name, Args: []sample.ArgType{sample.ArgInt}, MinArgs: 1, Out: sample.TypeStr,
			Phases: sample.PhaseReq | sample.PhaseRes, Needs: "an HTTP request",
			Fn: func(t sample.Txn, a *sample.Args, _ *sample.Iter, v *sample.Value) bool {
				s, ok := t.(*httpSession)
				if !ok {
					return false
				}
				slots := s.caps.req
				if res {
					slots = s.caps.res
				}
				n := a.Int[0]
				if n < 0 || n >= int64(len(slots)) || slots[n] == nil {
					return false
				}
				v.SetStr(slots[n])
				return true
			},
		})
	}
}

// begin empties the slots for a new request of a frontend with captures.
func (c *captureState) begin(p *model.Proxy) {
	total := 0
	for _, s := range p.ReqCaptures {
		total += s.Len
	}
	for _, s := range p.ResCaptures {
		total += s.Len
	}
	total += 2 * p.CaptureCookieLen // setCookie's room, at the end
	c.cookie = [2][]byte{}
	if cap(c.buf) < total {
		c.buf = make([]byte, total)
	}
	c.buf = c.buf[:total]
	c.req = resize(c.req, len(p.ReqCaptures))
	c.res = resize(c.res, len(p.ResCaptures))
}

func resize(s [][]byte, n int) [][]byte {
	if cap(s) < n {
		s = make([][]byte, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// set stores v, cut to the slot's length, in slot i.
func (c *captureState) set(p *model.Proxy, response bool, i int, v []byte) {
	off := 0
	slots := p.ReqCaptures
	if response {
		for _, s := range p.ReqCaptures {
			off += s.Len
		}
		slots = p.ResCaptures
	}
	if i < 0 || i >= len(slots) {
		return
	}
	for _, s := range slots[:i] {
		off += s.Len
	}
	n := copy(c.buf[off:off+slots[i].Len], v)
	val := c.buf[off : off+n : off+n]
	if response {
		c.res[i] = val
	} else {
		c.req[i] = val
	}
}

// captureHeaders fills the header slots from the message just parsed: the
// last occurrence of each header, as HAProxy keeps it.
func (s *httpSession) captureHeaders(response bool) {
	p := s.fe.P
	slots, hs := p.ReqCaptures, s.req.Headers
	if response {
		slots, hs = p.ResCaptures, s.resp.Headers
	}
	for i, c := range slots {
		if c.Header == "" {
			continue
		}
		for _, h := range hs {
			if http1.EqualFold(h.Name, c.Header) {
				s.caps.set(p, response, i, h.Value)
			}
		}
	}
}

// captureRule runs "http-request|http-response capture".
func (s *httpSession) captureRule(r *rules.Rule, response bool) {
	if r.Expr.Eval(s, &s.tx.V) && sample.Cast(&s.tx.V, sample.TypeStr, &s.tx.Scratch) {
		s.caps.set(s.fe.P, response, r.Slot, s.tx.V.Bytes)
	}
}

// captureCookie runs "capture cookie NAME len N" on the message just
// parsed: the first cookie of the request (every Cookie header), or the
// first Set-Cookie of the response, whose name starts with NAME, as
// "name=value" cut to N bytes (%CC, %CS).
func (s *httpSession) captureCookie(response bool) {
	p := s.fe.P
	hs, name := s.req.Headers, "cookie"
	if response {
		hs, name = s.resp.Headers, "set-cookie"
	}
	for _, h := range hs {
		if !http1.EqualFold(h.Name, name) {
			continue
		}
		v := h.Value
		for len(v) > 0 {
			// one "name=value" pair; a Set-Cookie holds one, then attributes
			end := 0
			for end < len(v) && v[end] != ';' {
				end++
			}
			pair := txn.TrimOWS(v[:end])
			if len(pair) >= len(p.CaptureCookie) && string(pair[:len(p.CaptureCookie)]) == p.CaptureCookie {
				s.caps.setCookie(response, pair, p.CaptureCookieLen)
				return
			}
			if response || end == len(v) {
				break
			}
			v = v[end+1:]
		}
	}
}

// setCookie keeps a captured cookie in the capture buffer (after the
// slots, which begin sized for it).
func (c *captureState) setCookie(response bool, v []byte, n int) {
	off := len(c.buf) - 2*n
	if response {
		off += n
	}
	m := copy(c.buf[off:off+n], v)
	c.cookie[boolIndex(response)] = c.buf[off : off+m : off+m]
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}
