package runtimeapi

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/model"
	"dhproxy/internal/stream"
)

// "show errors": the last invalid request of each frontend and the last
// invalid response of each backend, dumped as haproxy 2.6 does.
func init() {
	commands = append(commands,
		command{[]string{"show", "errors"}, "show errors [<px>] [request|response]", "report last request and/or response errors for each proxy", levelOperator, cmdShowErrors})
}

const errDateFormat = "02/Jan/2006:15:04:05.000"

func cmdShowErrors(s *session, args []string) string {
	wantReq, wantResp := true, true
	proxy := ""
	if len(args) > 0 && args[0] != "request" && args[0] != "response" {
		proxy = args[0]
		args = args[1:]
	}
	if len(args) > 0 {
		switch args[0] {
		case "request":
			wantResp = false
		case "response":
			wantReq = false
		}
	}
	views := s.srv.src.RT.Proxies()
	// A capture shows under its own proxy and under the other end's (the
	// frontend of an invalid response), as in haproxy.
	match := func(*model.Proxy) bool { return true }
	if proxy != "" && proxy != "-1" {
		id, err := strconv.Atoi(proxy)
		match = func(p *model.Proxy) bool { return p != nil && (p.Name == proxy || err == nil && p.ID == id) }
		found := false
		for _, v := range views {
			found = found || match(v.P)
		}
		if !found {
			return "No such proxy.\n"
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Total events captured on [%s] : %d\n", time.Now().Format(errDateFormat), s.srv.src.RT.ErrorCount())
	for _, v := range views {
		req, resp := stream.LastErrors(v.FE, v.BE)
		if req != nil && wantReq && (match(v.P) || req.Backend != nil && match(req.Backend.P)) {
			writeErrorSnapshot(&b, req)
		}
		if resp != nil && wantResp && (match(v.P) || match(resp.Frontend.P)) {
			writeErrorSnapshot(&b, resp)
		}
	}
	return b.String()
}

// writeErrorSnapshot writes one capture: where and when, then the bytes.
// haproxy's HTTP/1 multiplexer state lines have no counterpart here.
func writeErrorSnapshot(b *strings.Builder, e *stream.ErrorSnapshot) {
	be, beID, srv, srvID := "<NONE>", -1, "<NONE>", -1
	if e.Backend != nil {
		be, beID = e.Backend.P.Name, e.Backend.P.ID
	}
	if e.Server != nil {
		srv, srvID = e.Server.Name, e.Server.Conf.ID
	}
	when := e.When.Format(errDateFormat)
	if e.Response {
		fmt.Fprintf(b, " \n[%s] backend %s (#%d): invalid response\n  frontend %s (#%d)", when, be, beID, e.Frontend.P.Name, e.Frontend.P.ID)
	} else {
		fmt.Fprintf(b, " \n[%s] frontend %s (#%d): invalid request\n  backend %s (#%d)", when, e.Frontend.P.Name, e.Frontend.P.ID, be, beID)
	}
	fmt.Fprintf(b, ", server %s (#%d), event #%d, src %s:%d\n", srv, srvID, e.Event, e.Client.Addr(), e.Client.Port())
	fmt.Fprintf(b, "  buffer starts at 0 (including 0 out), %d free,\n", max(e.BufSize-len(e.Data), 0))
	fmt.Fprintf(b, "  len %d, wraps at %d, error at position %d\n  \n", len(e.Data), e.BufSize, e.Pos)
	for pos := 0; pos < len(e.Data); {
		pos = dumpTextLine(b, e.Data, pos, pos == 0 || e.Data[pos-1] == '\n')
	}
}

// dumpTextLine writes data from pos as one line of haproxy's text dump —
// the offset ('+' after it when the line continues a longer one), then the
// bytes with \t \n \r \e \\ and \xHH escapes, up to a line break or 80
// columns — and returns where it stopped.
func dumpTextLine(b *strings.Builder, data []byte, pos int, lineStart bool) int {
	cont := byte('+')
	if lineStart {
		cont = ' '
	}
	line := fmt.Sprintf("  %05d%c ", pos, cont)
	for pos < len(data) {
		c := data[pos]
		switch {
		case c >= 0x20 && c < 0x7f && c != '\\':
			if len(line) > 78 {
				return finish(b, line, pos)
			}
			line += string(c)
		case c == '\t' || c == '\n' || c == '\r' || c == 0x1b || c == '\\':
			if len(line) > 77 {
				return finish(b, line, pos)
			}
			line += map[byte]string{'\t': `\t`, '\n': `\n`, '\r': `\r`, 0x1b: `\e`, '\\': `\\`}[c]
		default:
			if len(line) > 75 {
				return finish(b, line, pos)
			}
			line += fmt.Sprintf(`\x%02X`, c)
		}
		pos++
		if c == '\n' {
			break
		}
	}
	return finish(b, line, pos)
}

func finish(b *strings.Builder, line string, pos int) int {
	b.WriteString(line + "\n")
	return pos
}
