package model

import (
	"os/user"
	"strconv"

	"dhproxy/internal/config"
)

// Program is a "program <name>" section: an external command that the
// master of master-worker mode starts next to its workers.
//
//	program dataplaneapi
//	    command /usr/bin/dataplaneapi -f /etc/dataplaneapi.yml
//	    user haproxy
//	    no option start-on-reload
type Program struct {
	Pos     config.Pos
	Name    string
	Command []string // the executable and its arguments
	// UID and GID are those of "user" and "group", -1 when not set: the
	// program then keeps the master's.
	UID, GID int
	// StartOnReload starts a new instance at each reload and stops the
	// old one (the default); without it the running instance is kept.
	StartOnReload bool
}

// ProgramNamed returns the program section named name, or nil.
func (c *Config) ProgramNamed(name string) *Program {
	for _, p := range c.Programs {
		if p.Name == name {
			return p
		}
	}
	return nil
}

var programKeywords = []string{"command", "user", "group", "option"}

func (b *builder) buildProgram(s *config.Section) {
	if len(s.Args) == 0 || s.Args[0] == "" {
		b.d.Errorf(s.Pos, "'program' expects an <id> argument")
		return
	}
	p := &Program{Pos: s.Pos, Name: s.Args[0], UID: -1, GID: -1, StartOnReload: true}
	if other := b.cfg.ProgramNamed(p.Name); other != nil {
		// haproxy stops reading the section there.
		b.d.Errorf(s.Pos, "'%s' program section already exists in the configuration (declared at %s); rename one of them.", p.Name, other.Pos)
		return
	}
	b.cfg.Programs = append(b.cfg.Programs, p)
	for _, l := range s.Lines {
		parseProgramLine(b, p, l)
	}
	if len(p.Command) == 0 {
		b.d.Errorf(s.Pos, "The program section '%s' lacks a command to launch; add 'command <command> [arguments*]'.", p.Name)
	}
}

func parseProgramLine(b *builder, p *Program, l config.Line) {
	negate := l.Args[0] == "no"
	args := l.Args
	if negate {
		args = args[1:]
		if len(args) == 0 || args[0] != "option" {
			b.errorf(l, "'no' only negates 'option start-on-reload' in a 'program' section.")
			return
		}
	}
	switch args[0] {
	case "command":
		if len(args) < 2 || args[1] == "" {
			b.errorf(l, "'command' expects a command with optional arguments separated in words.")
			return
		}
		p.Command = append([]string(nil), args[1:]...)
	case "user":
		if len(args) != 2 {
			b.errorf(l, "'user' expects one <user name> as argument.")
			return
		}
		if p.UID >= 0 {
			// haproxy alerts and goes on with the first one.
			b.warnf(l, "user/uid already specified; the first 'user' line is kept.")
			return
		}
		u, err := user.Lookup(args[1])
		if err != nil {
			b.errorf(l, "cannot find user id for '%s'; create the user or run the program as another one.", args[1])
			return
		}
		p.UID, _ = strconv.Atoi(u.Uid)
	case "group":
		if len(args) != 2 {
			b.errorf(l, "'group' expects one <group name> as argument.")
			return
		}
		if p.GID >= 0 {
			b.warnf(l, "group/gid already specified; the first 'group' line is kept.")
			return
		}
		g, err := user.LookupGroup(args[1])
		if err != nil {
			b.errorf(l, "cannot find group id for '%s'; create the group or run the program as another one.", args[1])
			return
		}
		p.GID, _ = strconv.Atoi(g.Gid)
	case "option":
		switch {
		case len(args) < 2 || args[1] == "":
			b.errorf(l, "'option' expects an option name.")
		case args[1] != "start-on-reload":
			b.errorf(l, "unknown option '%s'; a 'program' section knows only 'option start-on-reload'.", args[1])
		case len(args) > 2:
			b.errorf(l, "'option start-on-reload' cannot handle unexpected argument '%s'.", args[2])
		default:
			p.StartOnReload = !negate
		}
	default:
		b.errorf(l, "unknown keyword '%s' in 'program' section%s", args[0], suggest(args[0], programKeywords))
	}
}
