package model

import (
	"os/user"
	"slices"
	"strconv"
	"strings"

	"dhproxy/internal/config"
)

// Process settings of the global section: who the serving process runs as
// ("user"/"uid", "group"/"gid"), where it is locked ("chroot") and which
// CPUs it runs on ("cpu-map"). Names are looked up when the configuration
// is read, as HAProxy does.

func init() {
	registerGlobal("uid", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "uid <number>") {
			if n, ok := b.intArg(l, 1); ok {
				g.UID = n
			}
		}
	})
	registerGlobal("gid", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "gid <number>") {
			if n, ok := b.intArg(l, 1); ok {
				g.GID = n
			}
		}
	})
	registerGlobal("user", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "user <user name>") {
			return
		}
		u, err := user.Lookup(l.Args[1])
		if err != nil {
			b.errorf(l, "cannot find user id for '%s'; create the user or write 'uid <number>'.", l.Args[1])
			return
		}
		g.UID, _ = strconv.Atoi(u.Uid)
	})
	registerGlobal("group", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 1, 1, "group <group name>") {
			return
		}
		gr, err := user.LookupGroup(l.Args[1])
		if err != nil {
			b.errorf(l, "cannot find group id for '%s'; create the group or write 'gid <number>'.", l.Args[1])
			return
		}
		g.GID, _ = strconv.Atoi(gr.Gid)
	})
	registerGlobal("chroot", func(b *builder, g *Global, l config.Line) {
		if b.wantArgs(l, 1, 1, "chroot <directory>") {
			g.Chroot = l.Args[1]
		}
	})
	registerGlobal("cpu-map", func(b *builder, g *Global, l config.Line) {
		if !b.wantArgs(l, 2, -1, "cpu-map [auto:]<process>[/<thread>] <cpu-set>...") {
			return
		}
		if !validCPUTarget(l.Args[1]) {
			b.errorf(l, "'cpu-map': invalid process/thread '%s'; write e.g. '1/all', '1/1-4' or 'auto:1/1-4'.", l.Args[1])
			return
		}
		for _, set := range l.Args[2:] {
			cpus, ok := parseCPUSet(set)
			if !ok {
				b.errorf(l, "'cpu-map': invalid CPU set '%s'; write CPU numbers or ranges, e.g. '0-3' or '0,2'.", set)
				return
			}
			for _, c := range cpus {
				if !slices.Contains(g.CPUs, c) {
					g.CPUs = append(g.CPUs, c)
				}
			}
		}
		slices.Sort(g.CPUs)
	})
}

// validCPUTarget checks "[auto:]<process>[/<thread>]" where each part is
// "all", "odd", "even", a number or a range.
func validCPUTarget(v string) bool {
	v = strings.TrimPrefix(v, "auto:")
	proc, thr, _ := strings.Cut(v, "/")
	ok := func(p string) bool {
		if p == "all" || p == "odd" || p == "even" {
			return true
		}
		_, good := parseCPUSet(p)
		return good
	}
	return ok(proc) && (thr == "" || ok(thr))
}

// parseCPUSet reads "0-3,5" style lists (HAProxy's numbers, up to 1023).
func parseCPUSet(v string) ([]int, bool) {
	var out []int
	for _, part := range strings.Split(v, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err1 := strconv.Atoi(lo)
		c := a
		var err2 error
		if isRange {
			c, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || c < a || c > 1023 {
			return nil, false
		}
		for i := a; i <= c; i++ {
			out = append(out, i)
		}
	}
	return out, len(out) > 0
}
