package stats

import (
	"strconv"
	"time"

	"dhproxy/internal/backend"
	"dhproxy/internal/check"
	"dhproxy/internal/lb"
	"dhproxy/internal/model"
	"dhproxy/internal/stream"
)

// Value is one cell: empty (the column does not apply), a number or a
// string.
type Value struct {
	Kind byte // 0 empty, 'n' number, 's' string
	N    int64
	S    string
}

func num(n int64) Value     { return Value{Kind: 'n', N: n} }
func str(s string) Value    { return Value{Kind: 's', S: s} }
func (v Value) Empty() bool { return v.Kind == 0 }

// String is the CSV form of v.
func (v Value) String() string {
	switch v.Kind {
	case 'n':
		return strconv.FormatInt(v.N, 10)
	case 's':
		return csvQuote(v.S)
	}
	return ""
}

// Column is one statistics field: its name and position (the table's
// order, HAProxy 2.6's), its typed-output tags and type, the kinds of row
// it applies to, and how to read it. Every output walks this table.
type Column struct {
	Name string
	Tags string // origin, nature, scope as "show stat typed" prints them
	Type string // u32, u64, s32, str
	Rows string // the row kinds it applies to: some of "FBS"
	Get  func(r *Row) Value
}

// Applies tells whether the column has a value on rows of r's kind.
func (c *Column) Applies(r *Row) bool {
	for i := 0; i < len(c.Rows); i++ {
		if c.Rows[i] == r.Kind {
			return true
		}
	}
	return false
}

// Value reads the column on r, empty when it does not apply.
func (c *Column) Value(r *Row) Value {
	if !c.Applies(r) {
		return Value{}
	}
	if r.Virtual != nil {
		if get := virtualColumns[c.Name]; get != nil {
			return get(r)
		}
		return Value{}
	}
	if c.Get == nil {
		return Value{}
	}
	return c.Get(r)
}

// Getters over the counters, kept short so the table reads as a table.
func ctr(f func(c *stream.Counters) int64) func(*Row) Value {
	return func(r *Row) Value { return num(f(r.Counters())) }
}

// zero is a counter dhproxy has, but nothing it does yet increments
// (denials, compression, cache): HAProxy prints 0, not an empty field.
func zero(*Row) Value { return num(0) }

// timeAvg reads a moving average of the request times, over a window of
// the requests (HTTP) or balanced connections (TCP, lbtot) counted so far,
// up to 1024, as haproxy divides.
func timeAvg(i int) func(*Row) Value {
	return func(r *Row) Value {
		c := r.Counters()
		samples := c.LBTot.Load()
		if r.P.Mode == model.ModeHTTP {
			samples = c.ReqTot.Load()
		}
		return num(c.TimeAvg(i, samples))
	}
}

func hrsp(i int) func(*Row) Value {
	return func(r *Row) Value {
		if r.P.Mode != model.ModeHTTP {
			return num(0)
		}
		return num(r.Counters().Hrsp[i].Load())
	}
}

// checked wraps a getter of the check columns: empty for a server without
// a check or before its first result.
func checked(f func(r *Row, c *stream.CheckState) Value) func(*Row) Value {
	return func(r *Row) Value {
		if !r.Srv.Conf.Check {
			return Value{}
		}
		return f(r, checkOf(r.Srv))
	}
}

// checkRunning wraps the getters of the last check's result: empty also
// while the server is in maintenance, where haproxy pauses its checks.
func checkRunning(f func(r *Row, c *stream.CheckState) Value) func(*Row) Value {
	get := checked(f)
	return func(r *Row) Value {
		if r.Srv.AdminState()&(backend.AdminMaint|backend.AdminConfigMaint|backend.AdminResolvMaint) != 0 {
			return Value{}
		}
		return get(r)
	}
}

// agentRunning wraps the getters of the agent check's columns: empty for
// a server without "agent-check" and while "disable agent" pauses it.
func agentRunning(f func(c *stream.CheckState) Value) func(*Row) Value {
	return func(r *Row) Value {
		if !r.Srv.Conf.Health.Agent || r.Srv.CheckPaused(true) {
			return Value{}
		}
		c := r.Srv.Agent()
		if c == nil {
			// haproxy prints the agent's duration, 0, before its first result
			c = &stream.CheckState{Status: "INI", Desc: check.StatusINI.Description(), Rise: check.AgentRise, Fall: check.AgentFall, Health: check.AgentRise}
		}
		return f(c)
	}
}

// inProgress is a check's status, marked "* " while a check runs, as
// haproxy's.
func inProgress(r *Row, agent bool, status string) Value {
	if r.Srv.CheckInProgress(agent) {
		return str("* " + status)
	}
	return str(status)
}

func secondsSince(now, t time.Time) int64 { return int64(now.Sub(t) / time.Second) }

// Columns is the table: "show stat" columns 0 to 102, as haproxy 2.6.
var Columns = []Column{
	{"pxname", "KNS", "str", "FLBS", func(r *Row) Value { return str(r.P.Name) }},
	{"svname", "KNS", "str", "FLBS", func(r *Row) Value { return str(r.SvName()) }},
	{"qcur", "MGP", "u32", "BS", func(r *Row) Value {
		if r.Kind == Server {
			return num(int64(r.Srv.QueueLen()))
		}
		return num(int64(r.BE.QueueLen()))
	}},
	{"qmax", "MMP", "u32", "BS", ctr(func(c *stream.Counters) int64 { return int64(c.Qmax.Load()) })},
	{"scur", "MGP", "u32", "FLBS", func(r *Row) Value {
		switch r.Kind {
		case Frontend:
			return num(int64(r.FE.Cur()))
		case Listener:
			return num(int64(r.Ln.Cur()))
		case Backend:
			return num(int64(r.BE.Cur()))
		}
		return num(int64(r.Srv.Cur()))
	}},
	{"smax", "MMP", "u32", "FLBS", ctr(func(c *stream.Counters) int64 { return int64(c.Smax.Load()) })},
	{"slim", "CLP", "u32", "FLBS", func(r *Row) Value {
		switch r.Kind {
		case Listener:
			return num(int64(r.Ln.Maxconn))
		case Frontend:
			if r.FE.Maxconn() > 0 {
				return num(int64(r.FE.Maxconn()))
			}
		case Backend:
			return num(int64(r.BE.Fullconn()))
		case Server:
			if n := r.Srv.Maxconn(); n > 0 {
				return num(int64(n))
			}
		}
		return Value{}
	}},
	{"stot", "MCP", "u64", "FLBS", ctr(func(c *stream.Counters) int64 { return c.Stot.Load() })},
	{"bin", "MCP", "u64", "FLBS", ctr(func(c *stream.Counters) int64 { return c.Bin.Load() })},
	{"bout", "MCP", "u64", "FLBS", ctr(func(c *stream.Counters) int64 { return c.Bout.Load() })},
	{"dreq", "MCP", "u64", "FLB", ctr(func(c *stream.Counters) int64 { return c.Dreq.Load() })},
	{"dresp", "MCP", "u64", "FLBS", ctr(func(c *stream.Counters) int64 { return c.Dresp.Load() })},
	{"ereq", "MCP", "u64", "FL", ctr(func(c *stream.Counters) int64 { return c.Ereq.Load() })},
	{"econ", "MCP", "u64", "BS", ctr(func(c *stream.Counters) int64 { return c.Econ.Load() })},
	{"eresp", "MCP", "u64", "BS", ctr(func(c *stream.Counters) int64 { return c.Eresp.Load() })},
	{"wretr", "MCP", "u64", "BS", ctr(func(c *stream.Counters) int64 { return c.Wretr.Load() })},
	{"wredis", "MCP", "u64", "BS", ctr(func(c *stream.Counters) int64 { return c.Wredis.Load() })},
	{"status", "SGP", "str", "FLBS", func(r *Row) Value {
		switch r.Kind {
		case Frontend, Listener:
			if r.FE.Paused() {
				return str("PAUSED")
			}
			return str("OPEN")
		case Backend:
			st := "DOWN"
			if a, b := r.BE.Usable(); a+b > 0 || len(r.BE.ServerList()) == 0 { // no server at all: UP, as haproxy's
				st = "UP"
			}
			if r.UpCount {
				up := 0
				for _, s := range r.BE.ServerList() {
					if s.Up() && s.AdminState()&(backend.AdminMaint|backend.AdminConfigMaint) == 0 {
						up++
					}
				}
				st += " (" + strconv.Itoa(up) + "/" + strconv.Itoa(len(r.BE.ServerList())) + ")"
			}
			return str(st)
		}
		return str(statusText(r.Srv))
	}},
	{"weight", "MaP", "u32", "BS", func(r *Row) Value {
		if r.Kind == Backend {
			return num(int64(backendWeight(r.BE)))
		}
		return num(int64(r.Srv.ShownWeight() / lb.WeightScale))
	}},
	{"act", "SGP", "u32", "BS", func(r *Row) Value {
		if r.Kind == Backend {
			a, _ := r.BE.Usable()
			return num(int64(a))
		}
		return num(b2i(!r.Srv.Conf.Backup))
	}},
	{"bck", "SGP", "u32", "BS", func(r *Row) Value {
		if r.Kind == Backend {
			_, b := r.BE.Usable()
			return num(int64(b))
		}
		return num(b2i(r.Srv.Conf.Backup))
	}},
	{"chkfail", "MCP", "u64", "S", checked(func(r *Row, _ *stream.CheckState) Value { return num(r.Srv.Stats.Chkfail.Load()) })},
	{"chkdown", "MCP", "u64", "BS", func(r *Row) Value {
		if r.Kind == Backend {
			return num(0)
		}
		if !r.Srv.Conf.Check {
			return Value{}
		}
		return num(r.Srv.Stats.Chkdown.Load())
	}},
	{"lastchg", "MAP", "u32", "BS", func(r *Row) Value {
		if r.Kind == Backend {
			var last time.Time
			for _, s := range r.BE.ServerList() {
				if t := s.LastChange(); t.After(last) {
					last = t
				}
			}
			if last.IsZero() {
				last = r.Start
			}
			return num(secondsSince(r.Now, last))
		}
		return num(secondsSince(r.Now, r.Srv.LastChange()))
	}},
	{"downtime", "MCP", "u32", "BS", func(r *Row) Value {
		if r.Kind == Backend {
			if len(r.BE.ServerList()) == 0 {
				return Value{}
			}
			return num(0)
		}
		if !r.Srv.Conf.Check {
			return Value{}
		}
		return num(int64(r.Srv.Downtime() / time.Second))
	}},
	{"qlimit", "CLP", "u32", "S", func(r *Row) Value {
		if r.Srv.Conf.Maxqueue > 0 {
			return num(int64(r.Srv.Conf.Maxqueue))
		}
		return Value{}
	}},
	{"pid", "KGP", "u32", "FLBS", func(*Row) Value { return num(1) }},
	{"iid", "KGS", "u32", "FLBS", func(r *Row) Value { return num(int64(r.IID)) }},
	{"sid", "KGS", "u32", "FLBS", func(r *Row) Value { return num(int64(r.SID)) }},
	{"throttle", "MGP", "u32", "S", func(r *Row) Value {
		if t := r.Srv.Throttle(); t < 100 {
			return num(int64(t))
		}
		return Value{}
	}},
	{"lbtot", "MCP", "u64", "BS", ctr(func(c *stream.Counters) int64 { return c.LBTot.Load() })},
	{"tracked", "KGP", "str", "S", func(r *Row) Value {
		if c := r.Srv.Conf; c.Tracked != nil {
			return str(c.TrackedProxy.Name + "/" + c.Tracked.Name)
		}
		return Value{}
	}},
	{"type", "CGS", "u32", "FLBS", func(r *Row) Value {
		switch r.Kind {
		case Frontend:
			return num(0)
		case Backend:
			return num(1)
		case Listener:
			return num(3)
		}
		return num(2)
	}},
	{"rate", "MRP", "u32", "FBS", func(r *Row) Value { c, _ := r.Counters().Rate(); return num(int64(c)) }},
	{"rate_lim", "CLP", "u32", "F", zero},
	{"rate_max", "MMP", "u32", "FBS", func(r *Row) Value { _, m := r.Counters().Rate(); return num(int64(m)) }},
	{"check_status", "MOP", "str", "S", checkRunning(func(r *Row, c *stream.CheckState) Value { return inProgress(r, false, c.Status) })},
	{"check_code", "MOP", "u32", "S", checkRunning(func(_ *Row, c *stream.CheckState) Value {
		if c.Code == 0 {
			return Value{}
		}
		return num(int64(c.Code))
	})},
	{"check_duration", "MDP", "u64", "S", checkRunning(func(_ *Row, c *stream.CheckState) Value {
		if c.Duration < 0 {
			return Value{}
		}
		return num(c.Duration.Milliseconds())
	})},
	{"hrsp_1xx", "MCP", "u64", "FBS", hrsp(stream.Hrsp1xx)},
	{"hrsp_2xx", "MCP", "u64", "FBS", hrsp(stream.Hrsp2xx)},
	{"hrsp_3xx", "MCP", "u64", "FBS", hrsp(stream.Hrsp3xx)},
	{"hrsp_4xx", "MCP", "u64", "FBS", hrsp(stream.Hrsp4xx)},
	{"hrsp_5xx", "MCP", "u64", "FBS", hrsp(stream.Hrsp5xx)},
	{"hrsp_other", "MCP", "u64", "FBS", hrsp(stream.HrspOther)},
	{"hanafail", "MCP", "u64", "S", func(r *Row) Value {
		if r.Srv.Conf.Health.Observe == "" {
			return Value{}
		}
		return num(0)
	}},
	{"req_rate", "MRP", "u32", "F", func(r *Row) Value { c, _ := r.Counters().ReqRate(); return num(int64(c)) }},
	{"req_rate_max", "MMP", "u32", "F", func(r *Row) Value { _, m := r.Counters().ReqRate(); return num(int64(m)) }},
	{"req_tot", "MCP", "u64", "FBS", ctr(func(c *stream.Counters) int64 { return c.ReqTot.Load() })},
	{"cli_abrt", "MCP", "u64", "BS", ctr(func(c *stream.Counters) int64 { return c.CliAbrt.Load() })},
	{"srv_abrt", "MCP", "u64", "BS", ctr(func(c *stream.Counters) int64 { return c.SrvAbrt.Load() })},
	{"comp_in", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.CompIn.Load() })},
	{"comp_out", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.CompOut.Load() })},
	{"comp_byp", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.CompByp.Load() })},
	{"comp_rsp", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.CompRsp.Load() })},
	{"lastsess", "MAP", "s32", "BS", func(r *Row) Value {
		last := r.Counters().Last.Load()
		if last == 0 {
			return num(-1)
		}
		return num(r.Now.Unix() - last)
	}},
	{"last_chk", "MOP", "str", "S", checkRunning(func(_ *Row, c *stream.CheckState) Value { return str(c.Info) })},
	{"last_agt", "MOP", "str", "S", agentRunning(func(c *stream.CheckState) Value { return str(c.Info) })},
	{"qtime", "MaP", "u32", "BS", timeAvg(stream.TimeQueue)},
	{"ctime", "MaP", "u32", "BS", timeAvg(stream.TimeConnect)},
	{"rtime", "MaP", "u32", "BS", timeAvg(stream.TimeResponse)},
	{"ttime", "MaP", "u32", "BS", timeAvg(stream.TimeTotal)},
	{"agent_status", "MOP", "str", "S", func(r *Row) Value {
		return agentRunning(func(c *stream.CheckState) Value { return inProgress(r, true, c.Status) })(r)
	}},
	{"agent_code", "MOP", "u32", "S", agentRunning(func(c *stream.CheckState) Value {
		if !c.HasCode {
			return Value{}
		}
		return num(int64(c.Code))
	})},
	{"agent_duration", "MDP", "u64", "S", agentRunning(func(c *stream.CheckState) Value {
		if c.Duration < 0 {
			return Value{}
		}
		return num(c.Duration.Milliseconds())
	})},
	{"check_desc", "MOP", "str", "S", checkRunning(func(_ *Row, c *stream.CheckState) Value { return str(c.Desc) })},
	{"agent_desc", "MOP", "str", "S", agentRunning(func(c *stream.CheckState) Value { return str(c.Desc) })},
	{"check_rise", "CGS", "u32", "S", checkRunning(func(_ *Row, c *stream.CheckState) Value { return num(int64(c.Rise)) })},
	{"check_fall", "CGS", "u32", "S", checkRunning(func(_ *Row, c *stream.CheckState) Value { return num(int64(c.Fall)) })},
	{"check_health", "CGS", "u32", "S", checkRunning(func(_ *Row, c *stream.CheckState) Value { return num(int64(c.Health)) })},
	{"agent_rise", "CGS", "u32", "S", agentRunning(func(c *stream.CheckState) Value { return num(int64(c.Rise)) })},
	{"agent_fall", "CGS", "u32", "S", agentRunning(func(c *stream.CheckState) Value { return num(int64(c.Fall)) })},
	{"agent_health", "CGS", "u32", "S", agentRunning(func(c *stream.CheckState) Value { return num(int64(c.Health)) })},
	{"addr", "CGS", "str", "LS", func(r *Row) Value {
		if r.Kind == Listener {
			return str(r.Ln.Addr)
		}
		return str(r.Srv.AddrPort())
	}},
	{"cookie", "CGS", "str", "S", func(r *Row) Value {
		if r.Srv.Conf.Cookie == "" {
			return Value{}
		}
		return str(r.Srv.Conf.Cookie)
	}},
	{"mode", "CGS", "str", "FLBS", func(r *Row) Value {
		if r.P.Mode == model.ModeHTTP {
			return str("http")
		}
		return str("tcp")
	}},
	{"algo", "CGS", "str", "B", func(r *Row) Value {
		if r.P.Balance.Algo == "" {
			return str("roundrobin")
		}
		return str(r.P.Balance.Algo)
	}},
	{"conn_rate", "MRP", "u32", "F", func(r *Row) Value { c, _ := r.Counters().Rate(); return num(int64(c)) }},
	{"conn_rate_max", "MMP", "u32", "F", func(r *Row) Value { _, m := r.Counters().Rate(); return num(int64(m)) }},
	{"conn_tot", "MCP", "u64", "F", ctr(func(c *stream.Counters) int64 { return c.Stot.Load() })},
	{"intercepted", "MCP", "u64", "F", ctr(func(c *stream.Counters) int64 { return c.Intercepted.Load() })},
	{"dcon", "MCP", "u64", "FL", ctr(func(c *stream.Counters) int64 { return c.Dcon.Load() })},
	{"dses", "MCP", "u64", "FL", ctr(func(c *stream.Counters) int64 { return c.Dses.Load() })},
	{"wrew", "MCP", "u64", "FLBS", ctr(func(c *stream.Counters) int64 { return c.Wrew.Load() })},
	{"connect", "MCP", "u64", "BS", ctr(func(c *stream.Counters) int64 { return c.Stot.Load() })},
	{"reuse", "MCP", "u64", "BS", zero},
	{"cache_lookups", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.CacheLookups.Load() })},
	{"cache_hits", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.CacheHits.Load() })},
	{"srv_icur", "MGP", "u32", "S", zero},
	{"src_ilim", "MGP", "u32", "S", func(r *Row) Value {
		if n, ok := r.Srv.IdleLimit(); ok {
			return num(int64(n))
		}
		return Value{} // no limit: haproxy prints nothing
	}},
	{"qtime_max", "MMP", "u32", "BS", ctr(func(c *stream.Counters) int64 { return c.TimeMax(stream.TimeQueue) })},
	{"ctime_max", "MMP", "u32", "BS", ctr(func(c *stream.Counters) int64 { return c.TimeMax(stream.TimeConnect) })},
	{"rtime_max", "MMP", "u32", "BS", ctr(func(c *stream.Counters) int64 { return c.TimeMax(stream.TimeResponse) })},
	{"ttime_max", "MMP", "u32", "BS", ctr(func(c *stream.Counters) int64 { return c.TimeMax(stream.TimeTotal) })},
	{"eint", "MCP", "u64", "FLBS", ctr(func(c *stream.Counters) int64 { return c.Eint.Load() })},
	{"idle_conn_cur", "MGP", "u32", "S", zero},
	{"safe_conn_cur", "MGP", "u32", "S", zero},
	{"used_conn_cur", "MGP", "u32", "S", func(r *Row) Value { return num(int64(r.Srv.Cur())) }},
	{"need_conn_est", "MGP", "u32", "S", func(r *Row) Value { return num(int64(r.Srv.Cur())) }},
	{"uweight", "MaP", "u32", "BS", func(r *Row) Value {
		if r.Kind == Backend {
			return num(int64(backendUserWeight(r.BE)))
		}
		cur, _ := r.Srv.Weight()
		return num(int64(cur))
	}},
	{"agg_server_status", "MGP", "u32", "B", func(r *Row) Value { return num(aggStatus(r.BE)) }},
	{"agg_server_check_status", "MGP", "u32", "B", func(r *Row) Value { return num(aggStatus(r.BE)) }},
	{"agg_check_status", "MGP", "u32", "B", func(r *Row) Value { return num(aggCheck(r.BE)) }},
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// aggStatus is HAProxy's aggregated server status of a backend: 0 when
// any server is up, 1 when none is.
func aggStatus(b *stream.Backend) int64 {
	if a, k := b.Usable(); a+k > 0 || len(b.ServerList()) == 0 {
		return 0
	}
	return 1
}

// aggCheck is the aggregated check status: 0 while any checked server
// passes its checks.
func aggCheck(b *stream.Backend) int64 {
	any := false
	for _, s := range b.ServerList() {
		if s.Conf.Check {
			any = true
			if s.Up() {
				return 0
			}
		}
	}
	if !any {
		return 0
	}
	return 1
}

// ColumnIndex returns the position of the named column, or -1.
func ColumnIndex(name string) int {
	for i := range Columns {
		if Columns[i].Name == name {
			return i
		}
	}
	return -1
}
