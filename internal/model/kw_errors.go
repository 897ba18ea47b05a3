package model

import (
	"strconv"

	"dhproxy/internal/config"
	"dhproxy/internal/rules"
	"dhproxy/internal/sample"
)

// Error pages: "errorfile", "errorloc", "errorloc302", "errorloc303",
// "errorfiles" and "http-error" in proxies, "http-errors" sections. Each
// line sets the page of one status (errorfiles: several); a later line
// wins, and a section starts from its defaults' pages, as HAProxy applies
// its error list in order. The stream looks a status up in the backend's
// pages, then the frontend's, then falls back to the built-in page.

func init() {
	registerProxy("errorfile", CapFE|CapBE|CapDef, parseErrorFile)
	for _, kw := range []string{"errorloc", "errorloc302", "errorloc303"} {
		registerProxy(kw, CapFE|CapBE|CapDef, parseErrorLoc)
	}
	registerProxy("errorfiles", CapFE|CapBE|CapDef, parseErrorFiles)
	registerProxy("http-error", CapFE|CapBE|CapDef, parseHTTPError)
}

func setErrorPage(p *Proxy, status int, r *rules.Reply) {
	if p.ErrorPages == nil {
		p.ErrorPages = map[int]*rules.Reply{}
	}
	p.ErrorPages[status] = r
}

// handledStatus reads a status argument that must have a page.
func (b *builder) handledStatus(l config.Line, arg string) (int, bool) {
	code, err := strconv.Atoi(arg)
	if err != nil || !rules.ErrorStatusHandled(code) {
		b.errorf(l, "%s : status code '%s' not handled.", l.Args[0], arg)
		return 0, false
	}
	return code, true
}

// readErrorFile compiles the errorfile name for the line l, the page of
// status code (what the log says, whatever the file's status line).
func (b *builder) readErrorFile(l config.Line, code int, name string) *rules.Reply {
	data, err := b.comp.Read(name)
	if err != nil {
		b.errorf(l, "%s : error opening file '%s'.", l.Args[0], name)
		return nil
	}
	r, err := rules.ParseErrorFile(data, b.cfg.Global.BufSize)
	if err != nil {
		b.errorf(l, "%s : '%s': %v.", l.Args[0], name, err)
		return nil
	}
	r.Status = code
	return r
}

func parseErrorFile(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 2, 2, "errorfile <code> <file>") {
		return
	}
	if code, ok := b.handledStatus(l, l.Args[1]); ok {
		if r := b.readErrorFile(l, code, l.Args[2]); r != nil {
			setErrorPage(p, code, r)
		}
	}
}

func parseErrorLoc(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 2, 2, l.Args[0]+" <code> <url>") {
		return
	}
	if code, ok := b.handledStatus(l, l.Args[1]); ok {
		redirect := 302
		if l.Args[0] == "errorloc303" {
			redirect = 303
		}
		setErrorPage(p, code, rules.ErrorLoc(code, redirect, l.Args[2]))
	}
}

// parseErrorFiles is "errorfiles <name> [<code>...]": the section's pages,
// all or those listed.
func parseErrorFiles(b *builder, p *Proxy, l config.Line) {
	if !b.wantArgs(l, 1, -1, "errorfiles <name> [<code> ...]") {
		return
	}
	pages, ok := rules.ErrorEnvOf(b.comp).Sections[l.Args[1]]
	if !ok {
		b.errorf(l, "errorfiles : unknown http-errors section '%s'; declare it with 'http-errors %s'.", l.Args[1], l.Args[1])
		return
	}
	if len(l.Args) == 2 {
		for code, r := range pages {
			setErrorPage(p, code, r)
		}
		return
	}
	for _, arg := range l.Args[2:] {
		if code, ok := b.handledStatus(l, arg); ok {
			if r := pages[code]; r != nil {
				setErrorPage(p, code, r)
			}
		}
	}
}

// parseHTTPError is "http-error status <code> [reply arguments]", the
// arguments of "http-request return".
func parseHTTPError(b *builder, p *Proxy, l config.Line) {
	if len(l.Args) < 3 || l.Args[1] != "status" {
		b.errorf(l, "http-error : expects 'status <code>' followed by the reply's arguments.")
		return
	}
	code, ok := b.handledStatus(l, l.Args[2])
	if !ok {
		return
	}
	r, err := rules.ParseReply(b.comp, l.Args[3:], "'http-error'", sample.PhaseReq, code, false)
	if err != nil {
		b.errorf(l, "%v.", err)
		return
	}
	setErrorPage(p, code, r)
}

// buildHTTPErrors reads every http-errors section: a name, then
// "errorfile <code> <file>" lines.
func (b *builder) buildHTTPErrors(sections []config.Section) {
	env := &rules.ErrorEnv{BufSize: b.cfg.Global.BufSize, Sections: map[string]map[int]*rules.Reply{}}
	rules.SetErrorEnv(b.comp, env)
	for i := range sections {
		s := &sections[i]
		if s.Kind != "http-errors" {
			continue
		}
		b.enterSection(s)
		if len(s.Args) != 1 {
			b.d.Errorf(s.Pos, "'http-errors' expects <name> as argument.")
			continue
		}
		name := s.Args[0]
		if _, dup := env.Sections[name]; dup {
			b.d.Errorf(s.Pos, "http-errors section '%s' declared twice; give it another name.", name)
			continue
		}
		pages := map[int]*rules.Reply{}
		for _, l := range s.Lines {
			if l.Args[0] != "errorfile" {
				b.errorf(l, "unknown keyword '%s' in 'http-errors' section (only 'errorfile' is allowed there).", l.Args[0])
				continue
			}
			if !b.wantArgs(l, 2, 2, "errorfile <code> <file>") {
				continue
			}
			if code, ok := b.handledStatus(l, l.Args[1]); ok {
				if r := b.readErrorFile(l, code, l.Args[2]); r != nil {
					pages[code] = r
				}
			}
		}
		env.Sections[name] = pages
	}
}
