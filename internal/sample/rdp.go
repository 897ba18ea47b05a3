package sample

import "dhproxy/internal/http1"

// RDPState is what RDPCookie found in the data received so far.
type RDPState uint8

const (
	RDPFound    RDPState = iota // the cookie is complete
	RDPNeedMore                 // the data stops before the cookie could be read
	RDPAbsent                   // the data holds no such cookie
)

// RDPCookie reads the cookie of an RDP connection request as HAProxy's
// req.rdp_cookie(name) does: after the 11 bytes of TPKT and X.224 headers
// comes "Cookie: name=value\r\n" (case-insensitive "Cookie:" and name;
// name "" accepts any). The value is returned only when complete.
func RDPCookie(data []byte, name string) ([]byte, RDPState) {
	if len(data) < 11 {
		return nil, RDPNeedMore
	}
	d := data[11:]
	if len(d) <= 7 {
		return nil, RDPNeedMore
	}
	if !http1.EqualFold(d[:7], "Cookie:") {
		return nil, RDPAbsent
	}
	d = d[7:]
	for len(d) > 0 && d[0] == ' ' {
		d = d[1:]
	}
	if name != "" {
		if len(d) <= len(name) {
			return nil, RDPNeedMore
		}
		if d[len(name)] != '=' || !http1.EqualFold(d[:len(name)], name) {
			return nil, RDPAbsent
		}
		d = d[len(name)+1:]
	} else {
		i := 0
		for i < len(d) && d[i] != '=' {
			if d[i] == '\r' || d[i] == '\n' {
				return nil, RDPAbsent
			}
			i++
		}
		if i == len(d) {
			return nil, RDPNeedMore
		}
		d = d[i+1:]
	}
	for i, c := range d {
		if c == '\r' {
			if i+1 >= len(d) {
				return nil, RDPNeedMore
			}
			if d[i+1] != '\n' {
				return nil, RDPAbsent
			}
			return d[:i], RDPFound
		}
	}
	return nil, RDPNeedMore
}
