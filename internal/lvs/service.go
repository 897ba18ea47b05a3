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
	"dhproxy/internal/scriptuser"
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
	// ScriptAs runs notify_up/down and quorum scripts: global_defs'
	// script_user, else keepalived_script, else dhproxy's own account.
	ScriptAs scriptuser.Account
	// ScriptSecurity is enable_script_security: insecure scripts run by
	// root are disabled instead of only warned about.
	ScriptSecurity bool
	// TrackFiles are the track_file blocks FILE_CHECKs name.
	TrackFiles map[string]*keepalived.TrackFile
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
	// CheckAs runs each MISC_CHECK of Conf.Checks (same index): its own
	// "user [group]", else the service's ScriptAs.
	CheckAs []scriptuser.Account
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
	as, err := scriptuser.Default(cfg.Global)
	if err != nil && len(cfg.VirtualServers) > 0 {
		return nil, fmt.Errorf("%s: global_defs: %v", cfg.Global.Pos, err)
	}
	for _, vs := range cfg.VirtualServers {
		s, err := buildService(cfg, vs)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", vs.Pos, err)
		}
		s.ScriptAs, s.ScriptSecurity = as, cfg.Global.EnableScriptSecurity
		s.TrackFiles = cfg.TrackFiles
		for _, r := range s.Reals {
			for _, c := range r.Conf.Checks {
				cas := as
				if c.User != "" {
					if cas, err = scriptuser.Lookup(c.User, c.Group); err != nil {
						return nil, fmt.Errorf("%s: MISC_CHECK: %v", c.Pos, err)
					}
				}
				r.CheckAs = append(r.CheckAs, cas)
			}
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
