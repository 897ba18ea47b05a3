package config

import (
	"maps"
	"os"
	"slices"
	"strings"
)

// The global keywords setenv, presetenv, unsetenv and resetenv change the
// environment while the configuration is read, so that a later line's
// "${VAR}" and ".if defined(VAR)" see the change, as in HAProxy. The loader
// applies them to an overlay over its Env (a test's Env cannot be
// enumerated nor changed); ApplyEnvLine applies them to the process once
// the configuration is accepted, for what reads the environment later
// (the env() fetch, external checks).

// envOverlay is a view of base with changes; its maps are never written
// once shared, so a section keeps the view it was read with.
type envOverlay struct {
	base  Env
	vals  map[string]string // set by setenv/presetenv
	gone  map[string]bool   // removed by unsetenv
	reset bool              // resetenv: only keep names stay visible from base
	keep  map[string]bool
}

func (o *envOverlay) lookup(name string) (string, bool) {
	if v, ok := o.vals[name]; ok {
		return v, true
	}
	if o.gone[name] || (o.reset && !o.keep[name]) {
		return "", false
	}
	return o.base(name)
}

// IsEnvKeyword reports whether a global keyword changes the environment.
func IsEnvKeyword(kw string) bool {
	switch kw {
	case "setenv", "presetenv", "unsetenv", "resetenv":
		return true
	}
	return false
}

// EnvLineOK reports whether an environment line has the arguments its
// keyword needs (the model reports the error otherwise).
func EnvLineOK(args []string) bool {
	switch args[0] {
	case "setenv", "presetenv":
		return len(args) >= 3 // HAProxy ignores the words after the value
	case "unsetenv":
		return len(args) >= 2
	}
	return true
}

// apply returns the overlay after the line args (a valid environment line).
func (o *envOverlay) apply(args []string) *envOverlay {
	n := &envOverlay{base: o.base, vals: maps.Clone(o.vals), gone: maps.Clone(o.gone), reset: o.reset, keep: o.keep}
	if n.vals == nil {
		n.vals = map[string]string{}
	}
	if n.gone == nil {
		n.gone = map[string]bool{}
	}
	switch args[0] {
	case "presetenv":
		if _, ok := o.lookup(args[1]); ok {
			return o
		}
		fallthrough
	case "setenv":
		n.vals[args[1]] = args[2]
		delete(n.gone, args[1])
	case "unsetenv":
		for _, name := range args[1:] {
			delete(n.vals, name)
			n.gone[name] = true
		}
	case "resetenv":
		keep := map[string]bool{}
		for _, name := range args[1:] {
			// a name stays only if it was visible until now
			if !o.gone[name] && (!o.reset || o.keep[name]) {
				keep[name] = true
			}
		}
		for name := range n.vals {
			if !slices.Contains(args[1:], name) {
				delete(n.vals, name)
			}
		}
		n.reset, n.keep = true, keep
	}
	return n
}

// ApplyEnvLine applies a valid environment line (setenv, presetenv,
// unsetenv, resetenv) to the process environment. resetenv keeps dhproxy's
// own DHPROXY_* variables: the master passes its workers their listeners
// and role through them.
func ApplyEnvLine(args []string) {
	switch args[0] {
	case "setenv":
		os.Setenv(args[1], args[2])
	case "presetenv":
		if _, ok := os.LookupEnv(args[1]); !ok {
			os.Setenv(args[1], args[2])
		}
	case "unsetenv":
		for _, name := range args[1:] {
			os.Unsetenv(name)
		}
	case "resetenv":
		for _, kv := range os.Environ() {
			name, _, _ := strings.Cut(kv, "=")
			if !slices.Contains(args[1:], name) && !strings.HasPrefix(name, "DHPROXY_") {
				os.Unsetenv(name)
			}
		}
	}
}

// EnvAfter is e once the valid environment line args is applied; the model
// follows the global section's lines with it, so that the env() fetch of a
// later line reads what the loader's "${VAR}" did.
func EnvAfter(e Env, args []string) Env {
	return (&envOverlay{base: e.orDefault()}).apply(args).lookup
}
