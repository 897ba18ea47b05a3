package sample

import (
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"dhproxy/internal/tlsconf"
)

// Layer 4, internal state and constant fetches: valid in every phase.

func init() {
	any := func(name string, out Type, fn FetchFunc, minArgs int, prep PrepareFunc, args ...ArgType) {
		RegisterFetch(&FetchDef{Name: name, Args: args, MinArgs: minArgs, Out: out, Phases: PhaseAll, Fn: fn, Prepare: prep})
	}
	any("src", TypeIP, func(t Txn, a *Args, it *Iter, v *Value) bool {
		ap := t.Src()
		if !ap.IsValid() {
			return false // a unix socket client has no address
		}
		v.SetIP(ap.Addr())
		return true
	}, 0, nil)
	any("src_port", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		ap := t.Src()
		v.SetInt(int64(ap.Port()))
		return ap.IsValid()
	}, 0, nil)
	any("dst", TypeIP, func(t Txn, a *Args, it *Iter, v *Value) bool {
		ap := t.Dst()
		if !ap.IsValid() {
			return false
		}
		v.SetIP(ap.Addr())
		return true
	}, 0, nil)
	any("dst_port", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		ap := t.Dst()
		v.SetInt(int64(ap.Port()))
		return ap.IsValid()
	}, 0, nil)
	// src_is_local, dst_is_local: whether the address is one of this
	// host's (a client on a unix socket is local), found as HAProxy
	// does by binding a socket to it.
	any("src_is_local", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		ap := t.Src()
		v.SetBool(!ap.IsValid() || addrIsLocal(ap.Addr()))
		return true
	}, 0, nil)
	any("dst_is_local", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		ap := t.Dst()
		if !ap.IsValid() {
			return false
		}
		v.SetBool(addrIsLocal(ap.Addr()))
		return true
	}, 0, nil)
	any("fe_name", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetStr(t.FrontendName())
		return true
	}, 0, nil)
	any("be_name", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetStr(t.BackendName())
		return true
	}, 0, nil)
	any("nbsrv", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		n := t.UsableServers(a.Byt[0])
		v.SetInt(int64(n))
		return n >= 0
	}, 0, prepareBackendRef("nbsrv"), ArgStr)

	any("str", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetStr(a.Byt[0])
		return true
	}, 1, nil, ArgStr)
	any("int", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetInt(a.Int[0])
		return true
	}, 1, nil, ArgInt)
	any("bool", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetBool(a.Int[0] != 0)
		return true
	}, 1, prepareBool, ArgStr)
	any("always_true", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetBool(true)
		return true
	}, 0, nil)
	any("always_false", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetBool(false)
		return true
	}, 0, nil)
	// env is read once at load time: the process environment does not
	// change while it runs, and reading it per request would allocate.
	any("env", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		val, ok := a.Data.([]byte)
		if ok {
			v.SetStr(val)
		}
		return ok
	}, 1, func(c *Compiler, a *Args) error {
		lookup := os.LookupEnv
		if c.Env != nil {
			lookup = c.Env
		}
		if val, ok := lookup(a.Str[0]); ok {
			a.Data = []byte(val)
		}
		return nil
	}, ArgStr)
}

// addrIsLocal tells whether ip belongs to this host: a socket can be
// bound to it.
func addrIsLocal(ip netip.Addr) bool {
	ip = ip.Unmap()
	family := unix.AF_INET6
	var sa unix.Sockaddr = &unix.SockaddrInet6{Addr: ip.As16()}
	if ip.Is4() {
		family, sa = unix.AF_INET, &unix.SockaddrInet4{Addr: ip.As4()}
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.Bind(fd, sa) == nil
}

// constIP is ipv4 and ipv6: the address prepareIP parsed.
func constIP(t Txn, a *Args, it *Iter, v *Value) bool {
	v.SetIP(a.Data.(netip.Addr))
	return true
}

// prepareIP parses an ipv4 (v4) or ipv6 constant.
func prepareIP(v4 bool) PrepareFunc {
	return func(c *Compiler, a *Args) error {
		ip, err := netip.ParseAddr(a.Str[0])
		switch {
		case err != nil || ip.Zone() != "":
			return fmt.Errorf("'%s' is not an IP address", a.Str[0])
		case v4 && !ip.Is4():
			return fmt.Errorf("'%s' is not an IPv4 address", a.Str[0])
		case !v4 && !ip.Is6():
			return fmt.Errorf("'%s' is not an IPv6 address", a.Str[0])
		}
		a.Data = ip
		return nil
	}
}

func prepareBool(c *Compiler, a *Args) error {
	switch a.Str[0] {
	case "1", "true":
		a.Int[0] = 1
	case "0", "false":
		a.Int[0] = 0
	default:
		return fmt.Errorf("'%s' is not a boolean; write true, false, 1 or 0", a.Str[0])
	}
	return nil
}

func init() {
	any := func(name string, out Type, fn FetchFunc, prep PrepareFunc, args ...ArgType) {
		RegisterFetch(&FetchDef{Name: name, Args: args, Out: out, Phases: PhaseAll, Fn: fn, Prepare: prep})
	}
	// date([offset]): the current Unix time, plus offset seconds.
	any("date", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetInt(time.Now().Unix() + a.Int[0])
		return true
	}, nil, ArgInt)
	// date_us: the microseconds of the current second.
	any("date_us", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetInt(int64(time.Now().Nanosecond() / 1000))
		return true
	}, nil)
	// hostname: the system's, read once at load time as HAProxy does.
	any("hostname", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetStr(a.Byt[1])
		return true
	}, func(c *Compiler, a *Args) error {
		name, err := os.Hostname()
		if err != nil {
			return fmt.Errorf("cannot read the system's hostname: %v", err)
		}
		a.Byt[1] = []byte(name)
		return nil
	})
	// thread: sessions are not tied to threads here (goroutines move
	// between them), so every one reads as thread 0, which is what a
	// HAProxy with nbthread 1 answers.
	any("thread", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetInt(0)
		return true
	}, nil)
	any("proc", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetInt(1) // HAProxy 2.6 has a single process too
		return true
	}, nil)
	// ipv4(<address>), ipv6(<address>) and bin(<hex>): constants checked
	// at load time.
	any("ipv4", TypeIP, constIP, prepareIP(true), ArgStr)
	any("ipv6", TypeIP, constIP, prepareIP(false), ArgStr)
	any("bin", TypeBin, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetBin(a.Byt[1])
		return true
	}, func(c *Compiler, a *Args) error {
		b, err := hex.DecodeString(a.Str[0])
		if err != nil {
			return fmt.Errorf("'%s' is not an even number of hexadecimal digits", a.Str[0])
		}
		a.Byt[1] = b
		return nil
	}, ArgStr)
	// rand([range]): a random integer in [0, range), 32 bits by default.
	any("rand", TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
		n := a.Int[0]
		if a.N == 0 {
			n = 1 << 32
		}
		v.SetInt(rand.Int64N(n))
		return true
	}, func(c *Compiler, a *Args) error {
		if a.N > 0 && a.Int[0] <= 0 {
			return fmt.Errorf("the range must be more than 0")
		}
		return nil
	}, ArgInt)
	// uuid([4]): a random version 4 UUID.
	any("uuid", TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
		var b [16]byte
		binary.LittleEndian.PutUint64(b[:8], rand.Uint64())
		binary.LittleEndian.PutUint64(b[8:], rand.Uint64())
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		s := t.Scratch()
		start := len(*s)
		for i, c := range b {
			if i == 4 || i == 6 || i == 8 || i == 10 {
				*s = append(*s, '-')
			}
			*s = append(*s, hexDigits[c>>4], hexDigits[c&15])
		}
		v.SetStr((*s)[start:len(*s):len(*s)])
		return true
	}, func(c *Compiler, a *Args) error {
		if a.N > 0 && a.Int[0] != 4 {
			return fmt.Errorf("only version 4 UUIDs exist")
		}
		return nil
	}, ArgInt)
	any("ssl_fc", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetBool(clientTLS(t) != nil)
		return true
	}, nil)
	tlsField := func(name string, field func(*TLSInfo) []byte) {
		any(name, TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
			ti := clientTLS(t)
			if ti == nil {
				return false
			}
			b := field(ti)
			if len(b) == 0 {
				return false // no SNI or no ALPN sent: absent, as in HAProxy
			}
			v.SetStr(b)
			return true
		}, nil)
	}
	tlsField("ssl_fc_sni", func(ti *TLSInfo) []byte { return ti.SNI })
	tlsField("ssl_fc_protocol", func(ti *TLSInfo) []byte { return ti.Protocol })
	tlsField("ssl_fc_cipher", func(ti *TLSInfo) []byte { return ti.Cipher })
	tlsField("ssl_fc_alpn", func(ti *TLSInfo) []byte { return ti.ALPN })
	for _, alg := range []bool{false, true} {
		name := "ssl_fc_use_keysize"
		if alg {
			name = "ssl_fc_alg_keysize"
		}
		any(name, TypeInt, func(t Txn, a *Args, it *Iter, v *Value) bool {
			ti := clientTLS(t)
			if ti == nil {
				return false
			}
			use, algBits := tlsconf.CipherKeyBits(string(ti.Cipher))
			if alg {
				use = algBits
			}
			v.SetInt(int64(use))
			return true
		}, nil)
	}

	// The PROXY header the client connection started with.
	any("fc_rcvd_proxy", TypeBool, func(t Txn, a *Args, it *Iter, v *Value) bool {
		v.SetBool(receivedPP(t) != nil)
		return true
	}, nil)
	ppField := func(name string, field func(*PPInfo) []byte) {
		any(name, TypeStr, func(t Txn, a *Args, it *Iter, v *Value) bool {
			pp := receivedPP(t)
			if pp == nil || field(pp) == nil {
				return false
			}
			v.SetStr(field(pp))
			return true
		}, nil)
	}
	ppField("fc_pp_authority", func(pp *PPInfo) []byte { return pp.Authority })
	ppField("fc_pp_unique_id", func(pp *PPInfo) []byte { return pp.UniqueID })
}

// PPInfo is what a received PROXY header carried beside the addresses
// (version 2 TLVs; nil when absent).
type PPInfo struct {
	Authority []byte
	UniqueID  []byte
}

// PPTxn is a Txn whose client connection may have started with a PROXY
// header.
type PPTxn interface {
	ProxyHeader() *PPInfo // nil when none was received
}

func receivedPP(t Txn) *PPInfo {
	if pt, ok := t.(PPTxn); ok {
		return pt.ProxyHeader()
	}
	return nil
}

const hexDigits = "0123456789abcdef"

// TLSInfo describes a client's TLS connection for the ssl_fc* fetches,
// computed once per connection.
type TLSInfo struct {
	SNI      []byte // server name the client sent (lower case as sent)
	Protocol []byte // "TLSv1.3"
	Cipher   []byte // OpenSSL's name, as HAProxy prints it
	ALPN     []byte // negotiated protocol
	Resumed  bool   // the session was resumed (ticket or cache)

	Client *ClientCert // the client's certificate (mTLS binds), nil when none asked
	// Served is the bind's certificate the handshake chose (ssl_f_*).
	Served *x509.Certificate
}

// TLSTxn is a Txn whose client connection may be TLS.
type TLSTxn interface {
	ClientTLS() *TLSInfo // nil when the connection is not TLS
}

func clientTLS(t Txn) *TLSInfo {
	if tt, ok := t.(TLSTxn); ok {
		return tt.ClientTLS()
	}
	return nil
}
