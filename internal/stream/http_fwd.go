package stream

import (
	"bytes"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"

	"dhproxy/internal/cache"
	"dhproxy/internal/conn"
	"dhproxy/internal/http1"
	"dhproxy/internal/model"
	"dhproxy/internal/tcp"
)

// requestHead builds the head sent to srv into s.out, or returns nil
// when the client's head can be forwarded byte for byte.
func (s *httpSession) requestHead(headStart, bodyStart int, be *Backend, srv *Server, serverKeep, upgrade bool) []byte {
	req := &s.req
	ffName := s.forwardFor(be)
	otName, otIP := s.originalTo(be)
	hop := false
	for i := range req.Headers {
		if req.Headers[i].Hop {
			hop = true
			break
		}
	}
	addKeepAlive := serverKeep && req.Minor == 0 && !upgrade
	clFix := needsLengthFix(&req.Message)
	var ck *persistCookie
	if s.ck.strip {
		ck = be.cookie
	}
	nameHdr := be.P.SendNameHeader
	cases := s.requestCases(be)
	if !hop && ffName == "" && otName == "" && nameHdr == "" && (serverKeep || upgrade) && !addKeepAlive && !clFix && !req.HigherMinor && !req.HostPortDropped && ck == nil && !s.tx.Edited.RequestHeaders && !s.tx.Edited.Target && !s.h2 && cases == nil {
		return nil
	}
	out := s.out[:0]
	if req.HigherMinor || s.tx.Edited.Target || s.h2 {
		out = append(out, req.Method...)
		out = append(out, ' ')
		uri := req.URI
		if s.h2 && len(uri) > 0 && uri[0] != '/' && uri[0] != '*' && string(req.Method) != "CONNECT" {
			// An HTTP/2 request's absolute URI goes to HTTP/1 servers
			// in origin form, as haproxy sends it (CONNECT's authority
			// form stays).
			uri = http1.PathQuery(uri)
		}
		out = append(out, uri...)
		if req.Minor == 0 && !req.HigherMinor {
			out = append(out, " HTTP/1.0\r\n"...)
		} else {
			out = append(out, " HTTP/1.1\r\n"...)
		}
	} else {
		lineEnd := headStart
		for s.buf[lineEnd] != '\n' {
			lineEnd++
		}
		out = append(out, s.buf[headStart:lineEnd+1]...)
	}
	out = appendFields(out, &req.Message, lengthFor(clFix, false), upgrade, ck, nil, cases)
	switch {
	case upgrade:
		// the client's own Connection: upgrade was kept above
	case !serverKeep:
		out = append(out, "Connection: close\r\n"...)
	case addKeepAlive:
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	if ffName != "" {
		out = append(out, ffName...)
		out = append(out, ": "...)
		out = s.clientIP.AppendTo(out)
		out = append(out, "\r\n"...)
	}
	if otName != "" {
		// after X-Forwarded-For, as haproxy adds them; a header the
		// client sent stays
		out = append(out, otName...)
		out = append(out, ": "...)
		out = otIP.AppendTo(out)
		out = append(out, "\r\n"...)
	}
	if nameHdr != "" {
		// http-send-name-header: the server's name replaces any such field.
		out = dropHeaderLines(out, nameHdr)
		out = append(append(append(append(out, nameHdr...), ": "...), srv.Conf.Name...), "\r\n"...)
	}
	out = append(out, "\r\n"...)
	s.out = out
	return out
}

// dropHeaderLines removes, in place, the "name: value" lines of head (a
// start line and header lines, each ending in CRLF) whose name is name,
// in any case.
func dropHeaderLines(head []byte, name string) []byte {
	start := bytes.IndexByte(head, '\n') + 1 // keep the start line
	w := start
	for r := start; r < len(head); {
		end := len(head) // a last line without its end, kept as it is
		if i := bytes.IndexByte(head[r:], '\n'); i >= 0 {
			end = r + i + 1
		}
		line := head[r:end]
		if !(len(line) > len(name) && line[len(name)] == ':' && http1.EqualFold(line[:len(name)], name)) {
			w += copy(head[w:], line)
		}
		r = end
	}
	return head[:w]
}

// lengthEdit says what happens to a message's framing fields when its head
// is rewritten.
type lengthEdit uint8

const (
	lengthKeep lengthEdit = iota
	// lengthFix: the Content-Length fields (duplicates or a list of one
	// value) become a single one, as HAProxy sends it.
	lengthFix
	// lengthDrop: Content-Length and Transfer-Encoding are removed, from
	// responses that have no body by their status (1xx, 204), where RFC
	// 9110 8.6 and RFC 9112 6.1 forbid them; HAProxy removes them too.
	lengthDrop
)

func lengthFor(fix, drop bool) lengthEdit {
	switch {
	case drop:
		return lengthDrop
	case fix:
		return lengthFix
	}
	return lengthKeep
}

// framingOnBodiless reports whether resp has no body by its status (1xx,
// 204) yet carries Content-Length or Transfer-Encoding.
func framingOnBodiless(resp *http1.Response) bool {
	if resp.Status >= 200 && resp.Status != 204 {
		return false
	}
	for i := range resp.Headers {
		if k := resp.Headers[i].Kind; k == http1.KindContentLength || k == http1.KindTransferEncoding {
			return true
		}
	}
	return false
}

// appendFields copies the end-to-end header fields of m. Hop-by-hop ones
// are dropped, except Connection when keepConnection (an upgrade). length
// says what becomes of Content-Length and Transfer-Encoding.
//
// With ck set, cookies are edited for persistence: in a request (srv nil)
// the Cookie fields lose what the server must not see; in a response the
// server's Set-Cookie for the persistence cookie is rewritten for srv.
// cases respells the names "h1-case-adjust" lists (nil: none).
func appendFields(out []byte, m *http1.Message, length lengthEdit, keepConnection bool, ck *persistCookie, srv *Server, cases headerCases) []byte {
	for i := range m.Headers {
		h := &m.Headers[i]
		name := cases.name(h.Name)
		if h.Hop && !(keepConnection && h.Kind == http1.KindConnection) {
			continue
		}
		if length != lengthKeep && h.Kind == http1.KindContentLength ||
			length == lengthDrop && h.Kind == http1.KindTransferEncoding {
			continue
		}
		if ck != nil && srv == nil && h.Kind == http1.KindCookie {
			mark := len(out)
			out = append(append(out, name...), ": "...)
			var kept bool
			if out, kept = ck.appendRequestCookie(out, h.Value); kept {
				out = append(out, "\r\n"...)
			} else {
				out = out[:mark] // nothing left of this header
			}
			continue
		}
		if ck != nil && srv != nil && h.Kind == http1.KindSetCookie {
			out = append(append(out, name...), ": "...)
			out = append(ck.appendSetCookie(out, h.Value, srv), "\r\n"...)
			continue
		}
		out = appendHeader(out, name, h.Value)
	}
	if length == lengthFix {
		out = append(out, "Content-Length: "...)
		out = strconv.AppendInt(out, m.ContentLength, 10)
		out = append(out, "\r\n"...)
	}
	return out
}

// needsLengthFix tells whether m's Content-Length must be rewritten: several
// fields, or one holding a list ("5, 5"), both accepted only when all values
// agree.
func needsLengthFix(m *http1.Message) bool {
	n := 0
	for i := range m.Headers {
		if h := &m.Headers[i]; h.Kind == http1.KindContentLength {
			n++
			if n > 1 || bytes.IndexByte(h.Value, ',') >= 0 {
				return true
			}
		}
	}
	return false
}

func appendHeader(out, name, value []byte) []byte {
	out = append(out, name...)
	out = append(out, ": "...)
	out = append(out, value...)
	return append(out, "\r\n"...)
}

// cookieActions tells how the response from srv must change for cookie
// persistence: ck is set when the server's own Set-Cookie is to be
// rewritten (rewrite and prefix modes), insert when the proxy adds one.
func (s *httpSession) cookieActions(srv *Server) (ck *persistCookie, insert bool) {
	pc := srv.backend.cookie
	if pc == nil || (srv.Conf.Cookie == "" && pc.mode != cookieInsert) {
		return nil, false
	}
	sets := pc.serverSetsCookie(&s.resp)
	if pc.mode != cookieInsert {
		if sets {
			return pc, false
		}
		return nil, false
	}
	// insert: when the client did not already name this server or its
	// dates need refreshing; not over the server's own cookie with
	// "preserve"; with "postonly" only for a POST.
	if s.ck.ignore {
		return nil, false
	}
	return nil, (s.ck.srv != srv && s.ck.direct != srv || pc.needsDates(&s.ck)) && !(pc.preserve && sets) && (!pc.postOnly || s.ck.post)
}

// forwardFor returns the name of the header "option forwardfor" adds to
// this request, or "" when none is to be added. As in haproxy 2.6 either
// section's option adds it, the backend's header name wins, the client
// must be outside both sections' "except" networks, and "if-none" holds
// only when no section that sets the option adds it always.
func (s *httpSession) forwardFor(be *Backend) string {
	fe, bo := &s.fe.P.ForwardFor, &be.P.ForwardFor
	feOn, beOn := fe.Header != "", bo.Header != ""
	if !feOn && !beOn || !s.clientIP.IsValid() { // unix socket clients have no address to report
		return ""
	}
	name := fe.Header
	if beOn {
		name = bo.Header
	}
	for _, ff := range [2]*model.ForwardFor{fe, bo} {
		for _, n := range ff.Except {
			if n.Contains(s.clientIP) {
				return ""
			}
		}
	}
	if (!feOn || fe.IfNone) && (!beOn || bo.IfNone) {
		for i := range s.req.Headers {
			if http1.EqualFold(s.req.Headers[i].Name, name) {
				return ""
			}
		}
	}
	return name
}

// originalTo returns the header name and address of "option originalto"
// for this request, or "" when none is to be added. As in haproxy 2.6
// either section's option adds it, the backend's header name wins, and
// the destination must be outside both sections' "except" network. The
// destination is the address the client reached (or http-request
// set-dst's), an IPv4 one reached on a dual-stack socket in its IPv6 form.
func (s *httpSession) originalTo(be *Backend) (name string, ip netip.Addr) {
	fe, bo := &s.fe.P.OriginalTo, &be.P.OriginalTo
	if fe.Header == "" && bo.Header == "" {
		return "", ip
	}
	if s.tx.dst.IsValid() {
		ip = s.tx.dst.Addr()
	} else if ta, ok := s.c.LocalAddr().(*net.TCPAddr); ok {
		ip = ta.AddrPort().Addr()
	}
	if !ip.IsValid() || fe.Except.IsValid() && fe.Except.Contains(ip) || bo.Except.IsValid() && bo.Except.Contains(ip) {
		return "", ip // a unix socket has no address to report
	}
	if name = bo.Header; name == "" {
		name = fe.Header
	}
	return name, ip
}

// parsedHeadWriter is a client connection that takes a response head as
// the pipeline parsed it (an HTTP/2 stream, which encodes the fields
// without the connection-specific ones), rather than as HTTP/1.1 bytes
// it would parse again.
type parsedHeadWriter interface {
	WriteParsed(resp *http1.Response, body []byte) error
}

// bytesOnlyHeads, set by tests, makes HTTP/2 streams take response heads
// as bytes, to compare with the frames of parsed heads.
var bytesOnlyHeads atomic.Bool

// responseHead builds the head sent to the client into s.out, or returns
// nil when the server's head can be forwarded as it is. With parsedOK
// (the client takes parsed heads), parsed says that s.resp as it is
// gives the client what the bytes would: what a rewrite changes is then
// only fields the client's layer drops (connection-specific ones, the
// version, the reason).
func (s *httpSession) responseHead(srv *Server, clientKeep, client10, parsedOK bool) (head []byte, parsed bool) {
	resp := &s.resp
	ck, insert := s.cookieActions(srv)
	if pc := srv.backend.cookie; pc != nil {
		s.lg.cookie[1] = pc.responseFlag(s, srv, ck != nil, insert)
	}
	hop := false
	for i := range resp.Headers {
		if resp.Headers[i].Hop {
			hop = true
			break
		}
	}
	addKeepAlive := clientKeep && client10
	length := lengthFor(needsLengthFix(&resp.Message), framingOnBodiless(resp))
	cases := s.responseCases()
	if !hop && clientKeep && !addKeepAlive && length == lengthKeep && !resp.HigherMinor && !resp.NoReasonSP && ck == nil && !insert && !s.tx.Edited.Response && cases == nil {
		s.lg.headSize(&resp.Message, resp.Reason, false, lengthKeep)
		return nil, parsedOK
	}
	reason := resp.Reason
	if s.tx.Edited.Status != 0 {
		reason = s.tx.Edited.Reason
	}
	s.lg.headSize(&resp.Message, reason, true, length)
	if parsedOK && length == lengthKeep && ck == nil && !insert && s.tx.Edited.Status == 0 {
		return nil, true
	}
	var out []byte
	if s.tx.Edited.Status != 0 {
		out = append(s.out[:0], "HTTP/1.1 "...)
		out = strconv.AppendInt(out, int64(s.tx.Edited.Status), 10)
		out = append(out, ' ')
		out = append(append(out, reason...), "\r\n"...)
	} else {
		out = s.appendStatusLine(s.out[:0])
	}
	out = appendFields(out, &resp.Message, length, false, ck, srv, cases)
	if insert {
		pc := srv.backend.cookie
		out = append(out, "Set-Cookie: "...)
		out = append(append(out, pc.name...), '=')
		if srv.Conf.Cookie == "" {
			// A server without a cookie (e.g. a backup) makes the client
			// drop the one it has, as HAProxy does.
			out = append(out, "; Expires=Thu, 01-Jan-1970 00:00:01 GMT"...)
		} else {
			out = pc.appendInsertValue(out, srv, &s.ck)
		}
		out = append(out, "; path=/"...)
		out = append(out, pc.attrs...)
		out = append(out, "\r\n"...)
		if pc.nocache {
			// A cache must not hand this Set-Cookie to other clients
			// (haproxy's verdict on the server's status, as checkcache's).
			if c, _ := cache.Cacheability(s.ck.safe, s.resp.Status, s.resp.Headers); c {
				out = append(out, "Cache-Control: private\r\n"...)
			}
		}
	}
	if !clientKeep {
		out = append(out, "Connection: close\r\n"...)
	} else if addKeepAlive {
		out = append(out, "Connection: keep-alive\r\n"...)
	}
	out = append(out, "\r\n"...)
	s.out = out
	return out, false
}

// appendStatusLine appends the response's status line as the server sent
// it, with a version above 1.1 sent as HTTP/1.1 and, as HAProxy writes it,
// the SP after the code even when the reason is missing.
func (s *httpSession) appendStatusLine(out []byte) []byte {
	i := s.sr
	for s.sbuf[i] != '\n' {
		i++
	}
	if s.resp.HigherMinor {
		out = append(out, "HTTP/1.1"...)
		out = append(out, s.sbuf[s.sr+len("HTTP/1.x"):i+1]...)
	} else {
		out = append(out, s.sbuf[s.sr:i+1]...)
	}
	if s.resp.NoReasonSP {
		// the line ends with the code: put the SP before its CRLF
		out = append(out[:len(out)-len("\r\n")], " \r\n"...)
	}
	return out
}

// informationalHead returns the head of the 1xx response in sbuf[sr:] to
// send to the client: as the server sent it, or rebuilt without the
// Content-Length and Transfer-Encoding it must not carry (the Connection
// field of a 101 stays) or with the SP its status line lacked.
func (s *httpSession) informationalHead() []byte {
	resp := &s.resp
	cases := s.responseCases()
	if !framingOnBodiless(resp) && !resp.NoReasonSP && cases == nil {
		return s.sbuf[s.sr : s.sr+resp.HeadLen]
	}
	out := s.appendStatusLine(s.out[:0])
	out = appendFields(out, &resp.Message, lengthDrop, resp.Status == 101, nil, nil, cases)
	out = append(out, "\r\n"...)
	s.out = out
	return out
}

// readResponse reads until a response head is parsed in sbuf[sr:]. It returns
// the status to answer the client with on failure (502, 504), or retry=true
// when canRetry and the server closed before sending anything.
func (s *httpSession) readResponse(sc *serverConn, canRetry bool) (status int, retry bool) {
	limit := s.fe.rt.bufs.Size // a head must fit in tune.bufsize, as in HAProxy (sbuf is larger)
	for {
		if s.sw > s.sr {
			_, err := http1.ParseResponse(s.sbuf[s.sr:s.sw], &s.resp)
			if err == nil && s.resp.HeadLen > limit {
				err = http1.ErrIncomplete // it would not have fit HAProxy's buffer
				s.sw = s.sr + limit
			}
			if err == nil {
				// Empty lines before the status line are not forwarded.
				for s.sbuf[s.sr] == '\r' {
					s.sr += 2
					s.resp.HeadLen -= 2
				}
				return 0, false
			}
			if err != http1.ErrIncomplete || s.sw-s.sr >= limit {
				data := s.sbuf[s.sr:s.sw]
				s.captureError(true, sc.srv.backend, sc.srv, data, errorPos(err, data))
				return 502, false
			}
		}
		if s.sw == len(s.sbuf) && s.sr > 0 {
			s.sw = copy(s.sbuf, s.sbuf[s.sr:s.sw])
			s.sr = 0
		}
		n, err := sc.fd.Read(s.sbuf[s.sw:])
		s.sw += n
		if err != nil {
			if conn.IsTimeout(err) {
				return 504, false
			}
			if canRetry && s.sw == 0 && sc.retryable(err) {
				return 0, true
			}
			return 502, false
		}
	}
}

// forwardResponse sends the parsed response head and its body to the
// client. It returns false when the client connection must be closed
// because of an error (the server connection is then closed by the caller).
func (s *httpSession) forwardResponse(sc *serverConn, f http1.Framing, clientKeep, client10 bool) bool {
	resp := &s.resp
	headEnd := s.sr + resp.HeadLen
	bodyEnd, done := headEnd, true
	switch f {
	case http1.FramingLength:
		if avail := int64(s.sw - headEnd); avail >= resp.ContentLength {
			bodyEnd = headEnd + int(resp.ContentLength)
		} else {
			bodyEnd, done = s.sw, false
		}
	case http1.FramingChunked:
		s.rchunks.Reset()
		n, d, err := s.rchunks.Scan(s.sbuf[headEnd:s.sw])
		if err != nil {
			s.writeError(502)
			s.lg.fail('P', 'H')
			return false
		}
		bodyEnd, done = headEnd+n, d
	case http1.FramingUntilClose:
		bodyEnd, done = s.sw, false
	}
	var pw parsedHeadWriter
	if s.h2 && !bytesOnlyHeads.Load() {
		pw, _ = s.cio.(parsedHeadWriter)
	}
	before := s.lg.bytesOut
	head, parsed := s.responseHead(sc.srv, clientKeep, client10, pw != nil)
	if s.fe.logASAP { // not computing earlyBody per response otherwise
		s.logEarly(before, s.earlyBody(f, int64(bodyEnd-headEnd), done))
	}
	s.cdl.Write(s.c, s.fe.P.Timeouts.Client)
	var err error
	switch {
	case parsed:
		err = pw.WriteParsed(resp, s.sbuf[headEnd:bodyEnd])
	case head == nil:
		err = writeTwo(s.cio, &s.out, s.sbuf[s.sr:headEnd], s.sbuf[headEnd:bodyEnd], len(s.sbuf))
	default:
		if len(head) <= headEnd-s.sr && !s.lg.on {
			// A rewritten head no longer than the server's goes in place
			// of its end, joined to the body: one write without copying
			// the body. (The log may still read the server's head fields.)
			head = s.sbuf[headEnd-copy(s.sbuf[headEnd-len(head):headEnd], head) : headEnd]
		}
		err = writeTwo(s.cio, &s.out, head, s.sbuf[headEnd:bodyEnd], len(s.sbuf))
	}
	if err != nil {
		s.lg.fail('C', 'D')
		return false
	}

	s.sr = bodyEnd
	s.lg.bodyWire += int64(bodyEnd - headEnd)
	if done {
		return true
	}
	s.lg.endsAtResp = false
	// Stream the rest of the body through sbuf.
	remaining := resp.ContentLength - int64(bodyEnd-headEnd)
	srvTimeout := s.tx.serverTimeout(sc.srv.backend.P)
	cliTimeout := s.fe.P.Timeouts.Client
	s.sr, s.sw = 0, 0
	for {
		sc.dl.Read(sc.c, srvTimeout)
		n, err := sc.fd.Read(s.sbuf)
		if n > 0 {
			take, fin := n, false
			switch f {
			case http1.FramingLength:
				take = int(min(int64(n), remaining))
				remaining -= int64(take)
				fin = remaining == 0
			case http1.FramingChunked:
				var serr error
				take, fin, serr = s.rchunks.Scan(s.sbuf[:n])
				if serr != nil {
					s.lg.fail('S', 'D')
					return false
				}
			}
			s.lg.bodyWire += int64(take)
			s.cdl.Write(s.c, cliTimeout)
			if _, werr := s.cio.Write(s.sbuf[:take]); werr != nil {
				s.lg.fail('C', 'D')
				return false
			}
			if fin {
				s.sr, s.sw = take, n
				return true
			}
		}
		if err != nil {
			// A close-delimited body ends with the server's close.
			if f == http1.FramingUntilClose && !conn.IsTimeout(err) && n == 0 {
				return true
			}
			if conn.IsTimeout(err) {
				s.lg.fail('s', 'D')
			} else {
				s.lg.fail('S', 'D')
			}
			return false
		}
	}
}

// writeTwo writes a then b with as few syscalls as possible: one write when
// they are contiguous in memory or small enough to join in scratch.
func writeTwo(c interface{ Write([]byte) (int, error) }, scratch *[]byte, a, b []byte, limit int) error {
	if one, ok := joinTwo(scratch, a, b, limit); ok {
		_, err := c.Write(one)
		return err
	}
	if _, err := c.Write(a); err != nil {
		return err
	}
	_, err := c.Write(b)
	return err
}

// joinTwo returns a followed by b as one slice when that needs no copy
// (b empty, or contiguous with a) or fits in limit bytes of scratch.
func joinTwo(scratch *[]byte, a, b []byte, limit int) ([]byte, bool) {
	if len(b) == 0 {
		return a, true
	}
	if cap(a) > len(a) && &a[:len(a)+1][len(a)] == &b[0] {
		return a[:len(a)+len(b)], true
	}
	if len(a)+len(b) > limit {
		return nil, false
	}
	var out []byte
	if len(*scratch) > 0 && &(*scratch)[0] == &a[0] {
		out = append(a, b...) // a is the rewritten head in scratch
	} else {
		out = append(append((*scratch)[:0], a...), b...)
	}
	*scratch = out[:0]
	return out, true
}

// keepServer keeps a server connection that may carry another request.
// With http-reuse never (or send-proxy) it stays private to this session; otherwise it goes
// back to the server's idle pool at once, so that idle client connections
// do not pin server connections.
func (s *httpSession) keepServer(sc *serverConn) {
	if sc.srv.shareable() {
		sc.srv.idle.Put(sc, coarseTime()) // for pool-purge-delay
		return
	}
	if s.priv != nil {
		s.releaseServer(s.priv, false)
	}
	s.priv = sc
}

// releaseServer gives a kept connection back to its server's idle pool
// (unless http-reuse never) or closes it.
func (s *httpSession) releaseServer(sc *serverConn, pool bool) {
	if pool && sc.srv.shareable() {
		sc.srv.idle.Put(sc, coarseTime()) // for pool-purge-delay
		return
	}
	sc.c.Close()
}

// tunnel turns the connection into a bidirectional byte stream after a 101
// or a successful CONNECT, first flushing what each side already sent.
func (s *httpSession) tunnel(sc *serverConn, be *Backend) {
	defer sc.c.Close()
	// haproxy counts the head as its server sent it (its Connection and
	// Upgrade fields too), then the tunnel's bytes
	before := s.lg.bytesOut
	if s.tx.bconnH2 && s.resp.Status == 101 {
		// a 101 made of an HTTP/2 server's 200: haproxy's has no reason,
		// and its HTTP/1 layer adds the Sec-WebSocket-Accept after the
		// count (h2.appendUpgraded drops the server's own)
		s.lg.headSize(&s.resp.Message, nil, false, lengthKeep)
		for _, h := range s.resp.Headers {
			if http1.EqualFold(h.Name, "sec-websocket-accept") {
				s.lg.bytesOut -= int64(len(h.Name) + len(h.Value))
			}
		}
	} else {
		s.lg.headSize(&s.resp.Message, s.resp.Reason, false, lengthKeep)
	}
	s.logEarly(before, int64(s.sw-s.sr-s.resp.HeadLen))
	s.cdl.Write(s.c, s.fe.P.Timeouts.Client)
	if err := writeTwo(s.c, &s.out, s.informationalHead(), s.sbuf[s.sr+s.resp.HeadLen:s.sw], len(s.sbuf)); err != nil {
		return
	}
	if s.w > s.r {
		sc.dl.Write(sc.c, s.tx.serverTimeout(be.P))
		if _, err := sc.c.Write(s.buf[s.r:s.w]); err != nil {
			return
		}
	}
	client, ok := s.c.(tcp.HalfCloser)
	if !ok {
		return
	}
	s.c.SetDeadline(time.Time{})
	sc.c.SetDeadline(time.Time{})
	s.cdl, sc.dl = conn.Deadlines{}, conn.Deadlines{}
	to := tunnelTimeouts(s.fe.P, be.P)
	to.Server, to.Tunnel = s.tx.serverTimeout(be.P), s.tx.tunnelTimeout(be.P)
	// haproxy 2.6 ends an upgraded connection at its server's FIN, but
	// half-closes a CONNECT's as mode tcp does.
	to.ServerFinEnds = s.resp.Status == 101
	res := tcp.Forward(client, sc.c, to, s.fe.rt.pipes)
	s.lg.bytesIn += res.BytesIn
	s.lg.bytesOut += res.BytesOut
	if res.ResetServer {
		conn.ResetClose(sc.c)
	}
	if res.Term[0] != '-' {
		s.lg.fail(res.Term[0], res.Term[1])
	}
}

func tunnelTimeouts(fe, be *model.Proxy) tcp.Timeouts {
	return tcp.Timeouts{
		Client:    fe.Timeouts.Client,
		Server:    be.Timeouts.Server,
		ClientFin: fe.Timeouts.ClientFin,
		ServerFin: be.Timeouts.ServerFin,
		Tunnel:    be.Timeouts.Tunnel,
	}
}
