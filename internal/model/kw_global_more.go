package model

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"dhproxy/internal/config"
	"dhproxy/internal/tlsconf"
)

// Global keywords of HAProxy 2.6 that tune the process, its limits or its
// TLS library. Those that mean something in dhproxy set a Global field;
// those that only steer HAProxy's own event loop, allocator or OpenSSL are
// checked and draw a warning saying why they change nothing here.

// noArgGlobals take no argument and set a flag; "no <keyword>" clears the
// ones HAProxy lets be negated.
var noArgGlobals = map[string]func(g *Global) *bool{
	"zero-warning":                          func(g *Global) *bool { return &g.ZeroWarning },
	"nogetaddrinfo":                         func(g *Global) *bool { return &g.NoGetaddrinfo },
	"no-memory-trimming":                    func(g *Global) *bool { return &g.NoMemoryTrimming },
	"set-dumpable":                          func(g *Global) *bool { return &g.SetDumpable },
	"pp2-never-send-local":                  func(g *Global) *bool { return &g.PP2NeverSendLocal },
	"h2-workaround-bogus-websocket-clients": func(g *Global) *bool { return &g.H2NoWebsocket },
	"h1-accept-payload-with-any-method":     func(g *Global) *bool { return &g.H1AcceptPayloadAnyMethod },
	"nosplice":                              func(g *Global) *bool { return &g.NoSplice },
}

// negatableGlobals are the flags HAProxy accepts after "no".
var negatableGlobals = map[string]bool{
	"strict-limits": true, "set-dumpable": true, "h2-workaround-bogus-websocket-clients": true,
	"insecure-setuid-wanted": true, "busy-polling": true,
}

// ineffectiveGlobals take no argument and cannot change anything in
// dhproxy; the text says why.
var ineffectiveGlobals = map[string]string{
	"busy-polling":     "dhproxy waits for events in the Go runtime's poller, which never spins on the CPU",
	"noepoll":          "dhproxy always waits for events through the Go runtime's poller (epoll on Linux); it cannot be switched off",
	"nopoll":           "dhproxy never uses poll(); it waits for events through the Go runtime's poller (epoll on Linux)",
	"nokqueue":         "kqueue exists only on BSD systems; dhproxy waits for events through the Go runtime's poller (epoll on Linux)",
	"noevports":        "event ports exist only on Solaris; dhproxy waits for events through the Go runtime's poller (epoll on Linux)",
	"numa-cpu-mapping": "dhproxy does not bind its threads to CPUs: the Go scheduler runs goroutines on every CPU the process may use",
	"ssl-mode-async":   "dhproxy's TLS is Go's crypto/tls, which has no asynchronous engine mode",
}

// alreadyGlobals take no argument and ask for what dhproxy always does.
var alreadyGlobals = map[string]bool{
	// dhproxy does not forbid setuid programs to its external checks
	// (HAProxy's no_new_privs lock); the flag that lifts it changes
	// nothing
	"insecure-setuid-wanted": true,
}

func init() {
	for kw, field := range noArgGlobals {
		registerGlobal(kw, func(b *builder, g *Global, l config.Line) {
			if b.noArgs(l) {
				*field(g) = true
			}
		})
	}
	for kw, why := range ineffectiveGlobals {
		registerGlobal(kw, func(b *builder, g *Global, l config.Line) {
			if b.noArgs(l) {
				b.warnf(l, "'%s' has no effect: %s.", kw, why)
			}
		})
	}
	for kw := range alreadyGlobals {
		registerGlobal(kw, func(b *builder, g *Global, l config.Line) { b.noArgs(l) })
	}
	registerGlobal("no", func(b *builder, g *Global, l config.Line) {
		if len(l.Args) < 2 || !negatableGlobals[l.Args[1]] {
			b.errorf(l, "'no' in the 'global' section only applies to 'strict-limits', 'set-dumpable', 'h2-workaround-bogus-websocket-clients', 'insecure-setuid-wanted' and 'busy-polling'.")
			return
		}
		if len(l.Args) > 2 {
			b.errorf(l, "'no %s' cannot handle unexpected argument '%s'.", l.Args[1], l.Args[2])
			return
		}
		if l.Args[1] == "strict-limits" {
			g.NoStrictLimits = true
		} else if field := noArgGlobals[l.Args[1]]; field != nil {
			*field(g) = false
		}
	})

	// OpenSSL engines and providers do not exist in Go's crypto/tls.
	for kw, usage := range map[string]string{
		"ssl-engine":        "ssl-engine <name> [algo <ALGO,...>]",
		"ssl-provider":      "ssl-provider <name>",
		"ssl-provider-path": "ssl-provider-path <path>",
		"ssl-propquery":     "ssl-propquery <query>",
	} {
		registerGlobal(kw, func(b *builder, g *Global, l config.Line) {
			hi := 1
			if kw == "ssl-engine" {
				hi = 3
			}
			if !b.wantArgs(l, 1, hi, usage) {
				return
			}
			if len(l.Args) > 2 && (l.Args[2] != "algo" || len(l.Args) != 4) {
				b.errorf(l, "'ssl-engine %s' expects 'algo <ALGO,...>' after the engine name; usage: %s", l.Args[1], usage)
				return
			}
			b.warnf(l, "'%s' has no effect: dhproxy's TLS is Go's crypto/tls, which loads no OpenSSL engine or provider.", kw)
		})
	}
	registerGlobal("profiling.tasks", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "profiling.tasks on|auto|off") {
			return
		}
		switch l.Args[1] {
		case "off": // what dhproxy does
		case "on", "auto":
			b.warnf(l, "'profiling.tasks %s' has no effect: dhproxy has no per-task CPU profiling (its pprof profiles cover the process).", l.Args[1])
		default:
			b.errorf(l, "'profiling.tasks' expects either 'on', 'auto', or 'off' but got '%s'.", l.Args[1])
		}
	})
	registerGlobal("cluster-secret", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "cluster-secret <secret>") {
			b.warnf(l, "'cluster-secret' has no effect: HAProxy uses it only for QUIC retry tokens, and dhproxy does not serve QUIC.")
		}
	})
	registerGlobal("httpclient.resolvers.id", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "httpclient.resolvers.id <resolvers section>") {
			g.HTTPClientResolvers = l.Args[1]
			g.HTTPClientResolversPos = l.Pos
		}
	})
	registerGlobal("httpclient.resolvers.prefer", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "httpclient.resolvers.prefer ipv4|ipv6") {
			return
		}
		if l.Args[1] != "ipv4" && l.Args[1] != "ipv6" {
			b.errorf(l, "'httpclient.resolvers.prefer' expects 'ipv4' or 'ipv6' as argument.")
			return
		}
		b.warnf(l, "'httpclient.resolvers.prefer' has no effect: HAProxy's internal HTTP client serves Lua scripts, which dhproxy does not run.")
	})
	for _, kw := range []string{"maxsslrate"} {
		registerGlobal(kw, func(b *builder, g *Global, l config.Line) {
			if b.wantArgs(l, 1, 1, kw+" <number>") {
				if _, ok := b.intArg(l, 1); ok {
					b.notYetOnce(l, "'"+kw+"'", "this setting")
				}
			}
		})
	}
	registerGlobal("fd-hard-limit", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "fd-hard-limit <number>") {
			g.FDHardLimit, _ = b.intArg(l, 1)
		}
	})
	registerGlobal("mworker-max-reloads", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "mworker-max-reloads <number>") {
			if n, ok := b.intArg(l, 1); ok {
				g.MworkerMaxReloads = n
			}
		}
	})
	registerGlobal("max-spread-checks", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "max-spread-checks <delay>") {
			return
		}
		d, err := parseDuration(l.Args[1])
		if err != nil {
			b.errorf(l, "'max-spread-checks': %v", err)
			return
		}
		g.MaxSpreadChecks = d
	})
}

// noArgs checks that a flag keyword has no argument, with HAProxy's words.
func (b *builder) noArgs(l config.Line) bool {
	if len(l.Args) > 1 {
		b.errorf(l, "'%s' cannot handle unexpected argument '%s'.", l.Args[0], l.Args[1])
		return false
	}
	return true
}

// checkHTTPClientResolvers checks that httpclient.resolvers.id names a
// resolvers section, and says that nothing here uses it.
func (b *builder) checkHTTPClientResolvers() {
	g := &b.cfg.Global
	if g.HTTPClientResolvers == "" {
		return
	}
	for _, r := range b.cfg.Resolvers {
		if r.Name == g.HTTPClientResolvers {
			b.d.Warnf(g.HTTPClientResolversPos, "'httpclient.resolvers.id' has no effect: HAProxy's internal HTTP client serves Lua scripts, which dhproxy does not run.")
			return
		}
	}
	names := make([]string, 0, len(b.cfg.Resolvers))
	for _, r := range b.cfg.Resolvers {
		names = append(names, r.Name)
	}
	b.d.Errorf(g.HTTPClientResolversPos, "'httpclient.resolvers.id': no resolvers section named '%s'%s.", g.HTTPClientResolvers, listOr(names))
}

func listOr(names []string) string {
	if len(names) == 0 {
		return " (the configuration declares none)"
	}
	return " (declared: " + strings.Join(names, ", ") + ")"
}

func init() {
	// Go's crypto/tls offers no DHE suite: the file is checked, then only
	// noted.
	registerGlobal("ssl-dh-param-file", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "ssl-dh-param-file <file>") {
			return
		}
		data, err := os.ReadFile(l.Args[1])
		if err != nil {
			b.errorf(l, "'ssl-dh-param-file': unable to load the DH parameters file '%s': %v.", l.Args[1], errText(err))
			return
		}
		if !hasPEMBlock(data, "DH PARAMETERS") && !hasPEMBlock(data, "X9.42 DH PARAMETERS") {
			b.errorf(l, "'ssl-dh-param-file': '%s' holds no PEM 'DH PARAMETERS' block (write one with 'openssl dhparam 2048').", l.Args[1])
			return
		}
		b.d.Noticef(l.Pos, "'ssl-dh-param-file' has no effect: dhproxy's TLS (Go's crypto/tls) offers only ECDHE key exchanges, never DHE.")
	})
}

// hasPEMBlock reports whether data holds a PEM block of that type.
func hasPEMBlock(data []byte, typ string) bool {
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			return false
		}
		if blk.Type == typ {
			return true
		}
	}
}

// errText is an OS error without the operation and path that the
// message already names.
func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// moduleGlobals are the global keywords of HAProxy's optional modules,
// which dhproxy does not have.
var moduleGlobals = map[string]string{
	"lua-": "Lua (dhproxy runs no Lua script)",
	// Debian's haproxy 2.6 is built without these three
	"51degrees-":   "51Degrees device detection (Debian's haproxy is built without it too)",
	"deviceatlas-": "DeviceAtlas device detection (Debian's haproxy is built without it too)",
	"wurfl-":       "WURFL device detection (Debian's haproxy is built without it too)",
}

// moduleOf names the optional module a global keyword belongs to.
func moduleOf(kw string) (string, bool) {
	for prefix, module := range moduleGlobals {
		if strings.HasPrefix(kw, prefix) {
			return module, true
		}
	}
	return "", false
}

func init() {
	registerGlobal("h1-case-adjust", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 2, 2, "h1-case-adjust <from> <to>") {
			return
		}
		if err := addCaseAdjust(g, l.Args[1], l.Args[2]); err != nil {
			b.errorf(l, "'h1-case-adjust': %v.", err)
		}
	})
	// the last h1-case-adjust-file is read, as in HAProxy
	registerGlobal("h1-case-adjust-file", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "h1-case-adjust-file <file>") {
			g.H1CaseAdjustFile = l.Args[1]
			g.H1CaseAdjustFilePos = l.Pos
		}
	})
	registerOption("h1-case-adjust-bogus-client", CapFE, "", recordOption)
	registerOption("h1-case-adjust-bogus-server", CapBE, "", recordOption)
}

// addCaseAdjust adds one header spelling: from in lower case, to the same
// name in the case the bogus peers want.
func addCaseAdjust(g *Global, from, to string) error {
	switch {
	case from != strings.ToLower(from):
		return fmt.Errorf("header name '%s' must be in lower case", from)
	case !strings.EqualFold(from, to):
		return fmt.Errorf("'%s' and '%s' must be the same name, differing only by case", from, to)
	case g.H1CaseAdjust[from] != "":
		return fmt.Errorf("duplicate entry for header '%s'", from)
	}
	if g.H1CaseAdjust == nil {
		g.H1CaseAdjust = map[string]string{}
	}
	g.H1CaseAdjust[from] = to
	return nil
}

// readCaseAdjustFile reads h1-case-adjust-file: two names per line, '#'
// comments and blank lines skipped. Errors name the file's line.
func (b *builder) readCaseAdjustFile() {
	g := &b.cfg.Global
	if g.H1CaseAdjustFile == "" {
		return
	}
	data, err := os.ReadFile(g.H1CaseAdjustFile)
	if err != nil {
		b.d.Errorf(g.H1CaseAdjustFilePos, "'h1-case-adjust-file': cannot read '%s': %v.", g.H1CaseAdjustFile, errText(err))
		return
	}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.Trim(line, " \t\r")
		if line == "" || line[0] == '#' {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			b.d.Errorf(g.H1CaseAdjustFilePos, "'h1-case-adjust-file' %s line %d: expects <from> and <to>, found '%s'.", g.H1CaseAdjustFile, i+1, line)
			continue
		}
		if err := addCaseAdjust(g, f[0], f[1]); err != nil {
			b.d.Errorf(g.H1CaseAdjustFilePos, "'h1-case-adjust-file' %s line %d: %v.", g.H1CaseAdjustFile, i+1, err)
		}
	}
}

func init() {
	registerGlobal("ssl-skip-self-issued-ca", func(b *builder, g *Global, l config.Line) {
		if b.noArgs(l) {
			b.chainOpts(g).SkipSelfIssuedCA = true
		}
	})
	registerGlobal("issuers-chain-path", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "issuers-chain-path <dir>") {
			return
		}
		chains, err := readIssuerChains(l.Args[1])
		if err != nil {
			b.errorf(l, "'issuers-chain-path': %v.", err)
			return
		}
		b.chainOpts(g).Issuers = chains
	})
}

func (b *builder) chainOpts(g *Global) *tlsconf.ChainOpts {
	if g.CertChain == nil {
		g.CertChain = &tlsconf.ChainOpts{}
	}
	return g.CertChain
}

// readIssuerChains reads every regular file of dir, in name order: each
// holds one chain of PEM certificates, the issuer first.
func readIssuerChains(dir string) ([][]*x509.Certificate, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("cannot read the directory '%s': %v", dir, errText(err))
	}
	var chains [][]*x509.Certificate
	for _, e := range entries {
		if !e.Type().IsRegular() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("cannot read '%s': %v", path, errText(err))
		}
		var chain []*x509.Certificate
		for {
			var blk *pem.Block
			if blk, data = pem.Decode(data); blk == nil {
				break
			}
			if blk.Type != "CERTIFICATE" {
				continue
			}
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("'%s': %v", path, err)
			}
			chain = append(chain, c)
		}
		if len(chain) == 0 {
			return nil, fmt.Errorf("'%s' holds no PEM certificate", path)
		}
		chains = append(chains, chain)
	}
	return chains, nil
}
