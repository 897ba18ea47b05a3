// Package rules holds HAProxy's actions: http-request and http-response
// rules, the redirect keyword, and the replies the proxy writes itself.
// Rules are parsed and compiled here at load time (conditions through the
// acl package, values through the sample registry); the stream runs them
// in HAProxy's order on each transaction.
package rules

import (
	"fmt"
	"strconv"
	"strings"

	"dhproxy/internal/acl"
	"dhproxy/internal/http1"
	"dhproxy/internal/sample"
)

// Action is what a rule does.
type Action uint8

const (
	Allow         Action = iota + 1 // stop evaluating this rule list, go on
	Deny                            // answer with Reply, stop
	Tarpit                          // wait "timeout tarpit", then answer with Reply
	Return                          // answer with Reply, stop
	Redirect                        // answer with a redirect, stop
	SetHeader                       // replace every occurrence of Name by one
	AddHeader                       // append a header
	DelHeader                       // remove every occurrence of Name
	ReplaceHeader                   // rewrite the values of Name matching Re
	SetPath                         // replace the path, keeping the query
	SetPathQ                        // replace the path and the query
	SetQuery                        // replace the query string
	SetURI                          // replace the whole request target
	SetMethod                       // replace the method
	ReplacePath                     // rewrite the path if Re matches it
	ReplacePathQ                    // rewrite the path and query if Re matches them
	ReplaceURI                      // rewrite the request target if Re matches it
	ReplaceValue                    // rewrite each comma-separated value of Name matching Re
	SetStatus                       // replace the response status (and reason)
	SetSrc                          // take Expr's address as the client's, for this request
	SetVar                          // store Expr's sample in Var
	UnsetVar                        // forget Var
)

// Rule is one compiled http-request or http-response rule.
type Rule struct {
	Action Action
	Cond   *acl.Cond // nil: always
	Name   []byte    // header name, lower case as HAProxy sends added headers
	Kind   http1.Kind
	Value  *sample.Format // header value, replacement, path
	Re     *sample.Regex
	Reply  *Reply
	Redir  *RedirectRule
	Status int    // set-status
	Reason []byte // set-status: the reason phrase
	Var    sample.VarRef
	Expr   *sample.Expr // set-var
}

// Phase is the phase of an http-request or http-response rule list.
func phaseOf(response bool) sample.Phase {
	if response {
		return sample.PhaseRes
	}
	return sample.PhaseReq
}

// framingHeaders may not be rewritten by rules: the proxy frames bodies by
// them, and a rule changing them would desynchronize client and server.
func framingHeader(name string) bool {
	n := strings.ToLower(name)
	return n == "content-length" || n == "transfer-encoding"
}

// RedirectKeyword is the where of ParseHTTP for the "redirect" keyword
// (its words start with "redirect"): messages then name the keyword.
const RedirectKeyword = "redirect keyword"

// ParseHTTP compiles the words after "http-request" (response false) or
// "http-response" (response true). where names the rule's place in
// warnings ("frontend http-request header rule", HAProxy's wording).
func ParseHTTP(c *sample.Compiler, set *acl.Set, words []string, response bool, where string) (r *Rule, warnings []string, err error) {
	kw := "http-request"
	if response {
		kw = "http-response"
	}
	if len(words) == 0 {
		return nil, nil, fmt.Errorf("'%s' expects an action", kw)
	}
	phase := phaseOf(response)
	act := words[0]
	word := act // the action as written, for messages
	args := words[1:]
	// the condition starts at the first "if" or "unless"
	var condWords []string
	for i, w := range args {
		if w == "if" || w == "unless" {
			condWords, args = args[i:], args[:i]
			break
		}
	}
	r = &Rule{}
	ruleWord := "'" + kw + " " + act + "'"
	if where == RedirectKeyword {
		ruleWord, where = "'redirect'", "frontend http-request header rule"
	}
	want := func(n int, usage string) error {
		if len(args) != n {
			return fmt.Errorf("%s expects %s", ruleWord, usage)
		}
		return nil
	}
	if name, ok := strings.CutPrefix(act, "set-var("); ok || strings.HasPrefix(act, "unset-var(") {
		if !ok {
			name = strings.TrimPrefix(act, "unset-var(")
		}
		if !strings.HasSuffix(name, ")") {
			return nil, nil, fmt.Errorf("%s: missing ')' after the variable name", ruleWord)
		}
		if r.Var, err = c.ParseVar(strings.TrimSuffix(name, ")")); err != nil {
			return nil, nil, fmt.Errorf("%s: %v", ruleWord, err)
		}
		if ok {
			r.Action = SetVar
			if err = want(1, "<expr>"); err == nil {
				if r.Expr, err = c.Compile(args[0], phase); err != nil {
					err = fmt.Errorf("%s: %v", ruleWord, err)
				}
			}
		} else {
			r.Action = UnsetVar
			err = want(0, "no argument before its condition")
		}
		act = "" // handled
	}
	switch act {
	case "":
	case "allow":
		r.Action = Allow
		err = want(0, "no argument before its condition")
	case "deny", "tarpit":
		r.Action = Deny
		if response {
			return nil, nil, fmt.Errorf("'http-response %s' is not supported by dhproxy yet", act)
		}
		status := 403
		if act == "tarpit" {
			r.Action, status = Tarpit, 500
		}
		switch {
		case len(args) == 0:
		case len(args) == 2 && (args[0] == "deny_status" || args[0] == "status"):
			status, err = strconv.Atoi(args[1])
			if err != nil {
				return nil, nil, fmt.Errorf("%s: '%s' is not a status code", ruleWord, args[1])
			}
		default:
			return nil, nil, fmt.Errorf("%s: only 'deny_status <code>' is supported by dhproxy yet (not '%s')", ruleWord, strings.Join(args, " "))
		}
		if _, _, ok := DefaultError(status); !ok {
			return nil, nil, fmt.Errorf("%s: status code '%d' not handled by default with 'default-errorfiles' argument (dhproxy has no errorfiles yet)", ruleWord, status)
		}
		r.Reply = ErrorReply(status)
	case "return":
		if response {
			return nil, nil, fmt.Errorf("'http-response return' is not supported by dhproxy yet")
		}
		r.Action = Return
		r.Reply, err = parseReturn(c, args, ruleWord, phase)
	case "redirect":
		if response {
			return nil, nil, fmt.Errorf("'http-response redirect' is not supported by dhproxy yet")
		}
		r.Action = Redirect
		r.Redir, err = ParseRedirect(c, args, ruleWord)
	case "set-header", "add-header":
		r.Action = SetHeader
		if act == "add-header" {
			r.Action = AddHeader
		}
		if err = want(2, "<name> <fmt>"); err == nil {
			err = r.header(c, args[0], args[1], phase)
		}
	case "del-header":
		r.Action = DelHeader
		if err = want(1, "<name> (dhproxy does not support '-m' yet)"); err == nil {
			err = r.header(c, args[0], "", phase)
		}
	case "replace-header", "replace-value":
		r.Action = ReplaceHeader
		if act == "replace-value" {
			r.Action = ReplaceValue
		}
		if err = want(3, "<name> <regex> <replace-fmt>"); err == nil {
			if r.Re, err = c.CompileRegex(args[1], false, true); err != nil {
				err = fmt.Errorf("%s: %v", ruleWord, err)
			} else {
				err = r.header(c, args[0], args[2], phase)
			}
		}
	case "set-src":
		if response {
			return nil, nil, fmt.Errorf("'http-response set-src' does not exist; use it in 'http-request'")
		}
		r.Action = SetSrc
		if err = want(1, "<expr>"); err == nil {
			if r.Expr, err = c.Compile(args[0], phase); err != nil {
				err = fmt.Errorf("%s: %v", ruleWord, err)
			}
		}
	case "set-status":
		if !response {
			return nil, nil, fmt.Errorf("'http-request set-status' does not exist; use it in 'http-response'")
		}
		r.Action = SetStatus
		if len(args) != 1 && !(len(args) == 3 && args[1] == "reason") {
			return nil, nil, fmt.Errorf("%s expects <status> [reason <str>]", ruleWord)
		}
		if r.Status, err = strconv.Atoi(args[0]); err != nil || r.Status < 100 || r.Status > 999 {
			return nil, nil, fmt.Errorf("%s: '%s' is not a status code between 100 and 999", ruleWord, args[0])
		}
		reason := Reason(r.Status)
		if len(args) == 3 {
			reason = args[2]
		}
		r.Reason = []byte(reason)
	case "set-path", "set-pathq", "set-query", "set-uri", "set-method":
		if response {
			return nil, nil, fmt.Errorf("'http-response %s' does not exist; use it in 'http-request'", act)
		}
		r.Action = map[string]Action{"set-path": SetPath, "set-pathq": SetPathQ, "set-query": SetQuery, "set-uri": SetURI, "set-method": SetMethod}[act]
		if err = want(1, "<fmt>"); err == nil {
			r.Value, err = c.CompileFormat(args[0], phase)
		}
	case "replace-path", "replace-pathq", "replace-uri":
		if response {
			return nil, nil, fmt.Errorf("'http-response %s' does not exist; use it in 'http-request'", act)
		}
		r.Action = map[string]Action{"replace-path": ReplacePath, "replace-pathq": ReplacePathQ, "replace-uri": ReplaceURI}[act]
		if err = want(2, "<match-regex> <replace-fmt>"); err == nil {
			if r.Re, err = c.CompileRegex(args[0], false, true); err != nil {
				err = fmt.Errorf("%s: %v", ruleWord, err)
			} else {
				r.Value, err = c.CompileFormat(args[1], phase)
			}
		}
	default:
		supported := "allow, deny, tarpit, return, redirect, set-header, add-header, del-header, replace-header, replace-value, set-path, set-pathq, set-query, set-uri, set-method, replace-path, replace-pathq, replace-uri, set-var, unset-var, set-src"
		if response {
			supported = "allow, set-header, add-header, del-header, replace-header, replace-value, set-status, set-var, unset-var"
		}
		return nil, nil, fmt.Errorf("'%s %s' is not supported by dhproxy yet; supported actions: %s", kw, act, supported)
	}
	if err != nil {
		return nil, nil, err
	}
	if len(condWords) > 0 {
		r.Cond, warnings, err = set.ParseCond(c, condWords, phase, where)
		if err != nil {
			return nil, nil, fmt.Errorf("error detected while parsing an '%s %s' condition : %v", kw, word, err)
		}
	}
	return r, warnings, nil
}

func (r *Rule) header(c *sample.Compiler, name, value string, phase sample.Phase) error {
	if framingHeader(name) {
		return fmt.Errorf("rules may not change '%s': the proxy frames message bodies by it (dhproxy refuses this rewrite)", name)
	}
	r.Name = []byte(strings.ToLower(name))
	r.Kind = http1.Classify(r.Name)
	if r.Action == DelHeader {
		return nil
	}
	var err error
	r.Value, err = c.CompileFormat(value, phase)
	return err
}

// parseReturn reads "[status N] [content-type T] [string S | lf-string F |
// file F] [hdr N F]...".
func parseReturn(c *sample.Compiler, args []string, ruleWord string, phase sample.Phase) (*Reply, error) {
	status, ctype := 200, ""
	var body []byte
	var bodyFmt *sample.Format
	hasBody := false
	var hdrs []ReplyHeader
	for len(args) > 0 {
		k := args[0]
		if len(args) < 2 {
			return nil, fmt.Errorf("%s: '%s' expects a value", ruleWord, k)
		}
		v := args[1]
		args = args[2:]
		switch k {
		case "status":
			n, err := strconv.Atoi(v)
			if err != nil || n < 200 || n > 599 {
				return nil, fmt.Errorf("%s: status code '%s' must be between 200 and 599", ruleWord, v)
			}
			status = n
		case "content-type":
			ctype = v
		case "string", "lf-string", "file":
			if hasBody {
				return nil, fmt.Errorf("%s: only one payload ('string', 'lf-string' or 'file') may be given", ruleWord)
			}
			hasBody = true
			switch k {
			case "string":
				body = []byte(v)
			case "lf-string":
				f, err := c.CompileFormat(v, phase)
				if err != nil {
					return nil, fmt.Errorf("%s: %v", ruleWord, err)
				}
				if f.IsStatic {
					body = f.Static
				} else {
					bodyFmt = f
				}
			case "file":
				data, err := c.Read(v)
				if err != nil {
					return nil, fmt.Errorf("%s: failed to read file '%s': %v", ruleWord, v, err)
				}
				body = data
			}
		case "hdr":
			if len(args) < 1 {
				return nil, fmt.Errorf("%s: 'hdr' expects <name> <fmt>", ruleWord)
			}
			f, err := c.CompileFormat(args[0], phase)
			if err != nil {
				return nil, fmt.Errorf("%s: %v", ruleWord, err)
			}
			if framingHeader(v) || strings.EqualFold(v, "content-type") {
				return nil, fmt.Errorf("%s: header '%s' is set by the reply itself", ruleWord, v)
			}
			hdrs = append(hdrs, ReplyHeader{Name: []byte(strings.ToLower(v)), Value: f})
			args = args[1:]
		case "errorfile", "errorfiles", "lf-file", "default-errorfiles":
			return nil, fmt.Errorf("%s: '%s' is not supported by dhproxy yet; use 'string', 'lf-string' or 'file'", ruleWord, k)
		default:
			return nil, fmt.Errorf("%s: unknown argument '%s'; expects status, content-type, string, lf-string, file or hdr", ruleWord, k)
		}
	}
	if hasBody && ctype == "" && (len(body) > 0 || bodyFmt != nil) {
		return nil, fmt.Errorf("%s: a payload needs a 'content-type'", ruleWord)
	}
	r := &Reply{Status: status, Line: []byte("HTTP/1.1 " + strconv.Itoa(status) + " " + Reason(status) + "\r\n"), Hdrs: hdrs, Body: body, BodyFmt: bodyFmt}
	if hasBody && ctype != "" {
		r.Tail = []byte("content-type: " + ctype + "\r\n")
	}
	return r, nil
}
