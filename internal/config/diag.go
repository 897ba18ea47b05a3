// Package config reads haproxy.cfg files: it splits them into words with
// HAProxy's quoting, escaping and ${VAR} rules, evaluates .if blocks, and
// groups lines into sections. It knows no keyword meanings: the model
// package registers those. Every problem is collected as a Diag naming
// file:line, never reported first-fail.
package config

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Pos is where a line came from.
type Pos struct {
	File string
	Line int
}

func (p Pos) String() string {
	if p.File == "" {
		return "<cmdline>"
	}
	return fmt.Sprintf("%s:%d", p.File, p.Line)
}

// Severity orders diagnostics the way HAProxy prints them.
type Severity int

const (
	Notice Severity = iota
	Warning
	Alert // an error: the configuration is refused
)

// Diagnostic ranks below Notice: HAProxy prints these (".diag", suspicious
// constructs) only in diagnostic mode (-dD), so callers drop them
// otherwise.
const Diagnostic Severity = -1

func (s Severity) tag() string {
	switch s {
	case Notice:
		return "[NOTICE]  "
	case Warning:
		return "[WARNING] "
	case Diagnostic:
		return "[DIAG]    "
	default:
		return "[ALERT]   "
	}
}

// Diag is one diagnostic. Msg says what is wrong and, where there is one,
// what to write instead.
type Diag struct {
	Pos Pos
	Sev Severity
	Msg string
}

// Diags collects diagnostics across a whole configuration.
type Diags struct {
	List []Diag
}

func (d *Diags) add(pos Pos, sev Severity, format string, args []any) {
	d.List = append(d.List, Diag{Pos: pos, Sev: sev, Msg: fmt.Sprintf(format, args...)})
}

// Errorf records an error at pos.
func (d *Diags) Errorf(pos Pos, format string, args ...any) { d.add(pos, Alert, format, args) }

// Warnf records a warning at pos.
func (d *Diags) Warnf(pos Pos, format string, args ...any) { d.add(pos, Warning, format, args) }

// Noticef records a notice at pos.
func (d *Diags) Noticef(pos Pos, format string, args ...any) { d.add(pos, Notice, format, args) }

// HasErrors reports whether any Alert was recorded.
func (d *Diags) HasErrors() bool {
	for _, x := range d.List {
		if x.Sev == Alert {
			return true
		}
	}
	return false
}

// Drop removes every diagnostic of severity sev.
func (d *Diags) Drop(sev Severity) {
	keep := d.List[:0]
	for _, x := range d.List {
		if x.Sev != sev {
			keep = append(keep, x)
		}
	}
	d.List = keep
}

// FilesWithErrors lists, in order of first appearance, the files that have
// at least one error.
func (d *Diags) FilesWithErrors() []string {
	var files []string
	seen := map[string]bool{}
	for _, x := range d.List {
		if x.Sev == Alert && x.Pos.File != "" && !seen[x.Pos.File] {
			seen[x.Pos.File] = true
			files = append(files, x.Pos.File)
		}
	}
	return files
}

// Count returns how many diagnostics of severity sev were recorded.
func (d *Diags) Count(sev Severity) int {
	n := 0
	for _, x := range d.List {
		if x.Sev == sev {
			n++
		}
	}
	return n
}

// Write prints the diagnostics in HAProxy's layout:
//
//	[ALERT]    (1234) : config : parsing [haproxy.cfg:12] : unknown keyword 'foo' in 'backend' section
//
// pid is printed as HAProxy does; tests pass 0 to get stable output.
func (d *Diags) Write(w io.Writer, pid int) {
	for _, x := range d.List {
		var b strings.Builder
		b.WriteString(x.Sev.tag())
		fmt.Fprintf(&b, " (%d) : config : ", pid)
		// A position without a line (a file that cannot be opened) is
		// named in the message itself, as HAProxy does.
		if x.Pos.Line != 0 {
			fmt.Fprintf(&b, "parsing [%s] : ", x.Pos)
		}
		b.WriteString(x.Msg)
		b.WriteByte('\n')
		io.WriteString(w, b.String())
	}
}

// Stderr prints d on standard error with the current pid.
func (d *Diags) Stderr() { d.Write(os.Stderr, os.Getpid()) }
