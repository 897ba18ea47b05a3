package conn

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"testing"
	"time"
)

// A client's TLS records go through raw descriptor I/O (TLSTransport), in
// both directions at once, with the connection's deadlines still applying.
func TestTLSTransportRawIO(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "t.test"}, DNSNames: []string{"t.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	payload := bytes.Repeat([]byte("0123456789abcdef"), 8192) // 128 KiB
	done := make(chan error, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			done <- err
			return
		}
		tr := NewTLSTransport(c)
		if _, ok := tr.(*TLSTransport); !ok {
			done <- io.ErrUnexpectedEOF
			return
		}
		sc := tls.Server(tr, &tls.Config{Certificates: []tls.Certificate{cert}})
		defer sc.Close()
		sc.SetDeadline(time.Now().Add(5 * time.Second))
		// Echo while the client still writes: reads and writes overlap.
		_, err = io.CopyN(sc, sc, int64(len(payload)))
		if err == nil {
			// An idle client: the read deadline ends the wait.
			sc.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			_, err = sc.Read(make([]byte, 1))
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				err = nil
			} else if err == nil {
				err = io.ErrNoProgress
			}
		}
		done <- err
	}()
	cc, err := tls.Dial("tcp", l.Addr().String(), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Close()
	cc.SetDeadline(time.Now().Add(5 * time.Second))
	go cc.Write(payload)
	got := make([]byte, len(payload))
	if _, err := io.ReadFull(cc, got); err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("echo: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("server side: %v", err)
	}
}
