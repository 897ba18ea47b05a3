// Package txtar reads and writes the golden-test archives of the project:
// a free comment, then files, each starting at a "-- name --" line.
package txtar

import (
	"fmt"
	"strings"
)

// Archive is a parsed archive.
type Archive struct {
	Comment string
	Files   []File
}

// File is one member of an archive.
type File struct{ Name, Data string }

// Parse splits s into its comment and files.
func Parse(s string) Archive {
	var a Archive
	cur := &a.Comment
	for line := range strings.Lines(s) {
		t := strings.TrimSuffix(line, "\n")
		if name, ok := strings.CutPrefix(t, "-- "); ok && strings.HasSuffix(name, " --") && len(name) > 3 {
			a.Files = append(a.Files, File{Name: strings.TrimSuffix(name, " --")})
			cur = &a.Files[len(a.Files)-1].Data
			continue
		}
		*cur += line
	}
	return a
}

// Get returns the data of the file called name, and whether it exists.
func (a Archive) Get(name string) (string, bool) {
	for _, f := range a.Files {
		if f.Name == name {
			return f.Data, true
		}
	}
	return "", false
}

// Format writes a back, ending every file with a newline.
func (a Archive) Format() string {
	var b strings.Builder
	b.WriteString(a.Comment)
	for _, f := range a.Files {
		fmt.Fprintf(&b, "-- %s --\n%s", f.Name, f.Data)
		if f.Data != "" && !strings.HasSuffix(f.Data, "\n") {
			b.WriteByte('\n')
		}
	}
	return b.String()
}
