package tlsconf

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Registry holds every certificate the configuration loaded, by path, and
// the crt-lists (files, and directories given to "crt") naming them: what
// HAProxy's runtime API edits ("set ssl cert", "add ssl crt-list"). Each
// bind reads its own index with one atomic load per handshake; edits build
// a new index and swap it in, so handshakes in progress keep the old one.
type Registry struct {
	mu    sync.Mutex
	certs map[string]*Cert    // by path as the configuration names it
	lists map[string]*CrtList // crt-list files and certificate directories
	binds []*Store            // every ssl bind line, in configuration order
	txn   *pendingCert        // the one open "set ssl cert" transaction
	// tls-ticket-keys files by name, and in load order (their ids)
	tickets     map[string]*TicketKeys
	ticketOrder []*TicketKeys
	managed     []*Managed // certificates acme sections keep
	// tls-alpn-01 certificates by domain, while an order waits for them
	challenges atomic.Pointer[map[string]*tls.Certificate]
	// Chain changes the chains of the certificate files loaded after it
	// is set (global ssl-skip-self-issued-ca, issuers-chain-path).
	Chain *ChainOpts
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{certs: map[string]*Cert{}, lists: map[string]*CrtList{}, tickets: map[string]*TicketKeys{}}
}

// CrtList is a crt-list file, or a certificate directory (which HAProxy
// shows as a crt-list of its files).
type CrtList struct {
	Name    string
	Entries []*CrtListEntry
	hidden  bool // a "crt <file>": not listed by "show ssl crt-list"
}

// CrtListEntry is one line of a crt-list.
type CrtListEntry struct {
	Crt     string    // the certificate's path, its key in the registry
	Options string    // what was between [ ], as written
	Filters []string  // SNI filters, "!name" for negative ones
	Line    int       // line number in the file, or after the last for added ones
	opts    *LineOpts // the options that change the bind's settings; nil: none
	where   string    // "file:line" for messages about the options
}

// Store is the certificate index of one ssl bind line.
type Store struct {
	reg      *Registry
	lists    []*CrtList // in bind-line order
	strict   bool
	defEntry *CrtListEntry // the default certificate: the first one loaded
	where    string        // "file:line" of the bind, for runtime API messages
	idx      atomic.Pointer[index]
	// base is the bind's configuration and verifier its client
	// certificate checks; crt-list lines with options get a copy of base
	// changed by them (built once per line, cached in lines).
	base     *tls.Config
	opts     *BindOpts
	defs     *Defaults
	verifier *ClientVerifier
	lines    map[*CrtListEntry]*lineConf
	warn     func(string)
}

// index picks a certificate by SNI: exact name first, then a wildcard
// covering the first label, then the default unless strict-sni refuses.
type index struct {
	exact    map[string]*served
	wildcard map[string][]wildEntry // keyed by the name without its first label
	def      *served
}

// served is what a handshake gets for a name: the certificate, and the
// settings of its crt-list line when the line has options (else nil: the
// bind's).
type served struct {
	cert *tls.Certificate
	line *lineConf
}

// wildEntry is a certificate under a wildcard, less the names a crt-list
// "!name" filter took away from it.
type wildEntry struct {
	s       *served
	exclude []string
}

var errNoCert = errors.New("no certificate for this server name (strict-sni)")

func (s *Store) get(h *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if e := s.lookup(h.ServerName); e != nil {
		return e.cert, nil
	}
	return nil, errNoCert
}

// configFor gives a handshake the settings of the crt-list line serving
// its name, when that line has options (nil keeps the bind's); a pending
// tls-alpn-01 challenge comes first.
func (s *Store) configFor(h *tls.ClientHelloInfo) (*tls.Config, error) {
	if c, err := s.reg.challengeConfig(h); c != nil || err != nil {
		return c, err
	}
	if e := s.lookup(h.ServerName); e != nil && e.line != nil {
		return e.line.cfg, nil
	}
	return nil, nil
}

// lookup finds what the bind serves for a client's server name; nil when
// strict-sni refuses it.
func (s *Store) lookup(serverName string) *served {
	ix := s.idx.Load()
	name := strings.ToLower(strings.TrimSuffix(serverName, "."))
	if name != "" {
		if e := ix.exact[name]; e != nil {
			return e
		}
		if _, rest, ok := strings.Cut(name, "."); ok {
			for _, w := range ix.wildcard[rest] {
				if !slices.Contains(w.exclude, name) {
					return w.s
				}
			}
		}
	}
	if s.strict {
		return nil
	}
	return ix.def
}

// add indexes c under names (its own, or a crt-list line's filters);
// exclude are the line's negative filters.
func (ix *index) add(c *served, names, exclude []string) {
	for _, n := range names {
		n = strings.ToLower(n)
		if slices.Contains(exclude, n) {
			continue
		}
		if rest, ok := strings.CutPrefix(n, "*."); ok {
			ix.wildcard[rest] = append(ix.wildcard[rest], wildEntry{c, exclude})
		} else if ix.exact[n] == nil {
			ix.exact[n] = c
		}
	}
}

// rebuild makes a new index from the lists and the registry's current
// certificates and publishes it; it fails when a crt-list line's options
// cannot be applied. r.mu is held.
func (s *Store) rebuild() error {
	ix := &index{exact: map[string]*served{}, wildcard: map[string][]wildEntry{}}
	for _, l := range s.lists {
		for _, e := range l.Entries {
			c := s.reg.certs[e.Crt]
			if c == nil || c.TLS == nil {
				continue
			}
			line, err := s.lineConfig(e)
			if err != nil {
				return err
			}
			sv := &served{cert: c.TLS, line: line}
			if ix.def == nil {
				// The default is the first certificate (defEntry unless it
				// is still empty), with its line's options: HAProxy's
				// default SSL context.
				ix.def = sv
			}
			names := c.Names
			var pos, neg []string
			for _, f := range e.Filters {
				if x, ok := strings.CutPrefix(f, "!"); ok {
					neg = append(neg, strings.ToLower(x))
				} else {
					pos = append(pos, strings.ToLower(f))
				}
			}
			if len(pos) > 0 {
				names = pos
			}
			ix.add(sv, names, neg)
		}
	}
	s.idx.Store(ix)
	return nil
}

// newStore loads the certificates of a bind line's crt and crt-list
// arguments.
func (r *Registry) newStore(o *BindOpts, warn func(string)) (*Store, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := &Store{reg: r, strict: o.StrictSNI, where: o.Where, lines: map[*CrtListEntry]*lineConf{}}
	for _, src := range o.Certs {
		var l *CrtList
		var err error
		switch fi, statErr := os.Stat(src.Path); {
		case src.List:
			l, err = r.loadCrtList(src.Path, o.CrtBase, o.CABase, o.ACMESections, warn)
		case statErr == nil && fi.IsDir():
			if o.ACME != "" {
				return nil, fmt.Errorf("'acme %s' applies to certificate files, and '%s' is a directory", o.ACME, src.Path)
			}
			l, err = r.loadDir(src.Path, warn)
		case o.ACME != "":
			m := &Managed{Path: src.Path, ACME: o.ACME, Domains: o.Domains, Where: o.Where}
			if err = r.loadManaged(m, o.ACMESections, warn); err == nil {
				l = &CrtList{Name: src.Path, Entries: []*CrtListEntry{{Crt: src.Path, Line: 1}}, hidden: true}
			}
		default:
			if _, err = r.loadCert(src.Path, warn); err == nil {
				l = &CrtList{Name: src.Path, Entries: []*CrtListEntry{{Crt: src.Path, Line: 1}}, hidden: true}
			}
		}
		if err != nil {
			return nil, err
		}
		st.lists = append(st.lists, l)
		if st.defEntry == nil && len(l.Entries) > 0 {
			st.defEntry = l.Entries[0]
		}
	}
	return st, nil
}

// publish indexes a bind's certificates once its configuration is built,
// and lists the bind among those runtime edits rebuild.
func (r *Registry) publish(st *Store) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := st.rebuild(); err != nil {
		return err
	}
	r.binds = append(r.binds, st)
	return nil
}

// loadCert returns the certificate at path, loading it the first time:
// binds and crt-lists naming the same file share it, as in HAProxy.
func (r *Registry) loadCert(path string, warn func(string)) (*Cert, error) {
	if c := r.certs[path]; c != nil {
		return c, nil
	}
	c, err := LoadFile(path, warn)
	if err != nil {
		return nil, err
	}
	r.Chain.adjust(c)
	r.certs[path] = c
	return c, nil
}

// loadDir loads every certificate file of a directory in name order (side
// files and hidden files skipped) as a crt-list named by the directory.
func (r *Registry) loadDir(dir string, warn func(string)) (*CrtList, error) {
	if l := r.lists[dir]; l != nil {
		return l, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("unable to read certificate directory: %v", err)
	}
	l := &CrtList{Name: dir}
	for _, e := range ents {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") || isSideFile(n) {
			continue
		}
		p := filepath.Join(dir, n)
		if _, err := r.loadCert(p, warn); err != nil {
			return nil, err
		}
		l.Entries = append(l.Entries, &CrtListEntry{Crt: p, Line: len(l.Entries) + 1})
	}
	if len(l.Entries) == 0 {
		return nil, fmt.Errorf("certificate directory '%s' holds no certificate", dir)
	}
	r.lists[dir] = l
	return l, nil
}

func isSideFile(name string) bool {
	for _, s := range sideSuffixes {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// used counts the bind-line entries naming path (HAProxy's certificate
// instances: one per bind and crt-list line).
func (r *Registry) used(path string) int {
	n := 0
	for _, st := range r.binds {
		for _, l := range st.lists {
			for _, e := range l.Entries {
				if e.Crt == path {
					n++
				}
			}
		}
	}
	return n
}

// rebuildAll publishes new indexes for every bind; the first error is
// returned, the other binds are rebuilt nevertheless. r.mu is held.
func (r *Registry) rebuildAll() error {
	var first error
	for _, st := range r.binds {
		if err := st.rebuild(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// Cert returns the certificate currently loaded for path, or nil.
func (r *Registry) Cert(path string) *Cert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.certs[path]
}

// Replace installs c for c.Path (which the configuration must name) and
// swaps the indexes of the binds using it: the next handshake serves it.
func (r *Registry) Replace(c *Cert) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.certs[c.Path] == nil {
		return fmt.Errorf("certificate '%s' is not referenced by the configuration", c.Path)
	}
	r.certs[c.Path] = c
	r.rebuildAll()
	return nil
}

// Paths lists the certificate paths in name order.
func (r *Registry) Paths() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.sortedPaths()
}

func (r *Registry) sortedPaths() []string {
	out := make([]string, 0, len(r.certs))
	for p := range r.certs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}
