package tlsconf

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"strings"
)

// LineOpts are the options of a crt-list line ("[alpn h2 verify required]")
// that change the bind's settings for the names the line serves; as in
// HAProxy 2.6, each one given replaces the bind's (or the global default)
// and the others stay the bind's.
type LineOpts struct {
	MinVer, MaxVer string
	ALPN           string
	Ciphers        string
	Suites         string
	Curves         string
	Ecdhe          string
	NoCANames      bool
	ClientAuth     ClientAuthOpts // only its verify/ca-file/ca-verify-file/crl-file
}

// parseLineOptions reads the options of a crt-list line (acme and domains
// already taken out); nil when none changes the bind's settings. Options
// Go cannot honour are warned about, unknown ones are errors, as HAProxy.
func parseLineOptions(options string, warn func(string)) (*LineOpts, error) {
	words := strings.Fields(options)
	o := &LineOpts{}
	set := false
	for i := 0; i < len(words); i++ {
		w := words[i]
		var dst *string
		switch w {
		case "ssl-min-ver":
			dst = &o.MinVer
		case "ssl-max-ver":
			dst = &o.MaxVer
		case "alpn":
			dst = &o.ALPN
		case "ciphers":
			dst = &o.Ciphers
		case "ciphersuites":
			dst = &o.Suites
		case "curves":
			dst = &o.Curves
		case "ecdhe":
			dst = &o.Ecdhe
		case "verify":
			dst = &o.ClientAuth.Verify
		case "ca-file":
			dst = &o.ClientAuth.CAFile
		case "ca-verify-file":
			dst = &o.ClientAuth.CAVerifyFile
		case "crl-file":
			dst = &o.ClientAuth.CRLFile
		case "no-ca-names":
			o.NoCANames, set = true, true
			continue
		case "allow-0rtt":
			warn("'allow-0rtt' has no effect (Go's TLS server does not accept early data)")
			continue
		case "npn", "ocsp-update":
			if i+1 >= len(words) {
				return nil, fmt.Errorf("'%s' expects an argument", w)
			}
			i++
			if w == "npn" {
				warn("'npn' has no effect (Go's TLS has no NPN; use 'alpn')")
			} else {
				warn("'ocsp-update' (HAProxy 2.8) has no effect: responses are read from the '.ocsp' file or 'set ssl ocsp-response'")
			}
			continue
		default:
			return nil, fmt.Errorf("unknown ssl option '%s' (expects ssl-min-ver, ssl-max-ver, alpn, npn, ciphers, ciphersuites, curves, ecdhe, verify, ca-file, ca-verify-file, crl-file, no-ca-names, allow-0rtt)", w)
		}
		if i+1 >= len(words) {
			return nil, fmt.Errorf("'%s' expects an argument", w)
		}
		i++
		*dst, set = words[i], true
		if w == "ssl-min-ver" || w == "ssl-max-ver" {
			if _, err := parseVersion(w, words[i]); err != nil {
				return nil, err
			}
		}
	}
	if !set {
		return nil, nil
	}
	return o, nil
}

// clientAuth is where the line's client certificate options are; nil
// without options.
func (o *LineOpts) clientAuth() *ClientAuthOpts {
	if o == nil {
		return nil
	}
	return &o.ClientAuth
}

// lineConf is the configuration serving the names of a crt-list line with
// options, and the client certificate checks that go with it (nil when
// the line asks for none).
type lineConf struct {
	cfg      *tls.Config
	verifier *ClientVerifier
}

// lineConfig returns the configuration of a crt-list line: nil when the
// line has no options; built from the bind's the first time. s.reg.mu is
// held.
func (s *Store) lineConfig(e *CrtListEntry) (*lineConf, error) {
	if e.opts == nil || s.base == nil {
		return nil, nil
	}
	if lc := s.lines[e]; lc != nil {
		return lc, nil
	}
	lo := e.opts
	warn := func(w string) { s.warn(fmt.Sprintf("crt-list %s: %s", e.where, w)) }
	fail := func(err error) (*lineConf, error) { return nil, fmt.Errorf("crt-list %s: %v", e.where, err) }
	cfg := s.base.Clone()
	cfg.GetConfigForClient = nil // only the bind's configuration picks one
	lc := &lineConf{cfg: cfg, verifier: s.verifier}
	merged := *s.opts
	if lo.MinVer != "" || lo.MaxVer != "" {
		if lo.MinVer != "" {
			merged.MinVer = lo.MinVer
		}
		if lo.MaxVer != "" {
			merged.MaxVer = lo.MaxVer
		}
		if err := applyVersions(cfg, &merged, s.defs, warn); err != nil {
			return fail(err)
		}
	}
	switch {
	case lo.Ciphers != "":
		applyCiphers(cfg, lo.Ciphers, "", warn)
	case (lo.MinVer != "" || lo.MaxVer != "") && cmp.Or(s.opts.Ciphers, s.defs.Ciphers) == "":
		applyCiphers(cfg, "", "", warn) // the default list depends on the minimum version
	}
	if lo.Suites != "" {
		checkSuites(lo.Suites, warn)
	}
	if lo.ALPN != "" {
		cfg.NextProtos = splitALPN(lo.ALPN)
	}
	if lo.Curves != "" || lo.Ecdhe != "" {
		applyCurves(cfg, lo.Curves, lo.Ecdhe, warn)
	}
	if ca := lo.ClientAuth; ca.Verify != "" || ca.CAFile != "" || ca.CAVerifyFile != "" || ca.CRLFile != "" {
		m := s.opts.ClientAuth
		m.Verifier = nil
		for _, f := range []struct{ dst, src *string }{{&m.Verify, &ca.Verify}, {&m.CAFile, &ca.CAFile}, {&m.CAVerifyFile, &ca.CAVerifyFile}, {&m.CRLFile, &ca.CRLFile}} {
			if *f.src != "" {
				*f.dst = *f.src
			}
		}
		cfg.ClientAuth, cfg.ClientCAs, cfg.VerifyConnection = tls.NoClientCert, nil, nil
		v, err := applyClientAuth(cfg, &m)
		if err != nil {
			return fail(err)
		}
		lc.verifier = v
	}
	if lo.NoCANames {
		cfg.ClientCAs = nil
	}
	s.lines[e] = lc
	return lc, nil
}

func splitALPN(list string) []string {
	var out []string
	for _, p := range strings.Split(list, ",") {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}
