package runtimeapi

import (
	"fmt"
	"strconv"
	"strings"

	"dhproxy/internal/acl"
)

// The map and ACL file commands: "show map|acl" list the files or dump
// one, "add", "set", "del" and "clear" edit them; the next request sees the
// edit. haproxy's versions ("@<ver>", prepare/commit) and payloads are not
// offered.
func init() {
	commands = append(commands,
		command{[]string{"show", "map"}, "show map [map]", "report available maps or dump a map's contents", levelUser, cmdShowRefs(true)},
		command{[]string{"show", "acl"}, "show acl [acl]", "report available acls or dump an acl's contents", levelUser, cmdShowRefs(false)},
		command{[]string{"add", "map"}, "add map <map> <key> <val>", "add a map entry", levelUser, cmdAddMap},
		command{[]string{"add", "acl"}, "add acl <acl> <pattern>", "add an acl entry", levelUser, cmdAddACL},
		command{[]string{"set", "map"}, "set map <map> [<key>|#<ref>] <value>", "modify a map entry", levelUser, cmdSetMap},
		command{[]string{"del", "map"}, "del map <map> [<key>|#<ref>]", "delete map entries matching <key>", levelUser, cmdDelRef(true)},
		command{[]string{"del", "acl"}, "del acl <acl> [<key>|#<ref>]", "delete acl entries matching <key>", levelUser, cmdDelRef(false)},
		command{[]string{"clear", "map"}, "clear map <map>", "clear the contents of this map", levelUser, cmdClearRef(true)},
		command{[]string{"clear", "acl"}, "clear acl <acl>", "clear the contents of this acl", levelUser, cmdClearRef(false)},
	)
}

const (
	unknownMap = "Unknown map identifier. Please use #<id> or <file>.\n"
	unknownACL = "Unknown ACL identifier. Please use #<id> or <file>.\n"
)

// findRef resolves "#<id>" or a file name among the map files (isMap) or
// the ACL pattern files.
func (s *session) findRef(name string, isMap bool) *acl.Ref {
	for _, r := range s.srv.src.RT.Config().PatternFiles {
		if r.Map != isMap {
			continue
		}
		if id, ok := strings.CutPrefix(name, "#"); ok {
			if n, err := strconv.Atoi(id); err == nil && n == r.ID {
				return r
			}
		} else if r.File == name {
			return r
		}
	}
	return nil
}

func cmdShowRefs(isMap bool) func(*session, []string) string {
	kind, unknown := "acl", unknownACL
	if isMap {
		kind, unknown = "map", unknownMap
	}
	return func(s *session, args []string) string {
		var b strings.Builder
		if len(args) == 0 {
			b.WriteString("# id (file) description\n")
			for _, r := range s.srv.src.RT.Config().PatternFiles {
				if r.Map != isMap {
					continue
				}
				where := ""
				if r.Where != "" {
					where = " at " + r.Where
				}
				fmt.Fprintf(&b, "%d (%s) pattern loaded from file '%s' used by %s%s. curr_ver=0 next_ver=0 entry_cnt=%d\n",
					r.ID, r.File, r.File, kind, where, len(r.Entries()))
			}
			return b.String()
		}
		r := s.findRef(args[0], isMap)
		if r == nil {
			return unknown
		}
		for _, e := range r.Entries() {
			if isMap {
				fmt.Fprintf(&b, "%#x %s %s\n", e.ID, e.Key, e.Value)
			} else {
				fmt.Fprintf(&b, "%#x %s\n", e.ID, e.Key)
			}
		}
		return b.String()
	}
}

func cmdAddMap(s *session, args []string) string {
	if len(args) != 3 {
		return "'add map' expects three parameters (map identifier, key and value) or one parameter (map identifier) and a payload\n"
	}
	r := s.findRef(args[0], true)
	if r == nil {
		return unknownMap
	}
	if err := r.Add(args[1], args[2]); err != nil {
		return "Failed to add a map entry: " + err.Error() + "\n"
	}
	return ""
}

func cmdAddACL(s *session, args []string) string {
	if len(args) != 2 {
		return "'add acl' expects two parameters: ACL identifier and pattern.\n"
	}
	r := s.findRef(args[0], false)
	if r == nil {
		if s.findRef(args[0], true) != nil {
			return "This ACL is shared with a map containing samples. You must use the command 'add map' to add values.\n"
		}
		return unknownACL
	}
	if err := r.Add(args[1], ""); err != nil {
		return "Failed to add an acl entry: " + err.Error() + "\n"
	}
	return ""
}

func cmdSetMap(s *session, args []string) string {
	if len(args) != 3 {
		return "'set map' expects three parameters: map identifier, key and value.\n"
	}
	r := s.findRef(args[0], true)
	if r == nil {
		return unknownMap
	}
	found, err := r.Set(args[1], args[2])
	switch {
	case err != nil:
		return "Failed to update a map entry: " + err.Error() + "\n"
	case !found:
		return "entry not found.\n"
	}
	return ""
}

func cmdDelRef(isMap bool) func(*session, []string) string {
	usage := "This command expects two parameters: map identifier and key.\n"
	if !isMap {
		usage = "This command expects two parameters: ACL identifier and key.\n"
	}
	return func(s *session, args []string) string {
		if len(args) != 2 {
			return usage
		}
		r := s.findRef(args[0], isMap)
		if r == nil {
			return unknownMap // haproxy's answer for both
		}
		found, err := r.Delete(args[1])
		switch {
		case err != nil:
			return "Failed to delete an entry: " + err.Error() + "\n"
		case !found:
			return "Key not found.\n"
		}
		return ""
	}
}

func cmdClearRef(isMap bool) func(*session, []string) string {
	missing, unknown := "Missing ACL identifier.\n", unknownACL
	if isMap {
		missing, unknown = "Missing map identifier.\n", unknownMap
	}
	return func(s *session, args []string) string {
		if len(args) < 1 {
			return missing
		}
		r := s.findRef(args[0], isMap)
		if r == nil {
			return unknown
		}
		if err := r.Clear(); err != nil {
			return "Failed to clear: " + err.Error() + "\n"
		}
		return ""
	}
}
