package tlsconf

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// loadCrtList reads a crt-list file: one certificate per line,
// "<crtfile> [[<ssl options>]] [<sni filter> ...]", '#' comments. A line
// with positive filters serves only those names (wildcards allowed);
// "!name" filters take names away; the line's options change the bind's
// settings for its names (lineopts.go). Binds naming the same file share
// the list.
func (r *Registry) loadCrtList(path, crtBase, caBase string, acmeSections []string, warn func(string)) (*CrtList, error) {
	if l := r.lists[path]; l != nil {
		return l, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("unable to load crt-list: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	l := &CrtList{Name: path}
	n := 0
	for sc.Scan() {
		n++
		e, err := parseCrtListLine(sc.Text(), crtBase)
		if err != nil {
			return nil, fmt.Errorf("crt-list '%s' line %d: %v", path, n, err)
		}
		if e == nil {
			continue
		}
		acme, domains, rest, err := splitACMEOptions(e.Options)
		if err != nil {
			return nil, fmt.Errorf("crt-list '%s' line %d: %v", path, n, err)
		}
		e.where = fmt.Sprintf("%s:%d", path, n)
		if e.opts, err = parseLineOptions(rest, func(w string) { warn("crt-list " + e.where + ": " + w) }); err != nil {
			return nil, fmt.Errorf("crt-list '%s' line %d: %v", path, n, err)
		}
		if ca := e.opts.clientAuth(); ca != nil {
			ca.CAFile = WithBase(caBase, ca.CAFile)
			ca.CAVerifyFile = WithBase(caBase, ca.CAVerifyFile)
			ca.CRLFile = WithBase(caBase, ca.CRLFile)
		}
		if acme != "" {
			if len(domains) == 0 {
				domains = positiveFilters(e.Filters)
			}
			err = r.loadManaged(&Managed{Path: e.Crt, ACME: acme, Domains: domains, Where: fmt.Sprintf("crt-list '%s' line %d", path, n)}, acmeSections, warn)
		} else {
			_, err = r.loadCert(e.Crt, warn)
		}
		if err != nil {
			return nil, fmt.Errorf("crt-list '%s' line %d: %v", path, n, err)
		}
		e.Line = n
		l.Entries = append(l.Entries, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("crt-list '%s': %v", path, err)
	}
	if len(l.Entries) == 0 {
		return nil, fmt.Errorf("crt-list '%s' names no certificate", path)
	}
	r.lists[path] = l
	return l, nil
}

// parseCrtListLine parses one line; nil for a blank or comment line. The
// certificate path is made absolute with crt-base.
func parseCrtListLine(s, crtBase string) (*CrtListEntry, error) {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '#' {
		return nil, nil
	}
	fields := strings.Fields(s)
	e := &CrtListEntry{Crt: fields[0]}
	if crtBase != "" && !filepath.IsAbs(e.Crt) {
		e.Crt = filepath.Join(crtBase, e.Crt)
	}
	rest := strings.TrimSpace(strings.TrimPrefix(s, fields[0]))
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil, fmt.Errorf("'[' without ']'")
		}
		e.Options = strings.TrimSpace(rest[1:end])
		rest = rest[end+1:]
	}
	e.Filters = strings.Fields(rest)
	for _, f := range e.Filters {
		if strings.ContainsAny(f, "[]") {
			return nil, fmt.Errorf("unexpected '%s': options go in one [...] right after the certificate", f)
		}
	}
	return e, nil
}

// WithBase is path under base (ca-base, crt-base) when it is relative;
// "" and "@system-ca" stay as they are.
func WithBase(base, path string) string {
	if base == "" || path == "" || strings.HasPrefix(path, "/") || strings.HasPrefix(path, "@") {
		return path
	}
	return base + "/" + path
}

func positiveFilters(filters []string) []string {
	var out []string
	for _, f := range filters {
		if !strings.HasPrefix(f, "!") {
			out = append(out, strings.ToLower(f))
		}
	}
	return out
}
