package tlsconf

import (
	"bufio"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ticketKeysInUse is how many keys of a tls-ticket-keys file HAProxy
// uses (its TLS_TICKETS_NO): the last three lines; the middle one of them
// encrypts new tickets, all three decrypt.
const ticketKeysInUse = 3

// TicketKeys is a "tls-ticket-keys" file, loaded once for every bind
// naming it; "set ssl tls-key" rotates it at run time.
type TicketKeys struct {
	ID   int
	File string
	size int                     // 48 (AES-128) or 80 (AES-256) bytes: new keys must match
	ring [ticketKeysInUse][]byte // oldest first
	cfgs []*tls.Config
}

// loadTicketKeys reads a file of base64 keys, one per line.
func (r *Registry) loadTicketKeys(file string) (*TicketKeys, error) {
	if k := r.tickets[file]; k != nil {
		return k, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("'%s' : unable to load ssl tickets keys file: %v", file, err)
	}
	defer f.Close()
	keys, err := parseTicketKeys(file, f)
	if err != nil {
		return nil, err
	}
	k := &TicketKeys{ID: len(r.ticketOrder), File: file, size: len(keys[0])}
	copy(k.ring[:], keys[len(keys)-ticketKeysInUse:])
	r.tickets[file] = k
	r.ticketOrder = append(r.ticketOrder, k)
	return k, nil
}

// parseTicketKeys reads base64 keys, one per line, all of 48 or all of
// 80 bytes, at least ticketKeysInUse of them.
func parseTicketKeys(file string, in io.Reader) ([][]byte, error) {
	var keys [][]byte
	sc := bufio.NewScanner(in)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' {
			continue
		}
		k, err := base64.StdEncoding.DecodeString(line)
		if err != nil {
			return nil, fmt.Errorf("'%s' : unable to decode base64 key on line %d", file, n)
		}
		if len(k) != 48 && len(k) != 80 {
			return nil, fmt.Errorf("'%s' : wrong sized key on line %d (48 or 80 bytes expected, %d found)", file, n, len(k))
		}
		if len(keys) > 0 && len(k) != len(keys[0]) {
			return nil, fmt.Errorf("'%s' : key on line %d is not of the size of the first one (all 48 or all 80 bytes)", file, n)
		}
		keys = append(keys, k)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("'%s' : %v", file, err)
	}
	if len(keys) < ticketKeysInUse {
		return nil, fmt.Errorf("'%s' : please supply at least %d keys in the tls-tickets-file", file, ticketKeysInUse)
	}
	return keys, nil
}

// apply hands the ring to every bind using it, the encrypting key
// first as crypto/tls wants. Go's keys are 32 bytes: each is derived from
// the whole HAProxy key, so the same file gives the same tickets.
func (k *TicketKeys) apply() {
	order := []int{1, 2, 0}
	keys := make([][32]byte, 0, len(order))
	for _, i := range order {
		keys = append(keys, sha256.Sum256(k.ring[i]))
	}
	for _, c := range k.cfgs {
		c.SetSessionTicketKeys(keys)
	}
}

// defaultLifetime is HAProxy's tune.ssl.lifetime default.
const defaultLifetime = 300 * time.Second

// setupSessions applies no-tls-tickets, tls-ticket-keys and
// tune.ssl.lifetime to a bind's configuration.
func (r *Registry) setupSessions(cfg *tls.Config, o *BindOpts, d *Defaults) error {
	if o.NoTickets || slices.Contains(d.Options, "no-tls-tickets") {
		// Go resumes by tickets only: without them every handshake is full.
		cfg.SessionTicketsDisabled = true
		return nil
	}
	lifetime := d.Lifetime
	if lifetime <= 0 {
		lifetime = defaultLifetime
	}
	sessionLifetime(cfg, lifetime)
	if o.TicketKeys == "" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k, err := r.loadTicketKeys(o.TicketKeys)
	if err != nil {
		return err
	}
	k.cfgs = append(k.cfgs, cfg)
	k.apply()
	return nil
}

// sessionLifetime makes resumption honour tune.ssl.lifetime: the ticket
// carries its creation time, and an older one starts a full handshake.
func sessionLifetime(cfg *tls.Config, lifetime time.Duration) {
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, binary.BigEndian.AppendUint64(nil, uint64(time.Now().Unix())))
		return cfg.EncryptTicket(cs, ss)
	}
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := cfg.DecryptTicket(identity, cs)
		if ss == nil || err != nil || len(ss.Extra) == 0 {
			return nil, err
		}
		last := ss.Extra[len(ss.Extra)-1]
		if len(last) != 8 || time.Since(time.Unix(int64(binary.BigEndian.Uint64(last)), 0)) > lifetime {
			return nil, nil
		}
		ss.Extra = ss.Extra[:len(ss.Extra)-1]
		return ss, nil
	}
}

// findTicketKeys finds a reference by "#<id>" or by file name.
func (r *Registry) findTicketKeys(ref string) *TicketKeys {
	if n, ok := strings.CutPrefix(ref, "#"); ok {
		if i, err := strconv.Atoi(n); err == nil && i >= 0 && i < len(r.ticketOrder) {
			return r.ticketOrder[i]
		}
		return nil
	}
	return r.tickets[ref]
}

// ShowTLSKeys answers "show tls-keys [<id>|*]": the references, or the
// keys of one (or all) of them, oldest first.
func (r *Registry) ShowTLSKeys(ref string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var b strings.Builder
	if ref == "" {
		b.WriteString("# id (file)\n")
		for _, k := range r.ticketOrder {
			fmt.Fprintf(&b, "%d (%s)\n", k.ID, k.File)
		}
		return b.String()
	}
	refs := r.ticketOrder
	if ref != "*" {
		k := r.findTicketKeys(ref)
		if k == nil {
			return "'show tls-keys' unable to locate referenced filename\n"
		}
		refs = []*TicketKeys{k}
	}
	b.WriteString("# id secret\n")
	for _, k := range refs {
		fmt.Fprintf(&b, "# %d (%s)\n", k.ID, k.File)
		for i, key := range k.ring {
			fmt.Fprintf(&b, "%d.%d %s\n", k.ID, i, base64.StdEncoding.EncodeToString(key))
		}
	}
	return b.String()
}

// SetTLSKey answers "set ssl tls-key <id|file> <key>": the key becomes
// the newest, the one before it now encrypts, the oldest is dropped, so
// tickets issued before the previous rotation no longer resume.
func (r *Registry) SetTLSKey(ref, key string) string {
	if ref == "" || key == "" {
		return "'set ssl tls-key' expects a filename and the new TLS key in base64 encoding.\n"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	k := r.findTicketKeys(ref)
	if k == nil {
		return "'set ssl tls-key' unable to locate referenced filename\n"
	}
	raw, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return "'set ssl tls-key' received invalid base64 encoded TLS key.\n"
	}
	if len(raw) != k.size {
		return "'set ssl tls-key' received a key of wrong size.\n"
	}
	copy(k.ring[:], k.ring[1:])
	k.ring[len(k.ring)-1] = raw
	k.apply()
	return "TLS ticket key updated!\n"
}
