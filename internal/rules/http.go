// Package rules holds HAProxy's actions: http-request and http-response
// rules, the redirect keyword, and the replies the proxy writes itself.
// Rules are parsed and compiled here at load time (conditions through the
// acl package, values through the sample registry); the stream runs them
// in HAProxy's order on each transaction.
package rules

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/acl"
	"dhproxy/internal/cache"
	"dhproxy/internal/config"
	"dhproxy/internal/http1"
	"dhproxy/internal/logging/logtarget"
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
	SetVar                          // store Expr's sample (set-var-fmt: Value's text) in Var
	UnsetVar                        // forget Var
	TrackSC                         // track Expr's key in Table with stick counter SC
	IncGPC0                         // increment gpc0 of stick counter SC's entry
	IncGPC1                         // increment gpc1 of stick counter SC's entry
	SetGPT0                         // store Int (or Expr's integer) in gpt0 of counter SC's entry
	Capture                         // store Expr's sample in capture slot Slot
	Auth                            // answer 401 asking for Basic credentials (Reply)
	WaitForBody                     // read the body for up to Wait, or Int bytes of it
	SetLogLevel                     // log the transaction at syslog level Int (-1: not at all)
	NormalizeURI                    // normalize the request target with Norm (Int 1: full or strict)
	DoResolve                       // resolve Expr's name through section Resolvers into Var
	SetDst                          // take Expr's address as the connection's destination (tcp-request; http-request: for this request)
	SilentDrop                      // close the client's connection without telling it (http-request, http-response)
	SetSrcPort                      // take Expr's integer as the client's port (tcp-request; http-request: for this request)
	SetDstPort                      // take Expr's integer as the connection's destination port (tcp-request; http-request: for this request)
	SetMark                         // set the client socket's SO_MARK to Int
	SetTOS                          // set the client socket's TOS (IPv6: traffic class) to Int
	IncGPC                          // increment element Idx of gpc (and gpc_rate) of counter SC's entry
	SetGPT                          // store Int (or Expr's integer) in element Idx of gpt of counter SC's entry
	StrictMode                      // Int 1: a failed rewrite ends the transaction (500); 0: it is only counted
	AddACL                          // add Value's text to the pattern file PatFile unless there
	DelACL                          // remove the entries whose key is Value's text from PatFile
	SetMap                          // set (or add) the entry of key Value's text to PatValue's text in PatFile
	DelMap                          // as DelACL, in a map file
	EarlyHint                       // add header Name: Value to a 103 Early Hints sent before the response
	PrioClass                       // the request's queue class: Expr's integer, kept to -2047..2047
	PrioOffset                      // its queue offset in ms: Expr's integer, kept to -524287..524287
	WaitHandshake                   // nothing to wait for: Go's TLS accepts no early data (0-RTT)
	SetNice                         // accepted without effect (Go schedules goroutines, not tasks by nice)
	Reject                          // close the client's connection at once, without a response (http-request)
	SetTimeout                      // set the request's server (Idx TimeoutServer) or tunnel timeout to Wait or Expr's milliseconds
	NoL7Retry                       // no retry-on retry of this request other than for a failed connection
	CacheUse                        // answer from Cache when it holds the response (http-request cache-use)
	CacheStore                      // keep the response in Cache (http-response cache-store)
)

// The timeouts http-request set-timeout sets (Rule.Idx).
const (
	TimeoutServer = iota
	TimeoutTunnel
)

// MaxSC is the number of stick counters (HAProxy's default
// tune.stick-counters): track-sc0 to track-sc2.
const MaxSC = 3

// Rule is one compiled http-request or http-response rule.
type Rule struct {
	Action Action
	Cond   *acl.Cond // nil: always
	Name   []byte    // header name, lower case as HAProxy sends added headers
	Kind   http1.Kind
	// name is Name as a string: comparing a header's name with it
	// converts nothing per request.
	name   string
	Value  *sample.Format // header value, replacement, path
	Re     *sample.Regex
	Reply  *Reply
	Redir  *RedirectRule
	Status int    // set-status
	Reason []byte // set-status: the reason phrase
	Var    sample.VarRef
	Expr   *sample.Expr  // set-var, set-src, track-sc key, sc-set-gpt0
	SC     int           // track-sc*, sc-*: the stick counter
	Idx    int           // sc-inc-gpc, sc-set-gpt: the array element
	Table  string        // track-sc*: "table NAME"; empty: the section's own table
	Int    int64         // sc-set-gpt0 with a constant
	Slot   int           // capture: the slot
	Wait   time.Duration // wait-for-body: the longest wait
	// NameMatch is how del-header compares names ("-m"); NameReg uses Re.
	NameMatch NameMatch
	Norm      URINormalizer // normalize-uri: the operation
	// PatFile is the file add-acl, del-acl, set-map and del-map edit (Value
	// is the key); PatRef is the file as the ACLs and maps loaded it, set
	// once the whole configuration is read (nil: none loads it, and the
	// rule changes nothing, as in haproxy).
	PatFile  string
	PatRef   *acl.Ref
	PatValue *sample.Format // set-map: the value
	// CacheName is the cache of cache-use and cache-store; Cache is that
	// cache, set once the whole configuration is read.
	CacheName string
	Cache     *cache.Cache
	// Pos is the rule's line, which last_rule_file and last_rule_line
	// report when it ends its rule list.
	Pos config.Pos
	// do-resolve: the resolvers section and the address family asked
	// first (4 or 6; haproxy prefers IPv6 unless told ipv4)
	Resolvers     string
	ResolveFamily int
}

// NameMatch is a del-header "-m" method.
type NameMatch uint8

const (
	NameStr NameMatch = iota // the whole name (the default)
	NameBeg                  // a prefix
	NameEnd                  // a suffix
	NameSub                  // a substring
	NameReg                  // a regex, on the lower-case name
)

// DeletesHeader tells whether del-header rule r removes the header named
// name; scratch holds the lower-cased name for a regex.
func (r *Rule) DeletesHeader(name []byte, scratch *[]byte) bool {
	if r.NameMatch != NameStr {
		// a pattern never takes the framing headers away (framingHeader)
		if k := http1.Classify(name); k == http1.KindContentLength || k == http1.KindTransferEncoding {
			return false
		}
	}
	switch r.NameMatch {
	case NameBeg:
		return len(name) >= len(r.name) && http1.EqualFold(name[:len(r.name)], r.name)
	case NameEnd:
		return len(name) >= len(r.name) && http1.EqualFold(name[len(name)-len(r.name):], r.name)
	case NameSub:
		for i := 0; i+len(r.name) <= len(name); i++ {
			if http1.EqualFold(name[i:i+len(r.name)], r.name) {
				return true
			}
		}
		return false
	case NameReg:
		start := len(*scratch)
		for _, c := range name {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			*scratch = append(*scratch, c)
		}
		ok := r.Re.Match((*scratch)[start:])
		*scratch = (*scratch)[:start]
		return ok
	}
	return r.IsHeader(name)
}

// IsHeader tells whether a header's name is the rule's header name.
func (r *Rule) IsHeader(name []byte) bool { return http1.EqualFold(name, r.name) }

// scAction recognizes "track-scN", "sc-inc-gpc0(N)", "sc-inc-gpc1(N)",
// "sc-set-gpt0(N)" and haproxy 2.6's "sc-inc-gpc(I,N)" and
// "sc-set-gpt(I,N)", and returns N and I (0 for the forms without one).
func scAction(act string) (n, idx int, ok bool) {
	var num string
	if rest, ok := strings.CutPrefix(act, "track-sc"); ok {
		num = rest
	} else {
		for _, p := range [...]string{"sc-inc-gpc0(", "sc-inc-gpc1(", "sc-set-gpt0(", "sc-inc-gpc(", "sc-set-gpt("} {
			if rest, ok := strings.CutPrefix(act, p); ok && strings.HasSuffix(rest, ")") {
				num = strings.TrimSuffix(rest, ")")
			}
		}
		if strings.HasPrefix(act, "sc-inc-gpc(") || strings.HasPrefix(act, "sc-set-gpt(") {
			i, rest, found := strings.Cut(num, ",")
			v, err := strconv.Atoi(i)
			if !found || err != nil {
				return 0, 0, false
			}
			idx, num = v, rest
		}
	}
	if len(num) != 1 || num[0] < '0' || num[0] >= '0'+MaxSC {
		return 0, 0, false
	}
	return int(num[0] - '0'), idx, true
}

// ParseTrack compiles a stick counter action, its words from the action
// on ("track-sc0 src table t", "sc-inc-gpc0(1)"), up to its condition
// (cond: one follows). ruleWord names the rule in errors.
func ParseTrack(c *sample.Compiler, words []string, cond bool, phase sample.Phase, ruleWord string) (r *Rule, err error) {
	act, args := words[0], words[1:]
	n, idx, ok := scAction(act)
	if !ok {
		return nil, fmt.Errorf("%s: dhproxy has stick counters 0 to %d and the actions track-sc<N>, sc-inc-gpc0(<N>), sc-inc-gpc1(<N>), sc-set-gpt0(<N>), sc-inc-gpc(<idx>,<N>), sc-set-gpt(<idx>,<N>)", ruleWord, MaxSC-1)
	}
	r = &Rule{SC: n, Idx: idx}
	switch {
	case strings.HasPrefix(act, "track-sc"):
		r.Action = TrackSC
		if len(args) != 1 && !(len(args) == 3 && args[1] == "table") {
			return nil, fmt.Errorf("%s expects <key> [table <table>]", ruleWord)
		}
		if len(args) == 3 {
			r.Table = args[2]
		}
		if r.Expr, err = c.Compile(args[0], phase); err != nil {
			return nil, fmt.Errorf("%s: %v", ruleWord, err)
		}
	case strings.HasPrefix(act, "sc-inc-gpc"):
		switch act[len("sc-inc-gpc")] {
		case '0':
			r.Action = IncGPC0
		case '1':
			r.Action = IncGPC1
		default:
			r.Action = IncGPC
		}
		if len(args) != 0 {
			return nil, fmt.Errorf("%s expects no argument before its condition", ruleWord)
		}
	default: // sc-set-gpt0, sc-set-gpt
		r.Action = SetGPT0
		if strings.HasPrefix(act, "sc-set-gpt(") {
			r.Action = SetGPT
		}
		switch {
		case len(args) == 0 && cond:
			// haproxy reads "if" as the value's fetch and fails
			return nil, fmt.Errorf("%s expects <int> or <expr> before its condition", ruleWord)
		case len(args) == 0:
			return r, nil // haproxy reads no value as 0
		case len(args) != 1:
			return nil, fmt.Errorf("%s expects <int> or <expr>", ruleWord)
		}
		if r.Int, err = strconv.ParseInt(args[0], 10, 64); err != nil {
			if r.Expr, err = c.Compile(args[0], phase); err != nil {
				return nil, fmt.Errorf("%s: %v", ruleWord, err)
			}
		}
	}
	return r, nil
}

// ParseSockOptValue reads the value of set-mark or set-tos as haproxy's
// strtoul does: decimal, 0x hexadecimal or 0 octal, a leading '-'
// negating it, and kept to 32 bits (haproxy takes "-1" and 2^32 too; the
// kernel keeps a TOS's low byte).
func ParseSockOptValue(act, word string) (int64, error) {
	digits, neg := strings.CutPrefix(word, "-")
	if !neg {
		digits, _ = strings.CutPrefix(digits, "+")
	}
	v, err := strconv.ParseUint(digits, 0, 64)
	if errors.Is(err, strconv.ErrRange) {
		v, err = math.MaxUint64, nil
	}
	if err != nil || digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, fmt.Errorf("'%s': invalid character starting at '%s' (integer/hex value expected)", act, word)
	}
	if neg {
		v = -v
	}
	return int64(uint32(v)), nil
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
	fmtVar := strings.HasPrefix(act, "set-var-fmt(")
	if name, ok := strings.CutPrefix(act, "set-var("); ok || fmtVar || strings.HasPrefix(act, "unset-var(") {
		switch {
		case fmtVar:
			name, ok = strings.TrimPrefix(act, "set-var-fmt("), true
		case !ok:
			name = strings.TrimPrefix(act, "unset-var(")
		}
		if !strings.HasSuffix(name, ")") {
			return nil, nil, fmt.Errorf("%s: missing ')' after the variable name", ruleWord)
		}
		if r.Var, err = c.ParseVar(strings.TrimSuffix(name, ")")); err != nil {
			return nil, nil, fmt.Errorf("%s: %v", ruleWord, err)
		}
		if fmtVar {
			// the variable gets the format's text (Value, no Expr)
			r.Action = SetVar
			if err = want(1, "<fmt>"); err == nil {
				r.Value, err = c.CompileFormat(args[0], phase)
			}
		} else if ok {
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
	if inner, ok := strings.CutPrefix(act, "do-resolve"); ok && !response {
		if err = r.parseDoResolve(c, act, inner, args, phase); err != nil {
			return nil, nil, err
		}
		act = "" // handled
	}
	if strings.HasPrefix(act, "track-sc") || strings.HasPrefix(act, "sc-") {
		t, err := ParseTrack(c, words[:len(args)+1], len(condWords) > 0, phase, ruleWord)
		if err != nil {
			return nil, nil, err
		}
		*r = *t
		act = "" // handled
	}
	if file, ok := patternFileAction(act); ok {
		act = "" // handled
		if err = r.parsePatternEdit(c, word, file, args, ruleWord, phase); err != nil {
			return nil, nil, err
		}
	}
	switch act {
	case "":
	case "allow":
		r.Action = Allow
		err = want(0, "no argument before its condition")
	case "set-mark", "set-tos":
		r.Action = SetMark
		if act == "set-tos" {
			r.Action = SetTOS
		}
		if err = want(1, "<value>"); err == nil {
			r.Int, err = ParseSockOptValue(act, args[0])
		}
	case "silent-drop":
		r.Action = SilentDrop
		err = want(0, "no argument before its condition")
	case "reject":
		if response {
			return nil, nil, fmt.Errorf("'http-response reject' does not exist; use 'http-response silent-drop' or 'deny'")
		}
		r.Action = Reject
		err = want(0, "no argument before its condition")
	case "disable-l7-retry":
		if response {
			return nil, nil, fmt.Errorf("'http-response disable-l7-retry' does not exist; use it in 'http-request'")
		}
		r.Action = NoL7Retry
		err = want(0, "no argument before its condition")
	case "cache-use", "cache-store":
		if response != (act == "cache-store") {
			return nil, nil, fmt.Errorf("'%s %s' does not exist; use 'http-request cache-use' and 'http-response cache-store'", kw, act)
		}
		r.Action = CacheUse
		if response {
			r.Action = CacheStore
		}
		if len(args) == 0 {
			return nil, nil, fmt.Errorf("error detected while parsing %s rule : expects a cache name", ruleWord)
		}
		r.CacheName = args[0]
		err = want(1, "<name> only")
	case "set-timeout":
		if response {
			return nil, nil, fmt.Errorf("'http-response set-timeout' does not exist; use it in 'http-request'")
		}
		r.Action = SetTimeout
		err = parseSetTimeout(c, r, args, phase, ruleWord)
	case "deny", "tarpit":
		r.Action = Deny
		status := 403
		if response {
			// a response refused is a bad one from the client's side
			status = 502
		}
		if act == "tarpit" {
			if response {
				return nil, nil, fmt.Errorf("'http-response tarpit' does not exist; use it in 'http-request'")
			}
			r.Action, status = Tarpit, 500
		}
		r.Reply, err = ParseReply(c, args, ruleWord, phase, status, true)
	case "auth":
		if response {
			return nil, nil, fmt.Errorf("'http-response auth' does not exist; use it in 'http-request'")
		}
		r.Action = Auth
		switch {
		case len(args) == 0: // the realm is the proxy's name: the model sets it
		case len(args) == 2 && args[0] == "realm":
			r.Reply = AuthReply(args[1])
		default:
			return nil, nil, fmt.Errorf("%s expects [realm <realm>]", ruleWord)
		}
	case "return":
		r.Action = Return
		r.Reply, err = ParseReply(c, args, ruleWord, phase, 200, false)
	case "redirect":
		r.Action = Redirect
		r.Redir, err = ParseRedirect(c, args, ruleWord, phase)
	case "set-priority-class", "set-priority-offset":
		if response {
			return nil, nil, fmt.Errorf("'http-response %s' does not exist; use it in 'http-request'", act)
		}
		r.Action = PrioClass
		if act == "set-priority-offset" {
			r.Action = PrioOffset
		}
		if err = want(1, "<expr>"); err == nil {
			if r.Expr, err = c.Compile(args[0], phase); err != nil {
				err = fmt.Errorf("%s: %v", ruleWord, err)
			}
		}
	case "wait-for-handshake":
		if response {
			return nil, nil, fmt.Errorf("'http-response wait-for-handshake' does not exist; use it in 'http-request'")
		}
		// A request is only read once the TLS handshake is over: Go's
		// TLS takes no early data, so there is never anything to wait for.
		r.Action = WaitHandshake
		err = want(0, "no argument before its condition")
	case "set-nice":
		r.Action = SetNice
		if err = want(1, "<nice>"); err == nil {
			if r.Int, err = ParseNice(args[0], ruleWord); err == nil {
				warnings = append(warnings, NiceWarning(ruleWord))
			}
		}
	case "early-hint":
		if response {
			return nil, nil, fmt.Errorf("'http-response early-hint' does not exist; use it in 'http-request'")
		}
		r.Action = EarlyHint
		if err = want(2, "<name> <fmt>"); err == nil {
			r.name = strings.ToLower(args[0]) // as haproxy sends it
			r.Name = []byte(r.name)
			r.Value, err = c.CompileFormat(args[1], phase)
		}
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
		switch {
		case len(args) == 3 && args[1] == "-m":
			methods := map[string]NameMatch{"str": NameStr, "beg": NameBeg, "end": NameEnd, "sub": NameSub, "reg": NameReg}
			m, ok := methods[args[2]]
			if !ok {
				return nil, nil, fmt.Errorf("%s: '-m %s': the methods are str, beg, end, sub and reg", ruleWord, args[2])
			}
			r.NameMatch = m
			if m == NameReg {
				if r.Re, err = c.CompileRegex(args[0], false, false); err != nil {
					return nil, nil, fmt.Errorf("%s: %v", ruleWord, err)
				}
			} else if m == NameStr && framingHeader(args[0]) {
				return nil, nil, fmt.Errorf("rules may not change '%s': the proxy frames message bodies by it (dhproxy refuses this rewrite)", args[0])
			}
			r.name = strings.ToLower(args[0])
			r.Name = []byte(r.name)
		case len(args) == 1:
			err = r.header(c, args[0], "", phase)
		default:
			err = fmt.Errorf("%s expects <name> [-m <method>]", ruleWord)
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
	case "set-src", "set-dst", "set-src-port", "set-dst-port":
		if response {
			return nil, nil, fmt.Errorf("'http-response %s' does not exist; use it in 'http-request'", act)
		}
		r.Action = map[string]Action{"set-src": SetSrc, "set-dst": SetDst, "set-src-port": SetSrcPort, "set-dst-port": SetDstPort}[act]
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
	case "normalize-uri":
		if response {
			return nil, nil, fmt.Errorf("'http-response normalize-uri' does not exist; use it in 'http-request'")
		}
		r.Action = NormalizeURI
		err = r.parseNormalizeURI(args, ruleWord)
	case "strict-mode":
		r.Action = StrictMode
		if err = want(1, "{on|off}"); err == nil {
			switch args[0] {
			case "on":
				r.Int = 1
			case "off":
			default:
				err = fmt.Errorf("%s: expects 'on' or 'off', got '%s'", ruleWord, args[0])
			}
		}
	case "set-log-level":
		r.Action = SetLogLevel
		if err = want(1, "<level>"); err == nil {
			r.Int = int64(logtarget.Level(args[0]))
			if args[0] == "silent" {
				r.Int = -1
			} else if r.Int < 0 {
				err = fmt.Errorf("%s: '%s' is not a level; expects silent, %s", ruleWord, args[0], strings.Join(logtarget.Levels, ", "))
			}
		}
	case "wait-for-body":
		r.Action = WaitForBody
		switch {
		case len(args) != 2 && len(args) != 4, args[0] != "time", len(args) == 4 && args[2] != "at-least":
			err = fmt.Errorf("%s: expects 'time <time> [at-least <bytes>]'", ruleWord)
		default:
			if r.Wait, err = parseTime(args[1]); err != nil {
				err = fmt.Errorf("%s: %v", ruleWord, err)
			} else if len(args) == 4 {
				if r.Int, err = parseBytes(args[3]); err != nil {
					err = fmt.Errorf("%s: %v", ruleWord, err)
				}
			}
		}
	default:
		supported := "allow, deny, tarpit, silent-drop, set-mark, set-tos, auth, return, redirect, set-header, add-header, del-header, replace-header, replace-value, set-path, set-pathq, set-query, set-uri, set-method, replace-path, replace-pathq, replace-uri, set-var, set-var-fmt, unset-var, set-src, set-dst, set-src-port, set-dst-port, set-log-level, strict-mode, normalize-uri, track-sc0..2, sc-inc-gpc0, sc-inc-gpc1, sc-set-gpt0, sc-inc-gpc, sc-set-gpt, wait-for-body, add-acl, del-acl, set-map, del-map, early-hint, set-priority-class, set-priority-offset, wait-for-handshake, set-nice, reject, set-timeout, disable-l7-retry"
		if response {
			supported = "allow, deny, return, redirect, set-header, add-header, del-header, replace-header, replace-value, set-status, set-var, set-var-fmt, unset-var, set-log-level, wait-for-body, add-acl, del-acl, set-map, del-map, set-nice"
		}
		return nil, nil, fmt.Errorf("'%s %s' is not supported by dhproxy yet; supported actions: %s", kw, act, supported)
	}
	if err != nil {
		return nil, nil, err
	}
	if len(condWords) > 0 {
		var condWarnings []string
		r.Cond, condWarnings, err = set.ParseCond(c, condWords, phase, where)
		if err != nil {
			return nil, nil, fmt.Errorf("error detected while parsing an '%s %s' condition : %v", kw, word, err)
		}
		warnings = append(warnings, condWarnings...)
	}
	return r, warnings, nil
}

// PriorityValue keeps n within the bounds haproxy gives the action a,
// set-priority-class's or set-priority-offset's.
func PriorityValue(a Action, n int64) int32 {
	if a == PrioClass {
		return int32(max(-2047, min(2047, n)))
	}
	return int32(max(-524287, min(524287, n)))
}

// ParseNice reads set-nice's value, kept within haproxy's -1024..1024.
func ParseNice(word, ruleWord string) (int64, error) {
	n, err := strconv.Atoi(word)
	if err != nil {
		return 0, fmt.Errorf("%s: '%s' is not an integer (-1024..1024)", ruleWord, word)
	}
	return int64(max(-1024, min(1024, n))), nil
}

// NiceWarning says that set-nice is accepted without effect.
func NiceWarning(ruleWord string) string {
	return ruleWord + " is accepted but has no effect in dhproxy: it does not schedule requests by a nice value"
}

// patternFileActions are the actions that edit an ACL or map file.
var patternFileActions = map[string]Action{"add-acl": AddACL, "del-acl": DelACL, "set-map": SetMap, "del-map": DelMap}

// patternFileAction tells whether act is one of patternFileActions, with
// or without its "(<file>)"; file is what follows the action's name.
func patternFileAction(act string) (file string, ok bool) {
	name, file, _ := strings.Cut(act, "(")
	_, ok = patternFileActions[name]
	return file, ok
}

// parsePatternEdit compiles add-acl(<file>) <key fmt>, del-acl(<file>)
// <key fmt>, set-map(<file>) <key fmt> <value fmt> and del-map(<file>)
// <key fmt>; file is the action word after its '('.
func (r *Rule) parsePatternEdit(c *sample.Compiler, act, file string, args []string, ruleWord string, phase sample.Phase) error {
	name, _, _ := strings.Cut(act, "(")
	r.Action = patternFileActions[name]
	file, closed := strings.CutSuffix(file, ")")
	if !strings.Contains(act, "(") || !closed || file == "" {
		return fmt.Errorf("%s: expects the file name between parentheses: '%s(<file>)'", ruleWord, name)
	}
	r.PatFile = file
	n, usage := 1, "exactly 1 argument (<key fmt>)"
	if r.Action == SetMap {
		n, usage = 2, "exactly 2 arguments (<key fmt> <value fmt>)"
	}
	if len(args) != n {
		return fmt.Errorf("%s expects %s", ruleWord, usage)
	}
	var err error
	if r.Value, err = c.CompileFormat(args[0], phase); err != nil {
		return fmt.Errorf("%s: %v", ruleWord, err)
	}
	if r.Action == SetMap {
		if r.PatValue, err = c.CompileFormat(args[1], phase); err != nil {
			return fmt.Errorf("%s: %v", ruleWord, err)
		}
	}
	return nil
}

// ParseAfterResponse compiles the words after "http-after-response": the
// header, status and variable actions of http-response, which also apply
// to the responses the proxy writes itself.
func ParseAfterResponse(c *sample.Compiler, set *acl.Set, words []string, where string) (*Rule, []string, error) {
	r, warnings, err := ParseHTTP(c, set, words, true, where)
	if err != nil {
		return nil, nil, errors.New(strings.Replace(err.Error(), "'http-response ", "'http-after-response ", 1))
	}
	switch r.Action {
	case Allow, SetHeader, AddHeader, DelHeader, ReplaceHeader, ReplaceValue, SetStatus, SetVar, UnsetVar:
		return r, warnings, nil
	case AddACL, DelACL, SetMap, DelMap:
		return nil, nil, fmt.Errorf("'http-after-response %s' does not exist in haproxy 2.6; use it in 'http-response'", words[0])
	}
	return nil, nil, fmt.Errorf("'http-after-response %s' is not supported by dhproxy yet; supported actions: allow, set-header, add-header, del-header, replace-header, replace-value, set-status, set-var, unset-var, capture", words[0])
}

func (r *Rule) header(c *sample.Compiler, name, value string, phase sample.Phase) error {
	if framingHeader(name) {
		return fmt.Errorf("rules may not change '%s': the proxy frames message bodies by it (dhproxy refuses this rewrite)", name)
	}
	r.name = strings.ToLower(name)
	r.Name = []byte(r.name)
	r.Kind = http1.Classify(r.Name)
	if r.Action == DelHeader {
		return nil
	}
	var err error
	r.Value, err = c.CompileFormat(value, phase)
	return err
}

// ParseReply reads the reply of a deny or return rule, or of an
// http-error line: "[status N] [content-type T] [default-errorfiles |
// errorfile F | errorfiles NAME | file F | lf-file F | string S |
// lf-string F] [hdr NAME FMT]...". A deny (deny true) also takes
// "deny_status N" and, without a payload, answers with the proxy's page
// for its status (default-errorfiles); a return without one sends an
// empty body.
func ParseReply(c *sample.Compiler, args []string, ruleWord string, phase sample.Phase, status int, deny bool) (*Reply, error) {
	ctype := ""
	var body []byte
	var bodyFmt *sample.Format
	payload := "" // the payload keyword given
	var fileReply *Reply
	var hdrs []ReplyHeader
	for len(args) > 0 {
		k := args[0]
		if k == "default-errorfiles" {
			if payload != "" {
				return nil, fmt.Errorf("%s: only one payload ('%s' already given) may be given", ruleWord, payload)
			}
			payload, args = k, args[1:]
			continue
		}
		if len(args) < 2 {
			return nil, fmt.Errorf("%s: '%s' expects a value", ruleWord, k)
		}
		v := args[1]
		args = args[2:]
		switch k {
		case "status", "deny_status":
			if k == "deny_status" && !deny {
				return nil, fmt.Errorf("%s: unknown argument 'deny_status'", ruleWord)
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 200 || n > 599 {
				return nil, fmt.Errorf("%s: status code '%s' must be between 200 and 599", ruleWord, v)
			}
			status = n
		case "content-type":
			ctype = v
		case "string", "lf-string", "file", "lf-file", "errorfile", "errorfiles":
			if payload != "" {
				return nil, fmt.Errorf("%s: only one payload ('%s' already given) may be given", ruleWord, payload)
			}
			payload = k
			switch k {
			case "string":
				body = []byte(v)
			case "lf-string", "lf-file":
				text := v
				if k == "lf-file" {
					data, err := c.Read(v)
					if err != nil {
						return nil, fmt.Errorf("%s: failed to read file '%s': %v", ruleWord, v, err)
					}
					text = string(data)
				}
				f, err := c.CompileFormat(text, phase)
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
			case "errorfile":
				data, err := c.Read(v)
				if err != nil {
					return nil, fmt.Errorf("%s: error opening file '%s': %v", ruleWord, v, err)
				}
				if fileReply, err = ParseErrorFile(data, ErrorEnvOf(c).BufSize); err != nil {
					return nil, fmt.Errorf("%s: '%s': %v", ruleWord, v, err)
				}
			case "errorfiles":
				pages, ok := ErrorEnvOf(c).Sections[v]
				if !ok {
					return nil, fmt.Errorf("%s: unknown http-errors section '%s'", ruleWord, v)
				}
				fileReply = pages[status] // nil: the default page, below
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
		default:
			return nil, fmt.Errorf("%s: unknown argument '%s'; expects status, content-type, default-errorfiles, errorfile, errorfiles, file, lf-file, string, lf-string or hdr", ruleWord, k)
		}
	}
	switch payload {
	case "errorfile", "errorfiles", "default-errorfiles", "":
		if payload == "" && !deny {
			break // return: an empty body
		}
		if ctype != "" || len(hdrs) > 0 {
			return nil, fmt.Errorf("%s: 'content-type' and 'hdr' do not apply to '%s'", ruleWord, cmp.Or(payload, "default-errorfiles"))
		}
		if fileReply != nil {
			page := *fileReply // pages are shared: the copy says this rule's status
			page.Status = status
			return &page, nil
		}
		if !ErrorStatusHandled(status) {
			return nil, fmt.Errorf("%s: status code '%d' not handled by default with 'default-errorfiles' argument", ruleWord, status)
		}
		return ErrorReply(status), nil
	}
	if ctype == "" && (len(body) > 0 || bodyFmt != nil) {
		return nil, fmt.Errorf("%s: a content type must be defined when non-empty payload is configured", ruleWord)
	}
	r := &Reply{Status: status, Line: []byte("HTTP/1.1 " + strconv.Itoa(status) + " " + Reason(status) + "\r\n"), Hdrs: hdrs, Body: body, BodyFmt: bodyFmt}
	if ctype != "" {
		r.Tail = []byte("content-type: " + ctype + "\r\n")
	}
	return r, nil
}

// ErrorEnv is what replies naming error files need from the whole
// configuration: tune.bufsize and the http-errors sections. The model
// stores it in the compiler before it compiles the proxies' rules.
type ErrorEnv struct {
	BufSize  int
	Sections map[string]map[int]*Reply
}

const errorEnvKey = "rules:errors"

// SetErrorEnv stores env for the rules compiled with c.
func SetErrorEnv(c *sample.Compiler, env *ErrorEnv) {
	if c.Files == nil {
		c.Files = map[string]any{}
	}
	c.Files[errorEnvKey] = env
}

// ErrorEnvOf is the env stored in c (HAProxy's defaults without one).
func ErrorEnvOf(c *sample.Compiler) *ErrorEnv {
	if env, ok := c.Files[errorEnvKey].(*ErrorEnv); ok {
		return env
	}
	return &ErrorEnv{BufSize: 16384}
}

// parseSetTimeout reads "server|tunnel <time>|<expr>" (haproxy 2.6 has
// no client timeout here); a constant must not be 0.
func parseSetTimeout(c *sample.Compiler, r *Rule, args []string, phase sample.Phase, ruleWord string) error {
	if len(args) != 2 {
		return fmt.Errorf("%s expects exactly 2 arguments: server|tunnel <timeout>|<expr>", ruleWord)
	}
	switch args[0] {
	case "server":
		r.Idx = TimeoutServer
	case "tunnel":
		r.Idx = TimeoutTunnel
	default:
		return fmt.Errorf("%s supports 'server'/'tunnel' (got '%s')", ruleWord, args[0])
	}
	if d, err := parseTime(args[1]); err == nil {
		if d <= 0 {
			return fmt.Errorf("null value is not valid for a 'set-timeout %s' rule", args[0])
		}
		r.Wait = d
		return nil
	}
	e, err := c.Compile(args[1], phase)
	if err != nil {
		return fmt.Errorf("%s: '%s' is neither a time nor a sample expression: %v", ruleWord, args[1], err)
	}
	r.Expr = e
	return nil
}

// parseTime reads HAProxy's time format: a number with an optional unit
// (us, ms, s, m, h, d; milliseconds without).
func parseTime(w string) (time.Duration, error) {
	i := 0
	for i < len(w) && w[i] >= '0' && w[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(w[:i], 10, 64)
	unit, ok := map[string]time.Duration{"": time.Millisecond, "us": time.Microsecond, "ms": time.Millisecond,
		"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}[w[i:]]
	if err != nil || !ok || n > int64(1<<62)/int64(unit) {
		return 0, fmt.Errorf("'%s' is not a time (a number with an optional unit: us, ms, s, m, h, d)", w)
	}
	return time.Duration(n) * unit, nil
}

// parseBytes reads HAProxy's size format: a number with an optional k, m
// or g suffix (powers of 1024).
func parseBytes(w string) (int64, error) {
	mul := int64(1)
	if l := len(w); l > 0 {
		switch w[l-1] {
		case 'k', 'K':
			mul, w = 1<<10, w[:l-1]
		case 'm', 'M':
			mul, w = 1<<20, w[:l-1]
		case 'g', 'G':
			mul, w = 1<<30, w[:l-1]
		}
	}
	n, err := strconv.ParseInt(w, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mul {
		return 0, fmt.Errorf("'%s' is not a size (a number with an optional k, m or g suffix)", w)
	}
	return n * mul, nil
}

// parseDoResolve reads "do-resolve(<var>,<resolvers>[,ipv4|ipv6]) <expr>"
// (act the action word, inner what follows "do-resolve"); the section's name
// is checked once every section is read.
func (r *Rule) parseDoResolve(c *sample.Compiler, act, inner string, args []string, phase sample.Phase) error {
	usage := fmt.Errorf("can't parse '%s'. Expects 'do-resolve(<varname>,<resolvers>[,<options>]) <expr>'. Available options are 'ipv4' and 'ipv6'", act)
	inner, opened := strings.CutPrefix(inner, "(")
	inner, closed := strings.CutSuffix(inner, ")")
	parts := strings.Split(inner, ",")
	if !opened || !closed || len(parts) < 2 || len(parts) > 3 || parts[1] == "" {
		return usage
	}
	r.ResolveFamily = 6
	if len(parts) == 3 {
		switch parts[2] {
		case "ipv4":
			r.ResolveFamily = 4
		case "ipv6":
		default:
			return usage
		}
	}
	if len(args) != 1 {
		return fmt.Errorf("'http-request %s' expects <expr>", act)
	}
	var err error
	if r.Var, err = c.ParseVar(parts[0]); err != nil {
		return fmt.Errorf("'http-request %s': %v", act, err)
	}
	if r.Expr, err = c.Compile(args[0], phase); err != nil {
		return fmt.Errorf("'http-request %s': %v", act, err)
	}
	r.Action, r.Resolvers = DoResolve, parts[1]
	return nil
}
