package runtimeapi

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/backend"
	"dhproxy/internal/logging"
	"dhproxy/internal/stats"
	"dhproxy/internal/stream"
)

// command is one runtime API command: its words, its help line, the level
// it needs and what it does with the remaining arguments.
type command struct {
	words []string
	usage string
	help  string
	level int
	run   func(s *session, args []string) string
}

var commands []command

func init() {
	commands = append(commands, []command{
		{[]string{"clear", "table"}, "clear table <table> [<filter>]*", "remove an entry from a table (filter: data/key)", levelOperator, cmdClearTable},
		{[]string{"clear", "counters"}, "clear counters [all]", "clear max statistics counters (or all counters)", levelOperator, cmdClearCounters},
		{[]string{"disable", "server"}, "disable server (DEPRECATED)", "disable a server for maintenance (use 'set server' instead)", levelAdmin, cmdDisableServer},
		{[]string{"enable", "server"}, "enable server  (DEPRECATED)", "enable a disabled server (use 'set server' instead)", levelAdmin, cmdEnableServer},
		{[]string{"get", "weight"}, "get weight <bk>/<srv>", "report a server's current weight", levelUser, cmdGetWeight},
		{[]string{"operator"}, "operator", "lower the level of the current CLI session to operator", levelUser, cmdLower(levelOperator)},
		{[]string{"reopen", "logs"}, "reopen logs", "reopen the log files (log file@...), after logrotate moved them", levelOperator, cmdReopenLogs},
		{[]string{"set", "server"}, "set server <bk>/<srv> [opts]", "change a server's state, weight, address or ssl", levelAdmin, cmdSetServer},
		{[]string{"set", "timeout"}, "set timeout [cli] <delay>", "change a timeout setting", levelUser, cmdSetTimeout},
		{[]string{"set", "weight"}, "set weight <bk>/<srv>  (DEPRECATED)", "change a server's weight (use 'set server' instead)", levelAdmin, cmdSetWeight},
		{[]string{"show", "backend"}, "show backend", "list backends in the current running config", levelUser, cmdShowBackend},
		{[]string{"show", "cli", "level"}, "show cli level", "display the level of the current CLI session", levelUser, cmdShowLevel},
		{[]string{"show", "cli", "sockets"}, "show cli sockets", "dump list of cli sockets", levelUser, cmdShowCLISockets},
		{[]string{"show", "env"}, "show env [var]", "dump environment variables known to the process", levelOperator, cmdShowEnv},
		{[]string{"show", "info"}, "show info [desc|json|typed|float]*", "report information about the running process", levelUser, cmdShowInfo},
		{[]string{"show", "lvs"}, "show lvs", "list the virtual servers (LVS) like 'ipvsadm -Ln'", levelUser, cmdShowLVS},
		{[]string{"show", "servers", "state"}, "show servers state [<backend>]", "dump volatile server information (all or for a single backend)", levelUser, cmdShowServersState},
		{[]string{"show", "table"}, "show table <table> [<filter>]*", "report table usage stats or dump this table's contents (filter: data/key)", levelUser, cmdShowTable},
		{[]string{"show", "stat"}, "show stat [desc|json|no-maint|typed|up]*", "report counters for each proxy and server", levelUser, cmdShowStat},
		{[]string{"show", "version"}, "show version", "show version of the current process", levelUser, cmdShowVersion},
		{[]string{"user"}, "user", "lower the level of the current CLI session to user", levelUser, cmdLower(levelUser)},
		{[]string{"help"}, "help [<command>]", "list matching or all commands", levelUser, cmdHelp},
		{[]string{"prompt"}, "prompt", "toggle interactive mode with prompt", levelUser, cmdPrompt},
		{[]string{"quit"}, "quit", "disconnect", levelUser, cmdQuit},
	}...)
}

// run executes one command and returns its output (without the empty line
// that ends every reply).
func (s *session) run(line string) string {
	args := strings.Fields(line)
	if len(args) == 0 {
		return ""
	}
	for i := range commands {
		c := &commands[i]
		if len(args) < len(c.words) || !wordsMatch(c.words, args) {
			continue
		}
		if s.level < c.level {
			return "Permission denied\n"
		}
		return c.run(s, args[len(c.words):])
	}
	return "Unknown command, but maybe one of the following ones is a better match:\n" + s.helpText()
}

func wordsMatch(words, args []string) bool {
	for i, w := range words {
		if args[i] != w {
			return false
		}
	}
	return true
}

// helpText lists the commands as haproxy does: sorted, with the session
// commands (help, prompt, quit) last. Other files register commands too.
func (s *session) helpText() string {
	sorted := slices.Clone(commands)
	sessionCmd := func(c command) bool { return c.words[0] == "help" || c.words[0] == "prompt" || c.words[0] == "quit" }
	slices.SortStableFunc(sorted, func(a, b command) int {
		if sa, sb := sessionCmd(a), sessionCmd(b); sa != sb {
			if sa {
				return 1
			}
			return -1
		} else if sa {
			return 0
		}
		return strings.Compare(a.usage, b.usage)
	})
	var b strings.Builder
	for _, c := range sorted {
		if s.level >= c.level {
			fmt.Fprintf(&b, "  %-40s: %s\n", c.usage, c.help)
		}
	}
	return b.String()
}

func cmdHelp(s *session, _ []string) string {
	return "The following commands are valid at this level:\n" + s.helpText()
}

func cmdPrompt(s *session, _ []string) string {
	s.interactive = !s.interactive
	return ""
}

func cmdQuit(s *session, _ []string) string {
	s.quit = true
	return ""
}

func cmdLower(to int) func(*session, []string) string {
	return func(s *session, _ []string) string {
		s.level = min(s.level, to)
		return ""
	}
}

func cmdShowLevel(s *session, _ []string) string {
	return [...]string{"user", "operator", "admin"}[s.level] + "\n"
}

func cmdShowInfo(s *session, args []string) string {
	typed := false
	for _, a := range args {
		if a == "json" {
			return s.srv.src.InfoJSON()
		}
		typed = typed || a == "typed"
	}
	return s.srv.src.InfoText(typed)
}

// cmdShowStat: show stat [{<iid>|<proxy>} <type> <sid>] [typed] [up|no-maint].
func cmdShowStat(s *session, args []string) string {
	f := stats.All
	typed, asJSON := false, false
	var pos []string
	for _, a := range args {
		switch a {
		case "typed":
			typed = true
		case "json":
			asJSON = true
		case "up":
			f.OnlyUp = true
		case "no-maint":
			f.NoMaint = true
		case "desc":
		default:
			pos = append(pos, a)
		}
	}
	if len(pos) > 0 {
		if len(pos) != 3 {
			return "Require proxy, type and server id.\n"
		}
		if n, err := strconv.Atoi(pos[0]); err == nil {
			f.IID = n
		} else {
			f.Proxy = pos[0]
		}
		var err1, err2 error
		f.Types, err1 = strconv.Atoi(pos[1])
		f.SID, err2 = strconv.Atoi(pos[2])
		if err1 != nil || err2 != nil {
			return "Require proxy, type and server id.\n"
		}
		if f.IID == -1 {
			f.Proxy = ""
		}
	}
	if asJSON {
		return s.srv.src.JSON(f)
	}
	if typed {
		return s.srv.src.Typed(f)
	}
	return s.srv.src.CSV(f)
}

// findServer resolves "<backend>/<server>" with HAProxy's messages.
func (s *session) findServer(arg string) (*stream.Server, string) {
	be, name, ok := strings.Cut(arg, "/")
	if !ok {
		return nil, "Require 'backend/server'.\n"
	}
	var bk *stream.Backend
	for _, v := range s.srv.src.RT.Proxies() {
		if v.BE != nil && v.P.Name == be {
			bk = v.BE
		}
	}
	if bk == nil {
		return nil, "No such backend.\n"
	}
	for _, sv := range bk.ServerList() {
		if sv.Name == name {
			return sv, ""
		}
	}
	return nil, "No such server.\n"
}

func cmdDisableServer(s *session, args []string) string {
	if len(args) < 1 {
		return "Require 'backend/server'.\n"
	}
	sv, msg := s.findServer(args[0])
	if sv == nil {
		return msg
	}
	s.srv.src.RT.SetMaint(sv, true)
	return ""
}

func cmdEnableServer(s *session, args []string) string {
	if len(args) < 1 {
		return "Require 'backend/server'.\n"
	}
	sv, msg := s.findServer(args[0])
	if sv == nil {
		return msg
	}
	s.srv.src.RT.SetMaint(sv, false)
	return ""
}

func cmdGetWeight(s *session, args []string) string {
	if len(args) < 1 {
		return "Require 'backend/server'.\n"
	}
	sv, msg := s.findServer(args[0])
	if sv == nil {
		return msg
	}
	cur, initial := sv.Weight()
	return fmt.Sprintf("%d (initial %d)\n", cur, initial)
}

func cmdSetWeight(s *session, args []string) string {
	if len(args) < 2 {
		return "Require <backend>/<server> and <weight> or <weight%>.\n"
	}
	sv, msg := s.findServer(args[0])
	if sv == nil {
		return msg
	}
	return setWeight(sv, args[1])
}

// setWeight applies "<w>" or "<w>%".
func setWeight(sv *stream.Server, w string) string {
	var err error
	if p, ok := strings.CutSuffix(w, "%"); ok {
		n, perr := strconv.Atoi(p)
		if perr != nil {
			return "Relative weight must be positive.\n"
		}
		err = sv.SetWeightPercent(n)
	} else {
		n, perr := strconv.Atoi(w)
		if perr != nil {
			return "Absolute weight can only be between 0 and 256 inclusive.\n"
		}
		err = sv.SetWeight(n)
	}
	if err != nil {
		return err.Error() + "\n"
	}
	return ""
}

const setServerUsage = "usage: set server <backend>/<server> addr | agent | agent-addr | agent-port | agent-send | check-addr | check-port | fqdn | health | ssl | state | weight\n"

func cmdSetServer(s *session, args []string) string {
	if len(args) < 1 {
		return "Require 'backend/server'.\n"
	}
	sv, msg := s.findServer(args[0])
	if sv == nil {
		return msg
	}
	if len(args) >= 2 && args[1] == "addr" {
		return setServerAddr(sv, args[2:])
	}
	if len(args) < 3 {
		return setServerUsage
	}
	rt := s.srv.src.RT
	switch args[1] {
	case "weight":
		return setWeight(sv, args[2])
	case "state":
		switch args[2] {
		case "ready":
			rt.SetMaint(sv, false)
		case "drain":
			if sv.AdminState()&(backend.AdminMaint|backend.AdminConfigMaint) != 0 {
				rt.SetMaint(sv, false)
			}
			rt.SetDrainAdmin(sv, true)
		case "maint":
			rt.SetMaint(sv, true)
		default:
			return "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n"
		}
		return ""
	case "health":
		switch args[2] {
		case "up":
			sv.SetUp(true)
		case "stopping":
			sv.SetDrain(true)
		case "down":
			sv.SetUp(false)
		default:
			return "'set server <srv> health' expects 'up', 'stopping', or 'down'.\n"
		}
		return ""
	case "agent", "agent-addr", "agent-port", "agent-send", "check-addr", "check-port", "fqdn", "ssl":
		return "'set server <srv> " + args[1] + "' is not supported by dhproxy yet.\n"
	}
	return setServerUsage
}

// checkStatusCodes are HAProxy's HCHK_STATUS_* numbers, for "show servers
// state".
var checkStatusCodes = map[string]int{"UNK": 0, "INI": 1, "START": 2, "CHECKED": 3, "HANA": 4, "SOCKERR": 5,
	"L4OK": 6, "L4TOUT": 7, "L4CON": 8, "L6OK": 9, "L6TOUT": 10, "L6RSP": 11, "L7TOUT": 12, "L7RSP": 13,
	"L57DATA": 14, "L7OK": 15, "L7OKC": 16, "L7STS": 17, "PROCERR": 18, "PROCTOUT": 19, "PROCOK": 20}

const serversStateHeader = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n"

func cmdShowServersState(s *session, args []string) string {
	var b strings.Builder
	b.WriteString(serversStateHeader)
	found := len(args) == 0
	for _, r := range s.srv.src.Rows() {
		if r.Kind != stats.Server || len(args) > 0 && r.P.Name != args[0] {
			continue
		}
		found = true
		writeServerState(&b, r)
	}
	if !found {
		return "Can't find backend.\n"
	}
	return b.String()
}

func cmdShowLVS(s *session, _ []string) string {
	if s.srv.src.LVS == nil {
		return "No virtual servers in this process.\n"
	}
	var b strings.Builder
	if err := s.srv.src.LVS(&b); err != nil {
		return err.Error() + "\n"
	}
	return b.String()
}

// cmdClearCounters resets the maximums, or with "all" (admin level) every
// counter, of all proxies and servers.
func cmdClearCounters(s *session, args []string) string {
	all := len(args) > 0 && args[0] == "all"
	if all && s.level < levelAdmin {
		return "Permission denied\n"
	}
	for _, r := range s.srv.src.Rows() {
		c := r.Counters()
		if all {
			c.ClearAll()
		} else {
			c.ClearMax()
		}
	}
	return ""
}

// cmdReopenLogs reopens the "log file@" targets by their paths: logrotate's
// postrotate runs it, so lines go to the new file from then on (dhproxy's
// own command; haproxy writes no files).
func cmdReopenLogs(_ *session, _ []string) string {
	if _, err := logging.ReopenFiles(); err != nil {
		return "Failed to reopen log files: " + err.Error() + "\n"
	}
	return ""
}

// cmdShowBackend lists the proxies that can be backends, in configuration
// order, under haproxy's "# name" header.
func cmdShowBackend(s *session, _ []string) string {
	var b strings.Builder
	b.WriteString("# name\n")
	for _, p := range s.srv.src.RT.Config().Proxies {
		if p.IsBackend() {
			b.WriteString(p.Name + "\n")
		}
	}
	return b.String()
}

// cmdShowEnv prints the process's environment, or one variable of it.
func cmdShowEnv(_ *session, args []string) string {
	if len(args) > 0 {
		v, ok := os.LookupEnv(args[0])
		if !ok {
			return "Variable not found\n"
		}
		return args[0] + "=" + v + "\n"
	}
	var b strings.Builder
	for _, kv := range os.Environ() {
		b.WriteString(kv + "\n")
	}
	return b.String()
}

// cmdSetTimeout is "set timeout cli <delay>": the idle timeout of this
// session, in seconds unless a unit follows (us, ms, s, m, h, d), at
// least one second, with haproxy's messages.
func cmdSetTimeout(s *session, args []string) string {
	if len(args) < 1 || args[0] != "cli" {
		return "'set timeout' only supports 'cli'.\n"
	}
	if len(args) < 2 {
		return "Expects an integer value.\n"
	}
	secs, ok := parseSeconds(args[1])
	if !ok || secs < 1 {
		return "Invalid timeout value.\n"
	}
	s.timeout = time.Duration(secs) * time.Second
	return ""
}

// parseSeconds reads haproxy's time format with seconds as the default
// unit, rounded up to whole seconds as haproxy converts ("500ms" is 1);
// false when malformed or beyond what haproxy's millisecond ticks hold.
func parseSeconds(v string) (int64, bool) {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == 0 || i > 18 {
		return 0, false
	}
	n, _ := strconv.ParseInt(v[:i], 10, 64)
	unitMicros := map[string]int64{"": 1e6, "s": 1e6, "us": 1, "ms": 1e3, "m": 60e6, "h": 3600e6, "d": 86400e6}
	u, ok := unitMicros[v[i:]]
	const maxSecs = (1<<31 - 1) / 1000
	if !ok || n > maxSecs*1e6/u {
		return 0, false
	}
	return (n*u + 1e6 - 1) / 1e6, true
}

// cmdShowVersion prints the version alone, as haproxy does.
func cmdShowVersion(s *session, _ []string) string {
	return s.srv.src.Version + "\n"
}

// cmdShowCLISockets lists the runtime API's sockets with their levels.
func cmdShowCLISockets(s *session, _ []string) string {
	var b strings.Builder
	b.WriteString("# socket lvl processes\n")
	for i, l := range s.srv.ls {
		addr := l.Addr()
		name := addr.String()
		switch a := addr.(type) {
		case *net.UnixAddr:
			name = "unix@" + a.Name
		case *net.TCPAddr:
			if a.IP.To4() != nil {
				name = "ipv4@" + a.String()
			} else {
				name = "ipv6@" + a.String()
			}
		}
		b.WriteString(name + " " + [...]string{"user", "operator", "admin"}[s.srv.levels[i]] + " all\n")
	}
	return b.String()
}
