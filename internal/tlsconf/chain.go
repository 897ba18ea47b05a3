package tlsconf

import (
	"bytes"
	"crypto/x509"
)

// ChainOpts are the global settings that change the chain a certificate
// file sends: "ssl-skip-self-issued-ca" and "issuers-chain-path".
type ChainOpts struct {
	// SkipSelfIssuedCA leaves self-issued CA certificates (roots) out of
	// the chain: a client must have them already.
	SkipSelfIssuedCA bool
	// Issuers are the chains read from issuers-chain-path, each issuer
	// first; a certificate file without intermediates gets the chain
	// whose first certificate issued its leaf.
	Issuers [][]*x509.Certificate
}

// adjust applies o to c's chain.
func (o *ChainOpts) adjust(c *Cert) {
	if o == nil {
		return
	}
	certs := c.TLS.Certificate
	if o.SkipSelfIssuedCA {
		kept := certs[:1:1]
		for _, der := range certs[1:] {
			if ca, err := x509.ParseCertificate(der); err == nil && ca.IsCA && bytes.Equal(ca.RawSubject, ca.RawIssuer) {
				continue
			}
			kept = append(kept, der)
		}
		certs = kept
	}
	if len(certs) == 1 && c.TLS.Leaf != nil {
		leaf := c.TLS.Leaf
		for _, chain := range o.Issuers {
			if bytes.Equal(leaf.RawIssuer, chain[0].RawSubject) && leaf.CheckSignatureFrom(chain[0]) == nil {
				for _, ca := range chain {
					certs = append(certs, ca.Raw)
				}
				break
			}
		}
	}
	c.TLS.Certificate = certs
}
