package runtimeapi

import (
	"net/netip"
	"strconv"
	"strings"

	"dhproxy/internal/stream"
)

// setServerAddr is "set server <b>/<s> addr <ip> [port <port>]", answered
// in haproxy 2.6's words: what changed, then who changed it. As haproxy,
// the port is read as strtol reads it (leading digits) and wraps at 16
// bits; a port map ("+N", "-N") is not supported.
func setServerAddr(sv *stream.Server, args []string) string {
	if len(args) < 1 {
		return "set server <b>/<s> addr requires an address and optionally a port.\n"
	}
	const by = " by 'stats socket command'\n"
	ip, err := netip.ParseAddr(args[0])
	if err != nil || ip.Zone() != "" {
		return "Invalid addr '" + args[0] + "'" + by
	}
	if sv.Conf.Unix {
		// haproxy 2.6 changes no UNIX socket server's address at run time
		return "Update for the current server address family is only supported through configuration file" + by
	}
	ip = ip.Unmap()
	port, portArg := -1, ""
	if len(args) >= 2 && args[1] == "port" {
		if len(args) >= 3 {
			portArg = args[2]
		}
		port = -2
		if n := leadingDigits(portArg); n > 0 && portArg[0] != '+' && portArg[0] != '-' {
			v, _ := strconv.Atoi(portArg[:min(n, 9)])
			port = v & 0xffff
		}
	}
	if port == -2 && len(portArg) > 0 && (portArg[0] == '+' || portArg[0] == '-') {
		return "port maps ('" + portArg + "') are not supported by dhproxy" + by
	}
	oldHost, oldPort := sv.SetAddr(ip, max(port, -1))
	var msgs []string
	if ip.String() != oldHost {
		msgs = append(msgs, "IP changed from '"+oldHost+"' to '"+ip.String()+"'")
	} else {
		msgs = append(msgs, "no need to change the addr")
	}
	switch {
	case port == -2:
		msgs = append(msgs, "problem converting port '"+portArg+"' to an int")
	case port < 0:
	case strconv.Itoa(port) == oldPort:
		msgs = append(msgs, "no need to change the port")
	default:
		msgs = append(msgs, "port changed from '"+oldPort+"' to '"+strconv.Itoa(port)+"'")
	}
	return strings.Join(msgs, ", ") + by
}

// leadingDigits counts the digits v starts with (after one sign).
func leadingDigits(v string) int {
	i := 0
	if i < len(v) && (v[i] == '+' || v[i] == '-') {
		i++
	}
	n := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
		n++
	}
	return n
}
