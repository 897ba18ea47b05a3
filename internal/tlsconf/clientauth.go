package tlsconf

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ClientAuthOpts are a bind line's client certificate options, as written:
// ca-file, ca-verify-file, verify none|optional|required, crl-file,
// ca-ignore-err and crt-ignore-err.
type ClientAuthOpts struct {
	CAFile       string
	CAVerifyFile string // CAs that verify but are not named to the client
	Verify       string // "", "none", "optional", "required"
	CRLFile      string
	CAIgnoreErr  string // "all" or a list of OpenSSL error codes
	CrtIgnoreErr string
	// Verifier is set by Server when client certificates are asked for.
	Verifier *ClientVerifier
}

// OpenSSL's X509_V_ERR_* codes for the failures Go reports, which
// ssl_c_verify, ssl_c_err, ssl_c_ca_err and the *-ignore-err lists use.
const (
	VerifyOK                   = 0
	VerifyUnableToGetIssuer    = 2  // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT
	VerifyCertNotYetValid      = 9  // X509_V_ERR_CERT_NOT_YET_VALID
	VerifyCertHasExpired       = 10 // X509_V_ERR_CERT_HAS_EXPIRED
	VerifySelfSigned           = 18 // X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
	VerifyUnableToGetIssuerLoc = 20 // X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY
	VerifyCertRevoked          = 23 // X509_V_ERR_CERT_REVOKED
	VerifyInvalidCA            = 24 // X509_V_ERR_INVALID_CA
	VerifyInvalidPurpose       = 26 // X509_V_ERR_INVALID_PURPOSE
	VerifyUnspecified          = 1  // X509_V_ERR_UNSPECIFIED
	VerifyUnableToGetCRL       = 3  // X509_V_ERR_UNABLE_TO_GET_CRL
	VerifyCRLHasExpired        = 12 // X509_V_ERR_CRL_HAS_EXPIRED
)

var verifyNames = map[string]int{
	"X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT":          VerifyUnableToGetIssuer,
	"X509_V_ERR_CERT_NOT_YET_VALID":                 VerifyCertNotYetValid,
	"X509_V_ERR_CERT_HAS_EXPIRED":                   VerifyCertHasExpired,
	"X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT":        VerifySelfSigned,
	"X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY":  VerifyUnableToGetIssuerLoc,
	"X509_V_ERR_CERT_REVOKED":                       VerifyCertRevoked,
	"X509_V_ERR_INVALID_CA":                         VerifyInvalidCA,
	"X509_V_ERR_INVALID_PURPOSE":                    VerifyInvalidPurpose,
	"X509_V_ERR_UNSPECIFIED":                        VerifyUnspecified,
	"X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN":          19,
	"X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE":    21,
	"X509_V_ERR_CERT_SIGNATURE_FAILURE":             7,
	"X509_V_ERR_UNABLE_TO_GET_CRL":                  VerifyUnableToGetCRL,
	"X509_V_ERR_CRL_HAS_EXPIRED":                    VerifyCRLHasExpired,
	"X509_V_ERR_CERT_CHAIN_TOO_LONG":                22,
	"X509_V_ERR_PATH_LENGTH_EXCEEDED":               25,
	"X509_V_ERR_CERT_UNTRUSTED":                     27,
	"X509_V_ERR_CERT_REJECTED":                      28,
	"X509_V_ERR_SUBJECT_ISSUER_MISMATCH":            29,
	"X509_V_ERR_KEYUSAGE_NO_CERTSIGN":               32,
	"X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION":       34,
	"X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD":     13,
	"X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD":      14,
	"X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY": 6,
}

// ClientVerifier checks client certificates as HAProxy's verify callback:
// against the CAs of ca-file and ca-verify-file and the CRLs of crl-file;
// an error whose code is in crt-ignore-err (the client's certificate) or
// ca-ignore-err (the rest of the chain) is forgiven.
type ClientVerifier struct {
	roots     *x509.CertPool
	crls      []*x509.RevocationList
	ignoreCA  ignoreList
	ignoreCrt ignoreList
	store     *Store // the bind's certificates (For, Served)
}

type ignoreList struct {
	all   bool
	codes map[int]bool
}

func (l ignoreList) has(code int) bool { return l.all || l.codes[code] }

func parseIgnore(kw, v string) (ignoreList, error) {
	if v == "" {
		return ignoreList{}, nil
	}
	if v == "all" {
		return ignoreList{all: true}, nil
	}
	l := ignoreList{codes: map[int]bool{}}
	for _, w := range strings.Split(v, ",") {
		n, err := strconv.Atoi(w)
		if err != nil {
			var ok bool
			if n, ok = verifyNames[w]; !ok {
				return l, fmt.Errorf("'%s' : '%s' is neither 'all', an error number nor an X509_V_ERR_* name", kw, w)
			}
		}
		l.codes[n] = true
	}
	return l, nil
}

// applyClientAuth sets up client certificate requests and checks on cfg.
// Go's own verification is not used: HAProxy's verifies against ca-file and
// ca-verify-file but names only ca-file's CAs to the client, and forgives
// the errors of the ignore lists.
func applyClientAuth(cfg *tls.Config, o *ClientAuthOpts) (*ClientVerifier, error) {
	switch o.Verify {
	case "", "none":
		if o.CRLFile != "" && o.CAFile == "" {
			return nil, errors.New("'crl-file' needs 'ca-file' (and 'verify optional|required')")
		}
		return nil, nil
	case "optional":
		cfg.ClientAuth = tls.RequestClientCert
	case "required":
		cfg.ClientAuth = tls.RequireAnyClientCert
	default:
		return nil, fmt.Errorf("'verify' expects 'none', 'optional' or 'required', not '%s'", o.Verify)
	}
	if o.CAFile == "" && o.CAVerifyFile == "" {
		return nil, fmt.Errorf("verify is enabled but no CA file specified; add 'ca-file <file>' to the bind line")
	}
	v := &ClientVerifier{roots: x509.NewCertPool()}
	if o.CAFile != "" {
		named, err := loadCAs(o.CAFile)
		if err != nil {
			return nil, err
		}
		cfg.ClientCAs = named
		if err := addPEMCerts(v.roots, o.CAFile); err != nil {
			return nil, err
		}
	}
	if o.CAVerifyFile != "" {
		if err := addPEMCerts(v.roots, o.CAVerifyFile); err != nil {
			return nil, err
		}
	}
	if o.CRLFile != "" {
		crls, err := loadCRLs(o.CRLFile)
		if err != nil {
			return nil, err
		}
		v.crls = crls
	}
	var err error
	if v.ignoreCA, err = parseIgnore("ca-ignore-err", o.CAIgnoreErr); err != nil {
		return nil, err
	}
	if v.ignoreCrt, err = parseIgnore("crt-ignore-err", o.CrtIgnoreErr); err != nil {
		return nil, err
	}
	// VerifyConnection gets the certificates Go already parsed (also
	// those of a resumed session).
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return nil // verify optional without a certificate
		}
		for _, e := range v.chainErrors(cs.PeerCertificates) {
			if !v.forgives(e.code, e.depth) {
				return &ClientCertError{Code: e.code, Depth: e.depth}
			}
		}
		return nil
	}
	return v, nil
}

// ClientCertError is a client certificate refused by a bind's checks.
type ClientCertError struct {
	Code  int // OpenSSL's X509_V_ERR_* code
	Depth int // 0: the client's certificate; more: a CA of its chain
}

func (e *ClientCertError) Error() string {
	return fmt.Sprintf("client certificate verification failed (error %d at depth %d)", e.Code, e.Depth)
}

// LogMessage is HAProxy's connection error for the refusal.
func (e *ClientCertError) LogMessage() string {
	if e.Depth == 0 {
		return "SSL client certificate not trusted"
	}
	return "SSL client CA chain cannot be verified"
}

func (v *ClientVerifier) forgives(code, depth int) bool {
	if depth == 0 {
		return v.ignoreCrt.has(code)
	}
	return v.ignoreCA.has(code)
}

// Check verifies a client's chain (its certificate first) and returns
// what ssl_c_verify, ssl_c_err and ssl_c_ca_err give: OpenSSL's code of
// the last error (VerifyOK when the chain is good), of the first on the
// client's certificate and of the first on its CAs. Errors forgiven by an
// ignore list are reported too.
func (v *ClientVerifier) Check(certs []*x509.Certificate) (verify, crtErr, caErr int) {
	for _, e := range v.chainErrors(certs) {
		verify = e.code
		if e.depth == 0 && crtErr == VerifyOK {
			crtErr = e.code
		} else if e.depth > 0 && caErr == VerifyOK {
			caErr = e.code
		}
	}
	return verify, crtErr, caErr
}

// verifyErr is one verification error: its code and the depth in the
// chain it applies to (0: the client's certificate).
type verifyErr struct{ code, depth int }

// chainErrors lists the errors of a client's chain in OpenSSL's order: a
// chain that does not verify gives one; with crl-file, each certificate
// of the chain, its root included, is then checked against a CRL of its
// issuer (OpenSSL's CRL_CHECK_ALL, which HAProxy sets): none there is
// "unable to get certificate CRL".
func (v *ClientVerifier) chainErrors(certs []*x509.Certificate) []verifyErr {
	if len(certs) == 0 {
		return nil
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	leaf := certs[0]
	now := time.Now()
	opts := x509.VerifyOptions{Roots: v.roots, Intermediates: inter, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	chains, err := leaf.Verify(opts)
	if err != nil {
		code, depth := chainError(err, certs, now)
		return []verifyErr{{code, depth}}
	}
	if v.crls == nil {
		return nil
	}
	var errs []verifyErr
	chain := chains[0]
	for d, c := range chain {
		issuer := c
		if d+1 < len(chain) {
			issuer = chain[d+1]
		}
		crl := findCRL(v.crls, issuer)
		if crl == nil {
			errs = append(errs, verifyErr{VerifyUnableToGetCRL, d})
			continue
		}
		if !crl.NextUpdate.IsZero() && now.After(crl.NextUpdate) {
			errs = append(errs, verifyErr{VerifyCRLHasExpired, d})
		}
		for _, e := range crl.RevokedCertificateEntries {
			if e.SerialNumber.Cmp(c.SerialNumber) == 0 {
				errs = append(errs, verifyErr{VerifyCertRevoked, d})
				break
			}
		}
	}
	return errs
}

// chainError is OpenSSL's code and depth for Go's verification error err.
func chainError(err error, certs []*x509.Certificate, now time.Time) (code, depth int) {
	leaf := certs[0]
	var inv x509.CertificateInvalidError
	if errors.As(err, &inv) && inv.Reason == x509.Expired {
		// Go does not tell which certificate expired: the client's
		// own dates decide the depth.
		if now.Before(leaf.NotBefore) {
			return VerifyCertNotYetValid, 0
		}
		if now.After(leaf.NotAfter) {
			return VerifyCertHasExpired, 0
		}
		return VerifyCertHasExpired, 1
	}
	var ua x509.UnknownAuthorityError
	switch {
	case errors.As(err, &ua):
		if len(certs) == 1 && bytes.Equal(leaf.RawIssuer, leaf.RawSubject) &&
			leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil {
			return VerifySelfSigned, 0
		}
		return VerifyUnableToGetIssuerLoc, len(certs) - 1
	case errors.As(err, &inv) && inv.Reason == x509.IncompatibleUsage:
		return VerifyInvalidPurpose, 0
	case errors.As(err, &inv) && inv.Reason == x509.NotAuthorizedToSign:
		return VerifyInvalidCA, 1
	}
	return VerifyUnspecified, 0
}

// findCRL is a CRL of crls that issuer signed; nil when none.
func findCRL(crls []*x509.RevocationList, issuer *x509.Certificate) *x509.RevocationList {
	for _, crl := range crls {
		if bytes.Equal(crl.RawIssuer, issuer.RawSubject) && crl.CheckSignatureFrom(issuer) == nil {
			return crl
		}
	}
	return nil
}

func addPEMCerts(pool *x509.CertPool, path string) error {
	if path == "@system-ca" {
		return errors.New("'@system-ca' cannot verify client certificates; name a CA file")
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("unable to load CA file '%s': %v", path, err)
	}
	if !pool.AppendCertsFromPEM(b) {
		return fmt.Errorf("CA file '%s' holds no PEM certificate", path)
	}
	return nil
}

// loadCRLs reads the PEM CRLs of a crl-file.
func loadCRLs(path string) ([]*x509.RevocationList, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("unable to load CRL file '%s': %v", path, err)
	}
	var out []*x509.RevocationList
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "X509 CRL" {
			continue
		}
		crl, err := x509.ParseRevocationList(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("CRL file '%s': %v", path, err)
		}
		out = append(out, crl)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("CRL file '%s' holds no PEM CRL ('-----BEGIN X509 CRL-----')", path)
	}
	return out, nil
}

// For returns the client certificate checks of a connection to the
// server name sni: those of the crt-list line serving the name when it
// sets verify or a CA, else the bind's; nil when no certificate is asked.
// Every ssl bind has a ClientVerifier, also as the handle to its index.
func (v *ClientVerifier) For(sni string) *ClientVerifier {
	if v != nil && v.store != nil {
		if e := v.store.lookup(sni); e != nil && e.line != nil {
			v = e.line.verifier
		}
	}
	if v == nil || v.roots == nil {
		return nil
	}
	return v
}

// Served returns the certificate the bind serves to the server name sni
// (what ssl_f_* show): the one its handshake got, unless a runtime edit
// replaced it since.
func (v *ClientVerifier) Served(sni string) *x509.Certificate {
	if v == nil || v.store == nil {
		return nil
	}
	if e := v.store.lookup(sni); e != nil {
		return e.cert.Leaf
	}
	return nil
}
