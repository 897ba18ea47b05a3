package lvs

import (
	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"
)

// TunTableName is the table holding the TUN datapath's drop rules.
const TunTableName = "dhproxy_lvs_tun"

// tunDrop drops, in prerouting before conntrack (priority raw), the
// packets the TUN datapath forwards: the director holds the VIP and would
// otherwise answer them itself (a SYN-ACK, or a RST).
type tunDrop struct {
	svcs  []*Service
	table *nftables.Table
}

func newTunDrop(svcs []*Service) (*tunDrop, error) {
	d := &tunDrop{svcs: svcs, table: &nftables.Table{Name: TunTableName, Family: nftables.TableFamilyIPv4}}
	d.remove()
	return d, d.create()
}

func (d *tunDrop) create() error {
	c, err := nftables.New()
	if err != nil {
		return err
	}
	c.AddTable(d.table)
	prio := nftables.ChainPriorityRaw
	ch := c.AddChain(&nftables.Chain{Name: "prerouting", Table: d.table, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookPrerouting, Priority: prio})
	for _, s := range d.svcs {
		proto := byte(unix.IPPROTO_TCP)
		if s.Protocol == "udp" {
			proto = unix.IPPROTO_UDP
		}
		for _, m := range s.Match {
			e := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4}}
			if m.First == m.Last {
				e = append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: m.First.AsSlice()})
			} else {
				e = append(e, &expr.Range{Op: expr.CmpOpEq, Register: 1, FromData: m.First.AsSlice(), ToData: m.Last.AsSlice()})
			}
			e = append(e,
				&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{proto}})
			if m.Port != 0 {
				e = append(e,
					&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
					&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.BigEndian.PutUint16(m.Port)})
			}
			c.AddRule(&nftables.Rule{Table: d.table, Chain: ch, Exprs: append(e, &expr.Counter{}, &expr.Verdict{Kind: expr.VerdictDrop})})
		}
	}
	return c.Flush()
}

// remove deletes the table, ignoring its absence.
func (d *tunDrop) remove() {
	c, err := nftables.New()
	if err != nil {
		return
	}
	c.AddTable(d.table)
	c.DelTable(d.table)
	c.Flush()
}

// maintain puts the table back when someone else removed it (a firewall
// reload running `nft flush ruleset`): without it the director would
// answer the clients itself.
func (d *tunDrop) maintain(logf func(string)) {
	c, err := nftables.New()
	if err != nil {
		return
	}
	if _, err := c.ListTableOfFamily(d.table.Name, d.table.Family); err == nil {
		return
	}
	logf("nftables table ip " + TunTableName + " was removed by someone else; putting it back")
	if err := d.create(); err != nil {
		logf("nftables table ip " + TunTableName + ": " + err.Error())
	}
}

func (d *tunDrop) close() error {
	d.remove()
	return nil
}
