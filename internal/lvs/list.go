package lvs

import (
	"fmt"
	"io"
	"net/netip"
	"strconv"
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
			fmt.Fprintf(w, "%s %s%s\n", matchName(s, m), s.Sched, flags)
			for _, dst := range d.Dests {
				st := stats[DestKey{Svc: s, Addr: dst.Addr}]
				fmt.Fprintf(w, "  -> %-28s %-7s %-6d %-10d %-10d\n", dst.Addr, forwardName(s.Method), dst.Weight, st.Active, st.Inactive)
			}
		}
	}
}

// matchName is ipvsadm's name of a service: "TCP  10.0.0.1:80", "FWM  1";
// a virtual_server_group's address range as first-last:port.
func matchName(s *Service, m Match) string {
	switch {
	case m.FWMark != 0:
		return fmt.Sprintf("FWM  %d", m.FWMark)
	case m.First != m.Last:
		return fmt.Sprintf("%-4s %s-%s:%d", strings.ToUpper(s.Protocol), m.First, m.Last, m.Port)
	}
	return fmt.Sprintf("%-4s %s", strings.ToUpper(s.Protocol), netip.AddrPortFrom(m.First, m.Port))
}

// WriteListStats prints the services' traffic like `ipvsadm -Ln --stats`
// (with exact, `--exact`): per service the sum over all its real and
// sorry servers, then each destination programmed now. The entries of a
// virtual_server_group share one set of counters. Columns a datapath does
// not count (replies under DR and TUN) are 0, as ipvsadm shows them.
func WriteListStats(w io.Writer, dpName string, ds []Desired, stats map[DestKey]DestStats, exact bool) {
	fmt.Fprintf(w, "IP Virtual Server version 1.2.1 (size=4096) datapath=%s\n", dpName)
	fmt.Fprintf(w, "%-33s %8s %8s %8s %8s %8s\n", "Prot LocalAddress:Port", "Conns", "InPkts", "OutPkts", "InBytes", "OutBytes")
	fmt.Fprintln(w, "  -> RemoteAddress:Port")
	for _, d := range ds {
		s := d.Svc
		var sum Traffic
		for k, st := range stats {
			if k.Svc == s && st.Traffic != nil {
				sum = sum.plus(*st.Traffic)
			}
		}
		for _, m := range s.Match {
			fmt.Fprintf(w, "%-33s", matchName(s, m))
			writeTraffic(w, sum, exact)
			for _, dst := range d.Dests {
				var t Traffic
				if st := stats[DestKey{Svc: s, Addr: dst.Addr}]; st.Traffic != nil {
					t = *st.Traffic
				}
				fmt.Fprintf(w, "  -> %-28s", dst.Addr)
				writeTraffic(w, t, exact)
			}
		}
	}
}

func writeTraffic(w io.Writer, t Traffic, exact bool) {
	for _, v := range []int64{t.Conns, t.InPkts, t.OutPkts, t.InBytes, t.OutBytes} {
		io.WriteString(w, largeNum(uint64(v), exact))
	}
	io.WriteString(w, "\n")
}

// largeNum formats a counter in a 9-column field as ipvsadm does: exact
// below 100 million, else in K, M, G or T; with exact, always whole and
// one space before.
func largeNum(v uint64, exact bool) string {
	if exact {
		s := strconv.FormatUint(v, 10)
		return fmt.Sprintf("%*s", max(9, len(s)+1), s)
	}
	switch {
	case v < 100_000_000:
		return fmt.Sprintf("%9d", v)
	case v < 1_000_000_000:
		return fmt.Sprintf("%8dK", v/1_000)
	case v < 100_000_000_000:
		return fmt.Sprintf("%8dM", v/1_000_000)
	case v < 100_000_000_000_000:
		return fmt.Sprintf("%8dG", v/1_000_000_000)
	}
	return fmt.Sprintf("%8dT", v/1_000_000_000_000)
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
