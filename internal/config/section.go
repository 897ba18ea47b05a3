package config

// Line is one configuration line after quoting, escaping and variable
// expansion. Args[0] is the keyword; Args is never empty.
type Line struct {
	Pos  Pos
	Args []string
	// Scope is the name of the last "[name]" line above in the same
	// file; HAProxy uses scopes in SPOE configuration files.
	Scope string
}

// Section is a section header ("global", "defaults", "frontend NAME", ...)
// with the lines that follow it up to the next section header.
type Section struct {
	Pos   Pos
	Kind  string   // the section keyword: global, defaults, frontend, backend, listen, ...
	Args  []string // words after the section keyword
	Lines []Line
	Scope string // the "[name]" scope in effect at the header, if any
	// Env is the environment the section was read with; addresses expand
	// variables from it (ExpandAddrEnv) when they are parsed.
	Env Env
}
