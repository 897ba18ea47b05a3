package acl

import (
	"fmt"
	"strings"

	"dhproxy/internal/sample"
)

// Cond is a compiled "if|unless" condition: terms in a group are ANDed,
// groups are ORed ("||" or "or"), each term possibly negated ("!").
type Cond struct {
	Unless bool
	phase  sample.Phase
	groups [][]term
}

type term struct {
	acl *ACL
	neg bool
}

// ParseCond compiles the words of a condition, starting with "if" or
// "unless", for a rule of phase (ruleWord names it in warnings, as
// "http-request deny"). Named ACLs come from s, or are predefined.
// Warnings report ACLs that cannot match in that phase, as HAProxy does.
func (s *Set) ParseCond(c *sample.Compiler, words []string, phase sample.Phase, ruleWord string) (cond *Cond, warnings []string, err error) {
	if len(words) == 0 || words[0] != "if" && words[0] != "unless" {
		return nil, nil, fmt.Errorf("expects 'if' or 'unless' followed by a condition")
	}
	cond = &Cond{Unless: words[0] == "unless", phase: phase}
	words = words[1:]
	if len(words) == 0 {
		return nil, nil, fmt.Errorf("missing condition after '%s'", map[bool]string{true: "unless", false: "if"}[cond.Unless])
	}
	group := []term{}
	for len(words) > 0 {
		w := words[0]
		words = words[1:]
		if w == "||" || w == "or" {
			if len(group) == 0 {
				return nil, nil, fmt.Errorf("'%s' must follow a term", w)
			}
			cond.groups = append(cond.groups, group)
			group = []term{}
			continue
		}
		neg := false
		for strings.HasPrefix(w, "!") {
			neg = !neg
			w = w[1:]
			if w == "" {
				if len(words) == 0 {
					return nil, nil, fmt.Errorf("'!' must be followed by an ACL")
				}
				w, words = words[0], words[1:]
			}
		}
		var a *ACL
		if w == "{" {
			end := -1
			for i, x := range words {
				if x == "}" {
					end = i
					break
				}
			}
			if end < 0 {
				return nil, nil, fmt.Errorf("missing '}' to close the anonymous ACL")
			}
			p, err := ParsePart(c, words[:end])
			if err != nil {
				return nil, nil, err
			}
			a = &ACL{Name: "{ " + strings.Join(words[:end], " ") + " }", Parts: []*Part{p}}
			words = words[end+1:]
			if p.Expr.Fetch.Phases&phase == 0 {
				warnings = append(warnings, fmt.Sprintf("anonymous acl will never match because it uses keyword '%s' which is incompatible with '%s'", p.Expr.Fetch.Name, ruleWord))
			}
		} else {
			if w == "}" {
				return nil, nil, fmt.Errorf("unexpected '}'")
			}
			a, err = s.lookup(c, w)
			if err != nil {
				return nil, nil, err
			}
			usable := 0
			var bad []string
			for _, p := range a.Parts {
				if p.Expr.Fetch.Phases&phase != 0 {
					usable++
				} else {
					bad = append(bad, p.Expr.Fetch.Name)
				}
			}
			switch {
			case usable == 0:
				warnings = append(warnings, fmt.Sprintf("acl '%s' will never match because it only involves keywords that are incompatible with '%s'", a.Name, ruleWord))
			case len(bad) > 0:
				warnings = append(warnings, fmt.Sprintf("acl '%s' involves keywords '%s' which is incompatible with '%s'", a.Name, strings.Join(bad, "', '"), ruleWord))
			}
		}
		group = append(group, term{acl: a, neg: neg})
	}
	if len(group) == 0 {
		return nil, nil, fmt.Errorf("missing term after '||'")
	}
	cond.groups = append(cond.groups, group)
	return cond, warnings, nil
}

// Match evaluates the condition: true when the rule applies.
func (c *Cond) Match(t sample.Txn, st *State) bool {
	if c == nil {
		return true
	}
	return c.MatchIn(t, st, c.phase)
}

// MatchIn evaluates the condition with only the fetches usable in phase
// (the others never match): mode tcp's use_backend rules, parsed for
// either mode, have no HTTP request to read.
func (c *Cond) MatchIn(t sample.Txn, st *State, phase sample.Phase) bool {
	if c == nil {
		return true
	}
	ok := false
	for _, g := range c.groups {
		all := true
		for _, tm := range g {
			if tm.acl.match(t, st, phase) == tm.neg {
				all = false
				break
			}
		}
		if all {
			ok = true
			break
		}
	}
	return ok != c.Unless
}

// MissReporter is a transaction whose fetches can tell that their answer
// may still change (more payload may come): TakeMiss reports whether one
// said so since the last call, and forgets it.
type MissReporter interface {
	TakeMiss() bool
}

// MatchMiss evaluates the condition as HAProxy's acl_exec_cond does for
// rules that wait for data: a term that did not match on a sample that may
// still change is undecided (miss), a negation keeps it undecided, AND and
// OR combine the three values (true beats an undecided alternative, false
// an undecided conjunct). miss reports that the result is undecided; ok
// is then what the data so far gives (false, or true with "unless").
func (c *Cond) MatchMiss(t sample.Txn, st *State) (ok, miss bool) {
	if c == nil {
		return true, false
	}
	mr, _ := t.(MissReporter)
	const fail, undecided, pass = 0, 1, 3
	res := fail
	for _, g := range c.groups {
		suite := pass
		for _, tm := range g {
			if mr != nil {
				mr.TakeMiss()
			}
			term := fail
			if tm.acl.match(t, st, c.phase) {
				term = pass
			} else if mr != nil && mr.TakeMiss() {
				term = undecided
			}
			if tm.neg && term != undecided {
				term = pass - term
			}
			suite &= term
			if suite == fail {
				break
			}
		}
		res |= suite
		if res == pass {
			break
		}
	}
	if res == undecided {
		return c.Unless, true
	}
	return (res == pass) != c.Unless, false
}
