package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"dhproxy/internal/config"
)

// Version is dhproxy's own version; the release date follows it on -v.
const (
	Version     = "0.1.0-dev"
	ReleaseDate = "2026/11/25"
)

func printVersion(w io.Writer, level int) {
	fmt.Fprintf(w, "dhproxy version %s %s - https://github.com/dhproxy/dhproxy\n", Version, ReleaseDate)
	fmt.Fprintf(w, "Status: development branch - not safe for production.\n")
	fmt.Fprintf(w, "Config language: HAProxy %s compatible\n", config.CompatVersion)
	var u unix.Utsname
	if unix.Uname(&u) == nil {
		fmt.Fprintf(w, "Running on: %s %s %s %s\n", cstr(u.Sysname[:]), cstr(u.Release[:]), cstr(u.Version[:]), cstr(u.Machine[:]))
	}
	if level < 2 {
		return
	}
	fmt.Fprintf(w, "\nBuild options :\n  TARGET  = %s-%s\n  COMPILER = %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.Version())
	feats := []string{"+EPOLL", "-KQUEUE", "-OPENSSL", "-PCRE", "-PCRE2", "-LUA", "-PROMEX", "-QUIC", "-ZLIB"}
	for _, f := range config.Features {
		feats = append(feats, "+"+f)
	}
	fmt.Fprintf(w, "Feature list : %s\n\n", strings.Join(feats, " "))
	fmt.Fprintf(w, "Default settings :\n  bufsize = 16384, maxrewrite = 1024\n\n")
	fmt.Fprintf(w, "Built with multi-threading support (GOMAXPROCS=%d).\n\n", runtime.GOMAXPROCS(0))
	fmt.Fprintf(w, "Available polling systems :\n      epoll : pref=300,  test result OK\nTotal: 1 (1 usable), will use epoll.\n\n")
	fmt.Fprintf(w, "Available multiplexer protocols :\n(protocols marked as <default> cannot be specified using 'proto' keyword)\n       fcgi : mode=HTTP  side=BE     mux=FCGI  flags=HTX|NO_UPG\n         h1 : mode=HTTP  side=FE|BE  mux=H1  flags=HTX|NO_UPG\n       <default> : mode=TCP  side=FE|BE  mux=PASS  flags=\n")
}

func cstr(b []byte) string {
	if i := strings.IndexByte(string(b), 0); i >= 0 {
		return string(b[:i])
	}
	return string(b)
}
