package stats

import (
	"strconv"
	"time"

	"dhproxy/internal/lvs"
)

// The virtual servers (keepalived's virtual_server blocks run by dhproxy)
// are proxies of the statistics too, after the haproxy ones: a BACKEND
// row per service named as keepalived names it ([10.0.0.100]:tcp:80), a
// server row per real server ([10.0.0.2]:tcp:80) and the sorry server as
// a backup server. They have no frontend row: no socket listens. A column
// is filled where the datapath or the checkers know its value; the rest
// stay empty. Traffic: stot and lbtot are the connections scheduled to a
// real server (IPVS' Conns), bin and bout the bytes of the packets from
// the clients and back (IP headers included; payload only on the
// userspace datapath).

// virtualRows numbers the services' rows from iid on.
func virtualRows(svcs []lvs.ServiceStats, iid int, now time.Time) []Row {
	var rows []Row
	for i := range svcs {
		s := &svcs[i]
		for k := range s.Reals {
			rows = append(rows, Row{Kind: Server, Virtual: s, Real: &s.Reals[k], IID: iid + i, SID: k + 1, Now: now})
		}
		rows = append(rows, Row{Kind: Backend, Virtual: s, IID: iid + i, Now: now})
	}
	return rows
}

// virtualState is a real server's display state: "no check" without
// checkers (the sorry server never has any), else as its checks say.
func virtualState(r *lvs.RealStats) State {
	switch {
	case r.Check == nil:
		return StateNoCheck
	case !r.Alive:
		return StateDown
	case r.Check.Health < r.Check.Rise+r.Check.Fall-1:
		return StateUpGoingDown
	}
	return StateUp
}

func virtualStatus(r *lvs.RealStats) string {
	switch virtualState(r) {
	case StateNoCheck:
		return "no check"
	case StateDown:
		return "DOWN"
	case StateUpGoingDown:
		return "UP " + strconv.Itoa(r.Check.Health-r.Check.Rise+1) + "/" + strconv.Itoa(r.Check.Fall)
	}
	return "UP"
}

// virtualSum adds f over the real servers of r's service.
func virtualSum(r *Row, f func(*lvs.RealStats) int64) int64 {
	var n int64
	for i := range r.Virtual.Reals {
		n += f(&r.Virtual.Reals[i])
	}
	return n
}

// virtualTraffic reads a traffic counter: the server's, or the sum of
// the backend's servers. Empty where the datapath does not count it (the
// replies of DR and TUN bypass the director).
func virtualTraffic(f func(*lvs.Traffic) (int64, bool)) func(*Row) Value {
	return func(r *Row) Value {
		reals := r.Virtual.Reals
		if r.Kind == Server {
			reals = []lvs.RealStats{*r.Real}
		}
		var sum int64
		counted := false
		for i := range reals {
			if t := reals[i].Traffic; t != nil {
				if v, ok := f(t); ok {
					sum += v
					counted = true
				}
			}
		}
		if !counted {
			return Value{}
		}
		return num(sum)
	}
}

// virtualChecked wraps a getter of the check columns: empty on a server
// without checkers.
func virtualChecked(f func(r *lvs.RealStats, c *lvs.CheckStats) Value) func(*Row) Value {
	return func(r *Row) Value {
		if r.Real.Check == nil {
			return Value{}
		}
		return f(r.Real, r.Real.Check)
	}
}

// virtualColumns reads the columns of virtual server rows, by column
// name; a column missing here is empty on them. Rows kinds the column
// does not apply to are filtered before (Column.Value).
var virtualColumns = map[string]func(r *Row) Value{
	"pxname": func(r *Row) Value { return str(r.Virtual.Name) },
	"svname": func(r *Row) Value { return str(r.SvName()) },
	"scur": func(r *Row) Value {
		if r.Kind == Server {
			return num(r.Real.Active)
		}
		return num(virtualSum(r, func(rs *lvs.RealStats) int64 { return rs.Active }))
	},
	"status": func(r *Row) Value {
		if r.Kind == Server {
			return str(virtualStatus(r.Real))
		}
		if r.Virtual.Serving {
			return str("UP")
		}
		return str("DOWN")
	},
	"weight": func(r *Row) Value {
		if r.Kind == Server {
			return num(int64(r.Real.Weight))
		}
		return num(virtualSum(r, func(rs *lvs.RealStats) int64 { return int64(rs.Weight) }))
	},
	"uweight": func(r *Row) Value {
		if r.Kind == Server {
			return num(int64(r.Real.UserWeight))
		}
		return num(virtualSum(r, func(rs *lvs.RealStats) int64 {
			if rs.Weight == 0 {
				return 0
			}
			return int64(rs.UserWeight)
		}))
	},
	"act": func(r *Row) Value {
		if r.Kind == Server {
			return num(b2i(!r.Real.Sorry))
		}
		return num(virtualSum(r, func(rs *lvs.RealStats) int64 { return b2i(!rs.Sorry && rs.Alive && rs.Weight > 0) }))
	},
	"bck": func(r *Row) Value {
		if r.Kind == Server {
			return num(b2i(r.Real.Sorry))
		}
		return num(virtualSum(r, func(rs *lvs.RealStats) int64 { return b2i(rs.Sorry && rs.Weight > 0) }))
	},
	"chkfail": virtualChecked(func(r *lvs.RealStats, _ *lvs.CheckStats) Value { return num(r.Chkfail) }),
	"chkdown": func(r *Row) Value {
		if r.Kind == Backend {
			return num(r.Virtual.Downs)
		}
		return virtualChecked(func(r *lvs.RealStats, _ *lvs.CheckStats) Value { return num(r.Chkdown) })(r)
	},
	"lastchg": func(r *Row) Value {
		if r.Kind == Backend {
			return num(r.Virtual.LastChange)
		}
		return num(r.Real.LastChange)
	},
	"downtime": func(r *Row) Value {
		if r.Kind == Backend {
			return num(r.Virtual.Downtime)
		}
		return virtualChecked(func(r *lvs.RealStats, _ *lvs.CheckStats) Value { return num(r.Downtime) })(r)
	},
	"stot":  virtualTraffic(func(t *lvs.Traffic) (int64, bool) { return t.Conns, true }),
	"lbtot": virtualTraffic(func(t *lvs.Traffic) (int64, bool) { return t.Conns, true }),
	"bin":   virtualTraffic(func(t *lvs.Traffic) (int64, bool) { return t.InBytes, true }),
	"bout":  virtualTraffic(func(t *lvs.Traffic) (int64, bool) { return t.OutBytes, t.Replies }),
	"pid":   func(*Row) Value { return num(1) },
	"iid":   func(r *Row) Value { return num(int64(r.IID)) },
	"sid":   func(r *Row) Value { return num(int64(r.SID)) },
	"type":  func(r *Row) Value { return num(map[byte]int64{Backend: 1, Server: 2}[r.Kind]) },
	"check_status": virtualChecked(func(_ *lvs.RealStats, c *lvs.CheckStats) Value {
		return str(c.Status)
	}),
	"check_code": virtualChecked(func(_ *lvs.RealStats, c *lvs.CheckStats) Value {
		if c.Code == 0 {
			return Value{}
		}
		return num(int64(c.Code))
	}),
	"check_duration": virtualChecked(func(_ *lvs.RealStats, c *lvs.CheckStats) Value {
		if c.DurationMS < 0 {
			return Value{}
		}
		return num(c.DurationMS)
	}),
	"last_chk":     virtualChecked(func(_ *lvs.RealStats, c *lvs.CheckStats) Value { return str(c.Info) }),
	"check_desc":   virtualChecked(func(_ *lvs.RealStats, c *lvs.CheckStats) Value { return str(c.Desc) }),
	"check_rise":   virtualChecked(func(_ *lvs.RealStats, c *lvs.CheckStats) Value { return num(int64(c.Rise)) }),
	"check_fall":   virtualChecked(func(_ *lvs.RealStats, c *lvs.CheckStats) Value { return num(int64(c.Fall)) }),
	"check_health": virtualChecked(func(_ *lvs.RealStats, c *lvs.CheckStats) Value { return num(int64(c.Health)) }),
	"addr":         func(r *Row) Value { return str(r.Real.Addr) },
	"mode":         func(r *Row) Value { return str(r.Virtual.Protocol) },
	"algo":         func(r *Row) Value { return str(r.Virtual.Sched) },
	"agg_server_status": func(r *Row) Value {
		return num(b2i(!r.Virtual.Serving))
	},
	"agg_server_check_status": func(r *Row) Value {
		return num(b2i(!r.Virtual.Serving))
	},
	"agg_check_status": func(r *Row) Value {
		checked, alive := false, false
		for _, rs := range r.Virtual.Reals {
			if rs.Check != nil {
				checked = true
				alive = alive || rs.Alive
			}
		}
		return num(b2i(checked && !alive))
	},
}
