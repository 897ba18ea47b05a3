package sample

import (
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// Fetches of the connections' own ends and of the kernel's TCP state:
// fc_* read the client connection as it was accepted (after a PROXY
// header or a tcp-request connection set-src, which change it, but not
// after later set-src/set-dst rules, which change src/dst); bc_* read
// the connection to the server once there is one.

// ConnTxn is a transaction that knows its connections' ends.
type ConnTxn interface {
	// FrontAddrs are the client connection's ends.
	FrontAddrs() (src, dst netip.AddrPort)
	// BackAddrs are the server connection's ends; invalid before one
	// exists.
	BackAddrs() (src, dst netip.AddrPort)
	// ClientTCPInfo is the kernel's TCP_INFO for the client connection
	// (an HTTP/2 stream's is its connection's); false without one.
	ClientTCPInfo() (*unix.TCPInfo, bool)
}

func init() {
	end := func(name string, phases Phase, needs string, pick func(ConnTxn) netip.AddrPort, port bool) {
		out := TypeIP
		if port {
			out = TypeInt
		}
		RegisterFetch(&FetchDef{Name: name, Out: out, Phases: phases, Needs: needs,
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				ct, ok := t.(ConnTxn)
				if !ok {
					return false
				}
				ap := pick(ct)
				if !ap.IsValid() {
					return false
				}
				if port {
					v.SetInt(int64(ap.Port()))
				} else {
					v.SetIP(ap.Addr())
				}
				return true
			}})
	}
	fsrc := func(c ConnTxn) netip.AddrPort { s, _ := c.FrontAddrs(); return s }
	fdst := func(c ConnTxn) netip.AddrPort { _, d := c.FrontAddrs(); return d }
	bsrc := func(c ConnTxn) netip.AddrPort { s, _ := c.BackAddrs(); return s }
	bdst := func(c ConnTxn) netip.AddrPort { _, d := c.BackAddrs(); return d }
	end("fc_src", PhaseAll, "", fsrc, false)
	end("fc_src_port", PhaseAll, "", fsrc, true)
	end("fc_dst", PhaseAll, "", fdst, false)
	end("fc_dst_port", PhaseAll, "", fdst, true)
	const needsServer = "a connection to a server (http-response rules or the log)"
	end("bc_src", PhaseRes|PhaseResContent, needsServer, bsrc, false)
	end("bc_src_port", PhaseRes|PhaseResContent, needsServer, bsrc, true)
	end("bc_dst", PhaseRes|PhaseResContent, needsServer, bdst, false)
	end("bc_dst_port", PhaseRes|PhaseResContent, needsServer, bdst, true)
	for name, pick := range map[string]func(ConnTxn) netip.AddrPort{"fc_src_is_local": fsrc, "fc_dst_is_local": fdst} {
		RegisterFetch(&FetchDef{Name: name, Out: TypeBool, Phases: PhaseAll,
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				ct, ok := t.(ConnTxn)
				if !ok {
					return false
				}
				ap := pick(ct)
				v.SetBool(!ap.IsValid() || addrIsLocal(ap.Addr()))
				return true
			}})
	}

	// fc_rtt([unit]) and fc_rttvar([unit]): milliseconds, or "us".
	for name, field := range map[string]func(*unix.TCPInfo) uint32{
		"fc_rtt":    func(i *unix.TCPInfo) uint32 { return i.Rtt },
		"fc_rttvar": func(i *unix.TCPInfo) uint32 { return i.Rttvar },
	} {
		RegisterFetch(&FetchDef{Name: name, Args: []ArgType{ArgStr}, Out: TypeInt, Phases: PhaseAll, Prepare: prepareRTTUnit,
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				info, ok := clientTCPInfo(t)
				if !ok {
					return false
				}
				n := int64(field(info))
				if a.Int[1] == 0 {
					n /= 1000
				}
				v.SetInt(n)
				return true
			}})
	}
	for name, field := range map[string]func(*unix.TCPInfo) uint32{
		"fc_unacked":    func(i *unix.TCPInfo) uint32 { return i.Unacked },
		"fc_sacked":     func(i *unix.TCPInfo) uint32 { return i.Sacked },
		"fc_retrans":    func(i *unix.TCPInfo) uint32 { return i.Retrans },
		"fc_fackets":    func(i *unix.TCPInfo) uint32 { return i.Fackets },
		"fc_lost":       func(i *unix.TCPInfo) uint32 { return i.Lost },
		"fc_reordering": func(i *unix.TCPInfo) uint32 { return i.Reordering },
	} {
		RegisterFetch(&FetchDef{Name: name, Out: TypeInt, Phases: PhaseAll,
			Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
				info, ok := clientTCPInfo(t)
				if ok {
					v.SetInt(int64(field(info)))
				}
				return ok
			}})
	}
}

func clientTCPInfo(t Txn) (*unix.TCPInfo, bool) {
	ct, ok := t.(ConnTxn)
	if !ok {
		return nil, false
	}
	return ct.ClientTCPInfo()
}

// prepareRTTUnit reads fc_rtt's unit: Int[1] is 1 for microseconds.
func prepareRTTUnit(c *Compiler, a *Args) error {
	switch a.Str[0] {
	case "", "ms":
	case "us":
		a.Int[1] = 1
	default:
		return fmt.Errorf("the unit must be 'ms' or 'us', not '%s'", a.Str[0])
	}
	return nil
}
