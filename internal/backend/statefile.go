package backend

import (
	"bufio"
	"fmt"
	"log"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"dhproxy/internal/model"
)

// SavedState is a server's line of a server state file ("show servers
// state" output, version 1).
type SavedState struct {
	Addr             string // "-" for none
	Admin            uint32
	UWeight, IWeight int
	FQDN             string
	Port             string
}

// ServerStates are the saved states of the configuration's servers.
type ServerStates map[*model.Server]SavedState

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

// ReadServerStates reads the state files the backends of cfg name
// ("load-server-state-from-file"), each once, and returns the saved
// states of the servers they list. A missing or bad file is warned about
// and skipped, as HAProxy does: the configuration's state applies.
func ReadServerStates(cfg *model.Config) ServerStates {
	var out ServerStates
	files := map[string]map[string]map[string]SavedState{}
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
					out = ServerStates{}
				}
				out[s] = st
			}
		}
	}
	return out
}

// parseStateFile reads one state file: backend name → server name → state.
func parseStateFile(path string) map[string]map[string]SavedState {
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
	out := map[string]map[string]SavedState{}
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
			out[f[stBeName]] = map[string]SavedState{}
		}
		out[f[stBeName]][f[stSrv]] = st
	}
	return out
}

func parseStateLine(f []string) (SavedState, error) {
	if len(f) < stMin {
		return SavedState{}, fmt.Errorf("%d fields, a version 1 line has at least %d", len(f), stMin)
	}
	admin, err1 := strconv.ParseUint(f[stAdmin], 10, 8)
	uw, err2 := strconv.Atoi(f[stUW])
	iw, err3 := strconv.Atoi(f[stIW])
	if err1 != nil || err2 != nil || err3 != nil || uw < 0 || uw > 256 || iw < 0 || iw > 256 {
		return SavedState{}, fmt.Errorf("invalid admin state or weights '%s %s %s'", f[stAdmin], f[stUW], f[stIW])
	}
	if f[stAddr] != "-" {
		if _, err := netip.ParseAddr(f[stAddr]); err != nil {
			return SavedState{}, fmt.Errorf("invalid address '%s'", f[stAddr])
		}
	}
	return SavedState{Addr: f[stAddr], Admin: uint32(admin), UWeight: uw, IWeight: iw, FQDN: f[stFQDN], Port: f[stPort]}, nil
}

// LastAddr is the address server s had in the state file ("init-addr
// last"), if any.
func (states ServerStates) LastAddr(s *model.Server) (netip.Addr, bool) {
	st, ok := states[s]
	if !ok || st.Addr == "-" {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(st.Addr)
	return a, err == nil
}
