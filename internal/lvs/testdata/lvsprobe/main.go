// Command lvsprobe is the e2e tests' real server and client inside network
// namespaces:
//
//	lvsprobe serve NAME ADDR     HTTP/1.0 on ADDR (TCP) answering "NAME\n"
//	                             (/big: 1 MiB; /echo: then echoes what it
//	                             gets), and a UDP echo "NAME\n" on ADDR
//	lvsprobe get URL N           N sequential GETs, one body per line
//	lvsprobe udp ADDR N          N datagrams from N sockets, one reply per line
//	lvsprobe hold ADDR           per stdin line "open": a connection to ADDR
//	                             held open, prints the server's name;
//	                             "close NAME N": closes N held on NAME
//	lvsprobe load URL N C        N GETs over C workers, one connection each;
//	                             prints "ok=.. fail=.. secs=.. cps=.."
package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: lvsprobe serve|get|udp|load ...")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "serve":
		serve(os.Args[2], os.Args[3])
	case "get":
		n, _ := strconv.Atoi(os.Args[3])
		get(os.Args[2], n)
	case "udp":
		n, _ := strconv.Atoi(os.Args[3])
		udp(os.Args[2], n)
	case "hold":
		hold(os.Args[2])
	case "load":
		n, _ := strconv.Atoi(os.Args[3])
		c, _ := strconv.Atoi(os.Args[4])
		load(os.Args[2], n, c)
	}
}

func serve(name, addr string) {
	big := strings.Repeat("x", 1<<20)
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	go func() {
		buf := make([]byte, 2048)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo([]byte(name+"\n"), from)
		}
	}()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := l.Accept()
		if err != nil {
			continue
		}
		go func(c net.Conn) {
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			for {
				h, err := br.ReadString('\n')
				if err != nil || h == "\r\n" || h == "\n" {
					break
				}
			}
			body := name + "\n"
			if f := strings.Fields(line); len(f) > 1 && f[1] == "/hold" {
				// Held until the client closes.
				c.SetDeadline(time.Time{})
				fmt.Fprintf(c, "HTTP/1.0 200 OK\r\n\r\n%s", body)
				io.Copy(io.Discard, c)
				return
			}
			if f := strings.Fields(line); len(f) > 1 && f[1] == "/echo" {
				// Held and echoing until the client closes.
				c.SetDeadline(time.Time{})
				fmt.Fprintf(c, "HTTP/1.0 200 OK\r\n\r\n%s", body)
				io.Copy(c, br)
				return
			}
			if f := strings.Fields(line); len(f) > 1 && f[1] == "/big" {
				body = big
			}
			fmt.Fprintf(c, "HTTP/1.0 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		}(c)
	}
}

var client = &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

func fetch(url string) (string, error) {
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b)), err
}

func get(url string, n int) {
	for range n {
		body, err := fetch(url)
		if err != nil {
			fmt.Println("ERROR", err)
			continue
		}
		if len(body) > 64 {
			body = fmt.Sprintf("%d bytes", len(body))
		}
		fmt.Println(body)
	}
}

func udp(addr string, n int) {
	for range n {
		c, err := net.Dial("udp", addr)
		if err != nil {
			fmt.Println("ERROR", err)
			continue
		}
		c.SetDeadline(time.Now().Add(2 * time.Second))
		c.Write([]byte("hello"))
		buf := make([]byte, 256)
		m, err := c.Read(buf)
		c.Close()
		if err != nil {
			fmt.Println("ERROR", err)
			continue
		}
		fmt.Println(strings.TrimSpace(string(buf[:m])))
	}
}

func load(url string, n, conc int) {
	var ok, fail atomic.Int64
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				if _, err := fetch(url); err != nil {
					fail.Add(1)
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	secs := time.Since(start).Seconds()
	fmt.Printf("ok=%d fail=%d secs=%.3f cps=%.0f\n", ok.Load(), fail.Load(), secs, float64(ok.Load())/secs)
}

func hold(addr string) {
	held := map[string][]net.Conn{}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		switch {
		case len(f) == 1 && f[0] == "open":
			c, err := net.DialTimeout("tcp", addr, 3*time.Second)
			if err != nil {
				fmt.Println("ERROR", err)
				continue
			}
			c.SetDeadline(time.Now().Add(3 * time.Second))
			fmt.Fprintf(c, "GET /hold HTTP/1.0\r\n\r\n")
			br := bufio.NewReader(c)
			var name string
			for {
				line, err := br.ReadString('\n')
				if err != nil {
					fmt.Println("ERROR", err)
					break
				}
				if line == "\r\n" {
					name, err = br.ReadString('\n')
					if err != nil {
						fmt.Println("ERROR", err)
					}
					break
				}
			}
			if name = strings.TrimSpace(name); name != "" {
				c.SetDeadline(time.Time{})
				held[name] = append(held[name], c)
				fmt.Println(name)
			}
		case len(f) == 3 && f[0] == "close":
			n, _ := strconv.Atoi(f[2])
			for ; n > 0 && len(held[f[1]]) > 0; n-- {
				held[f[1]][0].Close()
				held[f[1]] = held[f[1]][1:]
			}
			fmt.Println("closed")
		default:
			fmt.Println("ERROR unknown command", in.Text())
		}
	}
}
