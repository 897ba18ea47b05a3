package check

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"dhproxy/internal/model"
)

// Addr returns the host:port the checks of server s (in backend be) connect
// to: the server's address, with the host and port of its "addr" option and
// then its "port" option taking precedence, as in HAProxy. A UNIX socket
// (the server's, or the one "addr" names) is "unix@<path>", whatever the
// "port". A server that ends up without a port cannot be checked; the error
// uses HAProxy's wording so that the config layer can report it as-is.
func Addr(be *model.Proxy, s *model.Server) (string, error) {
	a := s.Options["addr"]
	if path, ok := model.UnixSocket(a); ok {
		return unixPrefix + path, nil
	}
	if s.Unix && a == "" {
		return unixPrefix + s.Addr, nil // a port changes nothing
	}
	host, port, err := net.SplitHostPort(s.Addr)
	if err != nil || s.Unix {
		host, port = s.Addr, ""
	}
	if a != "" {
		h, p := splitAddrOption(a)
		host = h
		if p != "" {
			port = p
		}
	}
	if s.Port > 0 {
		port = strconv.Itoa(s.Port)
	}
	if port == "" || port == "0" {
		word, name := "backend", ""
		if be != nil {
			name = be.Name
			if be.IsFrontend() {
				word = "proxy"
			}
		}
		return "", fmt.Errorf("%s '%s': server '%s' has neither service port nor check port.", word, name, s.Name)
	}
	return net.JoinHostPort(host, port), nil
}

// splitAddrOption splits an "addr" value, which may carry a port:
// "10.0.0.1", "10.0.0.1:8080", "[::1]:8080", "::1", "ipv6@::1".
func splitAddrOption(a string) (host, port string) {
	if i := strings.IndexByte(a, '@'); i >= 0 {
		a = a[i+1:]
	}
	if net.ParseIP(a) != nil {
		return a, ""
	}
	if h, p, err := net.SplitHostPort(a); err == nil {
		return h, p
	}
	return a, ""
}

// unixPrefix starts a check address that is a UNIX socket path (as
// model.UnixSocket gives it: an abstract name starts with '@').
const unixPrefix = "unix@"

// splitNetwork tells how to dial a check address: ("unix", path) or
// ("tcp", host:port).
func splitNetwork(addr string) (network, address string) {
	if path, ok := strings.CutPrefix(addr, unixPrefix); ok {
		return "unix", path
	}
	return "tcp", addr
}
