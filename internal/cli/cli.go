// Package cli scans HAProxy-compatible command lines.
package cli

import (
	"fmt"
	"strconv"
	"strings"
)

// Options is what the command line asks for.
type Options struct {
	Files        []string // -f, in order
	Check        bool     // -c
	Foreground   bool     // -d / -db
	Debug        bool     // -d
	Daemon       bool     // -D
	Pidfile      string   // -p
	Quiet        bool     // -q
	Version      int      // 1 for -v, 2 for -vv
	CondExpr     string   // -cc
	HasCond      bool
	LocalPeer    string // -L
	Maxconn      int    // -n
	DiagMode     bool   // -dD: also print [DIAG] diagnostics
	ZeroWarning  bool   // -dW: any configuration warning is fatal (global "zero-warning")
	Keepalived   string // -K / --keepalived: a keepalived.conf whose VRRP instances and virtual servers run beside the proxy (or alone, without -f)
	ConfigID     string // --config-id: keepalived's -i for -K's '@ID' lines ("": the short host name)
	SoftStop     []int  // -sf PID...: once serving, soft-stop these processes (SIGUSR1)
	HardStop     []int  // -st PID...: once serving, stop these processes (SIGTERM)
	MasterWorker bool   // -W (or -Ws): a master process runs the proxy in a worker it can replace
	Systemd      bool   // -Ws: also tell systemd (NOTIFY_SOCKET) about start, reloads and stop
	MasterSocket string // -S <path>[,options]: the master CLI socket
	SocketsFrom  string // -x <path>: take the listening sockets from the old process's stats socket
	Unsupported  string // a known HAProxy flag dhproxy does not offer yet
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
        -K <keepalived.conf> (or --keepalived) also runs its VRRP instances and
           virtual servers in this process (with -c: validates it too);
           without -f, runs only them, as keepalived does
        --config-id <id> selects -K's '@id' lines (keepalived's -i;
           default: the host name up to its first dot)
        dhproxy vrrp -f <keepalived.conf> runs VRRP alone, keepalived-style
        -n sets the maximum total # of connections (uses ulimit -n)
        -W master-worker mode ; -Ws also notifies systemd (Type=notify)
        -S <path>[,mode,<octal>] binds the master CLI (show proc, reload, @1 ...)
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
		case a == "-K" || a == "--keepalived":
			o.Keepalived, err = next("a keepalived.conf file")
		case a == "--config-id":
			o.ConfigID, err = next("a config id")
			if err == nil && o.ConfigID == "" {
				err = fmt.Errorf("option '%s' expects a config id, not an empty word", a)
			}
		case a == "-L":
			o.LocalPeer, err = next("a peer name")
		case a == "-n":
			var v string
			if v, err = next("a number"); err == nil {
				_, err = fmt.Sscanf(v, "%d", &o.Maxconn)
			}
		case a == "-sf" || a == "-st":
			// HAProxy takes the numbers that follow, up to the next option.
			for i+1 < len(args) && !strings.HasPrefix(args[i+1], "-") {
				i++
				pid, perr := strconv.Atoi(args[i])
				if perr != nil || pid <= 0 {
					return nil, fmt.Errorf("option '%s' expects process ids, not '%s'", a, args[i])
				}
				if a == "-sf" {
					o.SoftStop = append(o.SoftStop, pid)
				} else {
					o.HardStop = append(o.HardStop, pid)
				}
			}
		case a == "-x":
			o.SocketsFrom, err = next("the old process's stats socket")
		case a == "-W":
			o.MasterWorker = true
		case a == "-Ws":
			o.MasterWorker, o.Systemd = true, true
		case a == "-S":
			o.MasterSocket, err = next("a socket path")
		case a == "-h" || a == "--help":
			return nil, fmt.Errorf("help")
		case a == "-dD":
			o.DiagMode = true
		case a == "-dW":
			o.ZeroWarning = true
		case strings.HasPrefix(a, "-d") && len(a) > 2:
			// -dM, -dV, -dr...: HAProxy's debugging switches; harmless to accept.
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

// VRRPOptions is the command line of "dhproxy vrrp", keepalived's own.
type VRRPOptions struct {
	File     string // -f / --use-file; default /etc/keepalived/keepalived.conf
	Check    bool   // -t / --config-test
	Pidfile  string // -p / --pid
	Version  bool   // -v / --version
	ConfigID string // -i / --config-id: selects '@ID' lines; "" is the short host name
}

// VRRPUsage is printed for "dhproxy vrrp -h" and for errors.
const VRRPUsage = `Usage : dhproxy vrrp [ -f <keepalived.conf> ] [ -t ] [ -p <pidfile> ] [ -i <id> ]
        -f, --use-file       the configuration file (default /etc/keepalived/keepalived.conf)
        -t, --config-test    check the configuration and exit
        -p, --pid            write the process id to this file
        -i, --config-id      use the lines '@<id> ...' and not '@^<id> ...' (default: the
                             host name up to its first dot)
        Runs the vrrp_instances in the foreground (stop with SIGTERM).
        keepalived's -n -l -D -P --vrrp -d -r <file> -S <n> are accepted and change nothing.
`

// ParseVRRP reads the arguments after "dhproxy vrrp", in keepalived's
// spellings ("-f file", "-ffile", "--use-file=file").
func ParseVRRP(args []string) (*VRRPOptions, error) {
	o := &VRRPOptions{File: "/etc/keepalived/keepalived.conf"}
	for i := 0; i < len(args); i++ {
		a, val, hasVal := args[i], "", false
		if strings.HasPrefix(a, "--") {
			a, val, hasVal = strings.Cut(a, "=")
		} else if len(a) > 2 && a[0] == '-' && strings.ContainsRune("fprSi", rune(a[1])) {
			a, val, hasVal = a[:2], a[2:], true
		}
		arg := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("option '%s' expects a value", a)
			}
			i++
			return args[i], nil
		}
		var err error
		switch a {
		case "-f", "--use-file":
			o.File, err = arg()
		case "-p", "--pid":
			o.Pidfile, err = arg()
		case "-i", "--config-id":
			if o.ConfigID, err = arg(); err == nil && o.ConfigID == "" {
				err = fmt.Errorf("option '%s' expects a config id, not an empty word", a)
			}
		case "-r", "--vrrp_pid", "-S", "--log-facility":
			_, err = arg()
		case "-t", "--config-test":
			o.Check = true
		case "-v", "--version":
			o.Version = true
		case "-n", "--dont-fork", "-l", "--log-console", "-D", "--log-detail", "-P", "--vrrp", "-d", "--dump-conf", "-g", "--log-file":
			// keepalived switches for forking and logging: dhproxy vrrp always
			// runs in the foreground and logs to stderr.
		case "-h", "--help":
			return nil, fmt.Errorf("help")
		default:
			return nil, fmt.Errorf("unknown option '%s'", args[i])
		}
		if err != nil {
			return nil, err
		}
	}
	return o, nil
}
