package stream

import (
	"log"
	"net"
	"net/netip"

	"dhproxy/internal/backend"
)

// restoreTemplates gives the servers of an SRV template the records they
// stood for in the state file, so that a reload moves no traffic; the
// resolutions (started after) then keep or change them.
func (rt *Runtime) restoreTemplates(states backend.ServerStates) {
	for _, b := range rt.backends {
		for _, s := range b.Servers {
			st, ok := states[s.Conf]
			if !ok || s.dns == nil || s.Conf.SRV == "" || st.FQDN == "-" || st.Addr == "-" {
				continue
			}
			if ip, err := netip.ParseAddr(st.Addr); err == nil {
				dst := net.JoinHostPort(ip.String(), st.Port)
				s.dns.setHost(st.FQDN)
				s.dns.port = st.Port
				s.dst.Store(&dst)
				s.ClearAdmin(backend.AdminResolvMaint)
				s.SetUp(true)
			}
		}
	}
}

// applyServerStates gives the servers what the state file kept of the
// previous process's run time: forced maintenance and drain (with
// HAProxy's log lines, through the checks' state machine once they run)
// and the weight set at run time when the configured one did not change.
func (rt *Runtime) applyServerStates(states backend.ServerStates) {
	for _, b := range rt.backends {
		for _, s := range b.Servers {
			st, ok := states[s.Conf]
			if !ok {
				continue
			}
			if cur, initial := s.Weight(); st.IWeight == initial && st.UWeight != cur {
				if err := s.SetWeight(st.UWeight); err != nil {
					log.Printf("[WARNING] server %s/%s: weight %d from the state file: %v", b.P.Name, s.Name, st.UWeight, err)
				}
			}
			switch {
			case st.Admin&backend.AdminMaint != 0:
				rt.SetMaint(s, true)
			case st.Admin&backend.AdminDrain != 0:
				rt.SetDrainAdmin(s, true)
			}
		}
	}
}
