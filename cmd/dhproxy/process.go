package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"dhproxy/internal/model"
	"dhproxy/internal/process"
	"dhproxy/internal/stream"
)

func processSettings(g *model.Global) process.Settings {
	return process.Settings{UID: g.UID, GID: g.GID, Chroot: g.Chroot, Nbthread: g.Nbthread, CPUs: g.CPUs}
}

// applyThreads applies "nbthread" and "cpu-map" (best effort: a warning).
func applyThreads(g *model.Global, stderr io.Writer) {
	if err := process.ApplyThreads(processSettings(g)); err != nil {
		fmt.Fprintf(stderr, "[WARNING]  (%d) : %v\n", os.Getpid(), err)
	}
}

// dropPrivileges applies "chroot" and "user"/"group" once everything that
// needs root is open; with VRRP or virtual servers in the process (keepNet)
// CAP_NET_ADMIN and CAP_NET_RAW stay. A binary that cannot keep them on
// every thread keeps running as root, with a warning.
func dropPrivileges(g *model.Global, keepNet bool, stderr io.Writer) error {
	err := process.Drop(processSettings(g), keepNet)
	if errors.Is(err, process.ErrCapsPerThread) {
		fmt.Fprintf(stderr, "[WARNING]  (%d) : privileges not dropped: VRRP and virtual servers need CAP_NET_ADMIN and CAP_NET_RAW, and %v.\n", os.Getpid(), err)
		err = nil
	}
	if err == nil && g.SetDumpable {
		if derr := process.SetDumpable(); derr != nil {
			fmt.Fprintf(stderr, "[WARNING]  (%d) : %v\n", os.Getpid(), derr)
		}
	}
	return err
}

// pauseOnSignals makes SIGTTOU pause the listeners and SIGTTIN resume
// them, as HAProxy does.
func pauseOnSignals(rt *stream.Runtime) {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGTTOU, syscall.SIGTTIN)
	go func() {
		for s := range ch {
			if s == syscall.SIGTTOU {
				rt.Pause()
			} else {
				rt.Resume()
			}
		}
	}()
}
