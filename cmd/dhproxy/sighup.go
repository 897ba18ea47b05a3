package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"dhproxy/internal/stats"
	"dhproxy/internal/stream"
)

// dumpStatesOnSIGHUP makes SIGHUP write every server's and proxy's state,
// as haproxy does (outside a master, where SIGHUP reloads).
func dumpStatesOnSIGHUP(rt *stream.Runtime, stderr io.Writer) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGHUP)
	go func() {
		for range ch {
			dumpStates(rt, stderr)
		}
	}()
}

// dumpStates writes haproxy 2.6's SIGHUP lines: a warning per server and
// per proxy on stderr, each also a notice in the global log targets.
func dumpStates(rt *stream.Runtime, stderr io.Writer) {
	warn := func(line string) {
		fmt.Fprintf(stderr, "[WARNING]  (%d) : %s\n", os.Getpid(), line)
		rt.LogGlobal("notice", line)
	}
	fmt.Fprintf(stderr, "[WARNING]  (%d) : SIGHUP received, dumping servers states.\n", os.Getpid())
	cols := map[string]*stats.Column{}
	for i := range stats.Columns {
		cols[stats.Columns[i].Name] = &stats.Columns[i]
	}
	get := func(name string, r *stats.Row) int64 {
		if r == nil || !cols[name].Applies(r) {
			return 0
		}
		return cols[name].Get(r).N
	}
	rows := (&stats.Source{RT: rt}).Rows()
	for i := 0; i < len(rows); {
		p := rows[i].P
		var fe, be *stats.Row
		servers := 0
		var pending int64
		rt.LogGlobal("notice", "SIGHUP received, dumping servers states for proxy "+p.Name+".")
		for ; i < len(rows) && rows[i].P == p; i++ {
			r := &rows[i]
			switch r.Kind {
			case stats.Frontend:
				fe = r
			case stats.Backend:
				be = r
			case stats.Server:
				servers++
				pending += get("qcur", r)
				warn(fmt.Sprintf("SIGHUP: Server %s/%s is %s. Conn: %d act, %d pend, %d tot.",
					p.Name, r.SvName(), upOrDown(cols["status"].Get(r).S), get("scur", r), get("qcur", r), get("stot", r)))
			}
		}
		unassigned := get("qcur", be)
		conn := fmt.Sprintf("Conn: act(FE+BE): %d+%d, %d pend (%d unass), tot(FE+BE): %d+%d.",
			get("scur", fe), get("scur", be), pending+unassigned, unassigned, get("conn_tot", fe), get("stot", be))
		act, bck := get("act", be), get("bck", be)
		switch {
		case servers == 0:
			warn(fmt.Sprintf("SIGHUP: Proxy %s has no servers. %s", p.Name, conn))
		case act == 0 && bck > 0:
			warn(fmt.Sprintf("SIGHUP: Proxy %s is running on backup servers ! %s", p.Name, conn))
		case act == 0:
			warn(fmt.Sprintf("SIGHUP: Proxy %s has no server available ! %s", p.Name, conn))
		default:
			warn(fmt.Sprintf("SIGHUP: Proxy %s has %d active servers and %d backup servers available. %s", p.Name, act, bck, conn))
		}
	}
}

// upOrDown maps a status column to haproxy's two words: a server is UP
// while it takes or may take traffic (draining, going down, unchecked).
func upOrDown(status string) string {
	for _, up := range []string{"UP", "DRAIN", "NOLB", "no check"} {
		if strings.HasPrefix(status, up) {
			return "UP"
		}
	}
	return "DOWN"
}
