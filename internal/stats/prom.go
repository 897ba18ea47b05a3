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

// metrics are haproxy 2.6's exporter families for frontends, backends and
// servers, in its order, with its help texts.
var metrics = []metric{
	{"scur", "current_sessions", "FBS", true, "Number of current sessions on the frontend, backend or server", 0},
	{"smax", "max_sessions", "FBS", true, "Highest value of current sessions encountered since process started", 0},
	{"slim", "limit_sessions", "FBS", true, "Frontend/listener/server's maxconn, backend's fullconn", 0},
	{"stot", "sessions_total", "FBS", false, "Total number of sessions since process started", 0},
	{"bin", "bytes_in_total", "FBS", false, "Total number of request bytes since process started", 0},
	{"bout", "bytes_out_total", "FBS", false, "Total number of response bytes since process started", 0},
	{"dreq", "requests_denied_total", "FB", false, "Total number of denied requests since process started", 0},
	{"dresp", "responses_denied_total", "FBS", false, "Total number of denied responses since process started", 0},
	{"ereq", "request_errors_total", "F", false, "Total number of invalid requests since process started", 0},
	{"status", "status", "FBS", true, "Current status of the service, per state label value.", 0},
	{"rate_lim", "limit_session_rate", "F", true, "Limit on the number of sessions accepted in a second (frontend only, 'rate-limit sessions' setting)", 0},
	{"rate_max", "max_session_rate", "FBS", true, "Highest value of sessions per second observed since the worker process started", 0},
	{"hrsp_1xx", "http_responses_total", "FBS", false, "Total number of HTTP responses with status 100-199 returned by this object since the worker process started", 0},
	{"req_rate_max", "http_requests_rate_max", "F", true, "Highest value of http requests observed since the worker process started", 0},
	{"req_tot", "http_requests_total", "FB", false, "Total number of HTTP requests processed by this object since the worker process started", 0},
	{"comp_in", "http_comp_bytes_in_total", "FB", false, "Total number of bytes submitted to the HTTP compressor for this object since the worker process started", 0},
	{"comp_out", "http_comp_bytes_out_total", "FB", false, "Total number of bytes emitted by the HTTP compressor for this object since the worker process started", 0},
	{"comp_byp", "http_comp_bytes_bypassed_total", "FB", false, "Total number of bytes that bypassed HTTP compression for this object since the worker process started (CPU/memory/bandwidth limitation)", 0},
	{"comp_rsp", "http_comp_responses_total", "FB", false, "Total number of HTTP responses that were compressed for this object since the worker process started", 0},
	{"conn_rate_max", "connections_rate_max", "F", true, "Highest value of connections per second observed since the worker process started", 0},
	{"conn_tot", "connections_total", "F", false, "Total number of new connections accepted on this frontend since the worker process started", 0},
	{"intercepted", "intercepted_requests_total", "F", false, "Total number of HTTP requests intercepted on the frontend (redirects/stats/services) since the worker process started", 0},
	{"dcon", "denied_connections_total", "F", false, "Total number of incoming connections blocked on a listener/frontend by a tcp-request connection rule since the worker process started", 0},
	{"dses", "denied_sessions_total", "F", false, "Total number of incoming sessions blocked on a listener/frontend by a tcp-request connection rule since the worker process started", 0},
	{"wrew", "failed_header_rewriting_total", "FBS", false, "Total number of failed HTTP header rewrites since the worker process started", 0},
	{"cache_lookups", "http_cache_lookups_total", "FB", false, "Total number of HTTP requests looked up in the cache on this frontend/backend since the worker process started", 0},
	{"cache_hits", "http_cache_hits_total", "FB", false, "Total number of HTTP requests not found in the cache on this frontend/backend since the worker process started", 0},
	{"eint", "internal_errors_total", "FBS", false, "Total number of internal errors since process started", 0},
	{"qcur", "current_queue", "BS", true, "Number of current queued connections", 0},
	{"qmax", "max_queue", "BS", true, "Highest value of queued connections encountered since process started", 0},
	{"econ", "connection_errors_total", "BS", false, "Total number of failed connections to server since the worker process started", 0},
	{"eresp", "response_errors_total", "BS", false, "Total number of invalid responses since the worker process started", 0},
	{"wretr", "retry_warnings_total", "BS", false, "Total number of server connection retries since the worker process started", 0},
	{"wredis", "redispatch_warnings_total", "BS", false, "Total number of server redispatches due to connection failures since the worker process started", 0},
	{"weight", "weight", "BS", true, "Server's effective weight, or sum of active servers' effective weights for a backend", 0},
	{"act", "active_servers", "B", true, "Total number of active UP servers with a non-zero weight", 0},
	{"bck", "backup_servers", "B", true, "Total number of backup UP servers with a non-zero weight", 0},
	{"chkdown", "check_up_down_total", "BS", false, "Total number of failed checks causing UP to DOWN server transitions, per server/backend, since the worker process started", 0},
	{"lastchg", "check_last_change_seconds", "BS", true, "How long ago the last server state changed, in seconds", 0},
	{"downtime", "downtime_seconds_total", "BS", false, "Total time spent in DOWN state, for server or backend", 0},
	{"lbtot", "loadbalanced_total", "BS", false, "Total number of requests routed by load balancing since the worker process started (ignores queue pop and stickiness)", 0},
	{"cli_abrt", "client_aborts_total", "BS", false, "Total number of requests or connections aborted by the client since the worker process started", 0},
	{"srv_abrt", "server_aborts_total", "BS", false, "Total number of requests or connections aborted by the server since the worker process started", 0},
	{"lastsess", "last_session_seconds", "BS", true, "How long ago some traffic was seen on this object on this worker process, in seconds", 0},
	{"qtime", "queue_time_average_seconds", "BS", true, "Avg. queue time for last 1024 successful connections.", 0.001},
	{"ctime", "connect_time_average_seconds", "BS", true, "Avg. connect time for last 1024 successful connections.", 0.001},
	{"rtime", "response_time_average_seconds", "BS", true, "Avg. response time for last 1024 successful connections.", 0.001},
	{"ttime", "total_time_average_seconds", "BS", true, "Avg. total time for last 1024 successful connections.", 0.001},
	{"connect", "connection_attempts_total", "BS", false, "Total number of outgoing connection attempts on this backend/server since the worker process started", 0},
	{"reuse", "connection_reuses_total", "BS", false, "Total number of reused connection on this backend/server since the worker process started", 0},
	{"qtime_max", "max_queue_time_seconds", "BS", true, "Maximum observed time spent in the queue", 0.001},
	{"ctime_max", "max_connect_time_seconds", "BS", true, "Maximum observed time spent waiting for a connection to complete", 0.001},
	{"rtime_max", "max_response_time_seconds", "BS", true, "Maximum observed time spent waiting for a server response", 0.001},
	{"ttime_max", "max_total_time_seconds", "BS", true, "Maximum observed total request+response time (request+queue+connect+response+processing)", 0.001},
	{"uweight", "uweight", "BS", true, "Server's user weight, or sum of active servers' user weights for a backend", 0},
	{"agg_server_status", "agg_server_status", "B", true, "Backend's aggregated gauge of servers' status", 0},
	{"agg_server_check_status", "agg_server_check_status", "B", true, "Backend's aggregated gauge of servers' state check status", 0},
	{"agg_check_status", "agg_check_status", "B", true, "Backend's aggregated gauge of servers' state check status", 0},
	{"chkfail", "check_failures_total", "S", false, "Total number of failed individual health checks per server/backend, since the worker process started", 0},
	{"qlimit", "queue_limit", "S", true, "Limit on the number of connections in queue, for servers only (maxqueue argument)", 0},
	{"throttle", "current_throttle", "S", true, "Throttling ratio applied to a server's maxconn and weight during the slowstart period (0 to 100%)", 0},
	{"check_status", "check_status", "S", true, "Status of last health check, per state label value.", 0},
	{"check_code", "check_code", "S", true, "layer5-7 code, if available of the last health check.", 0},
	{"check_duration", "check_duration_seconds", "S", true, "Total duration of the latest server health check, in seconds.", 0.001},
	{"srv_icur", "idle_connections_current", "S", true, "Current number of idle connections available for reuse on this server", 0},
	{"src_ilim", "idle_connections_limit", "S", true, "Limit on the number of available idle connections on this server (server 'pool_max_conn' directive)", 0},
	{"idle_conn_cur", "unsafe_idle_connections_current", "S", true, "Current number of unsafe idle connections", 0},
	{"safe_conn_cur", "safe_idle_connections_current", "S", true, "Current number of safe idle connections", 0},
	{"used_conn_cur", "used_connections_current", "S", true, "Current number of connections in use", 0},
	{"need_conn_est", "need_connections_current", "S", true, "Estimated needed number of connections", 0},
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
		// The check's figures exist only for a checked server; there, a
		// code-less check reports code 0.
		checked := kind == Server && !Columns[columnIndex["check_status"]].Value(r).Empty()
		switch m.column {
		case "status":
			lines = statusLines(r, labels)
		case "check_status":
			if !checked {
				continue
			}
			v := col.Value(r)
			for _, st := range checkStates {
				lines = append(lines, "{"+labels+`,state="`+st+`"} `+b2s(v.S == st))
			}
		case "agg_server_status", "agg_server_check_status", "agg_check_status":
			// Per state, how many of the backend's servers are in it.
			states, stateOf := serverStates, serverStateName
			if m.column == "agg_check_status" {
				states = checkStates
				stateOf = func(sr *Row) string { return Columns[columnIndex["check_status"]].Value(sr).S }
			}
			count := map[string]int{}
			for j := range rows {
				if sr := &rows[j]; sr.Kind == Server && sr.IID == r.IID {
					count[stateOf(sr)]++
				}
			}
			for _, st := range states {
				lines = append(lines, "{"+labels+`,state="`+st+`"} `+strconv.Itoa(count[st]))
			}
		case "check_code", "check_duration":
			if !checked {
				continue
			}
			v := col.Value(r)
			val := "0"
			if v.Kind == 'n' {
				val = strconv.FormatFloat(float64(v.N)*max(m.scale, 1), 'f', -1, 64)
			} else if m.column == "check_duration" {
				val = "NaN"
			}
			lines = append(lines, "{"+labels+"} "+val)
		case "hrsp_1xx":
			if r.Virtual != nil || r.P.Mode != model.ModeHTTP {
				continue
			}
			for i, code := range []string{"1xx", "2xx", "3xx", "4xx", "5xx", "other"} {
				v := Columns[ColumnIndex("hrsp_1xx")+i].Value(r)
				lines = append(lines, "{"+labels+`,code="`+code+`"} `+strconv.FormatInt(v.N, 10))
			}
		default:
			// A field the object has no value for is NaN, as haproxy's
			// exporter writes it (a server without maxconn, say).
			v := col.Value(r)
			val := "NaN"
			switch {
			case v.Kind == 'n' && m.scale != 0:
				val = strconv.FormatFloat(float64(v.N)*m.scale, 'f', -1, 64)
			case v.Kind == 'n':
				val = strconv.FormatInt(v.N, 10)
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
		return []string{"{" + labels + `,state="DOWN"} 0`, "{" + labels + `,state="UP"} 1`}
	case Backend:
		up := Columns[ColumnIndex("status")].Value(r).S == "UP"
		return []string{"{" + labels + `,state="DOWN"} ` + b2s(!up), "{" + labels + `,state="UP"} ` + b2s(up)}
	}
	cur := serverStateName(r)
	var out []string
	for _, st := range serverStates {
		out = append(out, "{"+labels+`,state="`+st+`"} `+b2s(st == cur))
	}
	return out
}

// serverStateName is a server row's state as the exporter labels it.
func serverStateName(r *Row) string {
	switch r.state() {
	case StateDown, StateDownAgent, StateGoingUp:
		return "DOWN"
	case StateMaint:
		return "MAINT"
	case StateDrain, StateDrainGoingDown, StateDrainAgent:
		return "DRAIN"
	case StateNolb, StateNolbGoingDown:
		return "NOLB"
	}
	return "UP"
}

func (src *Source) promProcess(b *strings.Builder) {
	info := map[string]Value{}
	for _, f := range src.Info() {
		info[f.Name] = f.Value
	}
	// haproxy 2.6's process families, in its order, from the "show info"
	// fields; a field dhproxy has no figure for is NaN.
	for _, p := range []struct{ field, name, typ, help string }{
		{"Nbthread", "nbthread", "gauge", "Number of started threads (global.nbthread)"},
		{"Nbproc", "nbproc", "gauge", "Number of started worker processes (historical, always 1)"},
		{"Process_num", "relative_process_id", "gauge", "Relative worker process number (1)"},
		{"Uptime_sec", "uptime_seconds", "gauge", "How long ago this worker process was started (seconds)"},
		{"PoolFailed", "pool_failures_total", "counter", "Number of failed pool allocations since this worker was started"},
		{"Ulimit-n", "max_fds", "gauge", "Hard limit on the number of per-process file descriptors"},
		{"Maxsock", "max_sockets", "gauge", "Hard limit on the number of per-process sockets"},
		{"Maxconn", "max_connections", "gauge", "Hard limit on the number of per-process connections (configured or imposed by Ulimit-n)"},
		{"Hard_maxconn", "hard_max_connections", "gauge", "Hard limit on the number of per-process connections (imposed by Memmax_MB or Ulimit-n)"},
		{"CurrConns", "current_connections", "gauge", "Current number of connections on this worker process"},
		{"CumConns", "connections_total", "counter", "Total number of connections on this worker process since started"},
		{"CumReq", "requests_total", "counter", "Total number of requests on this worker process since started"},
		{"MaxSslConns", "max_ssl_connections", "gauge", "Hard limit on the number of per-process SSL endpoints (front+back), 0=unlimited"},
		{"CurrSslConns", "current_ssl_connections", "gauge", "Current number of SSL endpoints on this worker process (front+back)"},
		{"CumSslConns", "ssl_connections_total", "counter", "Total number of SSL endpoints on this worker process since started (front+back)"},
		{"Maxpipes", "max_pipes", "gauge", "Hard limit on the number of pipes for splicing, 0=unlimited"},
		{"PipesUsed", "pipes_used_total", "counter", "Current number of pipes in use in this worker process"},
		{"PipesFree", "pipes_free_total", "counter", "Current number of allocated and available pipes in this worker process"},
		{"ConnRate", "current_connection_rate", "gauge", "Number of front connections created on this worker process over the last second"},
		{"ConnRateLimit", "limit_connection_rate", "gauge", "Hard limit for ConnRate (global.maxconnrate)"},
		{"MaxConnRate", "max_connection_rate", "gauge", "Highest ConnRate reached on this worker process since started (in connections per second)"},
		{"SessRate", "current_session_rate", "gauge", "Number of sessions created on this worker process over the last second"},
		{"SessRateLimit", "limit_session_rate", "gauge", "Hard limit for SessRate (global.maxsessrate)"},
		{"MaxSessRate", "max_session_rate", "gauge", "Highest SessRate reached on this worker process since started (in sessions per second)"},
		{"SslRate", "current_ssl_rate", "gauge", "Number of SSL connections created on this worker process over the last second"},
		{"SslRateLimit", "limit_ssl_rate", "gauge", "Hard limit for SslRate (global.maxsslrate)"},
		{"MaxSslRate", "max_ssl_rate", "gauge", "Highest SslRate reached on this worker process since started (in connections per second)"},
		{"SslFrontendKeyRate", "current_frontend_ssl_key_rate", "gauge", "Number of SSL keys created on frontends in this worker process over the last second"},
		{"SslFrontendMaxKeyRate", "max_frontend_ssl_key_rate", "gauge", "Highest SslFrontendKeyRate reached on this worker process since started (in SSL keys per second)"},
		{"SslFrontendSessionReuse_pct", "frontend_ssl_reuse", "gauge", "Percent of frontend SSL connections which did not require a new key"},
		{"SslBackendKeyRate", "current_backend_ssl_key_rate", "gauge", "Number of SSL keys created on backends in this worker process over the last second"},
		{"SslBackendMaxKeyRate", "max_backend_ssl_key_rate", "gauge", "Highest SslBackendKeyRate reached on this worker process since started (in SSL keys per second)"},
		{"SslCacheLookups", "ssl_cache_lookups_total", "counter", "Total number of SSL session ID lookups in the SSL session cache on this worker since started"},
		{"SslCacheMisses", "ssl_cache_misses_total", "counter", "Total number of SSL session ID lookups that didn't find a session in the SSL session cache on this worker since started"},
		{"CompressBpsIn", "http_comp_bytes_in_total", "counter", "Number of bytes submitted to the HTTP compressor in this worker process over the last second"},
		{"CompressBpsOut", "http_comp_bytes_out_total", "counter", "Number of bytes emitted by the HTTP compressor in this worker process over the last second"},
		{"CompressBpsRateLim", "limit_http_comp", "gauge", "Limit of CompressBpsOut beyond which HTTP compression is automatically disabled"},
		{"ZlibMemUsage", "current_zlib_memory", "gauge", "Amount of memory currently used by HTTP compression on the current worker process (in bytes)"},
		{"MaxZlibMemUsage", "max_zlib_memory", "gauge", "Limit on the amount of memory used by HTTP compression above which it is automatically disabled (in bytes, see global.maxzlibmem)"},
		{"Tasks", "current_tasks", "gauge", "Total number of tasks in the current worker process (active + sleeping)"},
		{"Run_queue", "current_run_queue", "gauge", "Total number of active tasks+tasklets in the current worker process"},
		{"Idle_pct", "idle_time_percent", "gauge", "Percentage of last second spent waiting in the current worker thread"},
		{"Stopping", "stopping", "gauge", "1 if the worker process is currently stopping, otherwise zero"},
		{"Jobs", "jobs", "gauge", "Current number of active jobs on the current worker process (frontend connections, master connections, listeners)"},
		{"Unstoppable Jobs", "unstoppable_jobs", "gauge", "Current number of unstoppable jobs on the current worker process (master connections)"},
		{"Listeners", "listeners", "gauge", "Current number of active listeners on the current worker process"},
		{"ActivePeers", "active_peers", "gauge", "Current number of verified active peers connections on the current worker process"},
		{"ConnectedPeers", "connected_peers", "gauge", "Current number of peers having passed the connection step on the current worker process"},
		{"DroppedLogs", "dropped_logs_total", "counter", "Total number of dropped logs for current worker process since started"},
		{"BusyPolling", "busy_polling_enabled", "gauge", "1 if busy-polling is currently in use on the worker process, otherwise zero (config.busy-polling)"},
		{"FailedResolutions", "failed_resolutions", "counter", "Total number of failed DNS resolutions in current worker process since started"},
		{"TotalBytesOut", "bytes_out_total", "counter", "Total number of bytes emitted by current worker process since started"},
		{"TotalSplicdedBytesOut", "spliced_bytes_out_total", "counter", "Total number of bytes emitted by current worker process through a kernel pipe since started"},
		{"BytesOutRate", "bytes_out_rate", "gauge", "Number of bytes emitted by current worker process over the last second"},
		{"CumRecvLogs", "recv_logs_total", "counter", "Total number of log messages received by log-forwarding listeners on this worker process since started"},
		{"", "build_info", "gauge", "Build info"},
		{"Memmax_bytes", "max_memory_bytes", "gauge", "Worker process's hard limit on memory usage in byes (-m on command line)"},
		{"PoolAlloc_bytes", "pool_allocated_bytes", "gauge", "Amount of memory allocated in pools (in bytes)"},
		{"PoolUsed_bytes", "pool_used_bytes", "gauge", "Amount of pool memory currently used (in bytes)"},
		{"Start_time_sec", "start_time_seconds", "gauge", "Start time in seconds"},
	} {
		name := "haproxy_process_" + p.name
		b.WriteString("# HELP " + name + " " + p.help + "\n# TYPE " + name + " " + p.typ + "\n")
		if p.name == "build_info" {
			b.WriteString(name + `{version="` + promEscape(src.Version) + `"} 1` + "\n")
			continue
		}
		val := "NaN"
		if v, ok := info[p.field]; ok && v.Kind == 'n' {
			val = strconv.FormatInt(v.N, 10)
		}
		b.WriteString(name + " " + val + "\n")
	}
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
