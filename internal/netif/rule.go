package netif

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netlink/nl"
	"golang.org/x/sys/unix"
)

// Rule is one policy routing rule as keepalived's virtual_rules /
// static_rules write it.
type Rule struct {
	IPv6       bool
	From, To   netip.Prefix // invalid = all
	Not        bool
	Action     string // "table", "goto", "blackhole", "unreachable", "prohibit"
	Table      uint32
	Goto       uint32
	Preference uint32
	FWMark     uint32
	FWMask     uint32 // 0 = none
	IIF, OIF   string
	Protocol   uint8
}

// String is the rule as "ip rule" would take it, for log lines.
func (r Rule) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d:", r.Preference)
	if r.Not {
		b.WriteString(" not")
	}
	if r.From.IsValid() {
		b.WriteString(" from " + r.From.String())
	}
	if r.To.IsValid() {
		b.WriteString(" to " + r.To.String())
	}
	switch r.Action {
	case "table":
		fmt.Fprintf(&b, " table %d", r.Table)
	case "goto":
		fmt.Fprintf(&b, " goto %d", r.Goto)
	default:
		b.WriteString(" " + r.Action)
	}
	return b.String()
}

var ruleActions = map[string]uint8{"table": unix.FR_ACT_TO_TBL, "goto": unix.FR_ACT_GOTO,
	"blackhole": unix.FR_ACT_BLACKHOLE, "unreachable": unix.FR_ACT_UNREACHABLE, "prohibit": unix.FR_ACT_PROHIBIT}

func (r Rule) nl() (*netlink.Rule, error) {
	act, ok := ruleActions[r.Action]
	if !ok {
		return nil, fmt.Errorf("rule %s: unknown action %q", r, r.Action)
	}
	nr := netlink.NewRule()
	nr.Family, nr.Priority, nr.Type, nr.Invert, nr.Protocol = unix.AF_INET, int(r.Preference), act, r.Not, r.Protocol
	if r.IPv6 {
		nr.Family = unix.AF_INET6
	}
	if r.From.IsValid() {
		nr.Src = ipNet(r.From)
	}
	if r.To.IsValid() {
		nr.Dst = ipNet(r.To)
	}
	switch r.Action {
	case "table":
		nr.Table = int(r.Table)
	case "goto":
		nr.Goto = int(r.Goto)
	}
	nr.Mark = r.FWMark
	if r.FWMask != 0 {
		mask := r.FWMask
		nr.Mask = &mask
	}
	nr.IifName, nr.OifName = r.IIF, r.OIF
	return nr, nil
}

// AddRule installs the rule; the very same rule already there is fine.
func AddRule(r Rule) error { return apply("rule", r, r.nl, netlink.RuleAdd, unix.EEXIST) }

// DelRule removes the rule; a rule already gone is fine.
func DelRule(r Rule) error { return apply("rule", r, r.nl, netlink.RuleDel, unix.ENOENT) }

func netString(n *net.IPNet) string {
	if n == nil {
		return "all"
	}
	return n.String()
}

// HasRule reports whether the rule is in place: same preference,
// selectors and table.
func HasRule(r Rule) (bool, error) {
	nr, err := r.nl()
	if err != nil {
		return false, err
	}
	rules, err := netlink.RuleListFiltered(nr.Family, nr, netlink.RT_FILTER_PRIORITY)
	if err != nil {
		return false, err
	}
	for _, got := range rules {
		if netString(got.Src) == netString(nr.Src) && netString(got.Dst) == netString(nr.Dst) && got.Invert == nr.Invert &&
			(r.Action != "table" || got.Table == nr.Table) {
			return true, nil
		}
	}
	return false, nil
}

// WatchRuleDeletes sends on deleted each time the kernel reports a rule
// deleted, until done is closed, as WatchRouteDeletes.
func WatchRuleDeletes(deleted chan<- struct{}, done <-chan struct{}) error {
	s, err := nl.Subscribe(unix.NETLINK_ROUTE, unix.RTNLGRP_IPV4_RULE, unix.RTNLGRP_IPV6_RULE)
	if err != nil {
		return err
	}
	go func() {
		<-done
		s.Close()
	}()
	go func() {
		for {
			msgs, _, err := s.Receive()
			switch {
			case errors.Is(err, unix.ENOBUFS):
				// Events were lost: a deletion may be among them.
				select {
				case deleted <- struct{}{}:
				default:
				}
				continue
			case err != nil:
				return // closed at done
			}
			for _, m := range msgs {
				if m.Header.Type == unix.RTM_DELRULE {
					select {
					case deleted <- struct{}{}:
					default:
					}
				}
			}
		}
	}()
	return nil
}
