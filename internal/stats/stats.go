// Package stats reports the running proxies' counters in HAProxy's formats:
// the "show stat" CSV and its typed form, the HTML stats page and the
// Prometheus exposition, all driven by the one column table (columns.go).
package stats

import (
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/backend"
	"dhproxy/internal/check"
	"dhproxy/internal/lb"
	"dhproxy/internal/lvs"
	"dhproxy/internal/model"
	"dhproxy/internal/stream"
)

// Source is what the outputs read: the running configuration and the
// facts about the process that "show info" reports.
type Source struct {
	RT          *stream.Runtime
	Name        string // "dhproxy"
	Version     string
	ReleaseDate string
	Start       time.Time
	// LVS, when set, writes the virtual servers (keepalived's
	// virtual_server blocks run by dhproxy) like "ipvsadm -Ln".
	LVS func(w io.Writer) error
	// Virtual, when set, reports the same virtual servers for the rows
	// of "show stat" and Prometheus.
	Virtual func() ([]lvs.ServiceStats, error)
	// CLI, when set, reports the runtime API's listening sockets, its
	// open connections and the connections it accepted, which haproxy
	// counts in "show info" (Listeners, Jobs, CumConns, CumReq).
	CLI func() (sockets int, open, accepted int64)
}

// Row kinds, as the type letters of the typed output.
const (
	Frontend = 'F'
	Backend  = 'B'
	Server   = 'S'
	Listener = 'L' // a socket of a frontend with "option socket-stats"
)

// Row is one line of the statistics: a frontend, a backend or a server.
type Row struct {
	Kind  byte
	P     *model.Proxy
	FE    *stream.Frontend
	BE    *stream.Backend
	Srv   *stream.Server
	Ln    *stream.Listener // a Listener row's socket
	IID   int              // the proxy's number
	SID   int              // the server's number, 0 for frontend and backend rows
	Now   time.Time
	Start time.Time // when the process started
	// Virtual is set on the rows of a virtual server: its backend row
	// and, with Real, its real servers' rows. P, FE, BE and Srv are nil.
	Virtual *lvs.ServiceStats
	Real    *lvs.RealStats
	// UpCount adds to a backend's status the servers up out of all,
	// "UP (2/3)", as haproxy does when DOWN or maintenance servers are
	// hidden (";up", "show stat up|no-maint").
	UpCount bool
}

// StatRows lists every row of "show stat" and Prometheus: the proxies'
// (Rows), then the virtual servers', numbered after the last proxy.
func (src *Source) StatRows() []Row {
	rows := src.Rows()
	if src.Virtual == nil {
		return rows
	}
	svcs, err := src.Virtual()
	if err != nil || len(svcs) == 0 {
		return rows
	}
	iid := 0
	for _, v := range src.RT.Proxies() {
		iid = max(iid, v.P.ID)
	}
	return append(rows, virtualRows(svcs, iid+1, time.Now())...)
}

// Rows lists the proxies' rows in HAProxy's order: per proxy in
// configuration order, its frontend, its servers, then its backend.
func (src *Source) Rows() []Row {
	now := time.Now()
	var rows []Row
	for _, v := range src.RT.Proxies() {
		iid := v.P.ID
		if v.FE != nil {
			rows = append(rows, Row{Kind: Frontend, P: v.P, FE: v.FE, BE: v.BE, IID: iid, Now: now})
			for _, ln := range v.FE.Listeners() {
				rows = append(rows, Row{Kind: Listener, P: v.P, FE: v.FE, Ln: ln, IID: iid, SID: ln.ID, Now: now})
			}
		}
		if v.BE != nil {
			for _, s := range v.BE.ServerList() {
				rows = append(rows, Row{Kind: Server, P: v.P, BE: v.BE, Srv: s, IID: iid, SID: s.Conf.ID, Now: now, Start: src.Start})
			}
			rows = append(rows, Row{Kind: Backend, P: v.P, FE: v.FE, BE: v.BE, IID: iid, Now: now, Start: src.Start})
		}
	}
	return rows
}

// Counters returns the row's counters.
func (r *Row) Counters() *stream.Counters {
	switch r.Kind {
	case Frontend:
		return &r.FE.Stats
	case Backend:
		return &r.BE.Stats
	case Listener:
		return &r.Ln.Stats
	}
	return &r.Srv.Stats
}

// PxName is the pxname column.
func (r *Row) PxName() string {
	if r.Virtual != nil {
		return r.Virtual.Name
	}
	return r.P.Name
}

// SvName is the svname column.
func (r *Row) SvName() string {
	switch r.Kind {
	case Frontend:
		return "FRONTEND"
	case Backend:
		return "BACKEND"
	case Listener:
		return r.Ln.Name
	}
	if r.Real != nil {
		return r.Real.Name
	}
	return r.Srv.Name
}

// state is a server row's display state.
func (r *Row) state() State {
	if r.Real != nil {
		return virtualState(r.Real)
	}
	return ServerState(r.Srv)
}

// State is a server's display state, HAProxy's SRV_STATS_STATE_*.
type State int

const (
	StateDown State = iota
	StateDownAgent
	StateGoingUp
	StateUpGoingDown
	StateUp
	StateNolb
	StateNolbGoingDown
	StateDrain
	StateDrainGoingDown
	StateDrainAgent
	StateNoCheck
	StateMaint
)

// checkOf is s's last check, or before the first result the state haproxy
// starts a checked server in: "INI", health at rise (up, but down at the
// first failure).
func checkOf(s *stream.Server) *stream.CheckState {
	if c := s.Check(); c != nil {
		return c
	}
	return &stream.CheckState{Status: "INI", Desc: check.StatusINI.Description(), Rise: s.Conf.Rise, Fall: s.Conf.Fall, Health: s.Conf.Rise, Duration: -1}
}

// ServerState derives a server's display state from its run-time state and
// its last check, as HAProxy's stats do.
func ServerState(s *stream.Server) State {
	if s.AdminState()&(backend.AdminMaint|backend.AdminConfigMaint|backend.AdminResolvMaint|backend.AdminInheritMaint) != 0 {
		return StateMaint
	}
	chk := checkOf(s)
	checked := s.Conf.Check
	full := func() bool { return chk.Health >= chk.Rise+chk.Fall-1 }
	agent := s.Conf.Health.Agent && !s.CheckPaused(true)
	if s.Up() {
		st := StateUp
		if checked && !full() {
			st = StateUpGoingDown
		}
		if s.Draining() {
			if agent {
				return StateDrainAgent // whoever set the drain, as haproxy shows it
			}
			if st == StateUpGoingDown {
				return StateDrainGoingDown
			}
			return StateDrain
		}
		if st == StateUp && !checked && s.Conf.Tracked == nil {
			st = StateNoCheck // a tracker shows the state it follows
		}
		return st
	}
	if agent {
		if ag := s.Agent(); ag != nil && ag.Health == 0 {
			return StateDownAgent
		}
	}
	if checked && chk.Health == 0 {
		return StateDown
	}
	if checked || agent {
		return StateGoingUp
	}
	return StateDown
}

// statusText is the status column of a server.
func statusText(s *stream.Server) string {
	chk := checkOf(s)
	switch ServerState(s) {
	case StateMaint:
		switch a := s.AdminState(); {
		case a&backend.AdminResolvMaint != 0:
			return "MAINT (resolution)"
		case a&(backend.AdminMaint|backend.AdminConfigMaint) == 0 && s.Conf.Tracked != nil:
			return "MAINT (via " + s.Conf.TrackedProxy.Name + "/" + s.Conf.Tracked.Name + ")"
		}
		return "MAINT"
	case StateUpGoingDown:
		return "UP " + strconv.Itoa(chk.Health-chk.Rise+1) + "/" + strconv.Itoa(chk.Fall)
	case StateGoingUp:
		return "DOWN " + strconv.Itoa(chk.Health) + "/" + strconv.Itoa(chk.Rise)
	case StateUp:
		return "UP"
	case StateNolb, StateNolbGoingDown:
		return "NOLB"
	case StateDrain, StateDrainGoingDown:
		return "DRAIN"
	case StateDrainAgent:
		return "DRAIN (agent)"
	case StateDownAgent:
		return "DOWN (agent)"
	case StateNoCheck:
		return "no check"
	}
	return "DOWN"
}

// backendWeight is the backend's weight column: the total weight of the
// usable active servers, else of the usable backup ones.
func backendWeight(b *stream.Backend) int {
	return sumWeights(b, func(s *stream.Server) int { return s.EffectiveWeight() / lb.WeightScale })
}

// backendUserWeight is the same total with the servers' user weights.
func backendUserWeight(b *stream.Backend) int {
	return sumWeights(b, func(s *stream.Server) int { w, _ := s.Weight(); return w })
}

func sumWeights(b *stream.Backend, weight func(*stream.Server) int) int {
	var act, bck int
	for _, s := range b.ServerList() {
		if !s.Up() || s.AdminState()&(backend.AdminMaint|backend.AdminConfigMaint) != 0 {
			continue
		}
		ew := weight(s)
		if s.Conf.Backup {
			bck += ew
		} else {
			act += ew
		}
	}
	if act > 0 {
		return act
	}
	return bck
}

// pid is this process's id, the pid column.
var pid = os.Getpid()

// csvQuote quotes a CSV value holding a quote or a comma, as HAProxy.
func csvQuote(s string) string {
	if !strings.ContainsAny(s, "\",\n") {
		return s
	}
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}
