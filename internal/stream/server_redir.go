package stream

import "bytes"

// redirectConn stands for the connection of a "redir" server: the request
// is answered with a redirect, nothing is connected.
var redirectConn = &serverConn{}

// serverRedirect answers a GET or HEAD request balanced to a "redir"
// server as haproxy does: a 302 to the server's prefix followed by the
// request's URI from its path on, no cookie inserted, the connection
// closed; the log names the server and says the proxy answered while
// connecting ("LC").
func (s *httpSession) serverRedirect(srv *Server) {
	defer s.releaseSlot(srv)
	s.tx.srv, s.lg.srv = srv, srv
	uri := s.req.URI
	if len(uri) > 0 && uri[0] != '/' { // absolute form: from the path on
		if i := bytes.Index(uri, []byte("://")); i >= 0 {
			rest := uri[i+3:]
			if j := bytes.IndexByte(rest, '/'); j >= 0 {
				uri = rest[j:]
			} else {
				uri = nil
			}
		}
	}
	out := append(s.out[:0], "HTTP/1.1 302 Found\r\ncache-control: no-cache\r\ncontent-length: 0\r\nlocation: "...)
	out = append(append(out, srv.Conf.Redir...), uri...)
	out = append(out, "\r\nconnection: close\r\n\r\n"...)
	s.out = out
	s.lg.fail('L', 'C')
	// haproxy's redirect carries its "connection: close" in the message,
	// so its log counts it, unlike the one its connection layer adds.
	s.sendOwn(out, 302, replyHTXSize(out)+int64(len("connection")+len("close")))
}
