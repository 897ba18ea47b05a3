package auth

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strings"
	"sync"

	"dhproxy/internal/http1"
	"dhproxy/internal/sample"
)

// User is one "user" line of a userlist.
type User struct {
	Name   string
	Hash   string // crypt(3) hash ("password"), or ""
	Plain  string // "insecure-password"
	Groups []string
}

// Userlist is a "userlist" section. Verified credentials are remembered
// (up to cacheMax Authorization values): SHA-crypt's 5000 rounds cost
// about a millisecond, HAProxy pays it on every request, dhproxy once.
type Userlist struct {
	Name  string
	Users map[string]*User

	mu    sync.Mutex
	known map[string]*User // Authorization value -> its verified user
}

const cacheMax = 1024

// NewUserlist returns an empty userlist.
func NewUserlist(name string) *Userlist {
	return &Userlist{Name: name, Users: map[string]*User{}, known: map[string]*User{}}
}

// ParseUser reads the words after "user": NAME [password HASH |
// insecure-password PW] [groups G1,G2...].
func ParseUser(args []string) (*User, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("'user' expects <name> [password <hash> | insecure-password <password>] [groups <group>[,<group>...]]")
	}
	u := &User{Name: args[0]}
	for rest := args[1:]; len(rest) > 0; rest = rest[2:] {
		if len(rest) < 2 {
			return nil, fmt.Errorf("user '%s': '%s' expects a value", u.Name, rest[0])
		}
		switch rest[0] {
		case "password":
			if !Supported(rest[1]) {
				return nil, fmt.Errorf("user '%s': %v", u.Name, ErrUnsupported)
			}
			u.Hash = rest[1]
		case "insecure-password":
			u.Plain = rest[1]
		case "groups":
			u.Groups = append(u.Groups, splitList(rest[1])...)
		default:
			return nil, fmt.Errorf("user '%s': unknown argument '%s'; expects password, insecure-password or groups", u.Name, rest[0])
		}
	}
	if u.Hash == "" && u.Plain == "" {
		return nil, fmt.Errorf("user '%s' has neither 'password' nor 'insecure-password'", u.Name)
	}
	return u, nil
}

func splitList(s string) []string {
	var out []string
	for _, g := range strings.Split(s, ",") {
		if g != "" {
			out = append(out, g)
		}
	}
	return out
}

// Link adds the members of each group (its name -> its "users" list) to
// the users, and checks that every name refers to something declared.
func (l *Userlist) Link(groups map[string][]string) error {
	for g, members := range groups {
		for _, m := range members {
			u := l.Users[m]
			if u == nil {
				return fmt.Errorf("userlist '%s': no such user '%s' in group '%s'", l.Name, m, g)
			}
			if !hasGroup(u, g) {
				u.Groups = append(u.Groups, g)
			}
		}
	}
	for _, u := range l.Users {
		for _, g := range u.Groups {
			if _, ok := groups[g]; !ok {
				return fmt.Errorf("userlist '%s': no such group '%s' specified in user '%s'", l.Name, g, u.Name)
			}
		}
	}
	return nil
}

func hasGroup(u *User, g string) bool {
	for _, x := range u.Groups {
		if x == g {
			return true
		}
	}
	return false
}

// SplitGroups splits a group's "users" argument.
func SplitGroups(s string) []string { return splitList(s) }

// Authenticate returns the user whose credentials the Authorization
// value authz carries ("Basic base64(user:password)"), or nil. scratch
// holds the decoded credentials.
func (l *Userlist) Authenticate(authz []byte, scratch *[]byte) *User {
	l.mu.Lock()
	u := l.known[string(authz)]
	l.mu.Unlock()
	if u != nil {
		return u
	}
	scheme, cred, ok := cutSpace(authz)
	if !ok || !http1.EqualFold(scheme, "basic") {
		return nil
	}
	start := len(*scratch)
	need := base64.StdEncoding.DecodedLen(len(cred))
	*scratch = append(*scratch, make([]byte, need)...)
	buf := (*scratch)[start:]
	n, err := base64.StdEncoding.Decode(buf, cred)
	if err != nil {
		return nil
	}
	name, pw, ok := cutByte(buf[:n], ':')
	if !ok {
		return nil
	}
	u = l.Users[string(name)]
	if u == nil {
		return nil
	}
	if u.Hash != "" {
		if ok, _ := Check(string(pw), u.Hash); !ok {
			return nil
		}
	} else if subtle.ConstantTimeCompare(pw, []byte(u.Plain)) != 1 {
		return nil
	}
	l.mu.Lock()
	if len(l.known) >= cacheMax {
		clear(l.known)
	}
	l.known[string(authz)] = u
	l.mu.Unlock()
	return u
}

func cutSpace(b []byte) (before, after []byte, ok bool) {
	for i, c := range b {
		if c == ' ' {
			after = b[i+1:]
			for len(after) > 0 && after[0] == ' ' {
				after = after[1:]
			}
			return b[:i], after, true
		}
	}
	return nil, nil, false
}

func cutByte(b []byte, sep byte) (before, after []byte, ok bool) {
	for i, c := range b {
		if c == sep {
			return b[:i], b[i+1:], true
		}
	}
	return nil, nil, false
}

// The userlists of a configuration, kept in the sample compiler for the
// fetches' Prepare hooks.
const listsKey = "auth:userlists"

// SetUserlists stores the configuration's userlists in c.
func SetUserlists(c *sample.Compiler, lists map[string]*Userlist) {
	if c.Files == nil {
		c.Files = map[string]any{}
	}
	c.Files[listsKey] = lists
}

// Lookup returns the userlist name of c's configuration.
func Lookup(c *sample.Compiler, name string) *Userlist {
	lists, _ := c.Files[listsKey].(map[string]*Userlist)
	return lists[name]
}

func prepareList(c *sample.Compiler, a *sample.Args) error {
	l := Lookup(c, a.Str[0])
	if l == nil {
		return fmt.Errorf("unable to find userlist '%s'", a.Str[0])
	}
	a.Data = l
	return nil
}

// requestUser is the user authenticated by the request's Authorization
// header, or nil.
func requestUser(t sample.Txn, a *sample.Args) *User {
	authz, ok := sample.HeaderValue(t.Request().Headers, "authorization", -1, false)
	if !ok {
		return nil
	}
	return a.Data.(*Userlist).Authenticate(authz, t.Scratch())
}

func init() {
	sample.RegisterFetch(&sample.FetchDef{Name: "http_auth", Args: []sample.ArgType{sample.ArgStr}, MinArgs: 1, Out: sample.TypeBool,
		Phases: sample.PhaseReq, Needs: "the HTTP request", Prepare: prepareList,
		Fn: func(t sample.Txn, a *sample.Args, it *sample.Iter, v *sample.Value) bool {
			v.SetBool(requestUser(t, a) != nil)
			return true
		}})
	// http_auth_group answers the user's name; an ACL compares its
	// patterns with each of the user's groups, as HAProxy's does.
	sample.RegisterFetch(&sample.FetchDef{Name: "http_auth_group", Args: []sample.ArgType{sample.ArgStr}, MinArgs: 1, Out: sample.TypeStr,
		Phases: sample.PhaseReq, Needs: "the HTTP request", Prepare: prepareList, Multi: true,
		Fn: func(t sample.Txn, a *sample.Args, it *sample.Iter, v *sample.Value) bool {
			u := requestUser(t, a)
			if u == nil {
				return false
			}
			name := u.Name
			if it != nil {
				if it.A >= len(u.Groups) {
					return false
				}
				name = u.Groups[it.A]
				it.A++
				it.More = true
			}
			// a copy: converters may edit a sample in place
			sc := t.Scratch()
			start := len(*sc)
			*sc = append(*sc, name...)
			v.SetStr((*sc)[start:])
			return true
		}})
}
