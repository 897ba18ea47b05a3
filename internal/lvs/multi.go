package lvs

import (
	"errors"
	"strings"
)

// multi runs services on several datapaths at once: lb_kind TUN services
// on the TUN datapath, the others on nftables or userspace. Each part
// sees only its own services.
type multi struct {
	parts []multiPart
}

type multiPart struct {
	dp   Dataplane
	svcs map[*Service]bool
}

func newMulti() *multi { return &multi{} }

// add hands svcs to dp.
func (m *multi) add(dp Dataplane, svcs []*Service) {
	p := multiPart{dp: dp, svcs: map[*Service]bool{}}
	for _, s := range svcs {
		p.svcs[s] = true
	}
	m.parts = append(m.parts, p)
}

// Name joins the parts' names: "nftables+tun".
func (m *multi) Name() string {
	names := make([]string, len(m.parts))
	for i, p := range m.parts {
		names[i] = p.dp.Name()
	}
	return strings.Join(names, "+")
}

func (p multiPart) own(ds []Desired) []Desired {
	var out []Desired
	for _, d := range ds {
		if p.svcs[d.Svc] {
			out = append(out, d)
		}
	}
	return out
}

func (m *multi) Apply(ds []Desired) error {
	var errs []error
	for _, p := range m.parts {
		errs = append(errs, p.dp.Apply(p.own(ds)))
	}
	return errors.Join(errs...)
}

func (m *multi) Stats(ds []Desired) map[DestKey]DestStats {
	out := map[DestKey]DestStats{}
	for _, p := range m.parts {
		for k, v := range p.dp.Stats(p.own(ds)) {
			out[k] = v
		}
	}
	return out
}

func (m *multi) Close() error {
	var errs []error
	for _, p := range m.parts {
		errs = append(errs, p.dp.Close())
	}
	return errors.Join(errs...)
}
