package runtimeapi

import (
	"strconv"
	"strings"

	"dhproxy/internal/stream"
)

// The commands changing connection limits and pausing frontends, with
// haproxy 2.6's wording.
func init() {
	commands = append(commands,
		command{[]string{"set", "maxconn", "frontend"}, "set maxconn frontend <frontend> <value>", "change a frontend's maxconn setting", levelAdmin, cmdMaxconnFrontend},
		command{[]string{"set", "maxconn", "global"}, "set maxconn global <value>", "change the per-process maxconn setting", levelAdmin, cmdMaxconnGlobal},
		command{[]string{"set", "maxconn", "server"}, "set maxconn server <bk>/<srv>", "change a server's maxconn setting", levelAdmin, cmdMaxconnServer},
		command{[]string{"set", "rate-limit"}, "set rate-limit <setting> <value>", "change a rate limiting value", levelAdmin, cmdRateLimit},
		command{[]string{"disable", "frontend"}, "disable frontend <frontend>", "temporarily disable specific frontend", levelAdmin, cmdDisableFrontend},
		command{[]string{"enable", "frontend"}, "enable frontend <frontend>", "re-enable specific frontend", levelAdmin, cmdEnableFrontend},
	)
}

// findFrontend resolves a frontend (or listen) by name.
func (s *session) findFrontend(args []string) (*stream.Frontend, string) {
	if len(args) < 1 || args[0] == "" {
		return nil, "A frontend name is expected.\n"
	}
	for _, v := range s.srv.src.RT.Proxies() {
		if v.FE != nil && v.P.Name == args[0] {
			return v.FE, ""
		}
	}
	return nil, "No such frontend.\n"
}

// atoi reads a number as C's atoi does, which haproxy uses for these
// values: leading digits only, 0 when there are none.
func atoi(v string) int {
	i := 0
	if i < len(v) && (v[i] == '-' || v[i] == '+') {
		i++
	}
	j := i
	for j < len(v) && v[j] >= '0' && v[j] <= '9' && j-i < 10 {
		j++
	}
	n, _ := strconv.Atoi(v[:j])
	return n
}

func cmdMaxconnFrontend(s *session, args []string) string {
	fe, msg := s.findFrontend(args)
	if fe == nil {
		return msg
	}
	if len(args) < 2 {
		return "Integer value expected.\n"
	}
	v := atoi(args[1])
	if v < 0 {
		return "Value out of range.\n"
	}
	fe.SetMaxconn(v)
	return ""
}

// cmdMaxconnGlobal: 0 restores the configured limit, as haproxy restores
// its hard maxconn; nothing may exceed that limit when there is one.
func cmdMaxconnGlobal(s *session, args []string) string {
	if len(args) < 1 {
		return "Expects an integer value.\n"
	}
	v := atoi(args[0])
	hard := s.srv.src.RT.Config().Global.Maxconn
	if hard > 0 && v > hard || v < 0 {
		return "Value out of range.\n"
	}
	if v == 0 {
		v = hard
	}
	s.srv.src.RT.SetGlobalMaxconn(v)
	return ""
}

func cmdMaxconnServer(s *session, args []string) string {
	if len(args) < 1 {
		return "Require 'backend/server'.\n"
	}
	sv, msg := s.findServer(args[0])
	if sv == nil {
		return msg
	}
	if len(args) < 2 {
		return "Require <maxconn>.\n"
	}
	// strtol's checks; the messages end without a newline in haproxy.
	v := args[1]
	digits := strings.TrimLeft(strings.TrimLeft(v, " \t"), "+-")
	if len(digits) == 0 || digits[0] < '0' || digits[0] > '9' {
		return "maxconn string empty or preceded by garbage"
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return "Trailing garbage in maxconn string"
	}
	sv.SetMaxconn(n)
	return ""
}

const rateLimitUsage = "'set rate-limit' only supports :\n" +
	"   - 'connections global' to set the per-process maximum connection rate\n" +
	"   - 'sessions global' to set the per-process maximum session rate\n"

// cmdRateLimit: set rate-limit connections|sessions global <value>. The
// SSL session and compression limits of haproxy are not offered: dhproxy
// has no limiter for them.
func cmdRateLimit(s *session, args []string) string {
	if len(args) < 2 || args[1] != "global" || args[0] != "connections" && args[0] != "sessions" {
		return rateLimitUsage
	}
	if len(args) < 3 {
		return "Expects an integer value.\n"
	}
	v := atoi(args[2])
	if v < 0 {
		return "Value out of range.\n"
	}
	if args[0] == "connections" {
		s.srv.src.RT.SetRateLimits(v, -1)
	} else {
		s.srv.src.RT.SetRateLimits(-1, v)
	}
	return ""
}

func cmdDisableFrontend(s *session, args []string) string {
	fe, msg := s.findFrontend(args)
	if fe == nil {
		return msg
	}
	if !fe.Pause() {
		return "All sockets are already disabled.\n"
	}
	return ""
}

func cmdEnableFrontend(s *session, args []string) string {
	fe, msg := s.findFrontend(args)
	if fe == nil {
		return msg
	}
	if !fe.Resume() {
		return "All sockets are already enabled.\n"
	}
	return ""
}
