package lvs

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/netip"
	"strings"
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
	rt.mu.Unlock()
	counts := rt.dp.Stats(ds)
	for i := range out {
		for k, a := range addrs[i] {
			c := counts[DestKey{Svc: rt.svcs[i].svc, Addr: a}]
			out[i].Reals[k].Active, out[i].Reals[k].Inactive = c.Active, c.Inactive
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
