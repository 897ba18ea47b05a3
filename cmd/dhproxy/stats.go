package main

import (
	"time"

	"dhproxy/internal/model"
	"dhproxy/internal/runtimeapi"
	"dhproxy/internal/stats"
	"dhproxy/internal/stream"
)

// startStats serves the statistics: the stats pages and Prometheus
// exporters of the proxies, and the runtime API's "stats socket"s.
func startStats(cfg *model.Config, rt *stream.Runtime) (*runtimeapi.Server, error) {
	src := &stats.Source{RT: rt, Name: "dhproxy", Version: Version, ReleaseDate: ReleaseDate, Start: time.Now()}
	rt.SetService(src.Serve)
	return runtimeapi.Listen(cfg, src)
}
