package stats

import (
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/model"
)

// The stats page is haproxy 2.6's, cell for cell: operators read a
// server's state from its row's colour and its place in the table, and
// scrapers key on the anchors, classes and cell order, so the markup,
// class names and colours follow haproxy's page for the same config.

// PageOptions are the display options of the page's URL, as haproxy
// reads them after the stats URI: ";up" hides the DOWN servers,
// ";norefresh" drops the refresh, "?scope=txt" keeps the proxies whose
// name contains txt.
type PageOptions struct {
	HideDown  bool
	NoRefresh bool
	Scope     string
	// Self is the proxy serving the page, for "stats scope .".
	Self *model.Proxy
	// Admin draws the admin form ("stats admin" holds for the request).
	Admin bool
	// Status is the ";st=" code a POST redirected with, shown as a banner.
	Status string
}

// scopeMaxLen is the longest scope text haproxy keeps (its input box's
// maxlength).
const scopeMaxLen = 20

// ParsePageOptions reads the options in what follows the stats URI.
func ParsePageOptions(rest string) PageOptions {
	var o PageOptions
	o.HideDown = strings.Contains(rest, ";up")
	o.NoRefresh = strings.Contains(rest, ";norefresh")
	if i := strings.Index(rest, ";st="); i >= 0 && len(rest) >= i+8 {
		o.Status = rest[i+4 : i+8]
	}
	if i := strings.Index(rest, "scope="); i >= 0 && (i == 0 || rest[i-1] == '?' || rest[i-1] == '&' || rest[i-1] == ';') {
		v := rest[i+len("scope="):]
		if j := strings.IndexAny(v, "&;"); j >= 0 {
			v = v[:j]
		}
		if len(v) > scopeMaxLen {
			v = v[:scopeMaxLen]
		}
		o.Scope = v
	}
	return o
}

// pageStyle is the style sheet of haproxy's page: the same rules and
// values, so the page renders the same.
const pageStyle = `body { font-family: arial, helvetica, sans-serif; font-size: 12px; font-weight: normal; color: black; background: white;}
th,td { font-size: 10px;}
h1 { font-size: x-large; margin-bottom: 0.5em;}
h2 { font-family: helvetica, arial; font-size: x-large; font-weight: bold; font-style: italic; color: #6020a0; margin-top: 0em; margin-bottom: 0em;}
h3 { font-family: helvetica, arial; font-size: 16px; font-weight: bold; color: #b00040; background: #e8e8d0; margin-top: 0em; margin-bottom: 0em;}
li { margin-top: 0.25em; margin-right: 2em;}
.hr {margin-top: 0.25em; border-color: black; border-bottom-style: solid;}
.titre {background: #20D0D0; color: #000000; font-weight: bold; text-align: center;}
.total {background: #20D0D0; color: #ffff80;}
.socket {background: #d0d0d0;}
%s.rls {letter-spacing: 0.2em; margin-right: 1px;}
a.px:link, a.px:visited {color: #ffff40; text-decoration: none;}
a.px:hover {color: #ffffff; text-decoration: none;}
a.lfsb:link, a.lfsb:visited {color: #000000; text-decoration: none;}
a.lfsb:hover {color: #505050; text-decoration: none;}
table.tbl { border-collapse: collapse; border-style: none;}
table.tbl td { text-align: right; border-width: 1px; border-style: solid; padding: 2px 3px; border-color: gray; white-space: nowrap;}
table.tbl td.ac { text-align: center;}
table.tbl th { border-width: 1px; border-style: solid; border-color: gray;}
table.tbl th.pxname { background: #b00040; color: #ffff40; font-weight: bold; border-style: solid solid none solid; padding: 2px 3px; white-space: nowrap;}
table.tbl th.empty { border-style: none; empty-cells: hide; background: white;}
table.tbl th.desc { background: white; border-style: solid solid none solid; text-align: left; padding: 2px 3px;}
table.lgd { border-collapse: collapse; border-width: 1px; border-style: none none none solid; border-color: black;}
table.lgd td { border-width: 1px; border-style: solid; border-color: gray; padding: 2px;}
table.lgd td.noborder { border-style: none; padding: 2px; white-space: nowrap;}
table.det { border-collapse: collapse; border-style: none; }
table.det th { text-align: left; border-width: 0px; padding: 0px 1px 0px 0px; font-style: normal; font-size: 11px; font-weight: bold; font-family: sans-serif;}
table.det td { text-align: right; border-width: 0px; padding: 0px 0px 0px 4px; white-space: nowrap; font-style: normal; font-size: 11px; font-weight: normal;}
u {text-decoration: none; border-bottom: 1px dotted black;}
div.tips { display: block; visibility: hidden; z-index: 2147483647; position: absolute; padding: 2px 4px 3px; background: #f0f060; color: #000000; border: 1px solid #7040c0; white-space: nowrap; font-style: normal; font-size: 11px; font-weight: normal; border-radius: 3px; box-shadow: gray 2px 2px 3px;}
u:hover div.tips {visibility: visible;}
`

// The colours of the rows, haproxy's.
var rowColours = []struct{ class, colour string }{
	{"frontend", "#e8e8d0"}, {"backend", "#e8e8d0"},
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

// pageSettings are the "stats" keywords of the serving proxy that shape
// the page.
type pageSettings struct {
	uri         string
	refresh     time.Duration
	hideVersion bool
	legends     bool
	node        string // "stats show-node": shown after the pid when set
	desc        string // "stats show-desc"
	showNode    bool
	showDesc    bool
	scopes      []string // "stats scope": the proxies shown, "." for the serving one
}

func settingsOf(p *model.Proxy, g *model.Global) pageSettings {
	st := p.Stats
	if st == nil {
		st = &model.Stats{}
	}
	s := pageSettings{uri: st.URI, refresh: st.Refresh}
	if s.uri == "" {
		s.uri = "/haproxy?stats"
	}
	for _, o := range st.Other {
		switch o[0] {
		case "hide-version":
			s.hideVersion = true
		case "show-legends":
			s.legends = true
		case "show-node":
			s.showNode = true
			s.node = g.Node
			if s.node == "" {
				s.node = hostname
			}
			if len(o) > 1 {
				s.node = strings.Join(o[1:], " ")
			}
		case "show-desc":
			s.showDesc = true
			s.desc = g.Description
			if len(o) > 1 {
				s.desc = strings.Join(o[1:], " ")
			}
		case "scope":
			s.scopes = append(s.scopes, o[1])
		}
	}
	return s
}

// inScope tells whether the page shows proxy name: "stats scope" lists
// the proxies (or "." for the serving one), and the scope box of the page
// keeps the names containing its text, ignoring case.
func (s *pageSettings) inScope(name string, o PageOptions) bool {
	if len(s.scopes) > 0 {
		found := false
		for _, sc := range s.scopes {
			if sc == name || sc == "." && o.Self != nil && o.Self.Name == name {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return o.Scope == "" || strings.Contains(strings.ToLower(name), strings.ToLower(o.Scope))
}

// HTML renders the stats page served by proxy p with the URL's options.
func (src *Source) HTML(p *model.Proxy, o PageOptions) string {
	cfg := src.RT.Config()
	set := settingsOf(p, &cfg.Global)
	if o.Self == nil {
		o.Self = p
	}
	var b strings.Builder
	title := "Statistics Report for " + src.Name
	if set.showNode {
		title += " on " + set.node
	}
	b.WriteString("<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01 Transitional//EN\"\n\"http://www.w3.org/TR/html4/loose.dtd\">\n")
	b.WriteString("<html><head><title>" + html.EscapeString(title) + "</title>\n<link rel=\"icon\" href=\"data:,\">\n")
	b.WriteString("<meta http-equiv=\"content-type\" content=\"text/html; charset=utf-8\">\n<style type=\"text/css\"><!--\n")
	var colours strings.Builder
	for _, c := range rowColours {
		fmt.Fprintf(&colours, ".%s {background: %s;}\n", c.class, c.colour)
	}
	fmt.Fprintf(&b, pageStyle, colours.String())
	b.WriteString("-->\n</style></head>\n")
	src.writeInfo(&b, &set, o)
	writeBanner(&b, set.uri, o.Status)
	for _, rows := range groupByProxy(src.StatRows()) {
		if !set.inScope(rows[0].PxName(), o) {
			continue
		}
		writeProxyTable(&b, rows, &set, o)
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

// groupByProxy splits the rows into one slice per proxy.
func groupByProxy(rows []Row) [][]Row {
	var out [][]Row
	for i := 0; i < len(rows); {
		j := i
		for j < len(rows) && rows[j].IID == rows[i].IID {
			j++
		}
		out = append(out, rows[i:j])
		i = j
	}
	return out
}

// writeInfo writes the page's head: the product, the "General process
// information" block from the "show info" figures, the colour legend and
// the display options.
func (src *Source) writeInfo(b *strings.Builder, set *pageSettings, o PageOptions) {
	info := map[string]Value{}
	for _, f := range src.Info() {
		info[f.Name] = f.Value
	}
	n := func(name string) int64 { return info[name].N }
	// haproxy's title links to its site; dhproxy's to the page itself, so
	// it renders alike and a click refreshes.
	b.WriteString("<body><h1><a href=\"" + html.EscapeString(set.uri) + "\" style=\"text-decoration: none;\">" + html.EscapeString(src.Name))
	if !set.hideVersion {
		b.WriteString(" version " + html.EscapeString(src.Version) + ", released " + html.EscapeString(src.ReleaseDate))
	}
	b.WriteString("</a></h1>\n")
	fmt.Fprintf(b, "<h2>Statistics Report for pid %d", n("Pid"))
	if set.showNode {
		b.WriteString(" on " + html.EscapeString(set.node))
	}
	if set.showDesc {
		b.WriteString(": " + html.EscapeString(set.desc))
	}
	b.WriteString("</h2>\n<hr width=\"100%\" class=\"hr\">\n<h3>&gt; General process information</h3>\n")
	b.WriteString("<table border=0><tr><td align=\"left\" nowrap width=\"1%\">\n")
	fmt.Fprintf(b, "<p><b>pid = </b> %d (process #1, nbproc = 1, nbthread = %d)<br>\n", n("Pid"), n("Nbthread"))
	secs := n("Uptime_sec")
	fmt.Fprintf(b, "<b>uptime = </b> %dd %dh%02dm%02ds<br>\n", secs/86400, secs%86400/3600, secs%3600/60, secs%60)
	memmax := "unlimited"
	if m := n("Memmax_MB"); m > 0 {
		memmax = strconv.FormatInt(m, 10) + " MB"
	}
	fmt.Fprintf(b, "<b>system limits:</b> memmax = %s; ulimit-n = %d<br>\n", memmax, n("Ulimit-n"))
	fmt.Fprintf(b, "<b>maxsock = </b> %d; <b>maxconn = </b> %d; <b>maxpipes = </b> %d<br>\n", n("Maxsock"), n("Maxconn"), n("Maxpipes"))
	bps := float64(n("BytesOutRate")) * 8
	unit, div := 'k', 1e3
	switch {
	case bps >= 1e9:
		unit, div = 'G', 1e9
	case bps >= 1e6:
		unit, div = 'M', 1e6
	}
	fmt.Fprintf(b, "current conns = %d; current pipes = %d/%d; conn rate = %d/sec; bit rate = %.3f %cbps<br>\n",
		n("CurrConns"), n("PipesUsed"), n("PipesUsed")+n("PipesFree"), n("ConnRate"), bps/div, unit)
	fmt.Fprintf(b, "Running tasks: %d/%d; idle = %d %%<br>\n", n("Run_queue"), n("Tasks"), n("Idle_pct"))
	b.WriteString("</td><td align=\"center\" nowrap>\n<table class=\"lgd\"><tr>\n")
	legend := [][]string{
		{"active_up", "active UP ", "backup_up", "backup UP "},
		{"active_going_down", "active UP, going down ", "backup_going_down", "backup UP, going down "},
		{"active_going_up", "active DOWN, going up ", "backup_going_up", "backup DOWN, going up "},
		{"active_down", "active or backup DOWN &nbsp;", "active_no_check", "not checked "},
		{"maintain", "active or backup DOWN for maintenance (MAINT) &nbsp;"},
		{"active_draining", "active or backup SOFT STOPPED for maintenance &nbsp;"},
	}
	for i, l := range legend {
		if i > 0 {
			b.WriteString("</tr><tr>\n")
		}
		// The first line's swatches hold a space, as haproxy's do.
		fill := ""
		if i == 0 {
			fill = "&nbsp;"
		}
		if len(l) == 4 {
			fmt.Fprintf(b, "<td class=\"%s\">%s</td><td class=\"noborder\">%s</td><td class=\"%s\">%s</td><td class=\"noborder\">%s</td>", l[0], fill, l[1], l[2], fill, l[3])
		} else {
			fmt.Fprintf(b, "<td class=\"%s\"></td><td class=\"noborder\" colspan=\"3\">%s</td>", l[0], l[1])
		}
	}
	b.WriteString("</tr></table>\nNote: \"NOLB\"/\"DRAIN\" = UP with load-balancing disabled.</td>")
	b.WriteString("<td align=\"left\" valign=\"top\" nowrap width=\"1%\"><b>Display option:</b><ul style=\"margin-top: 0.25em;\">")
	fmt.Fprintf(b, "<li><form method=\"GET\">Scope : <input value=\"%s\" name=\"scope\" size=\"8\" maxlength=\"%d\" tabindex=\"1\"/></form>\n",
		html.EscapeString(o.Scope), scopeMaxLen)
	scope := ""
	if o.Scope != "" {
		scope = "?scope=" + o.Scope
	}
	link := func(opts, text string) {
		fmt.Fprintf(b, "<li><a href=\"%s\">%s</a><br>\n", html.EscapeString(set.uri+opts+scope), text)
	}
	up, norefresh := "", ""
	if o.HideDown {
		up = ";up"
	}
	if o.NoRefresh {
		norefresh = ";norefresh"
	}
	if o.HideDown {
		link(norefresh, "Show all servers")
	} else {
		link(";up"+norefresh, "Hide 'DOWN' servers")
	}
	if set.refresh > 0 {
		if o.NoRefresh {
			link(up, "Enable refresh")
		} else {
			link(up+";norefresh", "Disable refresh")
		}
	}
	link(up+norefresh, "Refresh now")
	// The exports never refresh.
	exportOpts := ""
	if set.refresh > 0 {
		exportOpts = ";norefresh"
	}
	link(";csv"+exportOpts, "CSV export")
	link(";json"+exportOpts, "JSON export")
	b.WriteString("</ul></td></tr></table>\n")
}

// writeProxyTable writes a proxy's two tables: its name bar, then the
// column headers and its rows (frontend, servers, backend).
func writeProxyTable(b *strings.Builder, rows []Row, set *pageSettings, o PageOptions) {
	first := &rows[0]
	name := html.EscapeString(first.PxName())
	fmt.Fprintf(b, "<table class=\"tbl\" width=\"100%%\">\n<tr class=\"titre\"><th class=\"pxname\" width=\"10%%\"><a name=\"%s\"></a>", name)
	openTip(b, set.legends)
	fmt.Fprintf(b, "<a class=px href=\"#%s\">%s</a>", name, name)
	if set.legends {
		fmt.Fprintf(b, "<div class=tips>cap: %s, mode: %s, id: %d</div>", proxyCap(first), cell(first, "mode").S, first.IID)
	}
	closeTip(b, set.legends)
	desc := ""
	if first.P != nil {
		desc = first.P.Description
	}
	if desc != "" {
		fmt.Fprintf(b, "</th><th class=\"desc\" width=\"90%%\">%s</th></tr>\n</table>\n", html.EscapeString(desc))
	} else {
		b.WriteString("</th><th class=\"empty\" width=\"90%\"></th></tr>\n</table>\n")
	}
	// With the admin form, a proxy with servers gets a form and a checkbox
	// column; the others an empty column.
	form := o.Admin && first.BE != nil && len(first.BE.ServerList()) > 0 && first.Virtual == nil
	switch {
	case form:
		b.WriteString("<form method=\"post\"><table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\"><th rowspan=2 width=1><input type=\"checkbox\" onclick=\"for(c in document.getElementsByClassName('" + name + "-checkbox')) document.getElementsByClassName('" + name + "-checkbox').item(c).checked = this.checked\"></th><th rowspan=2></th>")
	case o.Admin:
		b.WriteString("<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\"><th rowspan=2></th><th rowspan=2></th>")
	default:
		b.WriteString("<table class=\"tbl\" width=\"100%\">\n<tr class=\"titre\"><th rowspan=2></th>")
	}
	for _, g := range pageGroups {
		fmt.Fprintf(b, "<th colspan=%d>%s</th>", len(g.heads), g.title)
	}
	b.WriteString("</tr>\n<tr class=\"titre\">")
	for _, g := range pageGroups {
		for _, h := range g.heads {
			b.WriteString("<th>" + h + "</th>")
		}
	}
	b.WriteString("\n</tr>")
	out := b
	var rb strings.Builder
	if o.Admin {
		out = &rb
	}
	for i := range rows {
		r := &rows[i]
		r.UpCount = o.HideDown
		switch r.Kind {
		case Frontend:
			writeFrontendRow(out, r)
		case Listener:
			writeListenerRow(out, r, set.legends)
		case Server:
			if o.HideDown && hiddenWhenUpOnly(r) {
				continue
			}
			writeServerRow(out, r, set.legends)
		case Backend:
			writeBackendRow(out, r, set.legends)
		}
		if o.Admin {
			// The admin cell opens the row: a server's checkbox, else empty.
			row := rb.String()
			rb.Reset()
			cellAt := strings.Index(row, "<td")
			admin := "<td></td>"
			if r.Kind == Server && form {
				admin = "<td><input class='" + name + "-checkbox' type=\"checkbox\" name=\"s\" value=\"" + html.EscapeString(r.Srv.Name) + "\"></td>"
			}
			b.WriteString(row[:cellAt] + admin + row[cellAt:])
		}
	}
	if form {
		b.WriteString("</table>")
		writeAdminForm(b, first.IID)
		b.WriteString("<p>\n")
		return
	}
	b.WriteString("</table><p>\n")
}

// pageGroups are the column groups of haproxy's page and their headers.
var pageGroups = []struct {
	title string
	heads []string
}{
	{"Queue", []string{"Cur", "Max", "Limit"}},
	{"Session rate", []string{"Cur", "Max", "Limit"}},
	{"Sessions", []string{"Cur", "Max", "Limit", "Total", "LbTot", "Last"}},
	{"Bytes", []string{"In", "Out"}},
	{"Denied", []string{"Req", "Resp"}},
	{"Errors", []string{"Req", "Conn", "Resp"}},
	{"Warnings", []string{"Retr", "Redis"}},
	{"Server", []string{"Status", "LastChk", "Wght", "Act", "Bck", "Chk", "Dwn", "Dwntme", "Thrtle"}},
}

// hiddenWhenUpOnly tells whether ";up" hides a server row: in
// maintenance, or down and not on its way up.
func hiddenWhenUpOnly(r *Row) bool {
	switch r.state() {
	case StateMaint, StateDown, StateDownAgent:
		return true
	}
	return false
}

func proxyCap(r *Row) string {
	if r.P == nil {
		return "backend"
	}
	switch {
	case r.P.IsFrontend() && r.P.IsBackend():
		return "proxy"
	case r.P.IsFrontend():
		return "frontend"
	}
	return "backend"
}

// cell reads column name of row r.
func cell(r *Row, name string) Value {
	return Columns[columnIndex[name]].Value(r)
}

var columnIndex = func() map[string]int {
	m := make(map[string]int, len(Columns))
	for i := range Columns {
		m[Columns[i].Name] = i
	}
	return m
}()

// u2h writes a number with haproxy's digit grouping: the digit ending
// each group of thousands is wrapped in a span whose letter spacing
// separates the groups ("9 984").
func u2h(n int64) string {
	s := strconv.FormatInt(n, 10)
	if len(s) < 4 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if rest := len(s) - 1 - i; rest > 0 && rest%3 == 0 {
			b.WriteString(`<span class="rls">` + s[i:i+1] + `</span>`)
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// num2h is u2h of column name of r (0 when empty).
func num2h(r *Row, name string) string { return u2h(cell(r, name).N) }

// lim2a is a limit: the number, or dash when there is none.
func lim2a(r *Row, name, dash string) string {
	if v := cell(r, name); v.N > 0 {
		return u2h(v.N)
	}
	return dash
}

// humanTime writes seconds as haproxy's page does: at most two units,
// "1d2h", "3h4m", "5m6s", "0s"; "?" when unknown (negative).
func humanTime(t int64) string {
	if t < 0 {
		return "?"
	}
	var b strings.Builder
	left := 2
	if t >= 86400 {
		b.WriteString(strconv.FormatInt(t/86400, 10) + "d")
		left--
	}
	if h := t % 86400 / 3600; left > 0 && h > 0 {
		b.WriteString(strconv.FormatInt(h, 10) + "h")
		left--
	}
	if m := t % 3600 / 60; left > 0 && m > 0 {
		b.WriteString(strconv.FormatInt(m, 10) + "m")
		left--
	}
	if s := t % 60; left > 0 && s > 0 || t == 0 {
		b.WriteString(strconv.FormatInt(s, 10) + "s")
	}
	return b.String()
}

func openTip(b *strings.Builder, on bool) {
	if on {
		b.WriteString("<u>")
	}
}

func closeTip(b *strings.Builder, on bool) {
	if on {
		b.WriteString("</u>")
	}
}

// detRow is one line of a tooltip's table.
func detRow(b *strings.Builder, label, value string) {
	b.WriteString("<tr><th>" + label + "</th><td>" + value + "</td></tr>")
}

// detPct is a tooltip line with a percentage of total.
func detPct(b *strings.Builder, label string, n, total int64) {
	pct := int64(0)
	if total > 0 {
		pct = 100 * n / total
	}
	fmt.Fprintf(b, "<tr><th>%s</th><td>%s</td><td>(%d%%)</td></tr>", label, u2h(n), pct)
}

func isHTTP(r *Row) bool { return cell(r, "mode").S == "http" }

// writeBytesOut is the Out cell with its compression tooltip.
func writeBytesOut(b *strings.Builder, r *Row) {
	out := num2h(r, "bout")
	b.WriteString("<td>" + out + "<div class=tips><table class=det>")
	detRow(b, "Response bytes in:", out)
	detRow(b, "Compression in:", num2h(r, "comp_in"))
	detPct(b, "Compression out:", cell(r, "comp_out").N, cell(r, "comp_in").N)
	detRow(b, "Compression bypass:", num2h(r, "comp_byp"))
	detPct(b, "Total bytes saved:", cell(r, "comp_in").N-cell(r, "comp_out").N, cell(r, "bout").N)
	b.WriteString("</table></div></td>")
}

// writeTimes is the tooltip's block of the times over the last 1024
// requests.
func writeTimes(b *strings.Builder, r *Row) {
	b.WriteString("<tr><th colspan=3>Max / Avg over last 1024 success. conn.</th></tr>")
	line := func(label, max, avg string) {
		fmt.Fprintf(b, "<tr><th>%s</th><td>%s / %s</td><td>ms</td></tr>", label, num2h(r, max), num2h(r, avg))
	}
	line("- Queue time:", "qtime_max", "qtime")
	line("- Connect time:", "ctime_max", "ctime")
	if isHTTP(r) {
		line("- Responses time:", "rtime_max", "rtime")
	}
	line("- Total time:", "ttime_max", "ttime")
}

// writeResponses is the tooltip's block of the HTTP response counters of
// a frontend or a backend.
func writeResponses(b *strings.Builder, r *Row) {
	detRow(b, "Cum. HTTP requests:", num2h(r, "req_tot"))
	detRow(b, "- HTTP 1xx responses:", num2h(r, "hrsp_1xx"))
	detRow(b, "- HTTP 2xx responses:", num2h(r, "hrsp_2xx"))
	detPct(b, "&nbsp;&nbsp;Compressed 2xx:", cell(r, "comp_rsp").N, cell(r, "hrsp_2xx").N)
	detRow(b, "- HTTP 3xx responses:", num2h(r, "hrsp_3xx"))
	detRow(b, "- HTTP 4xx responses:", num2h(r, "hrsp_4xx"))
	detRow(b, "- HTTP 5xx responses:", num2h(r, "hrsp_5xx"))
	detRow(b, "- other responses:", num2h(r, "hrsp_other"))
}

// writeListenerRow is a socket's row ("option socket-stats"): sessions,
// bytes, denials, request errors and status; the legend gives its address
// and id.
func writeListenerRow(b *strings.Builder, r *Row, legends bool) {
	px, name := html.EscapeString(r.PxName()), html.EscapeString(r.SvName())
	fmt.Fprintf(b, "<tr class=socket><td class=ac><a name=\"%s/+%s\"></a>", px, name)
	openTip(b, legends)
	fmt.Fprintf(b, "<a class=lfsb href=\"#%s/+%s\">%s</a>", px, name, name)
	if legends {
		family := "IPv4"
		if strings.HasPrefix(r.Ln.Addr, "[") {
			family = "IPv6"
		}
		fmt.Fprintf(b, "<div class=tips>%s: %s, id: %d</div>", family, html.EscapeString(r.Ln.Addr), r.Ln.ID)
	}
	closeTip(b, legends)
	b.WriteString("</td><td colspan=3></td><td colspan=3>&nbsp;</td>")
	for _, c := range []string{"scur", "smax", "slim", "stot"} {
		b.WriteString("<td>" + num2h(r, c) + "</td>")
	}
	b.WriteString("<td>&nbsp;</td><td>&nbsp;</td>")
	for _, c := range []string{"bin", "bout", "dreq", "dresp", "ereq"} {
		b.WriteString("<td>" + num2h(r, c) + "</td>")
	}
	b.WriteString("<td></td><td></td><td></td><td></td><td class=ac>" + cell(r, "status").S + "</td><td class=ac colspan=8></td></tr>")
}

func writeFrontendRow(b *strings.Builder, r *Row) {
	px := html.EscapeString(r.PxName())
	fmt.Fprintf(b, "<tr class=\"frontend\"><td class=ac><a name=\"%s/Frontend\"></a><a class=lfsb href=\"#%s/Frontend\">Frontend</a></td><td colspan=3></td>", px, px)
	http := isHTTP(r)
	b.WriteString("<td><u>" + num2h(r, "rate") + "<div class=tips><table class=det>")
	detRow(b, "Current connection rate:", num2h(r, "conn_rate")+"/s")
	detRow(b, "Current session rate:", num2h(r, "rate")+"/s")
	if http {
		detRow(b, "Current request rate:", num2h(r, "req_rate")+"/s")
	}
	b.WriteString("</table></div></u></td><td><u>" + num2h(r, "rate_max") + "<div class=tips><table class=det>")
	detRow(b, "Max connection rate:", num2h(r, "conn_rate_max")+"/s")
	detRow(b, "Max session rate:", num2h(r, "rate_max")+"/s")
	if http {
		detRow(b, "Max request rate:", num2h(r, "req_rate_max")+"/s")
	}
	b.WriteString("</table></div></u></td><td>" + lim2a(r, "rate_lim", "-") + "</td>")
	// haproxy always has a limit (global maxconn derives from ulimit-n);
	// dhproxy without any maxconn has none: "-", as other absent limits.
	b.WriteString("<td>" + num2h(r, "scur") + "</td><td>" + num2h(r, "smax") + "</td><td>" + lim2a(r, "slim", "-") + "</td>")
	b.WriteString("<td><u>" + num2h(r, "stot") + "<div class=tips><table class=det>")
	detRow(b, "Cum. connections:", num2h(r, "conn_tot"))
	detRow(b, "Cum. sessions:", num2h(r, "stot"))
	if http {
		writeResponses(b, r)
		detRow(b, "Intercepted requests:", num2h(r, "intercepted"))
		detRow(b, "Cache lookups:", num2h(r, "cache_lookups"))
		detPct(b, "Cache hits:", cell(r, "cache_hits").N, cell(r, "cache_lookups").N)
		detRow(b, "Failed hdr rewrites:", num2h(r, "wrew"))
		detRow(b, "Internal errors:", num2h(r, "eint"))
	}
	b.WriteString("</table></div></u></td><td></td><td></td><td>" + num2h(r, "bin") + "</td>")
	writeBytesOut(b, r)
	b.WriteString("<td>" + num2h(r, "dreq") + "</td><td>" + num2h(r, "dresp") + "</td><td>" + num2h(r, "ereq") + "</td>")
	b.WriteString("<td></td><td></td><td></td><td></td>")
	b.WriteString("<td class=ac>" + html.EscapeString(cell(r, "status").S) + "</td><td class=ac colspan=8></td></tr>")
}

func writeServerRow(b *strings.Builder, r *Row, legends bool) {
	px, sv := html.EscapeString(r.PxName()), html.EscapeString(r.SvName())
	fmt.Fprintf(b, "<tr class=\"%s\"><td class=ac><a name=\"%s/%s\"></a>", serverClass(r), px, sv)
	openTip(b, legends)
	fmt.Fprintf(b, "<a class=lfsb href=\"#%s/%s\">%s</a>", px, sv, sv)
	if legends {
		b.WriteString("<div class=tips>")
		if addr := cell(r, "addr").S; addr != "" {
			switch {
			case addr[0] >= '0' && addr[0] <= '9':
				b.WriteString("IPv4: ")
			case addr[0] == '[':
				b.WriteString("IPv6: ")
			}
			b.WriteString(html.EscapeString(addr) + ", ")
		}
		fmt.Fprintf(b, "id: %d", r.SID)
		if c := cell(r, "cookie"); !c.Empty() {
			b.WriteString(", cookie: '" + html.EscapeString(c.S) + "'")
		}
		b.WriteString("</div>")
	}
	closeTip(b, legends)
	b.WriteString("</td><td>" + num2h(r, "qcur") + "</td><td>" + num2h(r, "qmax") + "</td><td>" + lim2a(r, "qlimit", "-") + "</td>")
	b.WriteString("<td>" + num2h(r, "rate") + "</td><td>" + num2h(r, "rate_max") + "</td><td></td>")
	b.WriteString("<td><u>" + num2h(r, "scur") + "<div class=tips><table class=det>")
	detRow(b, "Current active connections:", num2h(r, "scur"))
	detRow(b, "Current used connections:", num2h(r, "used_conn_cur"))
	detRow(b, "Current idle connections:", num2h(r, "srv_icur"))
	detRow(b, "- unsafe:", num2h(r, "idle_conn_cur"))
	detRow(b, "- safe:", num2h(r, "safe_conn_cur"))
	detRow(b, "Estimated need of connections:", num2h(r, "need_conn_est"))
	detRow(b, "Active connections limit:", lim2a(r, "slim", "-"))
	detRow(b, "Idle connections limit:", lim2a(r, "src_ilim", "-"))
	b.WriteString("</table></div></u></td><td>" + num2h(r, "smax") + "</td><td>" + lim2a(r, "slim", "-") + "</td>")
	b.WriteString("<td><u>" + num2h(r, "stot") + "<div class=tips><table class=det>")
	detRow(b, "Cum. sessions:", num2h(r, "stot"))
	detRow(b, "New connections:", num2h(r, "connect"))
	detPct(b, "Reused connections:", cell(r, "reuse").N, cell(r, "connect").N)
	if isHTTP(r) {
		var tot int64
		for _, c := range []string{"hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"} {
			tot += cell(r, c).N
		}
		detRow(b, "Cum. HTTP requests:", num2h(r, "req_tot"))
		detPct(b, "- HTTP 1xx responses:", cell(r, "hrsp_1xx").N, tot)
		detPct(b, "- HTTP 2xx responses:", cell(r, "hrsp_2xx").N, tot)
		detPct(b, "- HTTP 3xx responses:", cell(r, "hrsp_3xx").N, tot)
		detPct(b, "- HTTP 4xx responses:", cell(r, "hrsp_4xx").N, tot)
		detPct(b, "- HTTP 5xx responses:", cell(r, "hrsp_5xx").N, tot)
		detPct(b, "- other responses:", cell(r, "hrsp_other").N, tot)
		detRow(b, "Failed hdr rewrites:", num2h(r, "wrew"))
		detRow(b, "Internal error:", num2h(r, "eint"))
	}
	writeTimes(b, r)
	b.WriteString("</table></div></u></td>")
	b.WriteString("<td>" + num2h(r, "lbtot") + "</td><td>" + lastSess(r) + "</td>")
	b.WriteString("<td>" + num2h(r, "bin") + "</td><td>" + num2h(r, "bout") + "</td>")
	b.WriteString("<td></td><td>" + num2h(r, "dresp") + "</td><td></td><td>" + num2h(r, "econ") + "</td>")
	writeResets(b, r)
	fmt.Fprintf(b, "<td>%d</td><td>%d</td>", cell(r, "wretr").N, cell(r, "wredis").N)

	// Status: the time in the state, then the state, with an arrow while
	// the checks move it.
	status := cell(r, "status").S
	health, rise, fall := cell(r, "check_health").N, cell(r, "check_rise").N, cell(r, "check_fall").N
	since := humanTime(cell(r, "lastchg").N)
	b.WriteString("<td class=ac>")
	switch {
	case strings.HasPrefix(status, "MAINT"):
		b.WriteString(since + " MAINT")
	case status == "no check":
		b.WriteString("<i>no check</i>")
	default:
		b.WriteString(since + " " + html.EscapeString(status))
		if strings.HasPrefix(status, "DOWN") {
			if health > 0 {
				b.WriteString(" &uarr;")
			}
		} else if health < rise+fall-1 {
			b.WriteString(" &darr;")
		}
	}
	b.WriteString("</td>")

	// LastChk: the check's status, code and duration, its description in
	// the tooltip.
	if st := cell(r, "check_status"); !st.Empty() {
		b.WriteString("<td class=ac><u> " + html.EscapeString(st.S))
		if c := cell(r, "check_code"); !c.Empty() {
			fmt.Fprintf(b, "/%d", c.N)
		}
		if d := cell(r, "check_duration"); !d.Empty() {
			fmt.Fprintf(b, " in %dms", d.N)
		}
		b.WriteString("<div class=tips>" + html.EscapeString(cell(r, "check_desc").S))
		if last := cell(r, "last_chk").S; last != "" {
			b.WriteString(": " + html.EscapeString(last))
		}
		b.WriteString("</div></u></td>")
	} else {
		b.WriteString("<td></td>")
	}
	act, bck := "Y", "-"
	if cell(r, "bck").N != 0 {
		act, bck = "-", "Y"
	}
	fmt.Fprintf(b, "<td class=ac>%d/%d</td><td class=ac>%s</td><td class=ac>%s</td>", cell(r, "weight").N, cell(r, "uweight").N, act, bck)
	if f := cell(r, "chkfail"); !f.Empty() {
		fmt.Fprintf(b, "<td><u>%d", f.N)
		hana := cell(r, "hanafail")
		if !hana.Empty() {
			fmt.Fprintf(b, "/%d", hana.N)
		}
		b.WriteString("<div class=tips>Failed Health Checks")
		if !hana.Empty() {
			b.WriteString("/Health Analyses")
		}
		fmt.Fprintf(b, "</div></u></td><td>%d</td><td>%s</td>", cell(r, "chkdown").N, humanTime(cell(r, "downtime").N))
	} else {
		b.WriteString("<td colspan=3></td>")
	}
	if t := cell(r, "throttle"); !t.Empty() {
		fmt.Fprintf(b, "<td class=ac>%d %%</td></tr>\n", t.N)
	} else {
		b.WriteString("<td class=ac>-</td></tr>\n")
	}
}

// lastSess is the Last cell: the time since the last session, "?" when
// there was none.
func lastSess(r *Row) string {
	v := cell(r, "lastsess")
	if v.Empty() {
		return "?"
	}
	return humanTime(v.N)
}

// writeResets is the Errors/Resp cell with the aborts in its tooltip.
func writeResets(b *strings.Builder, r *Row) {
	fmt.Fprintf(b, "<td><u>%s<div class=tips>Connection resets during transfers: %d client, %d server</div></u></td>",
		num2h(r, "eresp"), cell(r, "cli_abrt").N, cell(r, "srv_abrt").N)
}

func writeBackendRow(b *strings.Builder, r *Row, legends bool) {
	px := html.EscapeString(r.PxName())
	b.WriteString("<tr class=\"backend\"><td class=ac>")
	openTip(b, legends)
	fmt.Fprintf(b, "<a name=\"%s/Backend\"></a><a class=lfsb href=\"#%s/Backend\">Backend</a>", px, px)
	if legends {
		b.WriteString("<div class=tips>balancing: " + html.EscapeString(cell(r, "algo").S))
		if r.P != nil && r.P.Cookie != nil {
			b.WriteString(", cookie: '" + html.EscapeString(r.P.Cookie.Name) + "'")
		}
		b.WriteString("</div>")
	}
	closeTip(b, legends)
	b.WriteString("</td><td>" + num2h(r, "qcur") + "</td><td>" + num2h(r, "qmax") + "</td><td></td>")
	b.WriteString("<td>" + num2h(r, "rate") + "</td><td>" + num2h(r, "rate_max") + "</td><td></td>")
	b.WriteString("<td>" + num2h(r, "scur") + "</td><td>" + num2h(r, "smax") + "</td><td>" + num2h(r, "slim") + "</td>")
	b.WriteString("<td><u>" + num2h(r, "stot") + "<div class=tips><table class=det>")
	detRow(b, "Cum. sessions:", num2h(r, "stot"))
	detRow(b, "New connections:", num2h(r, "connect"))
	detPct(b, "Reused connections:", cell(r, "reuse").N, cell(r, "connect").N)
	if isHTTP(r) {
		writeResponses(b, r)
		detRow(b, "Cache lookups:", num2h(r, "cache_lookups"))
		detPct(b, "Cache hits:", cell(r, "cache_hits").N, cell(r, "cache_lookups").N)
		detRow(b, "Failed hdr rewrites:", num2h(r, "wrew"))
		detRow(b, "Internal errors:", num2h(r, "eint"))
	}
	writeTimes(b, r)
	b.WriteString("</table></div></u></td>")
	b.WriteString("<td>" + num2h(r, "lbtot") + "</td><td>" + lastSess(r) + "</td><td>" + num2h(r, "bin") + "</td>")
	writeBytesOut(b, r)
	b.WriteString("<td>" + num2h(r, "dreq") + "</td><td>" + num2h(r, "dresp") + "</td><td></td><td>" + num2h(r, "econ") + "</td>")
	writeResets(b, r)
	fmt.Fprintf(b, "<td>%d</td><td>%d</td>", cell(r, "wretr").N, cell(r, "wredis").N)
	status := html.EscapeString(cell(r, "status").S)
	if status == "DOWN" { // only the bare word: "DOWN (0/2)" stays plain, as haproxy's
		status = "<font color=\"red\"><b>DOWN</b></font>"
	}
	fmt.Fprintf(b, "<td class=ac>%s %s</td><td class=ac>&nbsp;</td><td class=ac>%d/%d</td><td class=ac>%d</td><td class=ac>%d</td>",
		humanTime(cell(r, "lastchg").N), status, cell(r, "weight").N, cell(r, "uweight").N, cell(r, "act").N, cell(r, "bck").N)
	downtime := "&nbsp;"
	if d := cell(r, "downtime"); !d.Empty() {
		downtime = humanTime(d.N)
	}
	fmt.Fprintf(b, "<td class=ac>&nbsp;</td><td>%d</td><td>%s</td><td></td></tr>", cell(r, "chkdown").N, downtime)
}
