package stats

import (
	"html"
	"net/url"
	"strconv"
	"strings"

	"dhproxy/internal/backend"
	"dhproxy/internal/stream"
)

// The stats page's admin form ("stats admin if COND"): a checkbox per
// server, an action list and the POST that applies it, answered as
// haproxy 2.6 does with a 303 to the page and a status code the page
// shows as a banner.

// adminActions are the form's actions, in haproxy's order.
var adminActions = []struct{ value, label string }{
	{"", ""}, {"ready", "Set state to READY"}, {"drain", "Set state to DRAIN"}, {"maint", "Set state to MAINT"},
	{"dhlth", "Health: disable checks"}, {"ehlth", "Health: enable checks"}, {"hrunn", "Health: force UP"},
	{"hnolb", "Health: force NOLB"}, {"hdown", "Health: force DOWN"}, {"dagent", "Agent: disable checks"},
	{"eagent", "Agent: enable checks"}, {"arunn", "Agent: force UP"}, {"adown", "Agent: force DOWN"},
	{"shutdown", "Kill Sessions"},
}

// adminBanners are the messages of the ";st=" codes, with their classes.
var adminBanners = map[string][2]string{
	"DONE": {"active_up", "Action processed successfully."},
	"PART": {"active_going_down", "Action partially processed.<br>Some server names are probably unknown or ambiguous (duplicated names in the backend)."},
	"NONE": {"active_going_down", "Nothing has changed."},
	"DENY": {"active_down", "<b>Action denied.</b>"},
	"ERRP": {"active_down", "Action not processed because of invalid parameters.<ul><li>The action is maybe unknown.</li><li>Invalid key parameter (empty or too long).</li><li>The backend name is probably unknown or ambiguous (duplicated names).</li><li>Some server names are probably unknown or ambiguous (duplicated names in the backend).</li></ul>"},
	"EXCD": {"active_down", "<b>Action not processed : the buffer couldn't store all the data.<br>You should retry with less servers at a time.</b>"},
}

// writeBanner writes the message of a ";st=" code, linking to the page
// without it.
func writeBanner(b *strings.Builder, uri, code string) {
	if code == "" {
		return
	}
	m, ok := adminBanners[code]
	if !ok {
		m = [2]string{"active_no_check", "Unexpected result."}
	}
	b.WriteString("<p><div class=" + m[0] + "><a class=lfsb href=\"" + html.EscapeString(uri) + "\" title=\"Remove this message\">[X]</a> " + m[1] + "</div>\n")
}

// writeAdminForm writes the action list that ends a backend's form.
func writeAdminForm(b *strings.Builder, iid int) {
	b.WriteString("Choose the action to perform on the checked servers : <select name=action>")
	for _, a := range adminActions {
		b.WriteString("<option value=\"" + a.value + "\">" + a.label + "</option>")
	}
	b.WriteString("</select><input type=\"hidden\" name=\"b\" value=\"#" + strconv.Itoa(iid) + "\">&nbsp;<input type=\"submit\" value=\"Apply\"></form>")
}

// adminPost applies the form and returns the status code for ";st=",
// counted as haproxy 2.6 does: an unknown server name and a server the
// action applies to count, the latter as altered; a server it does not
// apply to (a health switch without a check, an agent one without an
// agent) counts for nothing. Nothing counted is NONE, nothing altered
// ERRP, everything DONE, else PART.
func (src *Source) adminPost(sr *stream.ServiceRequest) string {
	if !sr.Admin {
		return "DENY"
	}
	if sr.TooLarge {
		return "EXCD"
	}
	form, err := url.ParseQuery(string(sr.Body))
	if err != nil {
		return "ERRP"
	}
	var be *stream.Backend
	if b := form.Get("b"); b != "" {
		for _, v := range src.RT.Proxies() {
			if v.BE == nil {
				continue
			}
			if id, ok := strings.CutPrefix(b, "#"); ok && id == strconv.Itoa(v.P.ID) || v.P.Name == b {
				be = v.BE
			}
		}
	}
	apply := src.adminAction(form.Get("action"))
	if be == nil || apply == nil {
		return "ERRP"
	}
	total, altered := 0, 0
	for _, n := range form["s"] {
		var sv *stream.Server
		for _, s := range be.ServerList() {
			if s.Name == n {
				sv = s
			}
		}
		switch {
		case sv == nil:
			total++
		case apply(sv):
			total++
			altered++
		}
	}
	switch {
	case total == 0:
		return "NONE"
	case altered == 0:
		return "ERRP"
	case altered < total:
		return "PART"
	}
	return "DONE"
}

// adminAction returns what an action does to a server and whether it
// applied; nil when the action is unknown.
func (src *Source) adminAction(action string) func(*stream.Server) bool {
	rt := src.RT
	always := func(f func(*stream.Server)) func(*stream.Server) bool {
		return func(s *stream.Server) bool { f(s); return true }
	}
	// withCheck applies f to servers that have the check (or the agent,
	// agent true), and, when running is set, only while it is enabled.
	withCheck := func(agent, running bool, f func(*stream.Server)) func(*stream.Server) bool {
		return func(s *stream.Server) bool {
			has := s.Conf.Check
			if agent {
				has = s.Conf.Health.Agent
			}
			if !has || running && s.CheckPaused(agent) {
				return false
			}
			f(s)
			return true
		}
	}
	switch action {
	case "ready":
		return always(func(s *stream.Server) { rt.SetMaint(s, false); rt.SetDrainAdmin(s, false) })
	case "drain":
		return always(func(s *stream.Server) {
			if s.AdminState()&(backend.AdminMaint|backend.AdminConfigMaint) != 0 {
				rt.SetMaint(s, false)
			}
			rt.SetDrainAdmin(s, true)
		})
	case "maint":
		return always(func(s *stream.Server) { rt.SetMaint(s, true) })
	case "dhlth", "ehlth", "dagent", "eagent":
		agent, on := action[1:] == "agent", action[0] == 'e'
		return withCheck(agent, false, func(s *stream.Server) { rt.SetCheck(s, agent, on) })
	case "hrunn":
		return always(func(s *stream.Server) { s.SetUp(true) })
	case "hnolb":
		return always(func(s *stream.Server) { s.SetDrain(true) })
	case "hdown":
		return always(func(s *stream.Server) { s.SetUp(false) })
	case "arunn":
		return withCheck(true, true, func(s *stream.Server) { s.SetUp(true) })
	case "adown":
		return withCheck(true, true, func(s *stream.Server) { s.SetUp(false) })
	case "shutdown":
		return always(rt.KillServerSessions)
	}
	return nil
}

// redirect is haproxy's answer to a POST: back to the page with the code.
func redirect(uri, code string, o PageOptions) []byte {
	loc := uri + ";st=" + code
	if o.HideDown {
		loc += ";up"
	}
	return []byte("HTTP/1.1 303 See Other\r\ncache-control: no-cache\r\ncontent-type: text/plain\r\ncontent-length: 0\r\nlocation: " + loc + "\r\n\r\n")
}
