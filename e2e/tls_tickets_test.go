package e2e

// TLS session tickets: tls-ticket-keys with haproxy's rotation over the
// stats socket, no-tls-tickets, tune.ssl.lifetime. openssl s_client keeps
// the session in a file (-sess_out) and offers it again (-sess_in).
// Passes against haproxy 2.6 too (its session-ID cache is turned off with
// tune.ssl.cachesize 0 so that only tickets resume).

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func ticketKey(t *testing.T) string {
	k := make([]byte, 48)
	rand.Read(k)
	return base64.StdEncoding.EncodeToString(k)
}

// resumed connects with the session in file (made first when absent) and
// says whether the handshake resumed it.
func resumed(t *testing.T, port int, ca *tlsCA, file string) bool {
	t.Helper()
	args := []string{"-tls1_2", "-servername", "a.test", "-CAfile", ca.pemFil}
	if _, err := os.Stat(file); err != nil {
		args = append(args, "-sess_out", file)
	} else {
		args = append(args, "-sess_in", file)
	}
	out, ok := sClient(t, port, args...)
	if !ok {
		t.Fatalf("s_client failed:\n%s", out)
	}
	return strings.Contains(out, "\nReused, ")
}

func TestTLSTicketKeysRotation(t *testing.T) {
	ca := newTLSCA(t)
	dir := t.TempDir()
	a := ca.writePEM(t, dir, "a.pem", "a.test")
	keys := filepath.Join(dir, "tls-ticket-keys")
	k1, k2, k3 := ticketKey(t), ticketKey(t), ticketKey(t)
	os.WriteFile(keys, []byte(k1+"\n"+k2+"\n"+k3+"\n"), 0o600)
	sock := filepath.Join(dir, "api.sock")
	port, noTickets := freePort(t), freePort(t)
	startProxy(t, fmt.Sprintf(`
global
	stats socket %s level admin
	tune.ssl.cachesize 0`, sock)+defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s tls-ticket-keys %s
	bind 127.0.0.1:%d ssl crt %s no-tls-tickets
	http-request return status 200
`, port, a, keys, noTickets, a), port, noTickets)

	if got := cliCmd(t, sock, "show tls-keys"); got != "# id (file)\n0 ("+keys+")\n\n" {
		t.Errorf("show tls-keys: %q", got)
	}
	if got := cliCmd(t, sock, "show tls-keys #0"); got != fmt.Sprintf("# id secret\n# 0 (%s)\n0.0 %s\n0.1 %s\n0.2 %s\n\n", keys, k1, k2, k3) {
		t.Errorf("show tls-keys #0:\n%s", got)
	}
	sess := filepath.Join(dir, "sess")
	if resumed(t, port, ca, sess) {
		t.Fatal("the first handshake cannot resume")
	}
	if !resumed(t, port, ca, sess) {
		t.Fatal("the session did not resume with the current key")
	}
	// One rotation: the key that encrypted the ticket still decrypts.
	if got := cliCmd(t, sock, "set ssl tls-key #0 "+ticketKey(t)); got != "TLS ticket key updated!\n\n" {
		t.Fatalf("set ssl tls-key: %q", got)
	}
	if !resumed(t, port, ca, sess) {
		t.Error("the session did not resume after one rotation")
	}
	// Two rotations: that key is gone, the ticket is refused.
	cliCmd(t, sock, "set ssl tls-key "+keys+" "+ticketKey(t))
	if resumed(t, port, ca, sess) {
		t.Error("the session resumed after its key rotated out")
	}
	if got := cliCmd(t, sock, "set ssl tls-key #0 "+base64.StdEncoding.EncodeToString(make([]byte, 80))); got != "'set ssl tls-key' received a key of wrong size.\n\n" {
		t.Errorf("80-byte key into a 48-byte ring: %q", got)
	}
	if got := cliCmd(t, sock, "set ssl tls-key #7 "+ticketKey(t)); got != "'set ssl tls-key' unable to locate referenced filename\n\n" {
		t.Errorf("unknown reference: %q", got)
	}

	noSess := filepath.Join(dir, "nosess")
	resumed(t, noTickets, ca, noSess)
	if resumed(t, noTickets, ca, noSess) {
		t.Error("no-tls-tickets: the session resumed")
	}
}

func TestTLSSessionLifetime(t *testing.T) {
	ca := newTLSCA(t)
	dir := t.TempDir()
	a := ca.writePEM(t, dir, "a.pem", "a.test")
	port := freePort(t)
	startProxy(t, `
global
	tune.ssl.lifetime 3
	tune.ssl.cachesize 0`+defaultsSection("http", "2s", "5s", "5s")+fmt.Sprintf(`
frontend fe
	bind 127.0.0.1:%d ssl crt %s
	http-request return status 200
`, port, a), port)
	sess := filepath.Join(dir, "sess")
	resumed(t, port, ca, sess)
	if !resumed(t, port, ca, sess) {
		t.Fatal("the session did not resume within its lifetime")
	}
	// OpenSSL dates sessions in whole seconds and the resumption gave a
	// new ticket: 4 s are past the lifetime of both for haproxy too.
	time.Sleep(4100 * time.Millisecond)
	if resumed(t, port, ca, sess) {
		t.Error("the session resumed after tune.ssl.lifetime")
	}
}
