package runtimeapi

import (
	"fmt"
	"strings"

	"dhproxy/internal/logging"
)

// "show events [<ring>] [-w] [-n]": the lines a ring section holds, oldest
// first, or without a name the list of event sinks in haproxy 2.6's
// layout. "-w" (wait) leaves the session streaming the ring's new lines
// (serve's followRing) until the client closes.
func init() {
	commands = append(commands,
		command{[]string{"show", "events"}, "show events [<sink>] [-w] [-n]", "show event sink state", levelUser, cmdShowEvents},
	)
}

func cmdShowEvents(sess *session, args []string) string {
	if len(args) == 0 {
		var b strings.Builder
		b.WriteString("Supported events sinks are listed below. Add -w(wait), -n(new). Any key to stop\n")
		b.WriteString("    stdout     : type=fd, 0 dropped, standard output (fd#1)\n")
		b.WriteString("    stderr     : type=fd, 0 dropped, standard output (fd#2)\n")
		for _, r := range logging.AllRings() {
			fmt.Fprintf(&b, "    %-10s : type=buffer, %d dropped, %s\n", r.Name, r.Dropped(), r.Description)
		}
		return b.String()
	}
	r := logging.FindRing(args[0])
	if r == nil {
		return "No such event sink\n"
	}
	newOnly, wait := false, false
	for _, o := range args[1:] {
		switch o {
		case "-n":
			newOnly = true
		case "-w":
			wait = true
		default:
			return "unknown option\n"
		}
	}
	if wait {
		sess.follow = r
		if newOnly {
			sess.followFrom = r.Next()
		}
		return ""
	}
	if newOnly {
		return ""
	}
	var b strings.Builder
	for _, l := range r.Lines() {
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.String()
}
