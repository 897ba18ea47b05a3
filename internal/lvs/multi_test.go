package lvs

import (
	"net/netip"
	"testing"
)

// recordingDP remembers what it was asked to program.
type recordingDP struct {
	name    string
	applied []Desired
	closed  bool
}

func (r *recordingDP) Name() string             { return r.name }
func (r *recordingDP) Apply(ds []Desired) error { r.applied = ds; return nil }
func (r *recordingDP) Close() error             { r.closed = true; return nil }
func (r *recordingDP) Stats(ds []Desired) map[DestKey]DestStats {
	out := map[DestKey]DestStats{}
	for _, d := range ds {
		for _, dst := range d.Dests {
			out[DestKey{Svc: d.Svc, Addr: dst.Addr}] = DestStats{Active: 1}
		}
	}
	return out
}

func TestMultiRoutesServices(t *testing.T) {
	nat := &Service{Name: "nat", Method: "NAT"}
	tun := &Service{Name: "tun", Method: "TUN"}
	a, b := &recordingDP{name: "nftables"}, &recordingDP{name: "tun"}
	m := newMulti()
	m.add(a, []*Service{nat})
	m.add(b, []*Service{tun})
	if m.Name() != "nftables+tun" {
		t.Fatalf("name %q", m.Name())
	}
	rs := netip.MustParseAddrPort("10.0.0.3:80")
	ds := []Desired{{Svc: nat, Dests: []Dest{{Addr: rs, Weight: 1}}}, {Svc: tun, Dests: []Dest{{Addr: rs, Weight: 1}}}}
	if err := m.Apply(ds); err != nil {
		t.Fatal(err)
	}
	if len(a.applied) != 1 || a.applied[0].Svc != nat || len(b.applied) != 1 || b.applied[0].Svc != tun {
		t.Fatalf("each datapath sees its own services: %v / %v", a.applied, b.applied)
	}
	st := m.Stats(ds)
	if len(st) != 2 || st[DestKey{Svc: tun, Addr: rs}].Active != 1 {
		t.Fatalf("stats %v", st)
	}
	m.Close()
	if !a.closed || !b.closed {
		t.Fatal("not every datapath closed")
	}
}
