package stats

import (
	"os"
	"runtime"
	rtmetrics "runtime/metrics"
	"strconv"
	"strings"
	"syscall"
	"time"

	"dhproxy/internal/logging"
)

// Filter selects rows as "show stat [<iid|proxy> <type> <sid>]" does:
// Proxy "" or IID -1 for all, Types a mask of 1 frontend, 2 backend, 4
// server, SID -1 for all servers.
type Filter struct {
	Proxy string
	IID   int
	Types int
	SID   int
	// NoMaint leaves out servers in maintenance ("no-maint"), OnlyUp
	// every server not up ("up").
	NoMaint, OnlyUp bool
	// Keep, when set, must also accept the row (the stats page's scope).
	Keep func(r *Row) bool
}

// All selects every row.
var All = Filter{IID: -1, Types: -1, SID: -1}

func (f *Filter) match(r *Row) bool {
	if f.Proxy != "" && r.PxName() != f.Proxy || f.IID >= 0 && r.IID != f.IID {
		return false
	}
	if f.Keep != nil && !f.Keep(r) {
		return false
	}
	bit := map[byte]int{Frontend: 1, Backend: 2, Server: 4}[r.Kind]
	if f.Types != -1 && f.Types&bit == 0 {
		return false
	}
	if r.Kind != Server {
		return true
	}
	if f.SID >= 0 && r.SID != f.SID {
		return false
	}
	st := r.state()
	return !(f.NoMaint && st == StateMaint) && !(f.OnlyUp && hiddenWhenUpOnly(r))
}

// Header is the CSV header line, with its trailing comma and newline.
func Header() string {
	var b strings.Builder
	b.WriteString("# ")
	for i := range Columns {
		b.WriteString(Columns[i].Name)
		b.WriteByte(',')
	}
	b.WriteString("-,")
	for i := range ModuleColumns {
		b.WriteString(ModuleColumns[i].Name)
		b.WriteByte(',')
	}
	b.WriteByte('\n')
	return b.String()
}

// CSV writes the header and the rows selected by f, as "show stat".
func (src *Source) CSV(f Filter) string {
	var b strings.Builder
	b.WriteString(Header())
	for _, r := range src.StatRows() {
		if !f.match(&r) {
			continue
		}
		r.UpCount = f.OnlyUp || f.NoMaint
		for i := range Columns {
			b.WriteString(Columns[i].Value(&r).String())
			b.WriteByte(',')
		}
		b.WriteString("-,")
		for i := range ModuleColumns {
			b.WriteString(ModuleColumns[i].Value(&r).String())
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// Typed writes "show stat typed": one line per non-empty field,
// <type>.<iid>.<sid>.<pos>.<name>.<proc>:<tags>:<type>:<value>, and an
// empty line after each row.
func (src *Source) Typed(f Filter) string {
	var b strings.Builder
	for _, r := range src.StatRows() {
		if !f.match(&r) {
			continue
		}
		r.UpCount = f.OnlyUp || f.NoMaint
		for i := range numberedCount() {
			c := numbered(i)
			v := c.Value(&r)
			if v.Empty() {
				continue
			}
			b.WriteByte(r.Kind)
			b.WriteByte('.')
			b.WriteString(strconv.Itoa(r.IID))
			b.WriteByte('.')
			b.WriteString(strconv.Itoa(r.SID))
			b.WriteByte('.')
			b.WriteString(strconv.Itoa(i))
			b.WriteByte('.')
			b.WriteString(c.Name)
			b.WriteString(".1:")
			b.WriteString(c.Tags)
			b.WriteByte(':')
			b.WriteString(c.Type)
			b.WriteByte(':')
			if v.Kind == 's' {
				b.WriteString(v.S)
			} else {
				b.WriteString(strconv.FormatInt(v.N, 10))
			}
			b.WriteByte('\n')
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// InfoField is one "show info" line.
type InfoField struct {
	Name  string
	Tags  string
	Type  string
	Value Value
}

// Info lists "show info" fields in haproxy 2.6's order, with dhproxy's
// values; fields about features dhproxy lacks (TLS, pipes, compression,
// peers) are 0.
func (src *Source) Info() []InfoField {
	now := time.Now()
	up := now.Sub(src.Start)
	var cumConns, cumReq, bytesOut int64
	for _, v := range src.RT.Proxies() {
		if v.FE != nil {
			cumConns += v.FE.Stats.Stot.Load()
			cumReq += v.FE.Stats.ReqTot.Load()
			bytesOut += v.FE.Stats.Bout.Load()
		}
	}
	cfg := src.RT.Config()
	node := cfg.Global.Node
	if node == "" {
		node = hostname
	}
	maxconn, hardMaxconn := int64(src.RT.GlobalMaxconn()), int64(cfg.Global.Maxconn)
	connLimit, sessLimit := src.RT.RateLimits()
	listeners := 0
	for _, v := range src.RT.Proxies() {
		if v.FE != nil {
			listeners += len(v.P.Binds)
		}
	}
	var cliOpen int64
	if src.CLI != nil {
		sockets, open, accepted := src.CLI()
		listeners += sockets
		cliOpen = open
		cumConns += accepted
		cumReq += accepted
	}
	mem := goMemory()
	conns := int64(src.RT.Connections())
	rate, maxRate := src.RT.ConnRate()
	connRate, maxConnRate := int64(rate), int64(maxRate)
	secs := int64(up / time.Second)
	uptime := strconv.FormatInt(secs/86400, 10) + "d " + strconv.FormatInt(secs/3600%24, 10) + "h" +
		pad2(secs/60%60) + "m" + pad2(secs%60) + "s"
	return []InfoField{
		{"Name", "POS", "str", str(src.Name)},
		{"Version", "POS", "str", str(src.Version)},
		{"Release_date", "POS", "str", str(src.ReleaseDate)},
		{"Nbthread", "CGS", "u32", num(int64(runtime.GOMAXPROCS(0)))}, // "nbthread" sets it at start
		{"Nbproc", "CGS", "u32", num(1)},
		{"Process_num", "KGP", "u32", num(1)},
		{"Pid", "SGP", "u32", num(int64(pid))},
		{"Uptime", "MDP", "str", str(uptime)},
		{"Uptime_sec", "MDP", "u32", num(secs)},
		{"Memmax_MB", "CLP", "u32", num(0)},
		{"PoolAlloc_MB", "MGP", "u32", num(mem.heapHeld >> 20)},
		{"PoolUsed_MB", "MGP", "u32", num(mem.heapUsed >> 20)},
		{"PoolFailed", "MCP", "u32", num(0)},
		{"Ulimit-n", "CLP", "u32", num(ulimitN())},
		{"Maxsock", "CLP", "u32", num(ulimitN())},
		{"Maxconn", "CLP", "u32", num(maxconn)},
		{"Hard_maxconn", "CLP", "u32", num(hardMaxconn)},
		{"CurrConns", "MGP", "u32", num(conns)},
		{"CumConns", "MCP", "u32", num(cumConns)},
		{"CumReq", "MCP", "u32", num(cumReq)},
		{"MaxSslConns", "MMP", "u32", num(0)},
		{"CurrSslConns", "MGP", "u32", num(0)},
		{"CumSslConns", "MCP", "u32", num(0)},
		{"Maxpipes", "CLP", "u32", num(0)},
		{"PipesUsed", "MGP", "u32", num(0)},
		{"PipesFree", "MGP", "u32", num(0)},
		{"ConnRate", "MRP", "u32", num(connRate)},
		{"ConnRateLimit", "CLP", "u32", num(int64(connLimit))},
		{"MaxConnRate", "MMP", "u32", num(maxConnRate)},
		{"SessRate", "MRP", "u32", num(connRate)},
		{"SessRateLimit", "CLP", "u32", num(int64(sessLimit))},
		{"MaxSessRate", "MRP", "u32", num(maxConnRate)},
		{"SslRate", "MRP", "u32", num(0)},
		{"SslRateLimit", "CLP", "u32", num(0)},
		{"MaxSslRate", "MMP", "u32", num(0)},
		{"SslFrontendKeyRate", "MGP", "u32", num(0)},
		{"SslFrontendMaxKeyRate", "MMP", "u32", num(0)},
		{"SslFrontendSessionReuse_pct", "MGP", "u32", num(0)},
		{"SslBackendKeyRate", "MRP", "u32", num(0)},
		{"SslBackendMaxKeyRate", "MMP", "u32", num(0)},
		{"SslCacheLookups", "MCP", "u32", num(0)},
		{"SslCacheMisses", "MCP", "u32", num(0)},
		{"CompressBpsIn", "MRP", "u32", num(0)},
		{"CompressBpsOut", "MRP", "u32", num(0)},
		{"CompressBpsRateLim", "CLP", "u32", num(0)},
		{"Tasks", "MGP", "u32", num(mem.goroutines)},
		{"Run_queue", "MGP", "u32", num(0)},
		{"Idle_pct", "MaP", "u32", num(idle.read())},
		{"node", "COS", "str", str(node)},
		{"Stopping", "MGP", "u32", num(0)},
		{"Jobs", "MGP", "u32", num(conns + cliOpen + int64(listeners))},
		{"Unstoppable Jobs", "MGP", "u32", num(0)},
		{"Listeners", "MGP", "u32", num(int64(listeners))},
		{"ActivePeers", "MGP", "u32", num(0)},
		{"ConnectedPeers", "MGP", "u32", num(0)},
		{"DroppedLogs", "MGP", "u32", num(int64(logging.DroppedTotal()))},
		{"BusyPolling", "MGP", "u32", num(0)},
		{"FailedResolutions", "MGP", "u32", num(0)},
		{"TotalBytesOut", "MGP", "u64", num(bytesOut)},
		{"TotalSplicdedBytesOut", "MGP", "u64", num(0)},
		{"BytesOutRate", "MRP", "u64", num(0)},
		{"DebugCommandsIssued", "MGP", "u32", num(0)},
		{"CumRecvLogs", "MCP", "u32", num(int64(logging.ReceivedTotal()))},
		{"Build info", "POS", "str", str(src.Version)},
		{"Memmax_bytes", "CLP", "u32", num(0)},
		{"PoolAlloc_bytes", "MGP", "u64", num(mem.heapHeld)},
		{"PoolUsed_bytes", "MGP", "u64", num(mem.heapUsed)},
		{"Start_time_sec", "MDP", "u32", num(src.Start.Unix())},
		{"Tainted", "SGP", "str", str("0")},
	}
}

func pad2(n int64) string {
	if n < 10 {
		return "0" + strconv.FormatInt(n, 10)
	}
	return strconv.FormatInt(n, 10)
}

// InfoText is "show info": "Name: value" lines.
func (src *Source) InfoText(typed bool) string {
	var b strings.Builder
	for i, f := range src.Info() {
		val := f.Value.S
		if f.Value.Kind == 'n' {
			val = strconv.FormatInt(f.Value.N, 10)
		}
		if typed {
			b.WriteString(strconv.Itoa(i) + "." + f.Name + ".1:" + f.Tags + ":" + f.Type + ":" + val + "\n")
		} else {
			b.WriteString(f.Name + ": " + val + "\n")
		}
	}
	return b.String()
}

var hostname, _ = os.Hostname()

// ulimitN is the open files limit, the Ulimit-n and Maxsock fields.
func ulimitN() int64 {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) != nil {
		return 0
	}
	return int64(l.Cur)
}

// goFigures are the Go runtime's counterparts of haproxy's memory pools
// and tasks in "show info": the heap memory held and the part of it in
// use by objects, and the goroutines.
type goFigures struct {
	heapHeld, heapUsed, goroutines int64
}

// goMemory reads them through runtime/metrics, which does not stop the
// world as runtime.ReadMemStats does.
func goMemory() goFigures {
	samples := []rtmetrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/memory/classes/heap/unused:bytes"},
		{Name: "/memory/classes/heap/free:bytes"},
		{Name: "/sched/goroutines:goroutines"},
	}
	rtmetrics.Read(samples)
	v := func(i int) int64 {
		if samples[i].Value.Kind() != rtmetrics.KindUint64 {
			return 0
		}
		return int64(samples[i].Value.Uint64())
	}
	return goFigures{heapHeld: v(0) + v(1) + v(2), heapUsed: v(0), goroutines: v(3)}
}
