package stream

import (
	"net"

	"dhproxy/internal/conn"
	"dhproxy/internal/rules"
)

// setSockOpt runs a set-mark or set-tos rule on the client's socket.
func setSockOpt(c net.Conn, r *rules.Rule) {
	if r.Action == rules.SetMark {
		conn.SetMark(c, int(r.Int))
	} else {
		conn.SetTOS(c, int(r.Int))
	}
}
