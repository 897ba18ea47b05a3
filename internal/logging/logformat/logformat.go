// Package logformat compiles HAProxy's "log-format" strings: %-variables,
// %[expr] sample expressions (through the sample registry) and flags. The
// logging package writes the lines; this package only depends on sample so
// that the configuration model can compile formats at load time.
package logformat

import (
	"fmt"
	"strings"

	"dhproxy/internal/sample"
)

// Variables are HAProxy 2.6's; flags +Q (quote), -Q, +X (hex addresses and
// ports), +E (escape), +M/-M (accepted); "%o" applies its flags to every
// later field. A run of spaces is one separator.

// Format is a compiled log-format string.
type Format struct {
	Nodes []Node
}

// Kind is what a node writes: text, a separator, an expression or one of
// HAProxy's variables.
type Kind uint8

const (
	Text Kind = iota
	Sep
	Expr
	CI
	CP
	FI
	FP
	Date      // %t
	DateReq   // %tr
	DateReqG  // %trg
	DateReqL  // %trl
	DateG     // %T
	DateL     // %Tl
	Timestamp // %Ts: the accept date in seconds since 1970
	Ta
	Tc
	Td
	Th
	Ti
	Tq
	TR
	Tr
	Tt
	Tw
	BytesOut
	BytesIn
	Status
	CookieReq
	CookieRes
	Hostname
	Method
	Path
	PathOnly
	Query
	URI
	Version
	UniqueID
	ActConn
	FeConn
	BeConn
	SrvConn
	Retries
	SrvQueue
	BeQueue
	Backend
	Server
	Frontend
	FrontendT
	Request
	TermState
	TermStateC
	CaptReq
	CaptRes
	CaptReqL
	CaptResL
	Ms
	Pid
	ReqCounter
	LogCounter
	BI        // %bi: the source address of the server connection
	BP        // %bp: its source port
	SI        // %si: the server's address
	SP        // %sp: the server's port
	SSLCipher // %sslc: the client connection's TLS cipher
	SSLVer    // %sslv: its TLS version
	Tu        // %Tu: Tt less the idle time
	Option    // %o: flags for every later field
	Absent    // an expression that never has a value at log time
)

var vars = map[string]Kind{
	"ci": CI, "cp": CP, "fi": FI, "fp": FP,
	"t": Date, "tr": DateReq, "trg": DateReqG, "trl": DateReqL, "T": DateG, "Tl": DateL, "Ts": Timestamp,
	"Ta": Ta, "Tc": Tc, "Td": Td, "Th": Th, "Ti": Ti, "Tq": Tq, "TR": TR, "Tr": Tr,
	"Tt": Tt, "Tw": Tw, "B": BytesOut, "U": BytesIn, "ST": Status, "CC": CookieReq,
	"CS": CookieRes, "H": Hostname, "HM": Method, "HP": Path, "HPO": PathOnly,
	"HQ": Query, "HU": URI, "HV": Version, "ID": UniqueID, "ac": ActConn, "fc": FeConn,
	"bc": BeConn, "sc": SrvConn, "rc": Retries, "sq": SrvQueue, "bq": BeQueue,
	"b": Backend, "s": Server, "f": Frontend, "ft": FrontendT, "r": Request,
	"ts": TermState, "tsc": TermStateC, "hr": CaptReq, "hs": CaptRes, "hrl": CaptReqL,
	"hsl": CaptResL, "ms": Ms, "pid": Pid, "rt": ReqCounter, "lc": LogCounter, "o": Option,
	"bi": BI, "bp": BP, "si": SI, "sp": SP, "sslc": SSLCipher, "sslv": SSLVer, "Tu": Tu,
}

// Flags are a field's %{...} flags.
type Flags uint8

const (
	Quote Flags = 1 << iota
	Hex
	Escape
	// HTTPValue: the field builds a header value or a variable, where an
	// absent value writes nothing (not "-") whatever the quoting.
	HTTPValue
)

// Node is one piece of a format: literal text, a separator, a variable
// or an expression, with its flags.
type Node struct {
	Kind  Kind
	Flags Flags
	Text  string       // Text: the literal
	Expr  *sample.Expr // Expr: the expression
}

// Compile compiles a log-format string; %[expr] goes through c. logLine
// says the format builds log lines, where header fetches are refused (a
// unique-id-format is built while the request is there).
func Compile(c *sample.Compiler, s string, logLine bool) (*Format, error) {
	f := &Format{}
	var defFlags Flags
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			f.Nodes = append(f.Nodes, Node{Kind: Text, Text: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == ' ':
			flush()
			for i < len(s) && s[i] == ' ' {
				i++
			}
			f.Nodes = append(f.Nodes, Node{Kind: Sep})
			continue
		case ch == '\\' && i+1 < len(s):
			lit.WriteByte(s[i+1])
			i += 2
			continue
		case ch != '%':
			lit.WriteByte(ch)
			i++
			continue
		}
		i++
		if i < len(s) && s[i] == '%' {
			lit.WriteByte('%')
			i++
			continue
		}
		flags := defFlags
		if i < len(s) && s[i] == '{' {
			n, err := parseFlags(s[i:], &flags)
			if err != nil {
				return nil, fmt.Errorf("%v in log-format '%s'", err, s)
			}
			i += n
		}
		if i < len(s) && s[i] == '[' {
			end := strings.IndexByte(s[i:], ']')
			if end < 0 {
				return nil, fmt.Errorf("missing ']' after '%%[' in log-format '%s'", s)
			}
			e, err := c.Compile(s[i+1:i+end], 0)
			if err != nil {
				return nil, fmt.Errorf("log-format '%s': %v", s, err)
			}
			if err := usableAtLogTime(e); logLine && err != nil {
				return nil, fmt.Errorf("failed to parse log-format : %v", err)
			}
			flush()
			if logLine && e.Fetch.Name == "status" {
				f.Nodes = append(f.Nodes, Node{Kind: Absent, Flags: flags})
			} else {
				f.Nodes = append(f.Nodes, Node{Kind: Expr, Flags: flags, Expr: e})
			}
			i += end + 1
			continue
		}
		start := i
		for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= 'A' && s[i] <= 'Z') {
			i++
		}
		name := s[start:i]
		k, ok := vars[name]
		if !ok {
			if name == "" {
				return nil, fmt.Errorf("log-format '%s': '%%' must be followed by a variable name, '[expr]' or '%%' (write '%%%%' for a '%%')", s)
			}
			return nil, fmt.Errorf("log-format '%s': no such format variable '%%%s' (dhproxy supports the ones docs/rules.md lists)", s, name)
		}
		if k == Option {
			defFlags = flags
			continue
		}
		flush()
		f.Nodes = append(f.Nodes, Node{Kind: k, Flags: flags})
	}
	flush()
	return f, nil
}

// parseFlags reads the "{...}" at the start of s into flags and returns
// its length.
func parseFlags(s string, flags *Flags) (int, error) {
	end := strings.IndexByte(s, '}')
	if end < 0 {
		return 0, fmt.Errorf("missing '}' after '%%{'")
	}
	for _, fl := range strings.Split(s[1:end], ",") {
		switch fl {
		case "+Q":
			*flags |= Quote
		case "-Q":
			*flags &^= Quote
		case "+X":
			*flags |= Hex
		case "-X":
			*flags &^= Hex
		case "+E":
			*flags |= Escape
		case "-E":
			*flags &^= Escape
		case "+M", "-M", "":
		default:
			return 0, fmt.Errorf("unknown flag '%s' (flags are +Q -Q +X -X +E -E +M -M)", fl)
		}
	}
	return end + 1, nil
}

// HeaderVar compiles the %-variable at the start of spec (what follows a
// '%' in a header format, set-var-fmt or lf-string: "ci", "{+Q}ci") and
// returns it with the number of bytes it took. Its value is written as
// HAProxy writes it there: an absent one writes nothing, not "-".
// It is sample.Compiler's LogVar.
func HeaderVar(spec string) (sample.LogVar, int, error) {
	var flags Flags
	i := 0
	if strings.HasPrefix(spec, "{") {
		n, err := parseFlags(spec, &flags)
		if err != nil {
			return sample.LogVar{}, 0, fmt.Errorf("%v after '%%%s'", err, spec)
		}
		i = n
	}
	start := i
	for i < len(spec) && (spec[i] >= 'a' && spec[i] <= 'z' || spec[i] >= 'A' && spec[i] <= 'Z') {
		i++
	}
	name := spec[start:i]
	k, ok := vars[name]
	switch {
	case name == "":
		return sample.LogVar{}, 0, fmt.Errorf("'%%' must be followed by a variable name, '[expr]' or '%%' (write '%%%%' for a '%%')")
	case !ok:
		return sample.LogVar{}, 0, fmt.Errorf("no such log-format variable '%%%s' (dhproxy supports the ones docs/rules.md lists)", name)
	case k == Option:
		return sample.LogVar{}, 0, fmt.Errorf("'%%o' has no meaning in a header format; give the flags to each variable")
	}
	return sample.LogVar{Kind: uint8(k), Flags: uint8(flags | HTTPValue)}, i, nil
}

// persistentFetches are the HTTP fetches HAProxy keeps until the log line
// is built (its "persistent" request and response samples); the other
// header fetches are gone by then and refused, as HAProxy refuses them.
// "status" is accepted but, the response being gone, never has a value.
var persistentFetches = map[string]bool{"method": true, "status": true, "capture.req.hdr": true, "capture.res.hdr": true,
	"capture.req.method": true, "capture.req.uri": true, "capture.req.ver": true,
	// the server connection's, as haproxy's log reads it
	"bc_http_major": true, "bc_src": true, "bc_src_port": true, "bc_dst": true, "bc_dst_port": true}

func usableAtLogTime(e *sample.Expr) error {
	f := e.Fetch
	if f.Phases&sample.PhaseConn != 0 || persistentFetches[f.Name] {
		return nil
	}
	what := "HTTP request headers"
	if f.Phases&sample.PhaseReq == 0 {
		what = "HTTP response headers"
	}
	return fmt.Errorf("sample fetch <%s> may not be reliably used here because it needs '%s' which is not available here (pass it through a variable: 'http-request set-var(txn.x) %s')", e.Text, what, e.Text)
}
