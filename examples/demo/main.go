// Command demo runs dhproxy on examples/tutorial.cfg together with the two
// small web servers that configuration balances over (127.0.0.1:9001 and
// :9002), so that a newcomer sees it work on a fresh machine:
//
//	GOTOOLCHAIN=go1.26.11 go run ./examples/demo
//	curl http://127.0.0.1:8080/      # answers alternate: web1, web2, ...
//
// The backends use net/http: they stand in for the operator's web servers
// and are not part of the proxy.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"
)

func main() {
	cfg := flag.String("f", "examples/tutorial.cfg", "configuration to run")
	flag.Parse()
	for _, b := range []struct{ name, addr string }{{"web1", "127.0.0.1:9001"}, {"web2", "127.0.0.1:9002"}} {
		l, err := net.Listen("tcp", b.addr)
		if err != nil {
			log.Fatalf("demo backend %s: %v", b.name, err)
		}
		name := b.name
		go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "hello from %s (X-Forwarded-For: %s)\n", name, r.Header.Get("X-Forwarded-For"))
		}))
		log.Printf("demo backend %s listening on %s", b.name, b.addr)
	}
	// Build the real binary and run it in the foreground (-db), as an operator would.
	dir, err := os.MkdirTemp("", "dhproxy-demo")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "dhproxy")
	build := exec.Command("go", "build", "-o", bin, "./cmd/dhproxy")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		log.Fatalf("building dhproxy: %v", err)
	}
	proxy := exec.Command(bin, "-db", "-f", *cfg)
	proxy.Stdout, proxy.Stderr = os.Stdout, os.Stderr
	if err := proxy.Start(); err != nil {
		log.Fatal(err)
	}
	log.Printf("dhproxy runs %s (pid %d); try: curl http://127.0.0.1:8080/  — Ctrl-C stops", *cfg, proxy.Process.Pid)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- proxy.Wait() }()
	select {
	case <-sig:
		proxy.Process.Signal(syscall.SIGTERM)
		<-done
	case err := <-done:
		log.Printf("dhproxy exited: %v", err)
		os.Exit(1)
	}
}
