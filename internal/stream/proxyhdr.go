package stream

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/netip"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/conn"
	"dhproxy/internal/logging"
	"dhproxy/internal/proxyproto"
	"dhproxy/internal/sample"
	"dhproxy/internal/tlsconf"
)

// ppConn is a client connection that started with a PROXY header: its
// addresses are the header's (for src, dst, the logs, forwardfor, balance
// source, stick tables...) and its I/O is the socket's own, so the raw
// descriptor paths (conn.FD, parking, splice) still apply.
type ppConn struct {
	net.Conn
	src, dst net.Addr // nil: the socket's (LOCAL, UNKNOWN)
	info     sample.PPInfo
	header   bool // a PROXY header came (else tcp-request rules made c)
	// sessVars: the sess variables tcp-request connection or session
	// rules set, for the session (nil: none)
	sessVars *sample.Vars
}

func (c *ppConn) RemoteAddr() net.Addr {
	if c.src != nil {
		return c.src
	}
	return c.Conn.RemoteAddr()
}

// NetConn is the socket under the announced addresses (conn.Socket).
func (c *ppConn) NetConn() net.Conn { return c.Conn }

func (c *ppConn) LocalAddr() net.Addr {
	if c.dst != nil {
		return c.dst
	}
	return c.Conn.LocalAddr()
}

// SyscallConn lets conn.FD and conn.ResetClose reach the socket.
func (c *ppConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// CloseWrite sends FIN (tunnels, mode tcp half-close).
func (c *ppConn) CloseWrite() error {
	if hc, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return hc.CloseWrite()
	}
	return errors.ErrUnsupported
}

// Underlying is the socket itself, for splice(2) (internal/tcp).
func (c *ppConn) Underlying() net.Conn { return c.Conn }

// receivedPP is the PROXY header information of a client connection, nil
// when it sent none.
func receivedPP(c net.Conn) *sample.PPInfo {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if tt, ok := c.(*conn.TLSTransport); ok {
		c = tt.Conn
	}
	if pc, ok := c.(*ppConn); ok && pc.header {
		return &pc.info
	}
	return nil
}

// startedSessVars returns the sess variables the tcp-request connection
// and session rules set on c, nil without.
func startedSessVars(c net.Conn) *sample.Vars {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if pc, ok := c.(*ppConn); ok {
		return pc.sessVars
	}
	return nil
}

// readProxyHeader takes the PROXY header from the start of c's stream. It
// peeks at the socket and then reads exactly the header (as HAProxy does),
// so no byte after it is taken from the socket: TLS and HTTP read their
// data from the socket as if the header had never been there. A header
// arriving in pieces is waited for until deadline; limit bounds its size.
func readProxyHeader(c net.Conn, deadline time.Time, limit int) (proxyproto.Header, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return proxyproto.Header{}, errPPAbort
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return proxyproto.Header{}, errPPAbort
	}
	c.SetReadDeadline(deadline)
	defer c.SetReadDeadline(time.Time{})
	buf := make([]byte, 256)
	seen := -1 // bytes seen by the previous peek
	for {
		var n int
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			for {
				m, _, e := syscall.Recvfrom(int(fd), buf, syscall.MSG_PEEK)
				switch e {
				case nil:
				case syscall.EINTR:
					continue
				case syscall.EAGAIN:
					return false
				default:
					rerr = e
					return true
				}
				if m == seen {
					// Nothing new since the last look: wait for more
					// (the data already there keeps no readiness event),
					// unless the client closed its side.
					if peerClosed(fd) {
						return true // n stays 0: the header was cut short
					}
					return false
				}
				n = m
				return true
			}
		})
		switch {
		case errors.Is(err, os.ErrDeadlineExceeded):
			return proxyproto.Header{}, errPPTimeout
		case err != nil || rerr != nil:
			return proxyproto.Header{}, errPPAbort
		case n == 0 && seen <= 0:
			return proxyproto.Header{}, errPPEmpty
		case n == 0:
			return proxyproto.Header{}, proxyproto.ErrTruncated
		}
		seen = n
		h, hl, err := proxyproto.Parse(buf[:n])
		if err == nil {
			return h, consume(rc, buf[:hl])
		}
		if err != proxyproto.ErrIncomplete {
			return proxyproto.Header{}, err
		}
		if n == len(buf) {
			// Only a v2 header outgrows the first buffer (a v1 line ends
			// within 107 bytes): make room for the length it announces.
			want := 16 + (int(buf[14])<<8 | int(buf[15]))
			if want > limit {
				return proxyproto.Header{}, proxyproto.ErrTruncated
			}
			buf = append(buf, make([]byte, want-len(buf))...)
			seen = -1
		}
	}
}

// peerClosed tells whether the peer shut its sending side down, which a
// peek cannot show while unread bytes remain.
func peerClosed(fd uintptr) bool {
	pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLRDHUP}}
	n, err := unix.Poll(pfd, 0)
	return err == nil && n > 0 && pfd[0].Revents&(unix.POLLRDHUP|unix.POLLHUP) != 0
}

// consume reads exactly the header's bytes, which the peek saw.
func consume(rc syscall.RawConn, hdr []byte) error {
	var n int
	var rerr error
	err := rc.Read(func(fd uintptr) bool {
		for {
			m, _, e := syscall.Recvfrom(int(fd), hdr, 0)
			if e == syscall.EINTR {
				continue
			}
			n, rerr = m, e
			return true
		}
	})
	if err != nil || rerr != nil || n != len(hdr) {
		return errPPAbort
	}
	return nil
}

// Errors of the receiving side, worded as HAProxy logs them.
var (
	errPPEmpty   = errors.New("Connection closed while waiting for PROXY protocol header")
	errPPAbort   = errors.New("Connection error while waiting for PROXY protocol header")
	errPPTimeout = errors.New("Timeout while waiting for PROXY protocol header")
)

// acceptProxy reads the PROXY header of a new connection within "timeout
// client" and returns the connection that reports its addresses. A missing
// or bad header is logged as HAProxy logs it, naming the peer
// ("127.0.0.1:41234 [...] fe/1: Received an invalid PROXY protocol
// header"), and the connection is closed.
func (fe *Frontend) acceptProxy(c net.Conn, bind string) (net.Conn, bool) {
	start := time.Now()
	to := fe.P.Timeouts.Client
	if to <= 0 {
		to = defaultHandshakeTimeout
	}
	h, err := readProxyHeader(c, start.Add(to), max(fe.rt.bufs.Size, 1024))
	if err != nil {
		fe.logConnError(c, bind, start, err.Error())
		c.Close()
		return nil, false
	}
	pc := &ppConn{Conn: c, header: true, info: sample.PPInfo{Authority: h.Authority, UniqueID: h.UniqueID}}
	if prev, ok := c.(*ppConn); ok {
		pc.sessVars = prev.sessVars // set by tcp-request connection rules
	}
	if !h.Local {
		pc.src = net.TCPAddrFromAddrPort(unmapped(h.Src))
		pc.dst = net.TCPAddrFromAddrPort(unmapped(h.Dst))
	}
	return pc, true
}

func unmapped(a netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// ProxyHeader implements sample.PPTxn.
func (s *httpSession) ProxyHeader() *sample.PPInfo { return s.pp }

// ProxyHeader implements sample.PPTxn.
func (t *tcpTxn) ProxyHeader() *sample.PPInfo { return receivedPP(t.c) }

// ppStream is the client side of a stream, for the PROXY header that a
// send-proxy server receives first.
type ppStream interface {
	// ppClient returns the client connection and its source address
	// (which set-src may have changed, as in HAProxy).
	ppClient() (net.Conn, netip.AddrPort)
	// ppUniqueID is the stream's unique-id-format value.
	ppUniqueID() []byte
	// Dst is where the client's request was headed (set-dst and
	// set-dst-port may have changed it), for a transparent server.
	Dst() netip.AddrPort
}

func (s *httpSession) ppClient() (net.Conn, netip.AddrPort) {
	return s.c, netip.AddrPortFrom(s.clientIP, uint16(s.clientPort))
}

func (s *httpSession) ppUniqueID() []byte {
	if s.fe.P.UniqueIDFormat != nil && len(s.tx.UID) == 0 {
		s.uniqueID()
	}
	return s.tx.UID
}

func (t *tcpTxn) ppClient() (net.Conn, netip.AddrPort) { return t.c, t.Src() }

func (t *tcpTxn) ppUniqueID() []byte {
	if t.fe.P.UniqueIDFormat == nil {
		return []byte{}
	}
	src, dst := t.Src(), t.Dst()
	e := logging.Entry{ClientIP: src.Addr(), ClientPort: int(src.Port()), FrontendIP: dst.Addr(), FrontendPort: int(dst.Port()),
		Accept: time.Now(), ReqStart: time.Now(), Frontend: t.fe.P.Name, TR: -1, Tw: -1, Tc: -1, Tr: -1, Ta: -1, Tt: -1, Status: -1,
		Term: [4]byte{'-', '-', '-', '-'}, Txn: t, V: &t.v}
	return logging.AppendFormat([]byte{}, t.fe.P.UniqueIDFormat, &e)
}

// proxyHeader builds the PROXY header s sends for the stream from, as
// HAProxy's make_proxy_line: version 1 with the client's addresses, or
// version 2 with the TLVs of proxy-v2-options (and the client's ALPN).
func (s *Server) proxyHeader(from ppStream) []byte {
	pp := &s.Conf.SendProxy
	c, src := from.ppClient()
	var dst netip.AddrPort
	if la, ok := c.LocalAddr().(*net.TCPAddr); ok {
		dst = unmapped(la.AddrPort())
	}
	if !src.Addr().IsValid() {
		src = netip.AddrPort{} // a unix socket client: UNKNOWN / LOCAL
	}
	if pp.Version == 1 {
		return proxyproto.AppendV1(nil, src, dst)
	}
	o := proxyproto.V2{CRC32C: pp.CRC32C, SendSSL: pp.SSL}
	tc, _ := c.(*tls.Conn)
	var st tls.ConnectionState
	if tc != nil {
		st = tc.ConnectionState()
		o.ALPN = []byte(st.NegotiatedProtocol)
	}
	if pp.Authority {
		if rp := receivedPP(c); rp != nil && rp.Authority != nil {
			o.Authority = rp.Authority
		} else if st.ServerName != "" {
			o.Authority = []byte(st.ServerName)
		}
	}
	if pp.UniqueID {
		o.SendUID, o.UniqueID = true, from.ppUniqueID()
	}
	if pp.SSL && tc != nil {
		ssl := &proxyproto.SSL{Version: tlsconf.ProtocolName(st.Version)}
		if len(st.PeerCertificates) > 0 {
			ssl.CertConn, ssl.CertSess = !st.DidResume, true
			if len(st.VerifiedChains) == 0 {
				ssl.Verify = x509VerifyFailed
			}
			if pp.CertCN {
				ssl.CN = st.PeerCertificates[0].Subject.CommonName
			}
		}
		if pp.SSLCipher {
			ssl.Cipher = tlsconf.CipherName(st.CipherSuite)
		}
		// cert-sig and cert-key describe the proxy's own certificate as
		// served to this client (haproxy's SSL_get_certificate).
		if tt, ok := from.(sample.TLSTxn); ok && (pp.CertSig || pp.CertKey) {
			if ti := tt.ClientTLS(); ti != nil && ti.Served != nil {
				if pp.CertSig {
					ssl.SigAlg = sample.SigAlgName(ti.Served)
				}
				if pp.CertKey {
					ssl.KeyAlg = keyAlgBits(ti.Served)
				}
			}
		}
		o.SSL = ssl
	}
	return proxyproto.AppendV2(nil, src, dst, &o)
}

// x509VerifyFailed is OpenSSL's X509_V_ERR_UNSPECIFIED, sent in the SSL
// TLV for a client certificate that did not verify.
const x509VerifyFailed = 1

// sendProxyHeader writes s's PROXY header on a new server connection,
// before anything else (a TLS handshake included).
func (s *Server) sendProxyHeader(c net.Conn, from ppStream, deadline time.Time) error {
	c.SetWriteDeadline(deadline)
	_, err := c.Write(s.proxyHeader(from))
	c.SetWriteDeadline(time.Time{})
	return err
}

// keyAlgBits names a certificate's key as haproxy's cert_get_pkey_algo:
// "EC256", "RSA2048"; "" for other kinds (haproxy sends nothing then).
func keyAlgBits(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *ecdsa.PublicKey:
		return "EC" + strconv.Itoa(k.Curve.Params().BitSize)
	case *rsa.PublicKey:
		return "RSA" + strconv.Itoa(k.N.BitLen())
	}
	return ""
}

// pendingIn is how many bytes the client sent that were not read yet (0
// for a connection without a socket of its own); enc: they are a TLS
// connection's records, not its data.
func pendingIn(c net.Conn) (n int64, enc bool) {
	raw := c
	if tc, ok := c.(*tls.Conn); ok {
		raw, enc = tc.NetConn(), true
	}
	sc, ok := raw.(syscall.Conn)
	if !ok {
		return 0, enc
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, enc
	}
	var q int
	rc.Control(func(fd uintptr) { q, _ = unix.IoctlGetInt(int(fd), unix.SIOCINQ) })
	return int64(q), enc
}
