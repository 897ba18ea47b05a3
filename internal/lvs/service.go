// Package lvs runs keepalived's virtual_server blocks without IPVS: the
// real servers are health-checked as keepalived does, and the healthy set
// is programmed into a Dataplane (nftables NAT or DR, or a userspace proxy).
package lvs

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"dhproxy/internal/config/keepalived"
)

// Service is one virtual service: what clients connect to and the real
// servers behind it.
type Service struct {
	Name     string // keepalived's FMT_VS: [10.0.0.100]:tcp:80, FWM 1, [group]:80
	Conf     *keepalived.VirtualServer
	Match    []Match // several for a virtual_server_group
	Protocol string  // "tcp" or "udp"
	Sched    string
	Method   string // NAT, DR, TUN
	Persist  time.Duration
	Mask     netip.Addr // persistence_granularity (/32 when unset)
	Reals    []*Real
	Sorry    *Real
}

// Match is one address range and port (or fwmark) a service answers on.
type Match struct {
	First, Last netip.Addr
	Port        uint16 // 0 = every port
	FWMark      uint32
}

// Real is one real server of a service.
type Real struct {
	Name   string // [10.0.0.2]:tcp:80
	Addr   netip.AddrPort
	Conf   *keepalived.RealServer // nil for the sorry server
	Weight int                    // configured weight
}

// Dest is one destination handed to a dataplane.
type Dest struct {
	Addr   netip.AddrPort
	Weight int  // 0 = listed (persistence and existing flows) but gets no new clients
	Sorry  bool // the sorry server, used while quorum is lost
}

// Desired is the state a dataplane programs for one service.
type Desired struct {
	Svc   *Service
	Dests []Dest
}

// Build turns the parsed virtual_server blocks into services.
func Build(cfg *keepalived.Config) ([]*Service, error) {
	var out []*Service
	for _, vs := range cfg.VirtualServers {
		s, err := buildService(cfg, vs)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", vs.Pos, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func buildService(cfg *keepalived.Config, vs *keepalived.VirtualServer) (*Service, error) {
	proto := strings.ToLower(vs.Protocol)
	if proto != "tcp" && proto != "udp" {
		return nil, fmt.Errorf("protocol %s is not supported by dhproxy's virtual servers; use TCP or UDP", vs.Protocol)
	}
	s := &Service{Conf: vs, Protocol: proto, Sched: vs.Sched, Method: vs.Method}
	switch {
	case vs.Group != "":
		g := cfg.VSGroups[vs.Group]
		if g == nil {
			return nil, fmt.Errorf("virtual_server_group %s is not defined", vs.Group)
		}
		for _, e := range g.Entries {
			s.Match = append(s.Match, Match{First: e.First, Last: e.Last, Port: e.Port, FWMark: e.FWMark})
		}
		s.Name = fmt.Sprintf("[%s]:%d", vs.Group, vs.Port)
	case vs.FWMark != 0:
		s.Match = []Match{{FWMark: vs.FWMark}}
		s.Name = fmt.Sprintf("FWM %d", vs.FWMark)
	default:
		s.Match = []Match{{First: vs.Addr, Last: vs.Addr, Port: vs.Port}}
		s.Name = Trio(vs.Addr, proto, vs.Port)
	}
	if vs.Persistent {
		s.Persist = vs.PersistenceTimeout
		s.Mask = vs.PersistenceGranularity
		if !s.Mask.IsValid() {
			s.Mask = netip.AddrFrom4([4]byte{255, 255, 255, 255})
		}
	}
	for _, rs := range vs.RealServers {
		s.Reals = append(s.Reals, &Real{
			Name:   Trio(rs.Addr, proto, rs.Port),
			Addr:   netip.AddrPortFrom(rs.Addr, rs.Port),
			Conf:   rs,
			Weight: rs.Weight,
		})
	}
	if ss := vs.SorryServer; ss != nil {
		s.Sorry = &Real{Name: Trio(ss.Addr, proto, ss.Port), Addr: netip.AddrPortFrom(ss.Addr, ss.Port), Weight: 1}
	}
	return s, nil
}

// Trio formats an address as keepalived's logs do: [10.0.0.2]:tcp:80.
func Trio(a netip.Addr, proto string, port uint16) string {
	return fmt.Sprintf("[%s]:%s:%d", a, proto, port)
}
