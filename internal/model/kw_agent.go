package model

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Server keywords of the checks beyond the main health check:
//
//	agent-check, agent-port <port>, agent-inter <time>, agent-addr <addr>,
//	agent-send <string>: an agent on the server reports its state in one
//	line ("up", "down", "drain", "maint", "ready", "75%", "maxconn:30" ...).
//	observe layer4|layer7, error-limit <n>, on-error <mode>: passive health
//	from real traffic.
//	on-marked-down shutdown-sessions, on-marked-up shutdown-backup-sessions.
//	check-send-proxy: health checks start with a PROXY protocol v1 header.

// ServerHealth holds these keywords' values.
type ServerHealth struct {
	Agent      bool
	AgentPort  int
	AgentInter time.Duration // 0: the server's inter
	AgentAddr  string
	AgentSend  string

	Observe    string // "", "layer4" or "layer7"
	ErrorLimit int    // consecutive errors before on-error applies (default 10)
	OnError    string // fastinter (default), fail-check, sudden-death, mark-down

	ShutdownOnDown     bool // on-marked-down shutdown-sessions
	ShutdownBackupOnUp bool // on-marked-up shutdown-backup-sessions

	SendProxy bool // check-send-proxy
}

// DefaultErrorLimit is HAProxy's DEF_HANA_ERRLIMIT.
const DefaultErrorLimit = 10

func healthOpt(set func(h *ServerHealth, v string) error) func(*Server, string) error {
	return func(s *Server, v string) error { return set(&s.Health, v) }
}

func init() {
	opts := map[string]serverOpt{
		"agent-check":    {0, healthOpt(func(h *ServerHealth, _ string) error { h.Agent = true; return nil }), ""},
		"no-agent-check": {0, healthOpt(func(h *ServerHealth, _ string) error { h.Agent = false; return nil }), ""},
		"agent-port": {1, healthOpt(func(h *ServerHealth, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				return fmt.Errorf("expects a valid TCP port (from range 1 to 65535), got '%s'", v)
			}
			h.AgentPort = n
			return nil
		}), ""},
		"agent-inter": {1, healthOpt(func(h *ServerHealth, v string) (err error) {
			h.AgentInter, err = positiveDuration(v)
			return err
		}), ""},
		"agent-addr": {1, healthOpt(func(h *ServerHealth, v string) error {
			if v == "" {
				return fmt.Errorf("expects an address as argument")
			}
			if _, unix := UnixSocket(v); unix {
				// haproxy 2.6 refuses it: an agent is reached over TCP
				return fmt.Errorf("parsing agent-addr failed. Check if '%s' is correct address.", v)
			}
			h.AgentAddr = strings.TrimPrefix(strings.TrimPrefix(v, "ipv4@"), "ipv6@")
			return nil
		}), ""},
		"agent-send": {1, healthOpt(func(h *ServerHealth, v string) error { h.AgentSend = v; return nil }), ""},
		"observe": {1, healthOpt(func(h *ServerHealth, v string) error {
			switch v {
			case "none":
				h.Observe = ""
			case "layer4", "layer7":
				h.Observe = v
			default:
				return fmt.Errorf("expects one of 'none', 'layer4', 'layer7' but got '%s'", v)
			}
			return nil
		}), ""},
		"error-limit": {1, healthOpt(func(h *ServerHealth, v string) error {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				return fmt.Errorf("expects a positive integer but got '%s'", v)
			}
			h.ErrorLimit = n
			return nil
		}), ""},
		"on-error": {1, healthOpt(func(h *ServerHealth, v string) error {
			switch v {
			case "fastinter", "fail-check", "sudden-death", "mark-down":
				h.OnError = v
				return nil
			}
			return fmt.Errorf("expects one of 'fastinter', 'fail-check', 'sudden-death' or 'mark-down' but got '%s'", v)
		}), ""},
		"on-marked-down": {1, healthOpt(func(h *ServerHealth, v string) error {
			if v != "shutdown-sessions" {
				return fmt.Errorf("expects 'shutdown-sessions' but got '%s'", v)
			}
			h.ShutdownOnDown = true
			return nil
		}), ""},
		"on-marked-up": {1, healthOpt(func(h *ServerHealth, v string) error {
			if v != "shutdown-backup-sessions" {
				return fmt.Errorf("expects 'shutdown-backup-sessions' but got '%s'", v)
			}
			h.ShutdownBackupOnUp = true
			return nil
		}), ""},
		"check-send-proxy":    {0, healthOpt(func(h *ServerHealth, _ string) error { h.SendProxy = true; return nil }), ""},
		"no-check-send-proxy": {0, healthOpt(func(h *ServerHealth, _ string) error { h.SendProxy = false; return nil }), ""},
	}
	for k, v := range opts {
		if _, dup := serverOptions[k]; dup {
			panic("model: server option registered twice: " + k)
		}
		serverOptions[k] = v
	}
}
