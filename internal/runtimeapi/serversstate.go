package runtimeapi

import (
	"fmt"
	"net"
	"strings"
	"time"

	"dhproxy/internal/backend"
	"dhproxy/internal/model"
	"dhproxy/internal/stats"
)

// hmaint is HAProxy's SRV_ADMF_HMAINT, which it shows for a template
// server whose name came from an SRV record.
const hmaint = 0x40

// checkEnabled is HAProxy's CHK_ST_ENABLED in the check state columns:
// off while "disable health|agent" pauses the check.
const checkEnabled = 0x04

// writeServerState writes a server's "show servers state" line, the
// columns of haproxy 2.6 (the file "load-server-state-from-file" reads).
func writeServerState(b *strings.Builder, r stats.Row) {
	sv := r.Srv
	c := sv.Conf
	addr, port := "-", ""
	switch a := sv.AddrPort(); {
	case c.Unix: // haproxy 2.6 shows a UNIX socket server as "-", port 0
	case a != "":
		addr, port, _ = net.SplitHostPort(a)
	default:
		_, port, _ = net.SplitHostPort(c.Addr)
	}
	if port == "" {
		port = "0"
	}
	op := 0
	if sv.Up() {
		op = 2
	}
	admin := sv.AdminState()
	fqdn := sv.FQDN()
	if c.SRV != "" && fqdn != "" {
		admin |= hmaint
	}
	cur, initial := sv.Weight()
	// An unchecked server shows a health of rise, none in maintenance or
	// for a template's; a disabled one shows its check paused (0x08).
	chkStatus, chkResult, chkHealth, chkState := 1, 0, c.Rise, 0
	if admin&(backend.AdminMaint|backend.AdminConfigMaint|backend.AdminResolvMaint) != 0 || c.Template != "" {
		chkHealth = 0
	}
	if admin&backend.AdminConfigMaint != 0 {
		admin |= backend.AdminMaint
		chkState = 8
	}
	if sv.AddedInMaint() && sv.Check() == nil {
		chkHealth = 0 // haproxy only sets it when a check runs
	}
	if c.Check {
		chkHealth, chkState = c.Rise, 6
		if sv.AddedInMaint() {
			chkHealth = 0
		}
		if sv.CheckPaused(false) {
			chkState &^= checkEnabled
		}
		if ck := sv.Check(); ck != nil {
			chkStatus, chkHealth = checkStatusCodes[ck.Status], ck.Health
			chkResult = 2
			if ck.Health >= ck.Rise {
				chkResult = 3
			}
		}
	}
	agentState := 0
	if c.Health.Agent {
		agentState = 0x16 // CHK_ST_AGENT|CHK_ST_ENABLED|CHK_ST_CONFIGURED
		if sv.CheckPaused(true) {
			agentState &^= checkEnabled
		}
	}
	orDash := func(v string) string {
		if v == "" {
			return "-"
		}
		return v
	}
	checkAddr := "-"
	if a := c.Options["addr"]; a != "" && !isUnixSocket(a) { // haproxy shows no path
		if h, _, err := net.SplitHostPort(a); err == nil {
			a = h
		}
		checkAddr = a
	}
	// Without an agent, haproxy shows the check's "addr" and "port" there.
	agentAddr, agentPort := c.Health.AgentAddr, c.Health.AgentPort
	if agentAddr == "" && checkAddr != "-" {
		agentAddr = checkAddr
	}
	if agentPort == 0 {
		agentPort = c.Port
	}
	useSSL := 0
	if c.TLS != nil {
		useSSL = 1
	}
	fmt.Fprintf(b, "%d %s %d %s %s %d %d %d %d %d %d %d %d %d %d %d %d %s %s %s %d %d %s %s %d\n",
		r.IID, r.P.Name, r.SID, sv.Name, addr, op, admin, cur, initial,
		int64(time.Since(sv.LastChange())/time.Second), chkStatus, chkResult, chkHealth, chkState, agentState,
		b2i(r.P.ForcedID), b2i(c.ForcedID), orDash(fqdn), port, orDash(c.SRV), useSSL, c.Port, checkAddr,
		orDash(agentAddr), agentPort)
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func isUnixSocket(a string) bool {
	_, ok := model.UnixSocket(a)
	return ok
}
