package backend

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"

	"dhproxy/internal/model"
)

// lookupHost resolves server names at start; tests replace it so that they
// never ask a real resolver.
var lookupHost = func(ctx context.Context, host string) ([]netip.Addr, error) {
	return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
}

// ResolveServers gives every server named by a host name its address once,
// at start, as HAProxy does without "resolvers": "init-addr" lists the
// methods tried in order (default "last,libc"; "last" is the address the
// server state file kept, statefile.go), "none" lets the
// server start without an address, in maintenance, and an IP literal is
// used as is. The model's address becomes ip:port, so that traffic and
// checks never resolve again. Servers left without an address are returned.
func ResolveServers(cfg *model.Config, states ServerStates) (unresolved map[*model.Server]bool, err error) {
	var errs []string
	for _, p := range cfg.Proxies {
		for _, s := range p.Servers {
			host, port, splitErr := net.SplitHostPort(s.Addr)
			if splitErr != nil || host == "" || s.SRV != "" || s.Unix {
				continue // an SRV template's servers get addresses from DNS only
			}
			if _, err := netip.ParseAddr(host); err == nil {
				continue
			}
			methods := "last,libc"
			if m, ok := s.Options["init-addr"]; ok {
				methods = m
			}
			last, _ := states.LastAddr(s)
			ip, ok := initAddr(host, methods, last)
			switch {
			case ip.IsValid():
				s.Addr = net.JoinHostPort(ip.String(), port)
			case ok:
				if unresolved == nil {
					unresolved = map[*model.Server]bool{}
				}
				unresolved[s] = true
			default:
				errs = append(errs, fmt.Sprintf("config : [%s] : 'server %s/%s' : could not resolve address '%s'.", s.Pos, p.Name, s.Name, host))
			}
		}
	}
	if len(errs) > 0 {
		errs = append(errs, "config : Failed to initialize server(s) addr.")
		return nil, fmt.Errorf("%s", strings.Join(errs, "\n"))
	}
	return unresolved, nil
}

// initAddr tries the init-addr methods in order: the address found, or
// ok without one for "none", or neither. last is the address the server
// state file kept ("last"), if any.
func initAddr(host, methods string, last netip.Addr) (ip netip.Addr, ok bool) {
	for _, m := range strings.Split(methods, ",") {
		switch m = strings.TrimSpace(m); m {
		case "libc":
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			ips, err := lookupHost(ctx, host)
			cancel()
			if err == nil && len(ips) > 0 {
				// IPv4 first, as getaddrinfo orders for most hosts.
				for _, a := range ips {
					if a.Unmap().Is4() {
						return a.Unmap(), true
					}
				}
				return ips[0], true
			}
		case "none":
			return netip.Addr{}, true
		case "last":
			if last.IsValid() {
				return last, true
			}
		default:
			if a, err := netip.ParseAddr(m); err == nil {
				return a, true
			}
		}
	}
	return netip.Addr{}, false
}
