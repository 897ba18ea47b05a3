package lvs

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// ServiceStats is one virtual service as the statistics ("show stat",
// Prometheus) report it: a backend named after the service, with a server
// per real server and the sorry server as a backup one.
type ServiceStats struct {
	Name     string `json:"name"` // keepalived's: [10.0.0.100]:tcp:80
	Protocol string `json:"protocol"`
	Sched    string `json:"sched"`
	Method   string `json:"method"`
	// Serving: some destination takes new clients. LastChange and
	// Downtime (seconds) and Downs follow it, as a backend's lastchg,
	// downtime and chkdown do.
	Serving    bool        `json:"serving"`
	LastChange int64       `json:"lastchg"`
	Downtime   int64       `json:"downtime"`
	Downs      int64       `json:"downs"`
	Reals      []RealStats `json:"reals"`
}

// RealStats is one real server (or the sorry server).
type RealStats struct {
	Name  string `json:"name"` // [10.0.0.2]:tcp:80
	Addr  string `json:"addr"` // 10.0.0.2:80
	Sorry bool   `json:"sorry,omitempty"`
	// Alive: passes its checks (always, without checkers). Weight is
	// what the datapath gives it now: 0 when down and inhibited, out of
	// the pool, or replaced by the sorry server. UserWeight is
	// keepalived's weight for it: configured, or misc_dynamic's.
	Alive      bool  `json:"alive"`
	Weight     int   `json:"weight"`
	UserWeight int   `json:"uweight"`
	Active     int64 `json:"active"`   // ActiveConn
	Inactive   int64 `json:"inactive"` // InActConn
	// LastChange: seconds since it last went up or down; Downtime:
	// seconds spent down; Chkfail: failed checks while up; Chkdown:
	// up to down transitions.
	LastChange int64       `json:"lastchg"`
	Downtime   int64       `json:"downtime"`
	Chkfail    int64       `json:"chkfail"`
	Chkdown    int64       `json:"chkdown"`
	Check      *CheckStats `json:"check,omitempty"` // nil without checkers
	// Traffic is what the datapath forwarded to it since start; nil
	// when the datapath counts nothing.
	Traffic *Traffic `json:"traffic,omitempty"`
}

// Traffic counts what a datapath sent to one destination: connections
// scheduled to it (new connections, as IPVS' Conns), packets and bytes
// from the clients (in) and, where replies pass the director (NAT and the
// userspace proxy; not DR or TUN), from the destination back (out).
type Traffic struct {
	Conns    int64 `json:"conns"`
	InPkts   int64 `json:"inpkts"`
	OutPkts  int64 `json:"outpkts"`
	InBytes  int64 `json:"inbytes"`
	OutBytes int64 `json:"outbytes"`
	Replies  bool  `json:"replies"` // OutPkts and OutBytes are counted
}

func (t Traffic) plus(o Traffic) Traffic {
	return Traffic{Conns: t.Conns + o.Conns, InPkts: t.InPkts + o.InPkts, OutPkts: t.OutPkts + o.OutPkts,
		InBytes: t.InBytes + o.InBytes, OutBytes: t.OutBytes + o.OutBytes, Replies: t.Replies || o.Replies}
}

// below says whether a counter of t is lower than o's: the datapath
// started counting again (nftables tables re-created, an IPVS
// destination removed and added back).
func (t Traffic) below(o Traffic) bool {
	return t.Conns < o.Conns || t.InPkts < o.InPkts || t.OutPkts < o.OutPkts || t.InBytes < o.InBytes || t.OutBytes < o.OutBytes
}

// trafficCounters are a destination's counters in a userspace datapath
// (the proxy, TUN), kept for every real and sorry server from the start
// so that a server leaving and coming back keeps counting.
type trafficCounters struct {
	conns, inPkts, outPkts, inBytes, outBytes atomic.Int64
}

type trafficCounterMap map[netip.AddrPort]*trafficCounters

func newTrafficCounters(s *Service) trafficCounterMap {
	m := trafficCounterMap{}
	for _, r := range s.Reals {
		m[r.Addr] = &trafficCounters{}
	}
	if s.Sorry != nil {
		m[s.Sorry.Addr] = &trafficCounters{}
	}
	return m
}

// of returns the counters of a; an address outside the configuration
// (a test's) counts apart, unreported.
func (m trafficCounterMap) of(a netip.AddrPort) *trafficCounters {
	if c := m[a]; c != nil {
		return c
	}
	return &trafficCounters{}
}

// read copies the counters of s into out; replies says whether the
// datapath sees them.
func (m trafficCounterMap) read(s *Service, replies bool, out map[DestKey]DestStats) {
	for a, c := range m {
		k := DestKey{Svc: s, Addr: a}
		st := out[k]
		st.Traffic = &Traffic{Conns: c.conns.Load(), InPkts: c.inPkts.Load(), OutPkts: c.outPkts.Load(),
			InBytes: c.inBytes.Load(), OutBytes: c.outBytes.Load(), Replies: replies}
		out[k] = st
	}
}

// trafficTotals keeps each destination's counters from going backwards
// or vanishing: a datapath that restarted counting adds to what it had
// counted, and a destination out of the datapath (down, not inhibited)
// keeps its last values.
type trafficTotals struct {
	mu sync.Mutex
	m  map[DestKey]*trafficTotal
}

type trafficTotal struct{ base, last Traffic }

// merge folds the datapath's raw counters into the totals and returns
// the counters of every destination of every service, with totals.
func (tt *trafficTotals) merge(raw map[DestKey]DestStats, keys []DestKey) map[DestKey]DestStats {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	if tt.m == nil {
		tt.m = map[DestKey]*trafficTotal{}
	}
	out := make(map[DestKey]DestStats, len(keys))
	for _, k := range keys {
		st := raw[k]
		tot := tt.m[k]
		if st.Traffic != nil {
			if tot == nil {
				tot = &trafficTotal{}
				tt.m[k] = tot
			}
			if st.Traffic.below(tot.last) {
				tot.base = tot.base.plus(tot.last)
			}
			tot.last = *st.Traffic
		}
		if tot != nil {
			v := tot.base.plus(tot.last)
			st.Traffic = &v
		}
		out[k] = st
	}
	return out
}

// destStats reads the datapath's counters for ds, with the traffic
// totals of every real and sorry server of the runtime's services.
func (rt *Runtime) destStats(ds []Desired) map[DestKey]DestStats {
	rt.mu.Lock()
	var keys []DestKey
	for _, ss := range rt.svcs {
		for _, r := range ss.svc.Reals {
			keys = append(keys, DestKey{Svc: ss.svc, Addr: r.Addr})
		}
		if r := ss.svc.Sorry; r != nil {
			keys = append(keys, DestKey{Svc: ss.svc, Addr: r.Addr})
		}
	}
	dp := rt.dp
	rt.mu.Unlock()
	return rt.traffic.merge(dp.Stats(ds), keys)
}

// CheckStats is a real server's latest check in HAProxy's words. With
// several checkers, it is the first one failing, else the first one.
// keepalived's retry rule maps onto HAProxy's rise/fall: rise 1, fall
// retry+1, health counting down the retries left.
type CheckStats struct {
	Status     string `json:"status"` // INI before the first, then L4OK, L4CON, L7STS, PROCERR...
	Desc       string `json:"desc"`
	Code       int    `json:"code,omitempty"`
	DurationMS int64  `json:"duration_ms"` // -1 before the first
	Info       string `json:"info,omitempty"`
	Rise       int    `json:"rise"`
	Fall       int    `json:"fall"`
	Health     int    `json:"health"`
}

// checkDesc is HAProxy's description of each check status.
var checkDesc = map[string]string{
	"INI": "Initializing", "UNK": "Unknown", "SOCKERR": "Socket error",
	"L4OK": "Layer4 check passed", "L4TOUT": "Layer4 timeout", "L4CON": "Layer4 connection problem",
	"L6TOUT": "Layer6 timeout", "L6RSP": "Layer6 invalid response",
	"L7TOUT": "Layer7 timeout", "L7RSP": "Layer7 invalid response", "L7OK": "Layer7 check passed", "L7STS": "Layer7 wrong status",
	"PROCERR": "External check error", "PROCTOUT": "External check timeout", "PROCOK": "External check passed",
}

// realCounters is what the statistics keep about a real server beyond
// its state, updated under Runtime.mu.
type realCounters struct {
	since            time.Time     // the last change of alive
	downtime         time.Duration // time down before since
	chkfail, chkdown int64
	checks           []checkReport // per checker, its latest probe
}

// checkReport is a checker's state copied out of its goroutine.
type checkReport struct {
	res              result
	dur              time.Duration
	up, hasRun       bool
	retryIt, retries int
}

// svcCounters follows whether a service has a destination for new clients.
type svcCounters struct {
	serving  bool
	since    time.Time
	downtime time.Duration
	downs    int64
}

// initStats starts the counters at now.
func (rt *Runtime) initStats(now time.Time) {
	for i, d := range rt.desiredLocked() {
		ss := rt.svcs[i]
		ss.st = svcCounters{serving: serving(d), since: now}
		for _, rs := range ss.reals {
			rs.st = realCounters{since: now, checks: make([]checkReport, len(rs.checkers))}
			for k, ck := range rs.checkers {
				rs.st.checks[k] = checkReport{up: ck.up, retries: ck.conf.Retry}
			}
		}
	}
}

func serving(d Desired) bool {
	for _, dst := range d.Dests {
		if dst.Weight > 0 {
			return true
		}
	}
	return false
}

// noteAlive records that rs just went up or down.
func (rs *realState) noteAlive(now time.Time) {
	if rs.alive {
		rs.st.downtime += now.Sub(rs.st.since)
	} else {
		rs.st.chkdown++
	}
	rs.st.since = now
}

// noteServing records the services gaining or losing their last
// destination in the state just programmed.
func (rt *Runtime) noteServing(ds []Desired, now time.Time) {
	for i, d := range ds {
		st := &rt.svcs[i].st
		if on := serving(d); on != st.serving {
			if on {
				st.downtime += now.Sub(st.since)
			} else {
				st.downs++
			}
			st.serving, st.since = on, now
		}
	}
}

// noteCheck copies the checker's latest probe; it runs on the checker's
// goroutine, after step and before the transition is applied.
func (rt *Runtime) noteCheck(rs *realState, ck *checker) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if !ck.last.ok && rs.alive {
		rs.st.chkfail++
	}
	for k, c := range rs.checkers {
		if c == ck {
			rs.st.checks[k] = checkReport{res: ck.last, dur: ck.lastDur, up: ck.up, hasRun: ck.hasRun, retryIt: ck.retryIt, retries: ck.conf.Retry}
		}
	}
}

// Snapshot reports every service and its real servers with their
// connection counts; it is built when asked, off the datapath.
func (rt *Runtime) Snapshot() []ServiceStats {
	rt.mu.Lock()
	now := time.Now()
	ds := rt.desiredLocked()
	out := make([]ServiceStats, len(rt.svcs))
	addrs := make([][]netip.AddrPort, len(rt.svcs))
	for i, ss := range rt.svcs {
		s := ss.svc
		weights := map[netip.AddrPort]int{}
		for _, dst := range ds[i].Dests {
			weights[dst.Addr] = dst.Weight
		}
		st := ss.st
		down := st.downtime
		if !st.serving {
			down += now.Sub(st.since)
		}
		svc := ServiceStats{Name: s.Name, Protocol: s.Protocol, Sched: s.Sched, Method: s.Method,
			Serving: st.serving, LastChange: seconds(now.Sub(st.since)), Downtime: seconds(down), Downs: st.downs}
		for _, rs := range ss.reals {
			r := RealStats{Name: rs.real.Name, Addr: rs.real.Addr.String(), Alive: rs.alive,
				Weight: weights[rs.real.Addr], UserWeight: rs.weight,
				LastChange: seconds(now.Sub(rs.st.since)), Chkfail: rs.st.chkfail, Chkdown: rs.st.chkdown}
			down := rs.st.downtime
			if !rs.alive {
				down += now.Sub(rs.st.since)
			}
			r.Downtime = seconds(down)
			r.Check = reportCheck(rs.st.checks)
			svc.Reals = append(svc.Reals, r)
			addrs[i] = append(addrs[i], rs.real.Addr)
		}
		if sorry := s.Sorry; sorry != nil {
			svc.Reals = append(svc.Reals, RealStats{Name: sorry.Name, Addr: sorry.Addr.String(), Sorry: true, Alive: true,
				Weight: weights[sorry.Addr], UserWeight: sorry.Weight, LastChange: seconds(now.Sub(st.since))})
			addrs[i] = append(addrs[i], sorry.Addr)
		}
		out[i] = svc
	}
	svcs := make([]*Service, len(rt.svcs))
	for i, ss := range rt.svcs {
		svcs[i] = ss.svc
	}
	rt.mu.Unlock()
	counts := rt.destStats(ds)
	for i := range out {
		for k, a := range addrs[i] {
			c := counts[DestKey{Svc: svcs[i], Addr: a}]
			out[i].Reals[k].Active, out[i].Reals[k].Inactive, out[i].Reals[k].Traffic = c.Active, c.Inactive, c.Traffic
		}
	}
	return out
}

func seconds(d time.Duration) int64 { return int64(d / time.Second) }

// reportCheck picks the checker to show: the first failing, else the
// first retrying, else the first.
func reportCheck(checks []checkReport) *CheckStats {
	if len(checks) == 0 {
		return nil
	}
	pick := 0
	for k, c := range checks {
		if c.hasRun && !c.up {
			pick = k
			break
		}
		if c.retryIt > 0 && checks[pick].retryIt == 0 {
			pick = k
		}
	}
	c := checks[pick]
	fall := c.retries + 1
	cs := &CheckStats{Status: "INI", DurationMS: -1, Rise: 1, Fall: fall}
	if c.up {
		cs.Health = fall - c.retryIt
	}
	if c.hasRun || c.retryIt > 0 {
		cs.Status, cs.Code, cs.Info = c.res.status, c.res.code, checkInfo(c.res)
		cs.DurationMS = c.dur.Milliseconds()
	}
	cs.Desc = checkDesc[cs.Status]
	return cs
}

// checkInfo is the last_chk text: HAProxy's short reason for a failed
// connection ("Connection refused"), else keepalived's detail.
func checkInfo(r result) string {
	if r.ok {
		return ""
	}
	if r.err != nil {
		var errno syscall.Errno
		if errors.As(r.err, &errno) {
			s := errno.Error()
			return strings.ToUpper(s[:1]) + s[1:]
		}
	}
	return r.detail
}

// WriteStats writes the snapshot as JSON: the control socket's "stats".
func WriteStats(w io.Writer, rt *Runtime) error {
	return json.NewEncoder(w).Encode(rt.Snapshot())
}

// QueryStats asks the process running virtual servers behind the control
// socket at path for its snapshot.
func QueryStats(path string) ([]ServiceStats, error) {
	var b bytes.Buffer
	if err := Query(path, "stats", &b); err != nil {
		return nil, err
	}
	var out []ServiceStats
	if err := json.Unmarshal(b.Bytes(), &out); err != nil {
		return nil, errors.New(path + ": bad stats answer: " + strings.TrimSpace(b.String()))
	}
	return out, nil
}

// rekey moves the totals of a service's destinations to the service that
// takes its place in a reload: a datapath that starts counting afresh adds
// to them.
func (tt *trafficTotals) rekey(from, to *Service) {
	tt.mu.Lock()
	defer tt.mu.Unlock()
	for k, v := range tt.m {
		if k.Svc == from {
			delete(tt.m, k)
			tt.m[DestKey{Svc: to, Addr: k.Addr}] = v
		}
	}
}
