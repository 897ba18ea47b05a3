package stream

import (
	"testing"

	"dhproxy/internal/model"
)

// The default pipe pool takes only the descriptors the limit leaves beside
// what maxconn needs; an explicit maxpipes is what was asked.
func TestPipeBudget(t *testing.T) {
	cfg := &model.Config{
		Global:  model.Global{Maxconn: 2000, Nbthread: 1},
		Proxies: []*model.Proxy{{Mode: model.ModeTCP, Cap: model.CapFE | model.CapBE, Binds: []*model.Bind{{}}}},
	}
	// maxconn needs 4014 descriptors; the default pool is 2000/4.
	for limit, want := range map[int]int{8192: 500, 4500: 243, 4014: 0, 1024: 0} {
		if got := pipeBudget(cfg, limit); got != want {
			t.Errorf("limit %d: %d pipes, want %d", limit, got, want)
		}
	}
	// a maxconn derived from the limit leaves the default pool alone
	cfg.Global.Maxconn, cfg.Global.MaxconnImplicit = cfg.IdealMaxconn(4096), true
	if got, want := pipeBudget(cfg, 4096), cfg.Global.Maxconn/4; got != want {
		t.Errorf("implicit maxconn %d: %d pipes, want %d", cfg.Global.Maxconn, got, want)
	}
	cfg.Global.MaxPipes = 7
	if got := pipeBudget(cfg, 4014); got != 7 {
		t.Errorf("maxpipes 7: %d pipes", got)
	}
}
