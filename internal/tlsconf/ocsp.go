package tlsconf

import (
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"sort"
	"strings"
	"time"

	"golang.org/x/crypto/ocsp"
)

// OCSP stapling as HAProxy: "<crt>.ocsp" beside a certificate holds a DER
// OCSP response, stapled to every handshake; "set ssl ocsp-response"
// replaces it at run time. The response names the certificate by its
// OCSP certificate ID, which needs the issuer: the next certificate of the
// chain, else "<crt>.issuer".

// loadSideFiles reads the ".issuer" and ".ocsp" files beside path.
// An unusable response is warned about and ignored, as HAProxy does.
func loadSideFiles(c *Cert, path string, warn func(string)) error {
	if len(c.TLS.Certificate) > 1 {
		if x, err := x509.ParseCertificate(c.TLS.Certificate[1]); err == nil {
			c.Issuer = x
		}
	}
	if data, err := os.ReadFile(path + ".issuer"); err == nil && c.Issuer == nil {
		blk, _ := pem.Decode(data)
		if blk == nil || blk.Type != "CERTIFICATE" {
			return fmt.Errorf("'%s.issuer': no PEM certificate in it", path)
		}
		if c.Issuer, err = x509.ParseCertificate(blk.Bytes); err != nil {
			return fmt.Errorf("'%s.issuer': %v", path, err)
		}
	}
	der, err := os.ReadFile(path + ".ocsp")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("'%s.ocsp': %v", path, err)
	}
	if _, err := ocsp.ParseResponse(der, nil); err != nil {
		warn(fmt.Sprintf("'%s.ocsp': unable to parse the OCSP response; content ignored", path))
		return nil
	}
	if c.Issuer == nil {
		return fmt.Errorf("'%s.ocsp': the issuer of the certificate is needed to check the OCSP response; put it in the chain or in '%s.issuer'", path, path)
	}
	if err := c.staple(der, time.Now()); err != nil {
		warn(fmt.Sprintf("'%s.ocsp': %v; not stapled", path, err))
	}
	return nil
}

// staple checks that der answers for c (serial and issuer's signature)
// and is still valid, then staples it.
func (c *Cert) staple(der []byte, now time.Time) error {
	r, err := ocsp.ParseResponseForCert(der, c.TLS.Leaf, c.Issuer)
	if err != nil {
		return fmt.Errorf("invalid OCSP response for this certificate: %v", err)
	}
	if !r.NextUpdate.IsZero() && r.NextUpdate.Before(now) {
		return fmt.Errorf("the OCSP response is no longer valid (next update %s)", asn1Time(r.NextUpdate))
	}
	c.OCSP = der
	c.TLS.OCSPStaple = der
	return nil
}

// certID is OCSP's certificate ID (SHA-1 hashes of the issuer's name and
// key, and the serial); its DER is the key HAProxy names a response by.
type certID struct {
	HashAlgorithm pkix.AlgorithmIdentifier
	NameHash      []byte
	IssuerKeyHash []byte
	SerialNumber  *big.Int
}

var oidSHA1 = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}

func newCertID(leaf, issuer *x509.Certificate) (*certID, error) {
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(issuer.RawSubjectPublicKeyInfo, &spki); err != nil {
		return nil, err
	}
	nh, kh := sha1.Sum(issuer.RawSubject), sha1.Sum(spki.PublicKey.RightAlign())
	return &certID{
		HashAlgorithm: pkix.AlgorithmIdentifier{Algorithm: oidSHA1, Parameters: asn1.RawValue{Tag: asn1.TagNull}},
		NameHash:      nh[:], IssuerKeyHash: kh[:], SerialNumber: leaf.SerialNumber,
	}, nil
}

// ocspKey is the DER certificate ID of a certificate with a stapled
// response ("OCSP Response Key" of "show ssl cert"), else nil.
func (c *Cert) ocspKey() []byte {
	if c.TLS == nil || c.OCSP == nil || c.Issuer == nil {
		return nil
	}
	id, err := newCertID(c.TLS.Leaf, c.Issuer)
	if err != nil {
		return nil
	}
	der, _ := asn1.Marshal(*id)
	return der
}

// ShowOCSPResponse answers "show ssl ocsp-response [<id>]": the
// certificate IDs of the stapled responses, or one response in detail.
func (r *Registry) ShowOCSPResponse(id string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	byKey := map[string]*Cert{}
	for _, c := range r.certs {
		if k := c.ocspKey(); k != nil {
			byKey[hex.EncodeToString(k)] = c
		}
	}
	if id != "" {
		c := byKey[strings.ToLower(id)]
		if c == nil {
			return "Certificate ID does not match any certificate.\n"
		}
		return describeOCSP(c.OCSP)
	}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# Certificate IDs\n")
	for _, k := range keys {
		c := byKey[k]
		cid, _ := newCertID(c.TLS.Leaf, c.Issuer)
		fmt.Fprintf(&b, "Certificate ID key : %s\n Certificate ID:\n   Issuer Name Hash: %X\n   Issuer Key Hash: %X\n   Serial Number: %s\n",
			k, cid.NameHash, cid.IssuerKeyHash, serialHex(c.TLS.Leaf))
	}
	return b.String()
}

// describeOCSP prints a response in the layout of OpenSSL's
// OCSP_RESPONSE_print, which HAProxy uses.
func describeOCSP(der []byte) string {
	r, err := ocsp.ParseResponse(der, nil)
	if err != nil {
		return fmt.Sprintf("Unable to parse the OCSP response: %v\n", err)
	}
	var b strings.Builder
	b.WriteString("OCSP Response Data:\n    OCSP Response Status: successful (0x0)\n    Response Type: Basic OCSP Response\n    Version: 1 (0x0)\n")
	if len(r.RawResponderName) > 0 {
		fmt.Fprintf(&b, "    Responder Id: %s\n", strings.ReplaceAll(strings.TrimPrefix(oneline(r.RawResponderName), "/"), "/", ", "))
	} else {
		fmt.Fprintf(&b, "    Responder Id: %X\n", r.ResponderKeyHash)
	}
	fmt.Fprintf(&b, "    Produced At: %s\n    Responses:\n    Certificate ID:\n      Hash Algorithm: sha1\n", asn1Time(r.ProducedAt))
	fmt.Fprintf(&b, "      Serial Number: %X\n", r.SerialNumber.Bytes())
	status := map[int]string{ocsp.Good: "good", ocsp.Revoked: "revoked", ocsp.Unknown: "unknown"}[r.Status]
	fmt.Fprintf(&b, "    Cert Status: %s\n", status)
	if r.Status == ocsp.Revoked {
		fmt.Fprintf(&b, "    Revocation Time: %s\n", asn1Time(r.RevokedAt))
	}
	fmt.Fprintf(&b, "    This Update: %s\n", asn1Time(r.ThisUpdate))
	if !r.NextUpdate.IsZero() {
		fmt.Fprintf(&b, "    Next Update: %s\n", asn1Time(r.NextUpdate))
	}
	return b.String()
}

// SetOCSPResponse answers "set ssl ocsp-response <base64>": the response
// replaces the stapled one of every certificate it answers for.
func (r *Registry) SetOCSPResponse(b64 string) string {
	b64 = strings.Join(strings.Fields(b64), "")
	if b64 == "" {
		return "'set ssl ocsp-response' expects response in base64 encoding.\n"
	}
	der, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return "'set ssl ocsp-response' received invalid base64 encoded response.\n"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var lastErr error
	updated := 0
	for path, c := range r.certs {
		if c.TLS == nil || c.Issuer == nil || c.OCSP == nil {
			continue
		}
		n := c.clone()
		if err := n.staple(der, time.Now()); err != nil {
			lastErr = err
			continue
		}
		r.certs[path] = n
		updated++
	}
	if updated == 0 {
		if lastErr == nil {
			lastErr = errors.New("no certificate has an OCSP response to update")
		}
		return fmt.Sprintf("%v\n", lastErr)
	}
	r.rebuildAll()
	return "OCSP Response updated!\n"
}

// clone copies c so that a change does not touch handshakes using c.
func (c *Cert) clone() *Cert {
	n := *c
	t := *c.TLS
	n.TLS = &t
	return &n
}
