package stream

import (
	"strconv"
	"time"

	"dhproxy/internal/cache"
	"dhproxy/internal/http1"
	"dhproxy/internal/model"
	"dhproxy/internal/rules"
)

// haproxy's cache (internal/cache): http-request cache-use computes the
// request's key and finds the stored response, which answers the request
// once the request rules are done, without a server; http-response
// cache-store keeps a response whose body is in the server buffer.
// Requests without these rules take none of this path.

// cacheTxn is a transaction's cache state (part of txnConn).
type cacheTxn struct {
	keyed   bool // cache-use ran and the request has a key
	noStore bool // the request forbids storing its response
	noVary  bool // a stored variant did not match: no varying response is stored (Lookup)
	key     cache.Key
	sec     cache.SecondaryKey // with process-vary on
	hit     *cache.Entry       // the stored response that answers
}

// CacheUse implements txn.Session. The lookups and hits count on the
// frontend when the rule is its, else on the backend, as haproxy counts.
func (s *httpSession) CacheUse(p *model.Proxy, r *rules.Rule) {
	use, store := cache.RequestUse(&s.req)
	key, ok := cache.NewKey(&s.req)
	if !ok {
		return
	}
	ct := &s.tx.cache
	ct.keyed, ct.noStore, ct.key = true, !store, key
	if r.Cache.ProcessVary {
		ct.sec = cache.NewSecondary(&s.req)
	}
	if !use {
		ct.noVary = true // haproxy builds no secondary key without a lookup
		return
	}
	stats := &s.fe.Stats
	if p != s.fe.P && s.tx.chosen != nil {
		stats = &s.tx.chosen.Stats
	}
	stats.CacheLookups.Add(1)
	var primary bool
	if ct.hit, primary = r.Cache.Lookup(key, &ct.sec); ct.hit != nil {
		stats.CacheHits.Add(1)
	}
	ct.noVary = primary && ct.hit == nil
}

// CacheStore implements txn.Session.
func (s *httpSession) CacheStore(r *rules.Rule) {
	ct, c, resp := &s.tx.cache, r.Cache, &s.resp
	if !ct.keyed || s.req.Minor < 1 || s.lg.cacheHit { // a hit is stored already
		return
	}
	status := s.Status()
	if string(s.req.Method) != "GET" {
		if cache.Unsafe(s.req.Method) && status >= 200 && status < 400 {
			c.Invalidate(ct.key)
		}
		return
	}
	// A response being compressed has its head edited already and its
	// body not yet: haproxy's cache filter comes before compression and
	// stores it uncompressed, which dhproxy cannot, so it does not store it.
	if status != 200 || ct.noStore || s.compOn {
		return
	}
	framing := resp.BodyFraming(false)
	if framing == http1.FramingLength && c.MaxObject > 0 && int64(resp.HeadLen)+resp.ContentLength > c.MaxObject {
		return
	}
	vary, ok := c.Storable(resp)
	if !ok || vary != 0 && (ct.noVary || !c.ProcessVary) {
		return
	}
	now := time.Now()
	ttl, own, ok := c.TTL(resp, now)
	if !ok {
		return
	}
	var age int64
	if v, found := headerValue(resp.Headers, "age"); found {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil || n <= 0 || n > max(own, 0) {
			return // haproxy: a stale or unreadable Age is not stored
		}
		age = n
		s.resp.Headers = dropField(s.resp.Headers, "age") // as haproxy, the stored Age is the cache's
		s.tx.Edited.Response = true
	}
	sec := ct.sec
	if vary != 0 && !cache.ResponseEncoding(resp, &sec) {
		return
	}
	body, ok := s.cacheableBody(framing)
	if !ok {
		return
	}
	e := &cache.Entry{Head: s.cachedHead(len(body)), Body: append([]byte(nil), body...)}
	if v, found := headerValue(resp.Headers, "etag"); found {
		e.ETag = append([]byte(nil), v...)
	}
	e.LastModified = cache.HTTPDate(resp.Headers, "last-modified")
	if e.LastModified == 0 {
		e.LastModified = cache.HTTPDate(resp.Headers, "date")
	}
	e.SetSecondary(sec, vary)
	e.SetAge(age)
	c.Store(ct.key, e, ttl)
}

// cacheableBody reads the whole response body into the server buffer, as
// wait-for-body does; false when it does not fit there (dhproxy stores
// only bodies that fit a buffer) or the server closes the body's end.
func (s *httpSession) cacheableBody(framing http1.Framing) ([]byte, bool) {
	switch framing {
	case http1.FramingLength, http1.FramingChunked:
	default:
		return nil, false
	}
	if !s.readResponseBody(0, 0) {
		return nil, false
	}
	body, size, ok := s.ResponseBody()
	if !ok {
		return nil, false
	}
	if framing == http1.FramingLength {
		return body, int64(len(body)) == size
	}
	var sc http1.ChunkScanner
	_, done, err := sc.Scan(s.sbuf[s.sr+s.resp.HeadLen : s.sw])
	return body, done && err == nil
}

// cachedHead is the response head as stored: the status line and the
// fields the client would get, without the framing, connection and Age
// fields, with the body's length.
func (s *httpSession) cachedHead(bodyLen int) []byte {
	resp := &s.resp
	out := http1.AppendStatusLine(nil, 1, 1, s.Status(), string(s.reason()))
	for i := range resp.Headers {
		h := &resp.Headers[i]
		if h.Hop || h.Kind == http1.KindTransferEncoding || h.Kind == http1.KindContentLength ||
			http1.EqualFold(h.Name, "age") || http1.EqualFold(h.Name, "connection") {
			continue
		}
		out = append(append(append(append(out, h.Name...), ": "...), h.Value...), "\r\n"...)
	}
	out = append(out, "content-length: "...)
	out = strconv.AppendInt(out, int64(bodyLen), 10)
	return append(out, "\r\n"...)
}

// reason is the response's reason phrase as set-status left it.
func (s *httpSession) reason() []byte {
	if s.tx.Edited.Status != 0 {
		return s.tx.Edited.Reason
	}
	return s.resp.Reason
}

// dropField removes the fields name from hs.
func dropField(hs []http1.Header, name string) []http1.Header {
	out := hs[:0]
	for _, h := range hs {
		if !http1.EqualFold(h.Name, name) {
			out = append(out, h)
		}
	}
	return out
}

func headerValue(hs []http1.Header, name string) ([]byte, bool) {
	for i := range hs {
		if http1.EqualFold(hs[i].Name, name) {
			return hs[i].Value, true
		}
	}
	return nil, false
}

// serveCached answers the request with the stored response e: a 304 when
// the request's conditions say the client has it, no body for HEAD, an
// Age field, and the server name "<CACHE>" in the log.
func (s *httpSession) serveCached(e *cache.Entry) (keep bool) {
	req := &s.req
	keep = req.BodyFraming() == http1.FramingNone && req.KeepAlive() && !s.fe.rt.stopping.Load()
	notModified := cache.NotModified(req, e)
	head := e.Head
	out := s.out[:0]
	status := 200
	if notModified {
		status = 304
		out = append(out, "HTTP/1.1 304 Not Modified\r\n"...)
		for i := 0; i < len(head); i++ {
			if head[i] == '\n' {
				head = head[i+1:]
				break
			}
		}
	}
	out = append(out, head...)
	out = append(out, "age: "...)
	out = strconv.AppendInt(out, e.Age(time.Now().Unix()), 10)
	out = append(out, "\r\n"...)
	if !keep {
		out = append(out, "connection: close\r\n"...)
	}
	out = append(out, "\r\n"...)
	isHEAD := string(req.Method) == "HEAD"
	if !notModified && !isHEAD {
		out = append(out, e.Body...)
		s.tx.resBody, s.tx.resBodyOK = e.Body, true // res.body, wait-for-body
	}
	s.out = out
	s.lg.cacheHit = true
	s.lg.fail('L', 'R') // a local answer, as haproxy logs it
	if s.fe.phases.Rules {
		var dropped bool
		out, status, keep, dropped = s.cachedResponseRules(out, status, keep, isHEAD)
		if dropped {
			return false
		}
	}
	err := s.sendOwn(out, status, -1)
	s.r += req.HeadLen
	return keep && err == nil
}

// cachedResponseRules runs the http-response rules of the backend and the
// frontend on a cached response out, as haproxy runs them on its cache's
// answer (tcp-response rules are for server connections). It returns the
// response to send (out, edited, or a deny/return/redirect rule's reply)
// with its status and whether the connection stays open; dropped when a
// silent-drop closed the client connection.
func (s *httpSession) cachedResponseRules(out []byte, status int, keep, isHEAD bool) (_ []byte, _ int, _ bool, dropped bool) {
	be := s.tx.be
	if len(be.P.HTTPResponseRules) == 0 && len(s.fe.P.HTTPResponseRules) == 0 {
		return out, status, keep, false
	}
	s.tx.Reply = append(s.tx.Reply[:0], out...)
	n, err := http1.ParseResponse(s.tx.Reply, &s.resp)
	if err != nil {
		return out, status, keep, false
	}
	s.tx.Edited.Status, s.tx.Edited.Response = 0, false
	if r := s.tx.HTTPResponse(s, be.P, s.fe.P); r != nil {
		if r.Action == rules.SilentDrop {
			s.answer(r, nil)
			return nil, 0, false, true
		}
		// Logged as the hit is ("LR--"), as haproxy logs it.
		if reply, st, k, ok := s.buildReply(r, keep, isHEAD); ok {
			return reply, st, k, false
		}
	}
	if !s.tx.Edited.Response {
		return out, status, keep, false
	}
	if st := s.tx.Edited.Status; st != 0 {
		status = st
	}
	return s.rebuildReply(n), status, keep, false
}

// Caches returns the cache sections in the order of the files ("show
// cache").
func (rt *Runtime) Caches() []*cache.Cache {
	out := make([]*cache.Cache, len(rt.cfg.Caches))
	for _, c := range rt.cfg.Caches {
		out[c.Order] = c.Cache
	}
	return out
}
