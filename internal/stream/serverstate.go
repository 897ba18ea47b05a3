package stream

import (
	"bufio"
	"fmt"
	"log"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"dhproxy/internal/backend"
	"dhproxy/internal/model"
)

// savedState is a server's line of a server state file ("show servers
// state" output, version 1).
type savedState struct {
	addr             string // "-" for none
	admin            uint32
	uweight, iweight int
	fqdn             string
	port             string
}

// Column positions of a version 1 state line.
const (
	stBeName = 1
	stSrv    = 3
	stAddr   = 4
	stAdmin  = 6
	stUW     = 7
	stIW     = 8
	stFQDN   = 17
	stPort   = 18
	stMin    = 19 // haproxy 1.8 wrote 19 columns, 2.6 writes 25
)

// readServerStates reads the state files the backends of cfg name
// ("load-server-state-from-file"), each once, and returns the saved
// states of the servers they list. A missing or bad file is warned about
// and skipped, as HAProxy does: the configuration's state applies.
func readServerStates(cfg *model.Config) map[*model.Server]savedState {
	var out map[*model.Server]savedState
	files := map[string]map[string]map[string]savedState{}
	for _, p := range cfg.Proxies {
		path := cfg.ServerStateFile(p)
		if !p.IsBackend() || path == "" {
			continue
		}
		byBackend, done := files[path]
		if !done {
			byBackend = parseStateFile(path)
			files[path] = byBackend
		}
		for _, s := range p.Servers {
			if st, ok := byBackend[p.Name][s.Name]; ok {
				if out == nil {
					out = map[*model.Server]savedState{}
				}
				out[s] = st
			}
		}
	}
	return out
}

// parseStateFile reads one state file: backend name → server name → state.
func parseStateFile(path string) map[string]map[string]savedState {
	f, err := os.Open(path)
	if err != nil {
		log.Printf("[WARNING] config : Can't open server state file '%s': %v", path, err)
		return nil
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != "1" {
		log.Printf("[WARNING] config : Can't get version of the global server state file '%s'.", path)
		return nil
	}
	out := map[string]map[string]savedState{}
	line := 1
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || text[0] == '#' {
			continue
		}
		f := strings.Fields(text)
		st, err := parseStateLine(f)
		if err != nil {
			log.Printf("[WARNING] config : %s:%d: %v; line ignored.", path, line, err)
			continue
		}
		if out[f[stBeName]] == nil {
			out[f[stBeName]] = map[string]savedState{}
		}
		out[f[stBeName]][f[stSrv]] = st
	}
	return out
}

func parseStateLine(f []string) (savedState, error) {
	if len(f) < stMin {
		return savedState{}, fmt.Errorf("%d fields, a version 1 line has at least %d", len(f), stMin)
	}
	admin, err1 := strconv.ParseUint(f[stAdmin], 10, 8)
	uw, err2 := strconv.Atoi(f[stUW])
	iw, err3 := strconv.Atoi(f[stIW])
	if err1 != nil || err2 != nil || err3 != nil || uw < 0 || uw > 256 || iw < 0 || iw > 256 {
		return savedState{}, fmt.Errorf("invalid admin state or weights '%s %s %s'", f[stAdmin], f[stUW], f[stIW])
	}
	if f[stAddr] != "-" {
		if _, err := netip.ParseAddr(f[stAddr]); err != nil {
			return savedState{}, fmt.Errorf("invalid address '%s'", f[stAddr])
		}
	}
	return savedState{addr: f[stAddr], admin: uint32(admin), uweight: uw, iweight: iw, fqdn: f[stFQDN], port: f[stPort]}, nil
}

// lastAddr is the address a server had in the state file ("init-addr
// last"), if any.
func lastAddr(states map[*model.Server]savedState, s *model.Server) (netip.Addr, bool) {
	st, ok := states[s]
	if !ok || st.addr == "-" {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(st.addr)
	return a, err == nil
}

// restoreTemplates gives the servers of an SRV template the records they
// stood for in the state file, so that a reload moves no traffic; the
// resolutions (started after) then keep or change them.
func (rt *Runtime) restoreTemplates(states map[*model.Server]savedState) {
	for _, b := range rt.backends {
		for _, s := range b.Servers {
			st, ok := states[s.Conf]
			if !ok || s.dns == nil || s.Conf.SRV == "" || st.fqdn == "-" || st.addr == "-" {
				continue
			}
			if ip, err := netip.ParseAddr(st.addr); err == nil {
				dst := net.JoinHostPort(ip.String(), st.port)
				s.dns.setHost(st.fqdn)
				s.dns.port = st.port
				s.dst.Store(&dst)
				s.ClearAdmin(backend.AdminResolvMaint)
				s.SetUp(true)
			}
		}
	}
}

// applyServerStates gives the servers what the state file kept of the
// previous process's run time: forced maintenance and drain (with
// HAProxy's log lines, through the checks' state machine once they run)
// and the weight set at run time when the configured one did not change.
func (rt *Runtime) applyServerStates(states map[*model.Server]savedState) {
	for _, b := range rt.backends {
		for _, s := range b.Servers {
			st, ok := states[s.Conf]
			if !ok {
				continue
			}
			if cur, initial := s.Weight(); st.iweight == initial && st.uweight != cur {
				if err := s.SetWeight(st.uweight); err != nil {
					log.Printf("[WARNING] server %s/%s: weight %d from the state file: %v", b.P.Name, s.Name, st.uweight, err)
				}
			}
			switch {
			case st.admin&backend.AdminMaint != 0:
				rt.SetMaint(s, true)
			case st.admin&backend.AdminDrain != 0:
				rt.SetDrainAdmin(s, true)
			}
		}
	}
}
