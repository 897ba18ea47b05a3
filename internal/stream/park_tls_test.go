package stream

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// tlsKeepAliveConfig is keepAliveConfig with an "ssl" bind, and the
// request's path echoed in X-Path so that answers can be matched.
func tlsKeepAliveConfig(t *testing.T, extra string) (cfg string, port int) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t"}, DNSNames: []string{"t"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemFile := filepath.Join(t.TempDir(), "t.pem")
	data := append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...)
	if err := os.WriteFile(pemFile, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, port = keepAliveConfig(t, "safe")
	cfg = strings.Replace(cfg, "timeout client 30s", "timeout client 30s\n"+extra, 1)
	cfg = strings.Replace(cfg, "bind 127.0.0.1:"+strconv.Itoa(port), "bind 127.0.0.1:"+strconv.Itoa(port)+" ssl crt "+pemFile, 1)
	cfg = strings.Replace(cfg, " default_backend be\n", " http-request set-var(txn.p) path\n http-response set-header X-Path %[var(txn.p)]\n default_backend be\n", 1)
	return cfg, port
}

// heldConn holds a TLS client's records back until flush, so that several
// records leave in one segment.
type heldConn struct {
	net.Conn
	mu   sync.Mutex
	hold bool
	out  []byte
}

func (h *heldConn) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hold {
		h.out = append(h.out, p...)
		return len(p), nil
	}
	return h.Conn.Write(p)
}

func (h *heldConn) flush() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hold = false
	_, err := h.Conn.Write(h.out)
	h.out = nil
	return err
}

type tlsClient struct {
	t   *testing.T
	raw *heldConn
	c   *tls.Conn
	r   *bufio.Reader
}

func dialTLSClient(t *testing.T, port int) *tlsClient {
	t.Helper()
	nc, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	h := &heldConn{Conn: nc}
	c := tls.Client(h, &tls.Config{InsecureSkipVerify: true, ServerName: "t"})
	t.Cleanup(func() { c.Close() })
	return &tlsClient{t: t, raw: h, c: c, r: bufio.NewReader(c)}
}

// expect reads one response and checks that it answers path.
func (tc *tlsClient) expect(path string) error {
	tc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(tc.r, nil)
	if err != nil {
		return fmt.Errorf("response to %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if got := resp.Header.Get("X-Path"); resp.StatusCode != 200 || got != path {
		return fmt.Errorf("response to %s: %d for %q", path, resp.StatusCode, got)
	}
	return nil
}

func (tc *tlsClient) get(path string) {
	tc.t.Helper()
	if _, err := fmt.Fprintf(tc.c, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path); err != nil {
		tc.t.Fatal(err)
	}
	if err := tc.expect(path); err != nil {
		tc.t.Fatal(err)
	}
}

// An idle TLS keep-alive connection parks like a plain one (its goroutine,
// session object and buffers go) and is served again when it speaks.
func TestTLSKeepAliveParks(t *testing.T) {
	fastParking(t)
	cfg, port := tlsKeepAliveConfig(t, "")
	rt := startRuntime(t, cfg)
	tc := dialTLSClient(t, port)
	tc.get("/a")
	for _, p := range []string{"/b", "/c"} {
		waitFor(t, "the TLS connection parks", func() bool { return rt.parker.Parked() == 1 })
		tc.get(p)
	}
}

// Requests that the parked connection's tls.Conn may have read ahead are
// not lost: two requests in one TLS record, and two records in one
// segment, each followed by a pause long enough to park.
func TestTLSParkedReadAhead(t *testing.T) {
	fastParking(t)
	cfg, port := tlsKeepAliveConfig(t, "")
	rt := startRuntime(t, cfg)
	tc := dialTLSClient(t, port)
	tc.get("/first")
	waitFor(t, "the TLS connection parks", func() bool { return rt.parker.Parked() == 1 })

	// One record: one Write of the TLS client.
	if _, err := tc.c.Write([]byte("GET /one1 HTTP/1.1\r\nHost: t\r\n\r\nGET /one2 HTTP/1.1\r\nHost: t\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/one1", "/one2"} {
		if err := tc.expect(p); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the TLS connection parks again", func() bool { return rt.parker.Parked() == 1 })

	// Two records in one segment.
	tc.raw.mu.Lock()
	tc.raw.hold = true
	tc.raw.mu.Unlock()
	for _, p := range []string{"/two1", "/two2"} {
		if _, err := fmt.Fprintf(tc.c, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", p); err != nil {
			t.Fatal(err)
		}
	}
	if err := tc.raw.flush(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/two1", "/two2"} {
		if err := tc.expect(p); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the TLS connection parks once more", func() bool { return rt.parker.Parked() == 1 })
	tc.get("/last")
}

// TLS clients that speak around the parking moment, some pipelining two
// requests in two records of one segment: every answer comes, in order.
func TestTLSParkedSessionsResume(t *testing.T) {
	fastParking(t)
	cfg, port := tlsKeepAliveConfig(t, "")
	startRuntime(t, cfg)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		tc := dialTLSClient(t, port) // here: it may call t.Fatal
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range 20 {
				// Pauses around parkAfter (20ms) and the sweep period.
				time.Sleep(time.Duration((i*7+n*13)%40) * time.Millisecond)
				paths := []string{fmt.Sprintf("/c%d/r%d", i, n)}
				if n%3 == 1 {
					paths = append(paths, paths[0]+"b")
					tc.raw.mu.Lock()
					tc.raw.hold = true
					tc.raw.mu.Unlock()
				}
				for _, p := range paths {
					if _, err := fmt.Fprintf(tc.c, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", p); err != nil {
						errs <- err
						return
					}
				}
				if len(paths) > 1 {
					if err := tc.raw.flush(); err != nil {
						errs <- err
						return
					}
				}
				for _, p := range paths {
					if err := tc.expect(p); err != nil {
						errs <- fmt.Errorf("client %d: %v", i, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// A parked TLS connection is closed when the keep-alive timeout ends.
func TestTLSParkedKeepAliveTimeout(t *testing.T) {
	fastParking(t)
	cfg, port := tlsKeepAliveConfig(t, " timeout http-keep-alive 300ms")
	rt := startRuntime(t, cfg)
	tc := dialTLSClient(t, port)
	sent := time.Now()
	tc.get("/a")
	answered := time.Now()
	waitFor(t, "the TLS connection parks", func() bool { return rt.parker.Parked() == 1 })
	tc.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := tc.r.ReadByte(); err != io.EOF {
		t.Fatalf("read %d, %v; want EOF when the keep-alive timeout ends", n, err)
	}
	// The timeout starts when the response went out: after the request
	// left here, before the response was read here (late, on a loaded
	// machine), so each bounds it from one side.
	if d, e := time.Since(sent), time.Since(answered); d < 300*time.Millisecond || e > 1500*time.Millisecond {
		t.Fatalf("closed %v after the request, %v after the response, want 300ms after the response", d, e)
	}
	if n := rt.parker.Parked(); n != 0 {
		t.Fatalf("%d sessions still parked", n)
	}
}
