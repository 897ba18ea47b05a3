package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"dhproxy/internal/cli"
	"dhproxy/internal/config"
	"dhproxy/internal/model"
	"dhproxy/internal/peers"
	"dhproxy/internal/stream"
)

// localPeerName is this process's name in peers sections: -L, else
// "localpeer", else the host name, as in HAProxy.
func localPeerName(opts *cli.Options, cfg *model.Config) string {
	if opts.LocalPeer != "" {
		return opts.LocalPeer
	}
	if cfg.Global.LocalPeer != "" {
		return cfg.Global.LocalPeer
	}
	h, _ := os.Hostname()
	return h
}

// resolvePeers finds the local peer of each peers section (a built
// configuration only).
func resolvePeers(opts *cli.Options, cfg *model.Config, d *config.Diags) {
	if cfg != nil {
		cfg.ResolvePeers(localPeerName(opts, cfg), d)
	}
}

// startPeers starts the peers sections' synchronization of rt's tables.
func startPeers(cfg *model.Config, rt *stream.Runtime, stderr io.Writer) (*peers.Runtime, error) {
	return peers.Start(cfg, rt.TableOf, peers.Options{PID: os.Getpid(), Log: func(level, msg string) {
		fmt.Fprintf(stderr, "%-11s(%d) : %s\n", "["+level+"]", os.Getpid(), msg)
	}})
}

// handOver teaches the new process this one's tables during a soft stop;
// the returned channel closes once done (bounded by hard-stop-after).
func handOver(pr *peers.Runtime, g *model.Global) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		if g.HardStopAfter > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, g.HardStopAfter)
			defer cancel()
		}
		pr.Handover(ctx)
	}()
	return done
}
