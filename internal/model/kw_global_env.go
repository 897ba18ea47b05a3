package model

import (
	"strings"

	"dhproxy/internal/config"
	"dhproxy/internal/sample"
)

// setenv, presetenv, unsetenv and resetenv: the loader already applied them
// to what later lines read ("${VAR}"); the model checks their arguments,
// follows them for the env() fetch, and keeps them for the process
// environment (Global.EnvLines, applied once the configuration is valid).
// set-var sets a process variable once, while the configuration is read.
func init() {
	for _, kw := range []string{"setenv", "presetenv", "unsetenv", "resetenv"} {
		registerGlobal(kw, func(b *builder, g *Global, l config.Line) {
			if !config.EnvLineOK(l.Args) {
				if kw == "unsetenv" {
					b.errorf(l, "'unsetenv' expects at least one variable name; usage: unsetenv <name> [<name>...]")
				} else {
					b.errorf(l, "'%s' expects a name and a value; usage: %s <name> <value>", kw, kw)
				}
				return
			}
			b.comp.Env = config.EnvAfter(b.comp.Env, l.Args)
			g.EnvLines = append(g.EnvLines, l.Args)
		})
	}
	registerGlobal("set-var", func(b *builder, g *Global, l config.Line) {
		if len(l.Args) != 3 || !strings.HasPrefix(l.Args[1], "proc.") {
			if len(l.Args) == 3 && strings.Contains(l.Args[1], ".") {
				b.errorf(l, "'set-var': cannot set variable '%s', only scope 'proc' is permitted in the global section.", l.Args[1])
				return
			}
			b.errorf(l, "'set-var' requires a process-wide variable name ('proc.<name>') and a sample expression; usage: set-var proc.<name> <expr>")
			return
		}
		r, err := b.comp.ParseVar(l.Args[1])
		var e *sample.Expr
		if err == nil {
			e, err = b.comp.CompileBoot(l.Args[2])
		}
		if err != nil {
			b.errorf(l, "'set-var': %v.", err)
			return
		}
		// a sample that does not exist leaves the variable unset, as
		// the set-var action does
		if v, ok := sample.EvalBoot(e); ok {
			sample.SetProcVar(r, &v)
		}
	})
}
