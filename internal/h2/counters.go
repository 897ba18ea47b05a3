package h2

import "sync/atomic"

// Counters are the h2 stats module's columns of a proxy, counted as
// haproxy 2.6 counts them on its HTTP/2 connections (frontend: client
// connections; backend: server connections).
type Counters struct {
	HeadersRcvd   atomic.Int64 // HEADERS frames received (not their CONTINUATIONs)
	DataRcvd      atomic.Int64 // DATA frames received
	SettingsRcvd  atomic.Int64 // SETTINGS frames received, ACKs included; haproxy counts a connection's first twice
	RstStreamRcvd atomic.Int64 // RST_STREAM frames received
	GoawayRcvd    atomic.Int64 // GOAWAY frames received
	ConnProtoErr  atomic.Int64 // connections ended on a protocol error (no preface included)
	StrmProtoErr  atomic.Int64 // streams reset on a protocol error in their DATA
	RstStreamResp atomic.Int64 // RST_STREAM frames sent on a detected error
	GoawayResp    atomic.Int64 // GOAWAY frames sent on a detected protocol error
	OpenConns     atomic.Int64 // gauge: connections open
	OpenStreams   atomic.Int64 // gauge: streams open
	TotalConns    atomic.Int64 // connections
	TotalStreams  atomic.Int64 // streams
}

// Clear resets the counters ("clear counters all"); the gauges stay.
func (c *Counters) Clear() {
	for _, a := range []*atomic.Int64{&c.HeadersRcvd, &c.DataRcvd, &c.SettingsRcvd, &c.RstStreamRcvd, &c.GoawayRcvd,
		&c.ConnProtoErr, &c.StrmProtoErr, &c.RstStreamResp, &c.GoawayResp, &c.TotalConns, &c.TotalStreams} {
		a.Store(0)
	}
}

// discard receives the counts of a connection configured without
// counters.
var discard Counters
