//go:build !linux

package check

import "syscall"

// delayACK is Linux-only; elsewhere the server sees the check connection.
func delayACK(_, _ string, _ syscall.RawConn) error { return nil }

func setUserTimeout(_ syscall.RawConn, _ int) error { return nil }
