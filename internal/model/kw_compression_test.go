package model

import (
	"slices"
	"testing"

	"dhproxy/internal/compression"
)

// A section's compression lines extend what its defaults gave, without
// changing the defaults' lists for the other sections.
func TestCompressionInheritance(t *testing.T) {
	cfg := buildText(t, `
global
    tune.comp.maxlevel 6
defaults
    mode http
    compression algo gzip
    compression type text/html
frontend f
    bind 127.0.0.1:8080
    compression algo raw-deflate
    compression type text/plain
    compression offload
    default_backend b
backend b
    server s 127.0.0.1:8081
backend none
    server s 127.0.0.1:8081
`)
	f, b := cfg.Proxy("f").Compression, cfg.Proxy("b").Compression
	if !slices.Equal(f.Algos, []compression.Algo{compression.Gzip, compression.RawDeflate}) ||
		!slices.Equal(f.Types, []string{"text/html", "text/plain"}) || !f.Offload {
		t.Fatalf("frontend: %+v", f)
	}
	if !slices.Equal(b.Algos, []compression.Algo{compression.Gzip}) || !slices.Equal(b.Types, []string{"text/html"}) || b.Offload {
		t.Fatalf("backend: %+v", b)
	}
	if cfg.Global.CompMaxLevel != 6 {
		t.Fatalf("tune.comp.maxlevel: %d", cfg.Global.CompMaxLevel)
	}
}
