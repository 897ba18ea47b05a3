package stats

import "dhproxy/internal/stream"

// ModuleColumns are the stats modules' columns, which haproxy 2.6 prints
// after the "-" that ends the generic ones (column 103 on in "show stat
// typed"): the ssl module's on frontends, backends and servers, the h2
// module's on frontends (client connections) and backends (server
// connections), and the h1 module's on frontends and backends (haproxy
// 2.6.12 as Debian builds it has the h1 module, with its splicing counters).
var ModuleColumns = []Column{
	{"ssl_sess", "MCP", "u64", "FBS", ctr(func(c *stream.Counters) int64 { return c.SSLSess.Load() })},
	{"ssl_reused_sess", "MCP", "u64", "FBS", ctr(func(c *stream.Counters) int64 { return c.SSLReused.Load() })},
	{"ssl_failed_handshake", "MCP", "u64", "FBS", ctr(func(c *stream.Counters) int64 { return c.SSLFailed.Load() })},
	{"h2_headers_rcvd", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H2.HeadersRcvd.Load() })},
	{"h2_data_rcvd", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H2.DataRcvd.Load() })},
	{"h2_settings_rcvd", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H2.SettingsRcvd.Load() })},
	{"h2_rst_stream_rcvd", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H2.RstStreamRcvd.Load() })},
	{"h2_goaway_rcvd", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H2.GoawayRcvd.Load() })},
	{"h2_detected_conn_protocol_errors", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H2.ConnProtoErr.Load() })},
	{"h2_detected_strm_protocol_errors", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H2.StrmProtoErr.Load() })},
	{"h2_rst_stream_resp", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H2.RstStreamResp.Load() })},
	{"h2_goaway_resp", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H2.GoawayResp.Load() })},
	{"h2_open_connections", "MGP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H2.OpenConns.Load() })},
	{"h2_backend_open_streams", "MGP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H2.OpenStreams.Load() })},
	{"h2_total_connections", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H2.TotalConns.Load() })},
	{"h2_backend_total_streams", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H2.TotalStreams.Load() })},
	{"h1_open_connections", "MGP", "u64", "FB", h1Open(true)},
	{"h1_open_streams", "MGP", "u64", "FB", h1Open(false)},
	{"h1_total_connections", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H1Conns.Load() })},
	{"h1_total_streams", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H1Streams.Load() })},
	{"h1_bytes_in", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H1BytesIn.Load() })},
	{"h1_bytes_out", "MCP", "u64", "FB", ctr(func(c *stream.Counters) int64 { return c.H1BytesOut.Load() })},
	// dhproxy's HTTP/1 path copies through user space (it splices only in
	// mode tcp, which has no h1 module): nothing is spliced here.
	{"h1_spliced_bytes_in", "MCP", "u64", "FB", zero},
	{"h1_spliced_bytes_out", "MCP", "u64", "FB", zero},
}

// h1Open is the h1 module's open connections (conns) or streams gauge:
// counted on frontends, derived from the pools and the requests in
// progress on backends.
func h1Open(conns bool) func(*Row) Value {
	return func(r *Row) Value {
		if r.Kind == Backend {
			c, s := r.BE.H1Open()
			if conns {
				return num(c)
			}
			return num(s)
		}
		c := r.Counters()
		if conns {
			return num(c.H1OpenConns.Load())
		}
		return num(c.H1OpenStreams.Load())
	}
}

// numbered returns the column at position i of the typed and JSON outputs,
// which number the generic columns then the modules' (numberedCount in all).
func numbered(i int) *Column {
	if i < len(Columns) {
		return &Columns[i]
	}
	return &ModuleColumns[i-len(Columns)]
}

func numberedCount() int { return len(Columns) + len(ModuleColumns) }
