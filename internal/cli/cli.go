// Package cli scans HAProxy-compatible command lines.
package cli

import (
	"fmt"
	"strings"
)

// Options is what the command line asks for.
type Options struct {
	Files       []string // -f, in order
	Check       bool     // -c
	Foreground  bool     // -d / -db
	Debug       bool     // -d
	Daemon      bool     // -D
	Pidfile     string   // -p
	Quiet       bool     // -q
	Version     int      // 1 for -v, 2 for -vv
	CondExpr    string   // -cc
	HasCond     bool
	LocalPeer   string // -L
	Maxconn     int    // -n
	DiagMode    bool   // -dD: also print [DIAG] diagnostics
	Keepalived  string // -K: a keepalived.conf to validate alongside (VRRP/LVS come later)
	SoftStop    []int  // -sf
	HardStop    []int  // -st
	Unsupported string // a known HAProxy flag dhproxy does not offer yet
}

// Usage is printed for -h and for errors.
const Usage = `Usage : dhproxy [-f <cfgfile|cfgdir>]* [ -vdVD ] [ -n <maxconn> ]
        [ -p <pidfile> ] [ -cc <condition> ] [ -L <name> ]
        -v displays version ; -vv shows known build options.
        -d enters debug mode ; -db only disables background mode.
        -D goes daemon ; -C changes to <dir> before loading files.
        -p writes pids of all children to this file
        -c check mode : only check config files and exit
        -cc check condition : evaluate a condition and exit
        -q quiet mode : don't display messages
        -L set local peer name
        -K reads a keepalived.conf too (with -c: validates it)
        -n sets the maximum total # of connections (uses ulimit -n)
`

// Parse reads argv (without the program name). It accepts HAProxy's
// spellings, including "-f file" and "-ffile", and a lone "--" followed by
// configuration files.
func Parse(args []string) (*Options, error) {
	o := &Options{}
	for i := 0; i < len(args); i++ {
		a := args[i]
		next := func(what string) (string, error) {
			if i+1 >= len(args) {
				return "", fmt.Errorf("option '%s' expects %s", a, what)
			}
			i++
			return args[i], nil
		}
		var err error
		switch {
		case a == "--":
			o.Files = append(o.Files, args[i+1:]...)
			i = len(args)
		case a == "-f":
			var f string
			if f, err = next("a configuration file or directory"); err == nil {
				o.Files = append(o.Files, f)
			}
		case strings.HasPrefix(a, "-f") && len(a) > 2 && !strings.HasPrefix(a, "-f-"):
			o.Files = append(o.Files, a[2:])
		case a == "-c":
			o.Check = true
		case a == "-cc":
			o.CondExpr, err = next("a condition")
			o.HasCond = true
		case a == "-d":
			o.Foreground, o.Debug = true, true
		case a == "-db":
			o.Foreground = true
		case a == "-D":
			o.Daemon = true
		case a == "-p":
			o.Pidfile, err = next("a pid file name")
		case a == "-q":
			o.Quiet = true
		case a == "-v" || a == "-V":
			if o.Version < 1 {
				o.Version = 1
			}
			if a == "-V" {
				o.Version = max(o.Version, 0)
			}
		case a == "-vv":
			o.Version = 2
		case a == "-K":
			o.Keepalived, err = next("a keepalived.conf file")
		case a == "-L":
			o.LocalPeer, err = next("a peer name")
		case a == "-n":
			var v string
			if v, err = next("a number"); err == nil {
				_, err = fmt.Sscanf(v, "%d", &o.Maxconn)
			}
		case a == "-sf" || a == "-st":
			o.Unsupported = a + " (seamless reload comes with the reload feature; stop the old process and start a new one meanwhile)"
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
			}
		case a == "-W" || a == "-Ws" || a == "-S" || a == "-x":
			o.Unsupported = a + " (master-worker mode is not available yet; run in the foreground with -db under your service manager)"
			if (a == "-S" || a == "-x") && i+1 < len(args) {
				i++
			}
		case a == "-h" || a == "--help":
			return nil, fmt.Errorf("help")
		case a == "-dD":
			o.DiagMode = true
		case strings.HasPrefix(a, "-d") && len(a) > 2:
			// -dM, -dV, -dr, -dW...: HAProxy's debugging switches; harmless to accept.
		default:
			if strings.HasPrefix(a, "-") {
				return nil, fmt.Errorf("unknown option '%s'", a)
			}
			// HAProxy takes trailing bare words as configuration files.
			o.Files = append(o.Files, a)
		}
		if err != nil {
			return nil, err
		}
	}
	return o, nil
}
