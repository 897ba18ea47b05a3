package check

import (
	"fmt"
	"sync/atomic"

	"dhproxy/internal/model"
)

// Passive health ("observe layer4|layer7", "error-limit", "on-error"): the
// traffic reports each outcome to its server's Passive; after error-limit
// consecutive errors on-error applies at once, in the reporting goroutine
// as in HAProxy, so that the state line counts the sessions of that moment
// (fastinter, fail-check, sudden-death, mark-down), and the next check comes
// after fastinter. Below the limit, Report costs two atomic operations at
// most: no lock, no allocation.

// Outcome is HAProxy's analysis status of a request (HANA_STATUS_*).
type Outcome uint8

const (
	OutcomeL4OK            Outcome = iota + 1 // connection established
	OutcomeL4Error                            // connection failed
	OutcomeHTTPOK                             // a response, status below 500 (or 501, 505)
	OutcomeHTTPStatus                         // a 5xx response
	OutcomeHTTPInvalid                        // an invalid response
	OutcomeHTTPReadError                      // a read error
	OutcomeHTTPReadTimeout                    // no response in time
	OutcomeHTTPBrokenPipe                     // the server closed
)

// outcomes gives each outcome its description and, for layer4 and layer7
// observation, whether it is ignored (0), an error (1) or a success (2).
var outcomes = [...]struct {
	desc string
	lr   [2]uint8
}{
	OutcomeL4OK:            {"L4 successful connection", [2]uint8{2, 0}},
	OutcomeL4Error:         {"L4 unsuccessful connection", [2]uint8{1, 1}},
	OutcomeHTTPOK:          {"Correct http response", [2]uint8{0, 2}},
	OutcomeHTTPStatus:      {"Wrong http response", [2]uint8{0, 1}},
	OutcomeHTTPInvalid:     {"Invalid http response", [2]uint8{0, 1}},
	OutcomeHTTPReadError:   {"Read error (http)", [2]uint8{0, 1}},
	OutcomeHTTPReadTimeout: {"Read timeout (http)", [2]uint8{0, 1}},
	OutcomeHTTPBrokenPipe:  {"Close from server (http)", [2]uint8{0, 1}},
}

// HTTPOutcome classifies a response status as HAProxy does: server errors
// count, except 501 and 505 which say more about the request.
func HTTPOutcome(status int) Outcome {
	if status >= 100 && (status < 500 || status == 501 || status == 505) {
		return OutcomeHTTPOK
	}
	return OutcomeHTTPStatus
}

// Passive collects one server's outcomes.
type Passive struct {
	layer   uint8 // 0: layer4, 1: layer7
	limit   int32
	errs    atomic.Int32
	checker atomic.Pointer[checker] // set when the server's checks start
}

type hanaEvent struct {
	errs    int32
	outcome Outcome
}

// NewPassive returns the collector for a server with "observe" and
// "check", or nil.
func NewPassive(s *model.Server) *Passive {
	if s == nil || s.Health.Observe == "" || !s.Check || s.Disabled {
		return nil
	}
	p := &Passive{limit: int32(s.Health.ErrorLimit)}
	if p.limit <= 0 {
		p.limit = model.DefaultErrorLimit
	}
	if s.Health.Observe == "layer7" {
		p.layer = 1
	}
	return p
}

// Report records an outcome; a nil Passive ignores it.
func (p *Passive) Report(o Outcome) {
	if p == nil || int(o) >= len(outcomes) {
		return
	}
	switch outcomes[o].lr[p.layer] {
	case 2:
		if p.errs.Load() != 0 {
			p.errs.Store(0)
		}
	case 1:
		n := p.errs.Add(1)
		if n >= p.limit && p.errs.CompareAndSwap(n, 0) {
			if c := p.checker.Load(); c != nil {
				c.analyze(hanaEvent{n, o})
			}
		}
	}
}

// analyze applies on-error after error-limit consecutive errors
// (HAProxy's __health_adjust).
func (c *checker) analyze(ev hanaEvent) {
	res := Result{
		Status:   StatusHANA,
		Info:     fmt.Sprintf("Detected %d consecutive errors, last one was: %s", ev.errs, outcomes[ev.outcome].desc),
		Duration: -1,
	}
	switch c.t.Conf.Health.OnError {
	case "fail-check":
		c.process(res)
	case "sudden-death":
		c.g.mu.Lock()
		if c.health > c.rise {
			c.health = c.rise + 1
		}
		c.g.mu.Unlock()
		c.process(res)
	case "mark-down":
		c.g.mu.Lock()
		c.health = c.rise
		c.g.mu.Unlock()
		c.process(res)
	}
	// fastinter (the default) and the others: the next check comes sooner.
	select {
	case c.sooner <- struct{}{}:
	default:
	}
}
