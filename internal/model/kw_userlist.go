package model

import (
	"dhproxy/internal/auth"
	"dhproxy/internal/config"
)

// buildUserlists reads every userlist section ("group NAME [users
// U1,U2...]", "user NAME password HASH | insecure-password PW [groups
// G1,G2...]") before the proxies, whose http_auth fetches name them.
func (b *builder) buildUserlists(sections []config.Section) {
	lists := map[string]*auth.Userlist{}
	auth.SetUserlists(b.comp, lists)
	for i := range sections {
		s := &sections[i]
		if s.Kind != "userlist" {
			continue
		}
		b.enterSection(s)
		if len(s.Args) != 1 {
			b.d.Errorf(s.Pos, "'userlist' expects <name> as argument.")
			continue
		}
		name := s.Args[0]
		if _, dup := lists[name]; dup {
			b.d.Errorf(s.Pos, "userlist '%s' declared twice; give it another name.", name)
			continue
		}
		l := auth.NewUserlist(name)
		groups := map[string][]string{}
		for _, line := range s.Lines {
			switch line.Args[0] {
			case "group":
				if len(line.Args) < 2 {
					b.errorf(line, "'group' expects <name> [users <user>[,<user>...]].")
					continue
				}
				g := line.Args[1]
				if _, dup := groups[g]; dup {
					b.errorf(line, "userlist '%s': group '%s' declared twice.", name, g)
					continue
				}
				groups[g] = nil
				switch {
				case len(line.Args) == 2:
				case len(line.Args) == 4 && line.Args[2] == "users":
					groups[g] = auth.SplitGroups(line.Args[3])
				default:
					b.errorf(line, "'group %s' expects [users <user>[,<user>...]].", g)
				}
			case "user":
				u, err := auth.ParseUser(line.Args[1:])
				if err != nil {
					b.errorf(line, "%v.", err)
					continue
				}
				if _, dup := l.Users[u.Name]; dup {
					b.errorf(line, "userlist '%s': user '%s' declared twice.", name, u.Name)
					continue
				}
				l.Users[u.Name] = u
			default:
				b.errorf(line, "unknown keyword '%s' in 'userlist' section; expects 'user' or 'group'.", line.Args[0])
			}
		}
		if err := l.Link(groups); err != nil {
			b.d.Errorf(s.Pos, "%v.", err)
		}
		lists[name] = l
	}
}
