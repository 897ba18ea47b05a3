package stats

import (
	"net/url"
	"strconv"
	"strings"

	"dhproxy/internal/model"
)

// metric maps a column of the table to a Prometheus metric of the
// built-in exporter (haproxy's promex), for the row kinds it exists on.
type metric struct {
	column string
	name   string // after haproxy_<frontend|backend|server>_
	kinds  string // some of "FBS"
	gauge  bool
	help   string
	scale  float64 // multiplier to the metric's unit (ms to seconds), 0: none
}

var metrics = []metric{
	{"qcur", "current_queue", "BS", true, "Number of current queued connections.", 0},
	{"qmax", "max_queue", "BS", true, "Highest value of queued connections encountered since process started.", 0},
	{"scur", "current_sessions", "FBS", true, "Number of current sessions on the frontend, backend or server.", 0},
	{"smax", "max_sessions", "FBS", true, "Highest value of current sessions encountered since process started.", 0},
	{"slim", "limit_sessions", "FBS", true, "Frontend/listener/server's maxconn, backend's fullconn.", 0},
	{"stot", "sessions_total", "FBS", false, "Total number of sessions since process started.", 0},
	{"bin", "bytes_in_total", "FBS", false, "Total number of request bytes since process started.", 0},
	{"bout", "bytes_out_total", "FBS", false, "Total number of response bytes since process started.", 0},
	{"dreq", "requests_denied_total", "FB", false, "Total number of denied requests since process started.", 0},
	{"dresp", "responses_denied_total", "FBS", false, "Total number of denied responses since process started.", 0},
	{"ereq", "request_errors_total", "F", false, "Total number of invalid requests since process started.", 0},
	{"econ", "connection_errors_total", "BS", false, "Total number of failed connections to server since the worker process started.", 0},
	{"eresp", "response_errors_total", "BS", false, "Total number of invalid responses since the worker process started.", 0},
	{"wretr", "retry_warnings_total", "BS", false, "Total number of server connection retries since the worker process started.", 0},
	{"wredis", "redispatch_warnings_total", "BS", false, "Total number of server redispatches due to connection failures since the worker process started.", 0},
	{"status", "status", "FBS", true, "Current status of the service, per state label value.", 0},
	{"weight", "weight", "BS", true, "Server's effective weight, or sum of active servers' effective weights for a backend.", 0},
	{"act", "active_servers", "B", true, "Total number of active UP servers with a non-zero weight.", 0},
	{"bck", "backup_servers", "B", true, "Total number of backup UP servers with a non-zero weight.", 0},
	{"act", "active", "S", true, "Total number of active UP servers with a non-zero weight.", 0},
	{"bck", "backup", "S", true, "Total number of backup UP servers with a non-zero weight.", 0},
	{"chkfail", "check_failures_total", "S", false, "Total number of failed individual health checks per server/backend, since the worker process started.", 0},
	{"chkdown", "check_up_down_total", "BS", false, "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started.", 0},
	{"lastchg", "check_last_change_seconds", "BS", true, "How long ago the last server state changed, in seconds.", 0},
	{"downtime", "downtime_seconds_total", "BS", false, "Total time spent in DOWN state, for server or backend.", 0},
	{"qlimit", "queue_limit", "S", true, "Limit on the number of connections in queue, for servers only (maxqueue argument).", 0},
	{"throttle", "current_throttle", "S", true, "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%).", 0},
	{"lbtot", "loadbalanced_total", "BS", false, "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness).", 0},
	{"rate_max", "max_session_rate", "FBS", true, "Highest value of sessions per second observed since the worker process started.", 0},
	{"check_status", "check_status", "S", true, "Status of last health check, per state label value.", 0},
	{"check_code", "check_code", "S", true, "layer5-7 code, if available of the last health check.", 0},
	{"check_duration", "check_duration_seconds", "S", true, "Total duration of the latest server health check, in seconds.", 0.001},
	{"hrsp_1xx", "http_responses_total", "FBS", false, "Total number of HTTP responses with status 100-199 returned by this object since the worker process started.", 0},
	{"req_rate_max", "http_requests_rate_max", "F", true, "Highest value of http requests observed since the worker process started.", 0},
	{"req_tot", "http_requests_total", "FB", false, "Total number of HTTP requests processed by this object since the worker process started.", 0},
	{"cli_abrt", "client_aborts_total", "BS", false, "Total number of requests or connections aborted by the client since the worker process started.", 0},
	{"srv_abrt", "server_aborts_total", "BS", false, "Total number of requests or connections aborted by the server since the worker process started.", 0},
	{"lastsess", "last_session_seconds", "BS", true, "How long ago some traffic was seen on this object on this worker process, in seconds.", 0},
	{"conn_rate_max", "connections_rate_max", "F", true, "Highest value of connections per second observed since the worker process started.", 0},
	{"conn_tot", "connections_total", "F", false, "Total number of new connections accepted on this frontend since the worker process started.", 0},
	{"eint", "internal_errors_total", "FBS", false, "Total number of internal errors since process started.", 0},
	{"uweight", "uweight", "BS", true, "Server's user weight, or sum of active servers' user weights for a backend.", 0},
	{"agg_server_status", "agg_server_status", "B", true, "Backend's aggregated gauge of servers' status.", 0},
	{"agg_check_status", "agg_check_status", "B", true, "Backend's aggregated gauge of servers' state check status.", 0},
}

var serverStates = []string{"DOWN", "UP", "MAINT", "DRAIN", "NOLB"}
var checkStates = []string{"HANA", "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK", "L6TOUT", "L6RSP", "L7TOUT", "L7RSP", "L7OK", "L7OKC", "L7STS", "PROCERR", "PROCTOUT", "PROCOK"}

// Prometheus writes the metrics in the text exposition format. query is
// the request's query string: scope=global|frontend|backend|server and
// no-maint are understood.
func (src *Source) Prometheus(query string) string {
	q, _ := url.ParseQuery(query)
	scopes := map[string]bool{}
	if vs, ok := q["scope"]; ok {
		for _, v := range vs {
			if v == "" {
				scopes = map[string]bool{}
				continue
			}
			scopes[v] = true
		}
	} else {
		scopes["*"] = true
	}
	_, noMaint := q["no-maint"]
	in := func(s string) bool { return scopes["*"] || scopes[s] }
	var b strings.Builder
	if in("global") {
		src.promProcess(&b)
	}
	rows := src.StatRows()
	for _, k := range []struct {
		kind  byte
		scope string
	}{{Frontend, "frontend"}, {Backend, "backend"}, {Server, "server"}} {
		if !in(k.scope) {
			continue
		}
		for _, m := range metrics {
			if !strings.ContainsRune(m.kinds, rune(k.kind)) {
				continue
			}
			src.promMetric(&b, rows, k.kind, k.scope, m, noMaint)
		}
	}
	return b.String()
}

func (src *Source) promMetric(b *strings.Builder, rows []Row, kind byte, scope string, m metric, noMaint bool) {
	col := &Columns[ColumnIndex(m.column)]
	name := "haproxy_" + scope + "_" + m.name
	header := false
	for i := range rows {
		r := &rows[i]
		if r.Kind != kind || kind == Server && noMaint && r.state() == StateMaint {
			continue
		}
		labels := `proxy="` + promEscape(r.PxName()) + `"`
		if kind == Server {
			labels += `,server="` + promEscape(r.SvName()) + `"`
		}
		var lines []string
		switch m.column {
		case "status":
			lines = statusLines(r, labels)
		case "check_status":
			v := col.Value(r)
			if v.Empty() {
				continue
			}
			for _, st := range checkStates {
				lines = append(lines, "{"+labels+`,state="`+st+`"} `+b2s(v.S == st))
			}
		case "hrsp_1xx":
			if r.Virtual != nil || r.P.Mode != model.ModeHTTP {
				continue
			}
			for i, code := range []string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"} {
				v := Columns[ColumnIndex("hrsp_1xx")+i].Value(r)
				lines = append(lines, "{"+labels+`,code="`+code+`"} `+strconv.FormatInt(v.N, 10))
			}
		default:
			v := col.Value(r)
			if v.Kind != 'n' {
				continue
			}
			val := strconv.FormatInt(v.N, 10)
			if m.scale != 0 {
				val = strconv.FormatFloat(float64(v.N)*m.scale, 'f', -1, 64)
			}
			lines = append(lines, "{"+labels+"} "+val)
		}
		if len(lines) == 0 {
			continue
		}
		if !header {
			typ := "counter"
			if m.gauge {
				typ = "gauge"
			}
			b.WriteString("# HELP " + name + " " + m.help + "\n# TYPE " + name + " " + typ + "\n")
			header = true
		}
		for _, l := range lines {
			b.WriteString(name + l + "\n")
		}
	}
}

// statusLines is the status gauge: 1 for a running frontend, and one line
// per state for backends and servers, 1 on the current one.
func statusLines(r *Row, labels string) []string {
	switch r.Kind {
	case Frontend:
		return []string{"{" + labels + "} 1"}
	case Backend:
		up := Columns[ColumnIndex("status")].Value(r).S == "UP"
		return []string{"{" + labels + `,state="DOWN"} ` + b2s(!up), "{" + labels + `,state="UP"} ` + b2s(up)}
	}
	cur := "UP"
	switch r.state() {
	case StateDown, StateDownAgent, StateGoingUp:
		cur = "DOWN"
	case StateMaint:
		cur = "MAINT"
	case StateDrain, StateDrainGoingDown, StateDrainAgent:
		cur = "DRAIN"
	case StateNolb, StateNolbGoingDown:
		cur = "NOLB"
	}
	var out []string
	for _, st := range serverStates {
		out = append(out, "{"+labels+`,state="`+st+`"} `+b2s(st == cur))
	}
	return out
}

func (src *Source) promProcess(b *strings.Builder) {
	info := map[string]Value{}
	for _, f := range src.Info() {
		info[f.Name] = f.Value
	}
	for _, p := range []struct{ field, name, typ, help string }{
		{"Nbthread", "nbthread", "gauge", "Number of started threads (global.nbthread)."},
		{"Nbproc", "nbproc", "gauge", "Number of started worker processes (historical, always 1)."},
		{"Process_num", "relative_process_id", "gauge", "Relative worker process number (1)."},
		{"Uptime_sec", "uptime_seconds", "gauge", "How long ago this worker process was started (seconds)."},
		{"PoolFailed", "pool_failures_total", "counter", "Total number of failed memory pool allocations since this worker was started."},
		{"Ulimit-n", "max_fds", "gauge", "Hard limit on the number of per-process file descriptors."},
		{"Maxsock", "max_sockets", "gauge", "Hard limit on the number of per-process sockets."},
		{"Maxconn", "max_connections", "gauge", "Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)."},
		{"Hard_maxconn", "hard_max_connections", "gauge", "Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)."},
		{"CurrConns", "current_connections", "gauge", "Current number of connections on this worker process."},
		{"CumConns", "connections_total", "counter", "Total number of connections on this worker process since started."},
		{"CumReq", "requests_total", "counter", "Total number of requests on this worker process since started."},
		{"Jobs", "jobs", "gauge", "Current number of active jobs on the current worker process (frontend connections, master connections, listeners)."},
		{"Unstoppable Jobs", "unstoppable_jobs", "gauge", "Current number of unstoppable jobs on the current worker process (master connections)."},
		{"Listeners", "listeners", "gauge", "Current number of active listeners on the current worker process."},
		{"TotalBytesOut", "bytes_out_total", "counter", "Total number of bytes emitted by current worker process since started."},
		{"Start_time_sec", "start_time_seconds", "gauge", "Start time in seconds."},
		{"Stopping", "stopping", "gauge", "Non-zero means stopping is in progress."},
	} {
		v := info[p.field]
		name := "haproxy_process_" + p.name
		b.WriteString("# HELP " + name + " " + p.help + "\n# TYPE " + name + " " + p.typ + "\n")
		b.WriteString(name + " " + strconv.FormatInt(v.N, 10) + "\n")
	}
	b.WriteString("# HELP haproxy_process_build_info Build info\n# TYPE haproxy_process_build_info gauge\n")
	b.WriteString(`haproxy_process_build_info{version="` + promEscape(src.Version) + `"} 1` + "\n")
}

func b2s(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func promEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`).Replace(s)
}
