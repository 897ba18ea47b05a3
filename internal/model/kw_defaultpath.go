package model

import (
	"os"
	"path/filepath"
	"strings"

	"dhproxy/internal/config"
)

// "default-path": where relative paths of the configuration start from. As
// HAProxy, the builder changes directory while it reads each section
// (a section is in one file), and Build returns to the start directory.

type defaultPath struct {
	mode   string // current, config, parent or origin
	origin string
	start  string // the directory the process started in
}

func init() {
	registerGlobal("default-path", func(b *builder, g *Global, l config.Line) {
		if len(l.Args) < 2 {
			b.errorf(l, "'default-path' expects one of 'current', 'config', 'parent' or 'origin <path>'.")
			return
		}
		dp := defaultPath{mode: l.Args[1]}
		switch dp.mode {
		case "current", "config", "parent":
			if len(l.Args) > 2 {
				b.errorf(l, "'default-path %s' cannot handle unexpected argument '%s'.", dp.mode, l.Args[2])
				return
			}
		case "origin":
			if len(l.Args) != 3 {
				b.errorf(l, "'default-path origin' expects a path; usage: default-path origin <path>")
				return
			}
			dp.origin = l.Args[2]
		default:
			b.errorf(l, "unsupported default-path mode '%s' for 'default-path', supported modes include 'current', 'config', 'parent', and 'origin'.", dp.mode)
			return
		}
		if b.defPath != nil {
			dp.start = b.defPath.start
		} else if wd, err := os.Getwd(); err == nil {
			dp.start = wd
		} else {
			b.errorf(l, "'default-path': cannot tell the current directory: %v.", err)
			return
		}
		b.defPath = &dp
		b.enterDir(l.Pos)
	})
}

// enterSection makes s the section being read, with its environment, in
// its file's directory when default-path asks for it.
func (b *builder) enterSection(s *config.Section) {
	b.sect = s
	b.comp.Env = s.Env
	b.enterDir(s.Pos)
}

// enterDir changes to the directory default-path gives the file at pos.
func (b *builder) enterDir(pos config.Pos) {
	dp := b.defPath
	if dp == nil {
		return
	}
	dir := dp.start
	switch dp.mode {
	case "config", "parent":
		fileDir := ""
		if i := strings.LastIndexByte(pos.File, '/'); i >= 0 {
			fileDir = pos.File[:i+1]
		}
		if dp.mode == "parent" {
			fileDir += ".."
		}
		if fileDir != "" {
			dir = filepath.Join(dp.start, fileDir)
			if filepath.IsAbs(fileDir) {
				dir = fileDir
			}
		}
	case "origin":
		dir = dp.origin
	}
	if err := os.Chdir(dir); err != nil {
		b.d.Errorf(pos, "'default-path %s': cannot enter the directory '%s': %v.", dp.mode, dir, errText(err))
	}
}

// leaveDefaultPath returns to the start directory once the configuration
// is read.
func (b *builder) leaveDefaultPath() {
	if b.defPath != nil {
		os.Chdir(b.defPath.start)
	}
}
