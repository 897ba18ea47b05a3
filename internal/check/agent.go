package check

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// "agent-check": a second check that connects to an agent on the server
// (agent-addr, agent-port), sends agent-send if any, and reads one line of
// words separated by blanks or commas, in any order, the last of a kind
// winning:
//
//	up | down | stopped | fail   the server's health
//	ready | drain | maint        its administrative state
//	NN%                          its weight, relative to the configured one
//	maxconn:N                    its connection limit
//	# text                       a description, shown with a health word
//
// Failing to reach the agent is not a failure of the server (the health
// check tests connectivity); only "down", "stopped" and "fail" take it down.

// Agent check defaults (HAProxy's DEF_AGENT_RISETIME/FALLTIME, DEF_CHKINTR).
const (
	AgentRise  = 1
	AgentFall  = 1
	agentInter = 2 * time.Second
)

// agentReply is a parsed agent line.
type agentReply struct {
	health  string // up, down, stopped, fail, or ""
	admin   string // ready, drain, maint, or ""
	pct     int    // -1: none
	maxconn int    // -1: none
	neutral bool   // nothing to say about the health (no word, or no full line)
}

func newAgent(t Target, logf func(level, msg string)) (*checker, error) {
	h := t.Conf.Health
	if h.AgentPort == 0 {
		return nil, fmt.Errorf("config : %s '%s': server '%s' does not have agent port. Agent check has been disabled.", proxyWord(t.Backend), t.Proxy, t.Server)
	}
	host, addr := h.AgentAddr, ""
	if host == "" {
		switch a, err := Addr(t.Backend, t.Conf); {
		case err == nil && strings.HasPrefix(a, unixPrefix):
			addr = a // the agent port of a UNIX socket changes nothing
		case err == nil:
			host, _, _ = net.SplitHostPort(a)
		default:
			host, _, _ = net.SplitHostPort(t.Conf.Addr)
		}
	} else if hh, _, err := net.SplitHostPort(host); err == nil {
		host = hh
	}
	if addr == "" {
		addr = resolve(net.JoinHostPort(host, strconv.Itoa(h.AgentPort)))
	}
	c := &checker{
		t:      t,
		agent:  true,
		name:   t.Proxy + "/" + t.Server,
		addr:   addr,
		backup: t.Conf.Backup,
		inter:  or(h.AgentInter, agentInter),
		rise:   AgentRise,
		fall:   AgentFall,
		status: StatusINI,
		logf:   logf,
	}
	rs := &ruleset{rules: []rule{{kind: ruleConnect}}, implicitConnect: true}
	if h.AgentSend != "" {
		rs.rules = append(rs.rules, rule{kind: ruleSend, data: []byte(h.AgentSend)})
	}
	rs.rules = append(rs.rules, rule{kind: ruleExpectAgent})
	c.rules = rs
	c.defaults()
	c.inter = or(h.AgentInter, agentInter)
	c.tm.inter = c.inter
	return c, nil
}

// parseAgentLine reads a complete line (without its CR/LF) the way
// HAProxy's agent parser does and returns the reply and the check result's
// status and info.
func parseAgentLine(line string) (agentReply, Status, string) {
	rep := agentReply{pct: -1, maxconn: -1}
	status := StatusUnknown
	var errWord, warn, desc string
	rest := line
	for rest != "" {
		c := rest[0]
		if c == ' ' || c == '\t' || c == ',' {
			rest = rest[1:]
			continue
		}
		if c == '#' {
			desc = strings.TrimLeft(rest[1:], " \t")
			break
		}
		end := strings.IndexAny(rest, " \t,")
		word := rest
		if end >= 0 {
			word, rest = rest[:end], rest[end+1:]
		} else {
			rest = ""
		}
		lw := strings.ToLower(word)
		switch {
		case lw == "up":
			rep.health, status = word, StatusL7OK
		case lw == "down" || lw == "stopped" || lw == "fail":
			rep.health, status = word, StatusL7STS
		case lw == "ready" || lw == "drain" || lw == "maint":
			rep.admin = lw
		case word[0] >= '0' && word[0] <= '9' && strings.Contains(word, "%"):
			// server_parse_weight_change_request: digits then "%".
			n, rest := leadingInt(word)
			if rest != "%" {
				if warn == "" {
					warn = "Trailing garbage in weight string"
				}
				break
			}
			rep.pct = min(n, 25600)
		case strings.HasPrefix(lw, "maxconn:"):
			// server_parse_maxconn_change_request.
			v := word[len("maxconn:"):]
			n, rest := leadingInt(v)
			msg := ""
			switch {
			case v == "":
				msg = "Require <maxconn>."
			case len(rest) == len(v):
				msg = "maxconn string empty or preceded by garbage"
			case rest != "":
				msg = "Trailing garbage in maxconn string"
			default:
				rep.maxconn = n
			}
			if warn == "" {
				warn = msg
			}
		default:
			if errWord == "" {
				errWord = word
			}
		}
	}
	switch {
	case rep.health != "":
		msg := desc
		if msg == "" || status == StatusL7OK {
			if errWord != "" {
				msg = errWord
			} else if warn != "" {
				msg = warn
			}
		}
		info := "via agent : " + rep.health
		if msg != "" {
			info += " (" + msg + ")"
		}
		return rep, status, info
	case errWord != "":
		rep.neutral = true
		return rep, status, "agent reports an error : " + errWord
	case warn != "":
		rep.neutral = true
		return rep, status, "agent warns : " + warn
	}
	rep.neutral = true
	return rep, status, ""
}

// processAgent applies an agent result: administrative state first, then
// the weight and maxconn, then the health, as HAProxy does.
func (c *checker) processAgent(res Result) {
	rep := res.agent
	if rep == nil {
		c.process(res) // no reply: the check counter only
		return
	}
	if rep.admin != "" {
		if c.t.AgentAdmin != nil {
			c.t.AgentAdmin(rep.admin)
		}
		c.g.setAdmin(c.m, rep.admin)
	}
	if rep.pct >= 0 {
		c.g.setWeightPct(c, rep.pct)
	}
	if rep.maxconn >= 0 && c.t.SetMaxconn != nil {
		c.t.SetMaxconn(rep.maxconn)
	}
	if rep.neutral {
		// haproxy shows the answer as "CHECKED", the health left as it is
		if c.t.ReportAgent != nil {
			c.g.mu.Lock()
			health := c.health
			c.g.mu.Unlock()
			res.Status = StatusCHECKED
			c.t.ReportAgent(res, health, c.rise, c.fall)
		}
		return
	}
	c.g.mu.Lock()
	if rep.health == "up" || strings.EqualFold(rep.health, "up") {
		c.health = c.rise + c.fall - 1
	} else {
		c.health = 0
	}
	c.g.mu.Unlock()
	c.process(res)
}

// expectAgent reads the agent's line: up to the first CR or LF, or what
// came before the agent closed ("Ignoring incomplete line from agent").
func expectAgent(conn net.Conn, in *[]byte) Result {
	buf := make([]byte, 0, readBufSize)
	for {
		if i := strings.IndexAny(string(buf), "\r\n"); i >= 0 {
			rep, st, info := parseAgentLine(string(buf[:i]))
			return Result{Status: st, Info: info, agent: &rep}
		}
		if len(buf) == cap(buf) {
			break
		}
		n, err := conn.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err != nil && n == 0 {
			if len(buf) == 0 {
				if errors.Is(err, io.EOF) {
					// haproxy's agent rules send (the agent-send string,
					// maybe none), then read: step 2
					return emptyResponse(2, StatusL7RSP)
				}
				return ioFailure(err)
			}
			break
		}
	}
	*in = buf
	return Result{Info: "Ignoring incomplete line from agent", agent: &agentReply{pct: -1, maxconn: -1, neutral: true}}
}

// leadingInt reads the decimal digits at the start of s, as strtol does
// for the agent's numbers, and returns the rest.
func leadingInt(s string) (int, string) {
	n, i := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if n < 1<<30 {
			n = n*10 + int(s[i]-'0')
		}
	}
	return n, s[i:]
}
