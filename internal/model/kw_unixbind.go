package model

import (
	"os/user"
	"strconv"

	"dhproxy/internal/config"
)

// UnixPerm is what a UNIX listening socket gets once created: its
// permissions and owner. The zero value changes nothing.
type UnixPerm struct {
	Mode           uint32 // 0: as created
	UID, GID       int
	HasUID, HasGID bool
}

// Owner is the uid and gid to give the socket, -1 for those unchanged.
func (p UnixPerm) Owner() (uid, gid int) {
	uid, gid = -1, -1
	if p.HasUID {
		uid = p.UID
	}
	if p.HasGID {
		gid = p.GID
	}
	return uid, gid
}

// UnixBind is the global "unix-bind": the defaults of the UNIX sockets of
// bind lines, and the prefix of their paths (haproxy 2.6 leaves stats
// sockets alone).
type UnixBind struct {
	Prefix string
	UnixPerm
}

func init() {
	registerGlobal("unix-bind", func(b *builder, g *Global, l config.Line) {
		var u UnixBind
		if len(l.Args) < 2 {
			b.errorf(l, "'unix-bind' expects at least one of 'prefix', 'mode', 'user', 'uid', 'group' and 'gid'.")
			return
		}
		for i := 1; i < len(l.Args); i += 2 {
			opt := l.Args[i]
			if i+1 >= len(l.Args) {
				b.errorf(l, "'unix-bind' option '%s' expects an argument.", opt)
				return
			}
			if err := u.set(opt, l.Args[i+1]); err != "" {
				b.errorf(l, "'unix-bind' %s.", err)
				return
			}
		}
		g.UnixBind = &u
	})
}

// set applies one "unix-bind" or bind option; the error says what is
// wrong ("" when none).
func (u *UnixBind) set(opt, v string) string {
	switch opt {
	case "prefix":
		u.Prefix = v
	case "mode":
		m, err := strconv.ParseUint(v, 8, 32)
		if err != nil {
			return "'mode' expects an octal mode, got '" + v + "'"
		}
		u.Mode = uint32(m)
	case "uid", "gid":
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return "'" + opt + "' expects a numeric id, got '" + v + "'"
		}
		if opt == "uid" {
			u.UID, u.HasUID = n, true
		} else {
			u.GID, u.HasGID = n, true
		}
	case "user":
		usr, err := user.Lookup(v)
		if err != nil {
			return "'user': unknown user '" + v + "'"
		}
		u.UID, _ = strconv.Atoi(usr.Uid)
		u.HasUID = true
	case "group":
		grp, err := user.LookupGroup(v)
		if err != nil {
			return "'group': unknown group '" + v + "'"
		}
		u.GID, _ = strconv.Atoi(grp.Gid)
		u.HasGID = true
	default:
		return "only supports the 'prefix', 'mode', 'uid', 'gid', 'user' and 'group' options, not '" + opt + "'"
	}
	return ""
}

// unixSocket applies unix-bind to a UNIX socket's path and permissions;
// own are the socket's own settings, which win.
func (g *Global) unixSocket(path string, own UnixPerm) (string, UnixPerm) {
	if g.UnixBind == nil {
		return path, own
	}
	u := g.UnixBind
	if own.Mode == 0 {
		own.Mode = u.Mode
	}
	if !own.HasUID {
		own.UID, own.HasUID = u.UID, u.HasUID
	}
	if !own.HasGID {
		own.GID, own.HasGID = u.GID, u.HasGID
	}
	return u.Prefix + path, own
}
