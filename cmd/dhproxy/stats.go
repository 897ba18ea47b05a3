package main

import (
	"io"
	"time"

	"dhproxy/internal/acme"
	"dhproxy/internal/lvs"
	"dhproxy/internal/model"
	"dhproxy/internal/runtimeapi"
	"dhproxy/internal/stats"
	"dhproxy/internal/stream"
)

// serveStats serves the statistics: the stats pages and Prometheus
// exporters of the proxies, and the runtime API's "stats socket"s bound
// before the proxies started (apis: nil ones are skipped).
// acmeMgr, when not nil, answers the ACME http-01 challenges first.
func serveStats(rt *stream.Runtime, acmeMgr *acme.Manager, apis ...*runtimeapi.Server) {
	src := &stats.Source{RT: rt, Name: "dhproxy", Version: Version, ReleaseDate: ReleaseDate, Start: time.Now()}
	// Virtual servers run by -K or "dhproxy lvs run": ask their control
	// socket, when a page or "show stat" wants them.
	src.LVS = func(w io.Writer) error { return lvs.Query(lvs.SocketPath(), "list", w) }
	src.Virtual = func() ([]lvs.ServiceStats, error) { return lvs.QueryStats(lvs.SocketPath()) }
	if acmeMgr != nil {
		rt.SetService(func(p *model.Proxy, sr *stream.ServiceRequest) ([]byte, int) {
			if resp, status, ok := acmeMgr.Answer(sr.Req.URI); ok {
				return resp, status
			}
			return src.Serve(p, sr)
		})
	} else {
		rt.SetService(src.Serve)
	}
	for _, api := range apis {
		if api != nil {
			api.Serve(src)
		}
	}
}
