package runtimeapi

import (
	"fmt"
	"strings"
)

func init() {
	commands = append(commands, command{[]string{"show", "resolvers"}, "show resolvers [id]", "dumps counters from all resolvers section and associated name servers", levelUser, cmdShowResolvers})
}

// cmdShowResolvers prints each resolvers section's nameserver counters in
// haproxy 2.6's layout.
func cmdShowResolvers(s *session, args []string) string {
	cs := s.srv.src.RT.Resolvers()
	if len(args) > 0 {
		found := false
		for _, c := range cs {
			found = found || c.Conf.Name == args[0]
		}
		if !found {
			return "Can't find that resolvers section\n"
		}
	}
	if len(cs) == 0 {
		return "No resolvers found\n"
	}
	var b strings.Builder
	for _, c := range cs {
		if len(args) > 0 && c.Conf.Name != args[0] {
			continue
		}
		fmt.Fprintf(&b, "Resolvers section %s\n", c.Conf.Name)
		for _, ns := range c.Nameservers {
			n := &ns.Counters
			fmt.Fprintf(&b, " nameserver %s:\n", ns.Name)
			for _, f := range []struct {
				label string
				v     int64
			}{
				{"sent:        ", n.Sent.Load()}, {"snd_error:   ", n.SndError.Load()}, {"valid:       ", n.Valid.Load()},
				{"update:      ", n.Update.Load()}, {"cname:       ", n.CNAME.Load()}, {"cname_error: ", n.CNAMEError.Load()},
				{"any_err:     ", n.AnyErr.Load()}, {"nx:          ", n.NX.Load()}, {"timeout:     ", n.Timeout.Load()},
				{"refused:     ", n.Refused.Load()}, {"other:       ", n.Other.Load()}, {"invalid:     ", n.Invalid.Load()},
				{"too_big:     ", n.TooBig.Load()}, {"truncated:   ", n.Truncated.Load()}, {"outdated:    ", n.Outdated.Load()},
			} {
				fmt.Fprintf(&b, "  %s%d\n", f.label, f.v)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}
