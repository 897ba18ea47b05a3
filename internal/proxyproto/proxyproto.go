// Package proxyproto reads and writes PROXY protocol headers, versions 1
// (text) and 2 (binary), as HAProxy 2.6 does: "accept-proxy" on binds and
// "tcp-request connection expect-proxy" receive them, "send-proxy",
// "send-proxy-v2" and "proxy-v2-options" on servers send them.
package proxyproto

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/netip"
	"strconv"
)

// Errors of Parse, worded as HAProxy logs them (conn_err_code_str).
var (
	ErrIncomplete = errors.New("incomplete PROXY protocol header") // more bytes are needed
	ErrTruncated  = errors.New("Truncated PROXY protocol header received")
	ErrNotHeader  = errors.New("Received something which does not look like a PROXY protocol header")
	ErrBadHeader  = errors.New("Received an invalid PROXY protocol header")
	ErrBadProto   = errors.New("Received an unhandled protocol in the PROXY protocol header")
)

// v2Sig starts every version 2 header.
const v2Sig = "\r\n\r\n\x00\r\nQUIT\n"

// MaxV1 is the longest version 1 line the specification allows.
const MaxV1 = 107

// TLV types of version 2 headers.
const (
	TypeALPN      = 0x01
	TypeAuthority = 0x02
	TypeCRC32C    = 0x03
	TypeUniqueID  = 0x05
	TypeSSL       = 0x20
	TypeNetNS     = 0x30

	subtypeSSLVersion = 0x21
	subtypeSSLCN      = 0x22
	subtypeSSLCipher  = 0x23
	subtypeSSLSigAlg  = 0x24
	subtypeSSLKeyAlg  = 0x25
)

// Limits HAProxy enforces on received TLVs.
const (
	MaxAuthority = 255
	MaxUniqueID  = 128
)

// Header is a received PROXY header. Local reports a header that carries
// no usable addresses (v1 UNKNOWN, v2 LOCAL or a family other than TCP over
// IPv4/IPv6): the connection's own addresses stay.
type Header struct {
	Version   int
	Local     bool
	Src, Dst  netip.AddrPort
	Authority []byte // PP2_TYPE_AUTHORITY (v2), nil when absent
	UniqueID  []byte // PP2_TYPE_UNIQUE_ID (v2), nil when absent
	ALPN      []byte // PP2_TYPE_ALPN (v2)
}

// Parse reads a header at the start of b. It returns the header and its
// length, ErrIncomplete when b is a valid beginning that needs more bytes,
// or one of the other errors. The returned byte slices are copies.
func Parse(b []byte) (Header, int, error) {
	if len(b) == 0 {
		return Header{}, 0, ErrIncomplete
	}
	if b[0] == 'P' {
		return parseV1(b)
	}
	return parseV2(b)
}

func parseV1(b []byte) (Header, int, error) {
	const prefix = "PROXY "
	if len(b) < len(prefix) {
		if !bytes.HasPrefix([]byte(prefix), b) {
			return Header{}, 0, ErrNotHeader
		}
		return Header{}, 0, ErrIncomplete
	}
	if string(b[:len(prefix)]) != prefix {
		return Header{}, 0, ErrNotHeader
	}
	end := bytes.Index(b[:min(len(b), MaxV1)], []byte("\r\n"))
	if end < 0 {
		if len(b) >= MaxV1 {
			return Header{}, 0, ErrBadHeader
		}
		// The protocol word decides early whether waiting makes sense.
		if rest := b[len(prefix):]; len(rest) >= 5 && !isV1Proto(rest) {
			return Header{}, 0, ErrBadProto
		}
		return Header{}, 0, ErrIncomplete
	}
	line := b[len(prefix):end]
	n := end + 2
	h := Header{Version: 1}
	if bytes.HasPrefix(line, []byte("UNKNOWN")) {
		// The receiver ignores whatever follows UNKNOWN.
		h.Local = true
		return h, n, nil
	}
	f := bytes.Split(line, []byte(" "))
	if len(f) == 0 || (string(f[0]) != "TCP4" && string(f[0]) != "TCP6") {
		return Header{}, 0, ErrBadProto
	}
	if len(f) != 5 {
		return Header{}, 0, ErrBadHeader
	}
	v6 := string(f[0]) == "TCP6"
	src, ok1 := v1Addr(f[1], f[3], v6)
	dst, ok2 := v1Addr(f[2], f[4], v6)
	if !ok1 || !ok2 {
		return Header{}, 0, ErrBadHeader
	}
	h.Src, h.Dst = src, dst
	return h, n, nil
}

func isV1Proto(rest []byte) bool {
	for _, p := range []string{"TCP4 ", "TCP6 ", "UNKNO"} {
		if string(rest[:5]) == p {
			return true
		}
	}
	return false
}

// v1Addr reads an address and a port of a v1 line: the address of the
// family the protocol word names, a decimal port without sign or zone.
func v1Addr(a, p []byte, v6 bool) (netip.AddrPort, bool) {
	ip, err := netip.ParseAddr(string(a))
	if err != nil || ip.Zone() != "" || ip.Is4() == v6 {
		return netip.AddrPort{}, false
	}
	if len(p) == 0 || len(p) > 5 || (len(p) > 1 && p[0] == '0') {
		return netip.AddrPort{}, false
	}
	port := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return netip.AddrPort{}, false
		}
		port = port*10 + int(c-'0')
	}
	if port > 65535 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, uint16(port)), true
}

func parseV2(b []byte) (Header, int, error) {
	if len(b) < 16 {
		if !bytes.HasPrefix([]byte(v2Sig), b[:min(len(b), len(v2Sig))]) {
			return Header{}, 0, ErrNotHeader
		}
		return Header{}, 0, ErrIncomplete
	}
	if string(b[:12]) != v2Sig || b[12]>>4 != 2 {
		return Header{}, 0, ErrNotHeader
	}
	total := 16 + int(binary.BigEndian.Uint16(b[14:16]))
	if len(b) < total {
		return Header{}, 0, ErrIncomplete
	}
	hdr := b[:total]
	h := Header{Version: 2}
	switch b[12] & 0x0f {
	case 0x00: // LOCAL: health checks of the sender; its TLVs are ignored
		h.Local = true
		return h, total, nil
	case 0x01:
	default:
		return Header{}, 0, ErrBadHeader
	}
	off := 16
	body := total - 16
	switch b[13] {
	case 0x11: // TCP over IPv4
		if body < 12 {
			return Header{}, 0, ErrBadHeader
		}
		h.Src = netip.AddrPortFrom(netip.AddrFrom4([4]byte(hdr[16:20])), binary.BigEndian.Uint16(hdr[24:26]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom4([4]byte(hdr[20:24])), binary.BigEndian.Uint16(hdr[26:28]))
		off += 12
	case 0x21: // TCP over IPv6
		if body < 36 {
			return Header{}, 0, ErrBadHeader
		}
		h.Src = netip.AddrPortFrom(netip.AddrFrom16([16]byte(hdr[16:32])), binary.BigEndian.Uint16(hdr[48:50]))
		h.Dst = netip.AddrPortFrom(netip.AddrFrom16([16]byte(hdr[32:48])), binary.BigEndian.Uint16(hdr[50:52]))
		off += 36
	default:
		// UDP, unix sockets or unspecified: the connection keeps its own
		// addresses; the address block is skipped by its size.
		h.Local = true
		switch b[13] {
		case 0x12:
			off += 12
		case 0x22:
			off += 36
		case 0x31, 0x32:
			off += 216
		}
		if off > total {
			return Header{}, 0, ErrBadHeader
		}
	}
	for off < total {
		if off+3 > total {
			return Header{}, 0, ErrBadHeader
		}
		typ, l := hdr[off], int(binary.BigEndian.Uint16(hdr[off+1:off+3]))
		v := off + 3
		if v+l > total {
			return Header{}, 0, ErrBadHeader
		}
		val := hdr[v : v+l]
		switch typ {
		case TypeCRC32C:
			if l != 4 || crc32cZeroed(hdr, v) != binary.BigEndian.Uint32(val) {
				return Header{}, 0, ErrBadHeader
			}
		case TypeAuthority:
			if l > MaxAuthority {
				return Header{}, 0, ErrBadHeader
			}
			h.Authority = append([]byte{}, val...)
		case TypeUniqueID:
			if l > MaxUniqueID {
				return Header{}, 0, ErrBadHeader
			}
			h.UniqueID = append([]byte{}, val...)
		case TypeALPN:
			h.ALPN = append([]byte{}, val...)
		}
		off = v + l
	}
	return h, total, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cZeroed is the CRC32c of hdr with the 4 checksum bytes at at
// counted as zeros, as the sender computed it.
func crc32cZeroed(hdr []byte, at int) uint32 {
	c := crc32.Update(0, castagnoli, hdr[:at])
	c = crc32.Update(c, castagnoli, []byte{0, 0, 0, 0})
	return crc32.Update(c, castagnoli, hdr[at+4:])
}

// AppendV1 appends a version 1 line for a connection from src to dst:
// TCP4 when both are IPv4, TCP6 otherwise (IPv4 mapped), UNKNOWN when
// either is not an IP address (a unix socket client), as HAProxy writes it.
func AppendV1(out []byte, src, dst netip.AddrPort) []byte {
	if !src.IsValid() || !dst.IsValid() {
		return append(out, "PROXY UNKNOWN\r\n"...)
	}
	s, d := src.Addr().Unmap(), dst.Addr().Unmap()
	if s.Is4() && d.Is4() {
		out = append(out, "PROXY TCP4 "...)
	} else {
		out = append(out, "PROXY TCP6 "...)
		s, d = as16(s), as16(d)
	}
	out = s.AppendTo(out)
	out = append(out, ' ')
	out = d.AppendTo(out)
	out = append(out, ' ')
	out = strconv.AppendUint(out, uint64(src.Port()), 10)
	out = append(out, ' ')
	out = strconv.AppendUint(out, uint64(dst.Port()), 10)
	return append(out, "\r\n"...)
}

func as16(a netip.Addr) netip.Addr {
	if a.Is4() {
		return netip.AddrFrom16(a.As16())
	}
	return a.WithZone("")
}

// SSL describes the client's TLS connection for the PP2_TYPE_SSL TLV.
type SSL struct {
	CertConn bool   // a client certificate was presented on this connection
	CertSess bool   // ... or on the session it resumed
	Verify   uint32 // verification result (0: success)
	Version  string // "TLSv1.3"
	CN       string // client certificate's common name, with cert-cn
	Cipher   string // with ssl-cipher
	SigAlg   string // with cert-sig
	KeyAlg   string // with cert-key
}

// V2 lists what a version 2 header carries beside the addresses.
type V2 struct {
	CRC32C    bool
	ALPN      []byte // the client's negotiated ALPN (always sent when set)
	Authority []byte // with "authority": the received authority or the SNI
	SendUID   bool   // "unique-id": sent even when empty
	UniqueID  []byte
	SendSSL   bool // "ssl": the TLV is sent for plain clients too
	SSL       *SSL // nil: the client connection is not TLS
}

// AppendV2 appends a version 2 header for a connection from src to dst (a
// LOCAL header when either is not an IP address), with the TLVs o asks for
// in HAProxy's order.
func AppendV2(out []byte, src, dst netip.AddrPort, o *V2) []byte {
	start := len(out)
	out = append(out, v2Sig...)
	switch {
	case !src.IsValid() || !dst.IsValid():
		out = append(out, 0x20, 0x00, 0, 0)
	case src.Addr().Unmap().Is4() && dst.Addr().Unmap().Is4():
		out = append(out, 0x21, 0x11, 0, 0)
		s, d := src.Addr().Unmap().As4(), dst.Addr().Unmap().As4()
		out = append(out, s[:]...)
		out = append(out, d[:]...)
		out = binary.BigEndian.AppendUint16(out, src.Port())
		out = binary.BigEndian.AppendUint16(out, dst.Port())
	default:
		out = append(out, 0x21, 0x21, 0, 0)
		s, d := src.Addr().As16(), dst.Addr().As16()
		out = append(out, s[:]...)
		out = append(out, d[:]...)
		out = binary.BigEndian.AppendUint16(out, src.Port())
		out = binary.BigEndian.AppendUint16(out, dst.Port())
	}
	crcAt := -1
	if o != nil {
		if o.CRC32C {
			crcAt = len(out) + 3
			out = appendTLV(out, TypeCRC32C, []byte{0, 0, 0, 0})
		}
		if len(o.ALPN) > 0 {
			out = appendTLV(out, TypeALPN, o.ALPN)
		}
		if o.Authority != nil {
			out = appendTLV(out, TypeAuthority, o.Authority)
		}
		if o.SendUID {
			out = appendTLV(out, TypeUniqueID, o.UniqueID)
		}
		if o.SendSSL {
			out = appendSSL(out, o.SSL)
		}
	}
	binary.BigEndian.PutUint16(out[start+14:], uint16(len(out)-start-16))
	if crcAt >= 0 {
		binary.BigEndian.PutUint32(out[crcAt:], crc32.Checksum(out[start:], castagnoli))
	}
	return out
}

func appendTLV(out []byte, typ byte, v []byte) []byte {
	out = append(out, typ)
	out = binary.BigEndian.AppendUint16(out, uint16(len(v)))
	return append(out, v...)
}

func appendStrTLV(out []byte, typ byte, v string) []byte {
	if v == "" {
		return out
	}
	out = append(out, typ)
	out = binary.BigEndian.AppendUint16(out, uint16(len(v)))
	return append(out, v...)
}

// appendSSL writes the PP2_TYPE_SSL TLV: client flags, verify result and
// the sub-TLVs; for a plain client only the empty flags.
func appendSSL(out []byte, s *SSL) []byte {
	at := len(out)
	out = append(out, TypeSSL, 0, 0, 0, 0, 0, 0, 0)
	if s != nil {
		client := byte(0x01) // PP2_CLIENT_SSL
		if s.CertSess {
			client |= 0x04
			binary.BigEndian.PutUint32(out[at+4:], s.Verify)
			if s.CertConn {
				client |= 0x02
			}
		}
		out[at+3] = client
		out = appendStrTLV(out, subtypeSSLVersion, s.Version)
		out = appendStrTLV(out, subtypeSSLCN, s.CN)
		out = appendStrTLV(out, subtypeSSLKeyAlg, s.KeyAlg)
		out = appendStrTLV(out, subtypeSSLSigAlg, s.SigAlg)
		out = appendStrTLV(out, subtypeSSLCipher, s.Cipher)
	}
	binary.BigEndian.PutUint16(out[at+1:], uint16(len(out)-at-3))
	return out
}
