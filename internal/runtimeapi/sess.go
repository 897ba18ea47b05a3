package runtimeapi

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/stream"
)

// The session commands: "show sess" lists the client connections (and the
// runtime API's own, as haproxy does) with their frontend, backend and
// server; "shutdown session(s)" ends them.
func init() {
	commands = append(commands,
		command{[]string{"show", "sess"}, "show sess [id]", "report the list of current sessions or dump this exact session", levelOperator, cmdShowSess},
		command{[]string{"shutdown", "session"}, "shutdown session [id]", "kill a specific session", levelAdmin, cmdShutdownSession},
		command{[]string{"shutdown", "sessions", "server"}, "shutdown sessions server <bk>/<srv>", "kill sessions on a server", levelAdmin, cmdShutdownServerSessions},
	)
}

// parseSessID reads an id as strtoul(..., 0) does: hexadecimal after 0x,
// octal after 0, 0 when malformed.
func parseSessID(v string) uint64 {
	n, err := strconv.ParseUint(v, 0, 64)
	if err != nil {
		return 0
	}
	return n
}

func cmdShowSess(s *session, args []string) string {
	all := len(args) > 0 && args[0] == "all"
	var id uint64
	if len(args) > 0 && !all {
		id = parseSessID(args[0])
	}
	var b strings.Builder
	now := time.Now()
	found := false
	for _, si := range s.srv.src.RT.Sessions() {
		switch {
		case id != 0 && si.ID != id:
			continue
		case id != 0 || all:
			writeSessDetail(&b, &si, now)
		default:
			writeSessLine(&b, &si, now)
		}
		found = true
	}
	if id != 0 && !found {
		return "Session not found.\n"
	}
	return b.String()
}

// sessNames gives the protocol, source and proxy names of a session in
// haproxy's notation.
func sessNames(si *stream.SessionInfo) (proto, src, fe, be, srv string) {
	proto, src = "unix_stream", "unix:1"
	if ta, ok := si.Client.(*net.TCPAddr); ok {
		proto, src = "tcpv4", ta.String()
		if ta.IP.To4() == nil {
			proto = "tcpv6"
		}
	}
	fe, be, srv = "GLOBAL", "<NONE>", "<none>"
	if si.Frontend != nil {
		fe = si.Frontend.P.Name
	}
	if si.Backend != nil {
		be = si.Backend.P.Name
	}
	if si.Server != nil {
		srv = si.Server.Name
	}
	return
}

// writeSessLine is one line of "show sess": haproxy's leading fields
// (internal flags and buffers of haproxy's streams have no counterpart
// here and are left out).
func writeSessLine(b *strings.Builder, si *stream.SessionInfo, now time.Time) {
	proto, src, fe, be, srv := sessNames(si)
	fmt.Fprintf(b, "%#x: proto=%s src=%s fe=%s be=%s srv=%s age=%s\n", si.ID, proto, src, fe, be, srv, humanTime(now.Sub(si.Start)))
}

// writeSessDetail is "show sess <id>" or "show sess all": the first lines
// of haproxy's dump of a session.
func writeSessDetail(b *strings.Builder, si *stream.SessionInfo, now time.Time) {
	proto, src, fe, be, srv := sessNames(si)
	fmt.Fprintf(b, "%#x: [%s] id=%d proto=%s source=%s\n", si.ID, si.Start.Format("02/Jan/2006:15:04:05.000000"), si.ID, proto, src)
	local := "unix:1"
	if si.Local != nil {
		if ta, ok := si.Local.(*net.TCPAddr); ok {
			local = ta.String()
		}
	}
	feID, feMode := 0, "tcp"
	if si.Frontend != nil {
		feID, feMode = si.Frontend.P.ID, si.Frontend.P.Mode.String()
	}
	fmt.Fprintf(b, "  frontend=%s (id=%d mode=%s), addr=%s\n", fe, feID, feMode, local)
	if si.Backend != nil {
		fmt.Fprintf(b, "  backend=%s (id=%d mode=%s)", be, si.Backend.P.ID, si.Backend.P.Mode.String())
		if si.Outgoing != nil {
			addr := si.Outgoing.String()
			if _, ok := si.Outgoing.(*net.UnixAddr); ok {
				addr = "unix" // haproxy names a UNIX socket's family, the end has no name
			}
			b.WriteString(" addr=" + addr)
		}
		b.WriteString("\n")
	} else {
		b.WriteString("  backend=<NONE> (id=-1 mode=-)\n")
	}
	if si.Server != nil {
		fmt.Fprintf(b, "  server=%s (id=%d)", srv, si.Server.Conf.ID)
		if si.Outgoing != nil {
			b.WriteString(" addr=" + si.Server.AddrPort())
		}
		b.WriteString("\n")
	} else {
		b.WriteString("  server=<NONE> (id=-1)\n")
	}
	fmt.Fprintf(b, "  age=%s\n", humanTime(now.Sub(si.Start)))
}

// humanTime is haproxy's short duration: 5s, 3m20s, 2h05m, 1d04h.
func humanTime(d time.Duration) string {
	s := int64(d / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh%02dm", s/3600, s/60%60)
	}
	return fmt.Sprintf("%dd%02dh", s/86400, s/3600%24)
}

func cmdShutdownSession(s *session, args []string) string {
	if len(args) < 1 || args[0] == "" {
		return "Session pointer expected (use 'show sess').\n"
	}
	if !s.srv.src.RT.KillSession(parseSessID(args[0])) {
		return "No such session (use 'show sess').\n"
	}
	return ""
}

func cmdShutdownServerSessions(s *session, args []string) string {
	if len(args) < 1 {
		return "Require 'backend/server'.\n"
	}
	sv, msg := s.findServer(args[0])
	if sv == nil {
		return msg
	}
	s.srv.src.RT.KillServerSessions(sv)
	return ""
}
