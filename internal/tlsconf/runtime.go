package tlsconf

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The runtime API's certificate commands, with HAProxy 2.6's replies
// (checked against its output); each reply ends with a newline and the
// caller adds the blank line that ends every answer.

// pendingCert is the "set ssl cert" transaction: HAProxy allows one at a
// time, for one certificate, until "commit" or "abort".
type pendingCert struct {
	path  string
	chain []byte // CERTIFICATE blocks of the payload
	key   []byte // the private key block, if the payload had one
	certs []*x509.Certificate
}

// ShowCert answers "show ssl cert [<name>]"; "*<name>" shows the
// certificate of the open transaction.
func (r *Registry) ShowCert(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if name == "" {
		var b strings.Builder
		if r.txn != nil {
			fmt.Fprintf(&b, "# transaction\n*%s\n", r.txn.path)
		}
		b.WriteString("# filename\n")
		for _, p := range r.sortedPaths() {
			b.WriteString(p + "\n")
		}
		return b.String()
	}
	const notFound = "Can't display the certificate: Not found or the certificate is a bundle!\n"
	if p, ok := strings.CutPrefix(name, "*"); ok {
		if r.txn == nil || r.txn.path != p || len(r.txn.certs) == 0 {
			return notFound
		}
		return certDetails(name, "Unused", r.txn.certs, nil)
	}
	c := r.certs[name]
	if c == nil {
		return notFound
	}
	if c.TLS == nil {
		return certDetails(name, "Empty", nil, nil)
	}
	status := "Unused"
	if r.used(name) > 0 {
		status = "Used"
	}
	var chain []*x509.Certificate
	for _, der := range c.TLS.Certificate {
		x, err := x509.ParseCertificate(der)
		if err != nil {
			break
		}
		chain = append(chain, x)
	}
	return certDetails(name, status, chain, c.ocspKey())
}

// certDetails prints a certificate as "show ssl cert <name>" does.
func certDetails(name, status string, chain []*x509.Certificate, ocspKey []byte) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Filename: %s\nStatus: %s\n", name, status)
	if len(chain) > 0 {
		leaf := chain[0]
		fmt.Fprintf(&b, "Serial: %s\n", serialHex(leaf))
		fmt.Fprintf(&b, "notBefore: %s\nnotAfter: %s\n", asn1Time(leaf.NotBefore), asn1Time(leaf.NotAfter))
		if san := sanList(leaf); san != "" {
			fmt.Fprintf(&b, "Subject Alternative Name: %s\n", san)
		}
		fmt.Fprintf(&b, "Algorithm: %s\n", keyAlgorithm(leaf))
		fmt.Fprintf(&b, "SHA1 FingerPrint: %X\n", sha1.Sum(leaf.Raw))
		fmt.Fprintf(&b, "Subject: %s\nIssuer: %s\n", oneline(leaf.RawSubject), oneline(leaf.RawIssuer))
		for _, x := range chain[1:] {
			fmt.Fprintf(&b, "Chain Subject: %s\nChain Issuer: %s\n", oneline(x.RawSubject), oneline(x.RawIssuer))
		}
	}
	fmt.Fprintf(&b, "OCSP Response Key: %x\n", ocspKey)
	return b.String()
}

// serialHex is the serial's DER content in hex, as OpenSSL prints it.
func serialHex(c *x509.Certificate) string {
	b := c.SerialNumber.Bytes()
	if len(b) == 0 || b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return fmt.Sprintf("%X", b)
}

// asn1Time is OpenSSL's ASN1_TIME_print form: "Dec  5 11:34:50 2026 GMT".
func asn1Time(t time.Time) string {
	return t.UTC().Format("Jan _2 15:04:05 2006 GMT")
}

func sanList(c *x509.Certificate) string {
	var out []string
	for _, n := range c.DNSNames {
		out = append(out, "DNS:"+n)
	}
	for _, ip := range c.IPAddresses {
		out = append(out, "IP Address:"+ip.String())
	}
	for _, e := range c.EmailAddresses {
		out = append(out, "email:"+e)
	}
	return strings.Join(out, ", ")
}

func keyAlgorithm(c *x509.Certificate) string {
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		return "RSA" + strconv.Itoa(k.N.BitLen())
	case *ecdsa.PublicKey:
		return "EC" + strconv.Itoa(k.Curve.Params().BitSize)
	case ed25519.PublicKey:
		return "ED25519"
	}
	return "Unknown"
}

// nameShort are OpenSSL's short names of the usual attributes.
var nameShort = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O",
	"2.5.4.11": "OU", "2.5.4.5": "serialNumber", "2.5.4.9": "street", "2.5.4.17": "postalCode",
	"1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.25": "DC",
}

// oneline prints a DER name in OpenSSL's X509_NAME_oneline form:
// "/C=FR/O=Example/CN=www.example.com", in the certificate's order.
func oneline(raw []byte) string {
	var rdns pkix.RDNSequence
	if rest, err := asn1.Unmarshal(raw, &rdns); err != nil || len(rest) > 0 {
		return ""
	}
	var b strings.Builder
	for _, rdn := range rdns {
		for _, atv := range rdn {
			n := nameShort[atv.Type.String()]
			if n == "" {
				n = atv.Type.String()
			}
			fmt.Fprintf(&b, "/%s=%v", n, atv.Value)
		}
	}
	return b.String()
}

// NewEmptyCert answers "new ssl cert <name>": an empty entry that "set ssl
// cert" fills and "add ssl crt-list" then uses.
func (r *Registry) NewEmptyCert(path string) string {
	if path == "" {
		return "'new ssl cert' expects a filename\n"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.certs[path] != nil {
		return fmt.Sprintf("Certificate '%s' already exists!\n", path)
	}
	r.certs[path] = &Cert{Path: path}
	return fmt.Sprintf("New empty certificate store '%s'!\n", path)
}

// SetCert answers "set ssl cert <name> <payload>": the payload (PEM: the
// certificate, its chain, the key) opens or updates the transaction.
func (r *Registry) SetCert(path, payload string) string {
	if path == "" || strings.TrimSpace(payload) == "" {
		return "'set ssl cert expects a filename and a certificate as a payload\n"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.txn != nil && r.txn.path != path {
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\nCan't update %s!\n", r.txn.path, path, path)
	}
	if r.certs[path] == nil {
		return fmt.Sprintf("Can't replace a certificate which is not referenced by the configuration!\nCan't update %s!\n", path)
	}
	p, err := parsePayload(path, []byte(payload))
	if err != nil {
		return fmt.Sprintf("%v\nCan't load the payload\nCan't update %s!\n", err, path)
	}
	verb := "created"
	if r.txn != nil {
		verb = "updated"
	}
	r.txn = p
	return fmt.Sprintf("Transaction %s for certificate %s!\n", verb, path)
}

// parsePayload splits a PEM payload into its certificates and its key.
func parsePayload(path string, data []byte) (*pendingCert, error) {
	p := &pendingCert{path: path}
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			break
		}
		switch {
		case blk.Type == "CERTIFICATE":
			x, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, fmt.Errorf("unable to load certificate from file '%s'.", path)
			}
			p.certs = append(p.certs, x)
			p.chain = append(p.chain, pem.EncodeToMemory(blk)...)
		case strings.HasSuffix(blk.Type, "PRIVATE KEY"):
			p.key = pem.EncodeToMemory(blk)
		}
	}
	if len(p.certs) == 0 && p.key == nil {
		return nil, fmt.Errorf("unable to load certificate from file '%s'.", path)
	}
	return p, nil
}

// CommitCert answers "commit ssl cert <name>": the transaction's
// certificate replaces the old one in every bind using it; handshakes
// already done keep theirs.
func (r *Registry) CommitCert(path string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.txn == nil:
		return fmt.Sprintf("No ongoing transaction! !\nCan't commit %s!\n", path)
	case r.txn.path != path:
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to set '%s'\nCan't commit %s!\n", r.txn.path, path, path)
	case len(r.txn.certs) == 0 || r.txn.key == nil:
		return fmt.Sprintf("The transaction must contain at least a certificate and a private key!\nCan't commit %s!\n", path)
	}
	c, err := NewCert(path, r.txn.chain, r.txn.key)
	if err != nil {
		return fmt.Sprintf("inconsistencies between private key and certificate loaded '%s'.\nCan't commit %s!\n", path, path)
	}
	r.txn = nil
	r.certs[path] = c
	r.rebuildAll()
	return fmt.Sprintf("Committing %s%s\nSuccess!\n", path, strings.Repeat(".", r.used(path)))
}

// AbortCert answers "abort ssl cert <name>".
func (r *Registry) AbortCert(path string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.txn == nil:
		return "No ongoing transaction!\n"
	case r.txn.path != path:
		return fmt.Sprintf("The ongoing transaction is about '%s' but you are trying to abort a transaction for '%s'\n", r.txn.path, path)
	}
	r.txn = nil
	return fmt.Sprintf("Transaction aborted for certificate '%s'!\n", path)
}

// DelCert answers "del ssl cert <name>": only an unused certificate goes.
func (r *Registry) DelCert(path string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.certs[path] == nil:
		return fmt.Sprintf("Can't remove the certificate: certificate '%s' doesn't exist!\n\n", path)
	case r.used(path) > 0:
		return fmt.Sprintf("Can't remove the certificate: certificate '%s' in use, can't be deleted!\n\n", path)
	case r.txn != nil && r.txn.path == path:
		return fmt.Sprintf("Can't remove the certificate: certificate '%s' is being modified by a transaction!\n\n", path)
	}
	delete(r.certs, path)
	return fmt.Sprintf("Certificate '%s' deleted!\n", path)
}

// ShowCrtList answers "show ssl crt-list [-n] [<list>]".
func (r *Registry) ShowCrtList(args []string) string {
	numbers := false
	if len(args) > 0 && args[0] == "-n" {
		numbers, args = true, args[1:]
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(args) == 0 {
		var names []string
		for n := range r.lists {
			names = append(names, n)
		}
		sort.Strings(names)
		return strings.Join(append(names, ""), "\n")
	}
	l := r.lists[args[0]]
	if l == nil {
		return "didn't find the specified filename\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n", l.Name)
	for _, e := range l.Entries {
		b.WriteString(e.Crt)
		if numbers {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		if e.Options != "" {
			fmt.Fprintf(&b, " [%s]", e.Options)
		}
		for _, f := range e.Filters {
			b.WriteString(" " + f)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// AddCrtList answers "add ssl crt-list <list> <line>": the line's
// certificate (already known: loaded or made by "new ssl cert") starts
// serving the line's names on every bind using the list.
func (r *Registry) AddCrtList(list, line string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	l := r.lists[list]
	if l == nil {
		return fmt.Sprintf("Can't edit the crt-list: crt-list '%s' does not exist!\n", list)
	}
	e, err := parseCrtListLine(line, "")
	if err != nil || e == nil {
		return fmt.Sprintf("Can't edit the crt-list: %v\n", orEmpty(err))
	}
	c := r.certs[e.Crt]
	switch {
	case c == nil:
		return fmt.Sprintf("Can't edit the crt-list: certificate '%s' does not exist!\n", e.Crt)
	case c.TLS == nil:
		return fmt.Sprintf("Can't edit the crt-list: certificate '%s' is empty!\n", e.Crt)
	}
	for _, o := range l.Entries {
		e.Line = max(e.Line, o.Line+1)
	}
	e.where = fmt.Sprintf("%s:%d", list, e.Line)
	acme, _, rest, err := splitACMEOptions(e.Options)
	if err == nil && acme != "" {
		err = fmt.Errorf("'acme' lines are read from the configuration only")
	}
	if err == nil {
		e.opts, err = parseLineOptions(rest, func(string) {})
	}
	if err != nil {
		return fmt.Sprintf("Can't edit the crt-list: %v\n", err)
	}
	l.Entries = append(l.Entries, e)
	if err := r.rebuildAll(); err != nil {
		l.Entries = l.Entries[:len(l.Entries)-1]
		r.rebuildAll()
		return fmt.Sprintf("Can't edit the crt-list: %v\n", err)
	}
	return fmt.Sprintf("Inserting certificate '%s' in crt-list '%s'.\nSuccess!\n", e.Crt, list)
}

func orEmpty(err error) error {
	if err == nil {
		return fmt.Errorf("expects a certificate name")
	}
	return err
}

// DelCrtList answers "del ssl crt-list <list> <cert[:line]>".
func (r *Registry) DelCrtList(list, spec string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	path, lineNo := spec, 0
	if i := strings.LastIndexByte(spec, ':'); i > 0 {
		if n, err := strconv.Atoi(spec[i+1:]); err == nil && n > 0 {
			path, lineNo = spec[:i], n
		}
	}
	l := r.lists[list]
	if l == nil {
		return fmt.Sprintf("Can't delete the entry: crt-list '%s' does not exist!\n", list)
	}
	if r.certs[path] == nil {
		return fmt.Sprintf("Can't delete the entry: certificate '%s' does not exist!\n", path)
	}
	var found []int
	for i, e := range l.Entries {
		if e.Crt == path && (lineNo == 0 || e.Line == lineNo) {
			found = append(found, i)
		}
	}
	switch len(found) {
	case 0:
		return fmt.Sprintf("Can't delete the entry: certificate '%s' can't be found in crt-list '%s'!\n", path, list)
	case 1:
	default:
		var nums []string
		for _, i := range found {
			nums = append(nums, strconv.Itoa(l.Entries[i].Line))
		}
		return fmt.Sprintf("Can't delete the entry: found the certificate '%s' in several entries, please specify a line number preceded by colons (%s)!\n", path, strings.Join(nums, ", "))
	}
	e := l.Entries[found[0]]
	var users []string
	for _, st := range r.binds {
		if st.defEntry == e {
			users = append(users, "\t- "+st.where+"\n")
		}
	}
	if len(users) > 0 {
		return fmt.Sprintf("Can't delete the entry: certificate '%s' cannot be deleted, it is used as default certificate by the following frontends:\n%s\n", path, strings.Join(users, ""))
	}
	l.Entries = append(l.Entries[:found[0]:found[0]], l.Entries[found[0]+1:]...)
	r.rebuildAll()
	return fmt.Sprintf("Entry '%s' deleted in crtlist '%s'!\n", path, list)
}
