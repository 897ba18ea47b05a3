package runtimeapi

import (
	"strings"

	"dhproxy/internal/backend"
	"dhproxy/internal/model"
	"dhproxy/internal/stream"
)

func init() {
	commands = append(commands, []command{
		{[]string{"add", "server"}, "add server <bk>/<srv>", "create a new server", levelAdmin, cmdAddServer},
		{[]string{"del", "server"}, "del server <bk>/<srv>", "remove a dynamically added server", levelAdmin, cmdDelServer},
		{[]string{"enable", "health"}, "enable health", "enable health checks", levelAdmin, cmdSetCheck(false, true)},
		{[]string{"disable", "health"}, "disable health", "disable health checks", levelAdmin, cmdSetCheck(false, false)},
		{[]string{"enable", "agent"}, "enable agent", "enable agent checks", levelAdmin, cmdSetCheck(true, true)},
		{[]string{"disable", "agent"}, "disable agent", "disable agent checks", levelAdmin, cmdSetCheck(true, false)},
	}...)
}

// findBackend resolves a backend by name, nil when there is none.
func (s *session) findBackend(name string) (*stream.Backend, *model.Proxy) {
	for _, v := range s.srv.src.RT.Proxies() {
		if v.BE != nil && v.P.Name == name {
			return v.BE, v.P
		}
	}
	return nil, nil
}

// cmdAddServer: add server <bk>/<srv> <addr>[:<port>] [args]*. Answers
// with a trailing empty line are haproxy's messages that end in "\n".
func cmdAddServer(s *session, args []string) string {
	if len(args) < 1 {
		return "Require 'backend/server'."
	}
	beName, name, ok := strings.Cut(args[0], "/")
	if !ok {
		return "Require 'backend/server'."
	}
	be, p := s.findBackend(beName)
	if be == nil {
		return "No such backend."
	}
	if !be.Dynamic() {
		return backend.ErrStaticLB.Error()
	}
	if len(args) < 2 {
		return "'server' expects <name> and <addr>[:<port>] as arguments.\n"
	}
	rt := s.srv.src.RT
	sc, ready, err := model.DynamicServer(rt.Config(), p, name, args[1], args[2:])
	if err != nil {
		return err.Error() + "\n"
	}
	if _, err := rt.AddServer(be, sc, ready); err != nil {
		if err == backend.ErrStaticLB {
			return err.Error()
		}
		return err.Error() + "\n"
	}
	return "New server registered.\n"
}

// cmdDelServer: del server <bk>/<srv>.
func cmdDelServer(s *session, args []string) string {
	if len(args) < 1 {
		return "Require 'backend/server'."
	}
	sv, msg := s.findServer(args[0])
	if sv == nil {
		return strings.TrimSuffix(msg, "\n")
	}
	if err := s.srv.src.RT.DelServer(sv); err != nil {
		return err.Error()
	}
	return "Server deleted."
}

// cmdSetCheck: enable|disable health|agent <bk>/<srv>.
func cmdSetCheck(agent, on bool) func(*session, []string) string {
	return func(s *session, args []string) string {
		if len(args) < 1 {
			return "Require 'backend/server'.\n"
		}
		sv, msg := s.findServer(args[0])
		if sv == nil {
			return msg
		}
		if err := s.srv.src.RT.SetCheck(sv, agent, on); err != nil {
			return err.Error() + "\n"
		}
		return ""
	}
}
