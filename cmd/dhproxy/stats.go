package main

import (
	"io"
	"time"

	"dhproxy/internal/lvs"
	"dhproxy/internal/model"
	"dhproxy/internal/runtimeapi"
	"dhproxy/internal/stats"
	"dhproxy/internal/stream"
)

// startStats serves the statistics: the stats pages and Prometheus
// exporters of the proxies, and the runtime API's "stats socket"s.
func startStats(cfg *model.Config, rt *stream.Runtime) (*runtimeapi.Server, error) {
	src := &stats.Source{RT: rt, Name: "dhproxy", Version: Version, ReleaseDate: ReleaseDate, Start: time.Now()}
	// Virtual servers run in "dhproxy lvs run": ask its control socket.
	src.LVS = func(w io.Writer) error { return lvs.Query(lvs.SocketPath(), "list", w) }
	rt.SetService(src.Serve)
	return runtimeapi.Listen(cfg, src)
}
