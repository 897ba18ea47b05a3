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
// "!name" filters take names away. Per-line options are not applied yet
// (a warning names the line).
func loadCrtList(st *Store, path, crtBase string, warn func(string)) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("unable to load crt-list: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n, loaded := 0, 0
	for sc.Scan() {
		n++
		line, err := splitCrtListLine(sc.Text())
		if err != nil {
			return fmt.Errorf("crt-list '%s' line %d: %v", path, n, err)
		}
		if line == nil {
			continue
		}
		if line.options != "" {
			warn(fmt.Sprintf("crt-list '%s' line %d: per-certificate options [%s] are not applied by dhproxy yet", path, n, line.options))
		}
		crt := line.crt
		if crtBase != "" && !filepath.IsAbs(crt) {
			crt = filepath.Join(crtBase, crt)
		}
		c, err := LoadFile(crt)
		if err != nil {
			return fmt.Errorf("crt-list '%s' line %d: %v", path, n, err)
		}
		names := c.Names
		var pos, neg []string
		for _, fl := range line.filters {
			if x, ok := strings.CutPrefix(fl, "!"); ok {
				neg = append(neg, strings.ToLower(x))
			} else {
				pos = append(pos, strings.ToLower(fl))
			}
		}
		if len(pos) > 0 {
			names = pos
		}
		st.add(c.TLS, names, neg)
		loaded++
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("crt-list '%s': %v", path, err)
	}
	if loaded == 0 {
		return fmt.Errorf("crt-list '%s' names no certificate", path)
	}
	return nil
}

type crtListLine struct {
	crt     string
	options string
	filters []string
}

// splitCrtListLine parses one line; nil for a blank or comment line.
func splitCrtListLine(s string) (*crtListLine, error) {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '#' {
		return nil, nil
	}
	fields := strings.Fields(s)
	l := &crtListLine{crt: fields[0]}
	rest := strings.TrimSpace(strings.TrimPrefix(s, fields[0]))
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return nil, fmt.Errorf("'[' without ']'")
		}
		l.options = strings.TrimSpace(rest[1:end])
		rest = rest[end+1:]
	}
	l.filters = strings.Fields(rest)
	for _, f := range l.filters {
		if strings.ContainsAny(f, "[]") {
			return nil, fmt.Errorf("unexpected '%s': options go in one [...] right after the certificate", f)
		}
	}
	return l, nil
}
