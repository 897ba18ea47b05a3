// Package tlsconf turns HAProxy's TLS settings of a "bind" line (and the
// global ssl-default-bind-* defaults) into a crypto/tls server configuration.
package tlsconf

import (
	"cmp"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"
)

// BindOpts are the TLS options of one bind line, as written.
type BindOpts struct {
	SSL        bool         // the "ssl" keyword: without it the others are ignored
	Certs      []CertSource // crt and crt-list arguments, in order
	StrictSNI  bool
	ALPN       string    // comma-separated protocol list
	MinVer     string    // ssl-min-ver
	MaxVer     string    // ssl-max-ver
	NoVer      []string  // no-tlsv10 ... no-tlsv13, no-sslv3
	Ciphers    string    // TLS <= 1.2 list, OpenSSL names
	CrtBase    string    // global crt-base, for crt-list lines
	CABase     string    // global ca-base, for crt-list lines' ca-file and crl-file
	Suites     string    // TLS 1.3 list
	Curves     string    // key exchange groups, OpenSSL names separated by ':'
	Ecdhe      string    // one curve, when Curves is not given
	NoCANames  bool      // no-ca-names: name no CA when asking for a client certificate
	Registry   *Registry // shared by the binds of one configuration (runtime API)
	TicketKeys string    // tls-ticket-keys file
	NoTickets  bool      // no-tls-tickets
	Where      string    // "file:line" of the bind line
	// ACME names the acme section keeping the line's crt files, for
	// Domains; ACMESections are the sections the configuration declares.
	ACME         string
	Domains      []string
	ACMESections []string

	// ClientAuth: ca-file, verify, crl-file...: client certificates (clientauth.go).
	ClientAuth ClientAuthOpts
}

// CertSource is a "crt <file|dir>" or a "crt-list <file>" argument.
type CertSource struct {
	Path string
	List bool
}

// Defaults are the global ssl-default-bind-* settings.
type Defaults struct {
	Options []string // ssl-default-bind-options words
	Ciphers string
	Suites  string
	Curves  string // ssl-default-bind-curves
	// Lifetime is tune.ssl.lifetime: how long a session may resume.
	Lifetime time.Duration
}

// Cert is one loaded certificate and the names it answers for.
type Cert struct {
	Path  string
	Names []string // lower-case DNS names and CN; "*.example.com" for wildcards
	TLS   *tls.Certificate
	// Issuer is the chain's second certificate or "<path>.issuer";
	// OCSP the stapled response ("<path>.ocsp", set ssl ocsp-response).
	Issuer *x509.Certificate
	OCSP   []byte
	// Placeholder: self-signed, served until an acme section obtains the
	// real certificate.
	Placeholder bool
}

// Server builds the server configuration of a bind line; warn receives
// what is accepted but cannot be honoured by Go's TLS stack.
func Server(o *BindOpts, d *Defaults, warn func(string)) (*tls.Config, error) {
	if len(o.Certs) == 0 {
		return nil, fmt.Errorf("'ssl' needs at least one 'crt <file|dir>' or 'crt-list <file>'")
	}
	reg := o.Registry
	if reg == nil {
		reg = NewRegistry()
	}
	st, err := reg.newStore(o, warn)
	if err != nil {
		return nil, err
	}
	// Full-size records from the first byte, as haproxy (tune.ssl.maxrecord
	// 0): Go's dynamic sizing cuts the first 128 KiB of every burst into
	// MSS-sized records, one write(2) each.
	cfg := &tls.Config{GetCertificate: st.get, MinVersion: tls.VersionTLS12, GetConfigForClient: st.configFor,
		DynamicRecordSizingDisabled: true}
	if err := reg.setupSessions(cfg, o, d); err != nil {
		return nil, err
	}
	if err := applyVersions(cfg, o, d, warn); err != nil {
		return nil, err
	}
	applyCiphers(cfg, o.Ciphers, d.Ciphers, warn)
	if suites := cmp.Or(o.Suites, d.Suites); suites != "" {
		checkSuites(suites, warn)
	}
	applyCurves(cfg, cmp.Or(o.Curves, d.Curves), o.Ecdhe, warn)
	// "h2" is served by internal/h2 on mode http frontends.
	cfg.NextProtos = splitALPN(o.ALPN)
	v, err := applyClientAuth(cfg, &o.ClientAuth)
	if err != nil {
		return nil, err
	}
	if o.NoCANames || slices.Contains(d.Options, "no-ca-names") {
		cfg.ClientCAs = nil
	}
	if v == nil {
		v = &ClientVerifier{} // asks for nothing; still the handle to the bind's index
	}
	v.store = st
	st.base, st.opts, st.defs, st.verifier, st.warn = cfg, o, d, v, warn
	if err := reg.publish(st); err != nil {
		return nil, err
	}
	o.ClientAuth.Verifier = v
	return cfg, nil
}

// applyCiphers sets the TLS <= 1.2 suites: the bind's list, else the
// global one, else (with TLS 1.2 as the minimum) forward-secret AEAD ones.
func applyCiphers(cfg *tls.Config, own, global string, warn func(string)) {
	cfg.CipherSuites = nil
	if cfg.MinVersion >= tls.VersionTLS12 {
		cfg.CipherSuites = defaultSuites // older versions have no AEAD suite
	}
	if ciphers := cmp.Or(own, global); ciphers != "" {
		if cs := mapCiphers(ciphers, warn); len(cs) > 0 {
			cfg.CipherSuites = cs
		}
	}
}

var versions = map[string]uint16{
	"TLSv1.0": tls.VersionTLS10, "TLSv1.1": tls.VersionTLS11,
	"TLSv1.2": tls.VersionTLS12, "TLSv1.3": tls.VersionTLS13,
}

var noVersion = map[string]uint16{
	"no-tlsv10": tls.VersionTLS10, "no-tlsv11": tls.VersionTLS11,
	"no-tlsv12": tls.VersionTLS12, "no-tlsv13": tls.VersionTLS13,
}

// IsVersionOption says whether w is one of the argument-less version
// options of bind lines and ssl-default-bind-options.
func IsVersionOption(w string) bool {
	_, ok := noVersion[w]
	return ok || w == "no-sslv3" || strings.HasPrefix(w, "force-tlsv") || w == "force-sslv3"
}

func parseVersion(kw, v string) (uint16, error) {
	if v == "SSLv3" {
		return 0, fmt.Errorf("'%s SSLv3': SSLv3 is not supported by Go's TLS (and is insecure); use TLSv1.2", kw)
	}
	n, ok := versions[v]
	if !ok {
		return 0, fmt.Errorf("'%s %s': expects one of TLSv1.0, TLSv1.1, TLSv1.2, TLSv1.3", kw, v)
	}
	return n, nil
}

// applyVersions sets the protocol range: the global options first, then
// the bind line's own, as in HAProxy. The "no-" words cut the range from
// its ends (Go has a contiguous range only).
func applyVersions(cfg *tls.Config, o *BindOpts, d *Defaults, warn func(string)) error {
	min, max := uint16(tls.VersionTLS12), uint16(tls.VersionTLS13)
	var no []string
	apply := func(words []string) error {
		for i := 0; i < len(words); i++ {
			w := words[i]
			switch {
			case w == "ssl-min-ver" || w == "ssl-max-ver":
				if i+1 >= len(words) {
					return fmt.Errorf("'%s' expects a version", w)
				}
				v, err := parseVersion(w, words[i+1])
				if err != nil {
					return err
				}
				i++
				if w == "ssl-min-ver" {
					min = v
				} else {
					max = v
				}
			case strings.HasPrefix(w, "force-tlsv"):
				v, ok := noVersion["no-"+strings.TrimPrefix(w, "force-")]
				if !ok {
					return fmt.Errorf("unknown option '%s'", w)
				}
				min, max = v, v
			case w == "no-sslv3" || w == "force-sslv3":
				if w == "force-sslv3" {
					return fmt.Errorf("'force-sslv3': SSLv3 is not supported by Go's TLS")
				}
			case noVersion[w] != 0:
				no = append(no, w)
			}
		}
		return nil
	}
	if err := apply(d.Options); err != nil {
		return err
	}
	var own []string
	if o.MinVer != "" {
		own = append(own, "ssl-min-ver", o.MinVer)
	}
	if o.MaxVer != "" {
		own = append(own, "ssl-max-ver", o.MaxVer)
	}
	own = append(own, o.NoVer...)
	if err := apply(own); err != nil {
		return err
	}
	for _, w := range no {
		v := noVersion[w]
		switch {
		case v == min:
			min++
		case v == max:
			max--
		case v > min && v < max:
			warn(fmt.Sprintf("'%s' would leave a gap in the protocol range, which Go's TLS cannot express; ignored", w))
		}
	}
	if min > max {
		return fmt.Errorf("no TLS version is left enabled (minimum %s above maximum %s)", tls.VersionName(min), tls.VersionName(max))
	}
	cfg.MinVersion, cfg.MaxVersion = min, max
	return nil
}

// openSSLCiphers maps OpenSSL's TLS <= 1.2 cipher names to Go's suites.
var openSSLCiphers = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
}

// defaultSuites are the TLS 1.2 suites offered when no "ciphers" is
// given and TLS 1.2 is the minimum: forward-secret AEAD ones only (Go's
// default adds CBC suites, which testssl.sh flags as obsolete and
// LUCKY13-prone).
var defaultSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// mapCiphers maps an OpenSSL cipher list. Exclusions ("!aNULL") only
// remove what Go never offers anyway; other words (HIGH, kEECDH, ...)
// and unknown names draw a warning. An empty result keeps the defaults.
func mapCiphers(list string, warn func(string)) []uint16 {
	var out []uint16
	var unknown []string
	for _, n := range strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		if strings.HasPrefix(n, "!") || strings.HasPrefix(n, "-") {
			continue
		}
		if id, ok := openSSLCiphers[n]; ok {
			out = append(out, id)
			continue
		}
		unknown = append(unknown, n)
	}
	if len(unknown) > 0 {
		warn(fmt.Sprintf("ciphers: %s cannot be mapped to Go's TLS suites; ignored", strings.Join(unknown, ", ")))
	}
	if len(out) == 0 && len(unknown) > 0 {
		warn("ciphers: no usable cipher name left; Go's default (secure) suites are used")
	}
	return out
}

var tls13Suites = []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"}

// checkSuites accepts a TLS 1.3 list: Go always offers its three suites,
// so a list naming fewer, or another name, cannot be honoured.
func checkSuites(list string, warn func(string)) {
	names := strings.Split(list, ":")
	sort.Strings(names)
	if strings.Join(names, ":") != strings.Join(tls13Suites, ":") {
		warn(fmt.Sprintf("ciphersuites '%s': Go's TLS 1.3 always offers %s; the list is not applied", list, strings.Join(tls13Suites, ", ")))
	}
}

// sideSuffixes are files a certificate directory holds beside the PEMs.
var sideSuffixes = []string{".key", ".ocsp", ".issuer", ".sctl", ".dh"}

// LoadFile loads one PEM holding the certificate, its chain and usually
// the key; a key kept apart is read from the same path with ".key"
// appended, as HAProxy does; so are ".issuer" and ".ocsp" (OCSP stapling).
func LoadFile(p string, warn func(string)) (*Cert, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("unable to load SSL certificate '%s': %v", p, errors.Unwrap(err))
	}
	key := data
	if !strings.Contains(string(data), "PRIVATE KEY-----") {
		key = nil
		if key, err = os.ReadFile(p + ".key"); err != nil {
			return nil, fmt.Errorf("'%s': no private key in the file nor in '%s.key' beside it", p, p)
		}
	}
	c, err := NewCert(p, data, key)
	if err != nil {
		return nil, err
	}
	if err := loadSideFiles(c, p, warn); err != nil {
		return nil, err
	}
	return c, nil
}

// NewCert builds a certificate from PEM data (the chain, leaf first) and
// its key, for the file at path.
func NewCert(path string, chain, key []byte) (*Cert, error) {
	c, err := tls.X509KeyPair(chain, key)
	if err != nil {
		return nil, fmt.Errorf("'%s': %v", path, err)
	}
	leaf := c.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return nil, fmt.Errorf("'%s': %v", path, err)
		}
		c.Leaf = leaf
	}
	out := &Cert{Path: path, TLS: &c}
	seen := map[string]bool{}
	for _, n := range append(leaf.DNSNames, leaf.Subject.CommonName) {
		n = strings.ToLower(n)
		if n != "" && !seen[n] {
			seen[n] = true
			out.Names = append(out.Names, n)
		}
	}
	return out, nil
}

// CipherName is OpenSSL's name of a suite (what HAProxy's ssl_fc_cipher
// prints); TLS 1.3 suites have the same name in both.
func CipherName(id uint16) string {
	if n, ok := cipherNames[id]; ok {
		return n
	}
	return tls.CipherSuiteName(id)
}

var cipherNames = func() map[uint16]string {
	m := map[uint16]string{}
	for n, id := range openSSLCiphers {
		m[id] = n
	}
	return m
}()

// CipherKeyBits are the bits of a suite's symmetric key, given OpenSSL's
// or Go's name of it: those it uses and those its algorithm supports
// (OpenSSL's strength and algorithm bits: 3DES uses 112 of 168); 0, 0
// for an unknown suite.
func CipherKeyBits(name string) (use, alg int) {
	switch {
	case strings.Contains(name, "AES128"), strings.Contains(name, "AES_128"), strings.Contains(name, "RC4"):
		return 128, 128
	case strings.Contains(name, "AES256"), strings.Contains(name, "AES_256"), strings.Contains(name, "CHACHA20"):
		return 256, 256
	case strings.Contains(name, "DES-CBC3"), strings.Contains(name, "3DES"):
		return 112, 168
	}
	return 0, 0
}

// ProtocolName is OpenSSL's name of a version: "TLSv1.3".
func ProtocolName(v uint16) string {
	if v == tls.VersionTLS10 {
		return "TLSv1"
	}
	for n, id := range versions {
		if id == v {
			return n
		}
	}
	return tls.VersionName(v)
}
