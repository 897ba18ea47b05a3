package stream

import (
	"dhproxy/internal/model"
	"dhproxy/internal/stick"
)

// TableOf is the table of section p (a proxy's "stick-table" or a peers
// section's "table"), nil when it has none; the peers runtime shares it.
func (rt *Runtime) TableOf(p *model.Proxy) *stick.Table { return rt.tables[p] }
