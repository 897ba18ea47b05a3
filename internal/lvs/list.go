package lvs

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
)

// WriteList prints the services like `ipvsadm -Ln`: the same header, one
// line per service and one per destination with its forwarding method,
// weight and connection counts.
func WriteList(w io.Writer, dpName string, ds []Desired, stats map[DestKey]DestStats) {
	fmt.Fprintf(w, "IP Virtual Server version 1.2.1 (size=4096) datapath=%s\n", dpName)
	fmt.Fprintln(w, "Prot LocalAddress:Port Scheduler Flags")
	fmt.Fprintln(w, "  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn")
	for _, d := range ds {
		s := d.Svc
		flags := ""
		if s.Persist > 0 {
			flags = fmt.Sprintf(" persistent %d", int(s.Persist.Seconds()))
			if m := s.Mask; m.IsValid() && m.String() != "255.255.255.255" {
				flags += " mask " + m.String()
			}
		}
		for _, m := range s.Match {
			switch {
			case m.FWMark != 0:
				fmt.Fprintf(w, "FWM  %d %s%s\n", m.FWMark, s.Sched, flags)
			case m.First != m.Last:
				fmt.Fprintf(w, "%-4s %s-%s:%d %s%s\n", strings.ToUpper(s.Protocol), m.First, m.Last, m.Port, s.Sched, flags)
			default:
				fmt.Fprintf(w, "%-4s %s %s%s\n", strings.ToUpper(s.Protocol), netip.AddrPortFrom(m.First, m.Port), s.Sched, flags)
			}
			for _, dst := range d.Dests {
				st := stats[DestKey{Svc: s, Addr: dst.Addr}]
				fmt.Fprintf(w, "  -> %-28s %-7s %-6d %-10d %-10d\n", dst.Addr, forwardName(s.Method), dst.Weight, st.Active, st.Inactive)
			}
		}
	}
}

// forwardName is ipvsadm's name of a forwarding method.
func forwardName(method string) string {
	switch method {
	case "DR":
		return "Route"
	case "TUN":
		return "Tunnel"
	}
	return "Masq"
}
