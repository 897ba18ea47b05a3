package stats

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/model"
)

// The colours of HAProxy's stats page: an operator reads a server's state
// from its row's colour, so the class names and colours are HAProxy's.
var rowColours = []struct{ class, colour string }{
	{"titre", "#20D0D0"}, {"total", "#20D0D0"}, {"frontend", "#e8e8d0"}, {"backend", "#e8e8d0"},
	{"active_down", "#ff9090"}, {"active_going_up", "#ffd020"}, {"active_going_down", "#ffffa0"},
	{"active_up", "#c0ffc0"}, {"active_nolb", "#20a0ff"}, {"active_draining", "#20a0FF"},
	{"active_no_check", "#e0e0e0"},
	{"backup_down", "#ff9090"}, {"backup_going_up", "#ff80ff"}, {"backup_going_down", "#c060ff"},
	{"backup_up", "#b0d0ff"}, {"backup_nolb", "#90b0e0"}, {"backup_draining", "#cc9900"},
	{"backup_no_check", "#e0e0e0"}, {"maintain", "#c07820"},
}

// serverClass is the CSS class of a server row, after its display state.
func serverClass(r *Row) string {
	prefix := "active_"
	if r.Real != nil && r.Real.Sorry || r.Srv != nil && r.Srv.Conf.Backup {
		prefix = "backup_"
	}
	switch r.state() {
	case StateMaint:
		return "maintain"
	case StateUp:
		return prefix + "up"
	case StateUpGoingDown, StateDrainGoingDown, StateNolbGoingDown:
		return prefix + "going_down"
	case StateGoingUp:
		return prefix + "going_up"
	case StateNolb:
		return prefix + "nolb"
	case StateDrain, StateDrainAgent:
		return prefix + "draining"
	case StateNoCheck:
		return prefix + "no_check"
	}
	return prefix + "down"
}

// pageColumns are the columns the HTML page shows, grouped as HAProxy's.
var pageGroups = []struct {
	title string
	cols  []string
	heads []string
}{
	{"Queue", []string{"qcur", "qmax", "qlimit"}, []string{"Cur", "Max", "Limit"}},
	{"Session rate", []string{"rate", "rate_max", "rate_lim"}, []string{"Cur", "Max", "Limit"}},
	{"Sessions", []string{"scur", "smax", "slim", "stot", "lbtot", "lastsess"}, []string{"Cur", "Max", "Limit", "Total", "LbTot", "Last"}},
	{"Bytes", []string{"bin", "bout"}, []string{"In", "Out"}},
	{"Denied", []string{"dreq", "dresp"}, []string{"Req", "Resp"}},
	{"Errors", []string{"ereq", "econ", "eresp"}, []string{"Req", "Conn", "Resp"}},
	{"Warnings", []string{"wretr", "wredis"}, []string{"Retr", "Redis"}},
	{"Server", []string{"status", "lastchg", "check_status", "weight", "act", "bck", "chkfail", "chkdown", "downtime", "throttle"},
		[]string{"Status", "LastChk", "Chk", "Wght", "Act", "Bck", "Chk", "Dwn", "Dwntme", "Thrtle"}},
}

// HTML renders the stats page of proxy p (its "stats" settings decide the
// refresh, the version shown and the legends).
func (src *Source) HTML(p *model.Proxy) string {
	st := p.Stats
	if st == nil {
		st = &model.Stats{}
	}
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><title>Statistics Report for " + html.EscapeString(src.Name) + "</title>\n")
	b.WriteString("<meta http-equiv=\"content-type\" content=\"text/html; charset=utf-8\">\n")
	b.WriteString("<style type=\"text/css\">\nbody { font-family: arial, helvetica, sans-serif; font-size: 12px; }\n")
	b.WriteString("table.tbl { border-collapse: collapse; }\ntable.tbl td, table.tbl th { border: 1px solid gray; padding: 2px 3px; font-size: 10px; white-space: nowrap; }\n")
	b.WriteString("table.tbl td { text-align: right; }\ntable.tbl th.pxname { background: #b00040; color: #ffff40; text-align: left; }\n")
	for _, c := range rowColours {
		fmt.Fprintf(&b, ".%s { background: %s; }\n", c.class, c.colour)
	}
	b.WriteString(".titre { font-weight: bold; text-align: center; }\n</style></head>\n<body>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(src.Name))
	if !hidesVersion(st) {
		fmt.Fprintf(&b, "<h2>Statistics Report for pid %d</h2>\n", pid)
		fmt.Fprintf(&b, "<p>version %s, released %s; uptime %s</p>\n", html.EscapeString(src.Version), html.EscapeString(src.ReleaseDate), time.Since(src.Start).Truncate(time.Second))
	} else {
		fmt.Fprintf(&b, "<h2>Statistics Report for pid %d</h2>\n", pid)
	}
	if showsLegends(st) {
		b.WriteString("<table class=\"lgd\"><tr>")
		for _, l := range [][2]string{{"active_up", "active UP"}, {"backup_up", "backup UP"},
			{"active_going_down", "active UP, going down"}, {"active_going_up", "active DOWN, going up"},
			{"active_down", "active or backup DOWN"}, {"active_no_check", "not checked"},
			{"maintain", "active or backup DOWN for maintenance (MAINT)"},
			{"active_draining", "active or backup SOFT STOPPED for maintenance"}} {
			fmt.Fprintf(&b, "<td class=\"%s\">&nbsp;</td><td class=\"noborder\">%s</td>", l[0], l[1])
		}
		b.WriteString("</tr></table>\n")
	}
	rows := src.StatRows()
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].IID == rows[i].IID {
			j++
		}
		writeProxyTable(&b, rows[i:j])
		i = j
	}
	if src.LVS != nil {
		var lv strings.Builder
		if src.LVS(&lv) == nil {
			b.WriteString("<h3>Virtual servers (LVS)</h3>\n<pre class=\"lvs\">" + html.EscapeString(lv.String()) + "</pre>\n")
		}
	}
	b.WriteString("</body></html>\n")
	return b.String()
}

func hidesVersion(st *model.Stats) bool { return hasOther(st, "hide-version") }
func showsLegends(st *model.Stats) bool { return hasOther(st, "show-legends") }

func hasOther(st *model.Stats, word string) bool {
	for _, o := range st.Other {
		if len(o) > 0 && o[0] == word {
			return true
		}
	}
	return false
}

func writeProxyTable(b *strings.Builder, rows []Row) {
	name := html.EscapeString(rows[0].PxName())
	fmt.Fprintf(b, "<table class=\"tbl\" width=\"100%%\">\n<tr class=\"titre\"><th class=\"pxname\" width=\"10%%\"><a name=\"%s\"></a>%s</th></tr></table>\n", name, name)
	b.WriteString("<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\"><th rowspan=\"2\"></th>")
	for _, g := range pageGroups {
		fmt.Fprintf(b, "<th colspan=\"%d\">%s</th>", len(g.cols), g.title)
	}
	b.WriteString("</tr>\n<tr class=\"titre\">")
	for _, g := range pageGroups {
		for _, h := range g.heads {
			b.WriteString("<th>" + h + "</th>")
		}
	}
	b.WriteString("</tr>\n")
	for i := range rows {
		r := &rows[i]
		class := "frontend"
		switch r.Kind {
		case Backend:
			class = "backend"
		case Server:
			class = serverClass(r)
		}
		// The anchor is haproxy's, so links and scrapers keyed on it work.
		anchor := map[byte]string{Frontend: "Frontend", Backend: "Backend"}[r.Kind]
		if r.Kind == Server {
			anchor = r.SvName()
		}
		fmt.Fprintf(b, "<tr class=\"%s\"><td class=ac><a name=\"%s/%s\"></a>%s</td>", class,
			html.EscapeString(r.PxName()), html.EscapeString(anchor), html.EscapeString(r.SvName()))
		for _, g := range pageGroups {
			for _, c := range g.cols {
				col := &Columns[ColumnIndex(c)]
				v := col.Value(r)
				text := v.S
				if v.Kind == 'n' {
					text = strconv.FormatInt(v.N, 10)
					if c == "lastchg" || c == "downtime" || c == "lastsess" {
						text = humanDuration(v.N)
					}
				}
				b.WriteString("<td>" + html.EscapeString(text) + "</td>")
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</table><p>\n")
}

// humanDuration writes seconds as HAProxy's page does: 1d2h, 3h4m, 5m6s.
func humanDuration(s int64) string {
	switch {
	case s < 0:
		return "-"
	case s >= 86400:
		return fmt.Sprintf("%dd%dh", s/86400, s/3600%24)
	case s >= 3600:
		return fmt.Sprintf("%dh%dm", s/3600, s/60%60)
	case s >= 60:
		return fmt.Sprintf("%dm%ds", s/60, s%60)
	}
	return fmt.Sprintf("%ds", s)
}
