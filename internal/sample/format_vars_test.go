package sample

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// logVarTxn writes a log variable as "<kind.flags>".
type logVarTxn struct{ *fakeTxn }

func (l logVarTxn) AppendLogVar(dst []byte, lv LogVar) []byte {
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(lv.Kind), 10)
	dst = append(dst, '.')
	dst = strconv.AppendInt(dst, int64(lv.Flags), 10)
	return append(dst, '>')
}

// testLogVar knows "ci" (1) and "cp" (2); "{+Q}" sets flag 1.
func testLogVar(spec string) (LogVar, int, error) {
	var lv LogVar
	n := 0
	if strings.HasPrefix(spec, "{+Q}") {
		lv.Flags, n = 1, 4
	}
	switch {
	case strings.HasPrefix(spec[n:], "ci"):
		lv.Kind = 1
	case strings.HasPrefix(spec[n:], "cp"):
		lv.Kind = 2
	default:
		return LogVar{}, 0, errors.New("no such variable")
	}
	return lv, n + 2, nil
}

func TestFormatLogVars(t *testing.T) {
	txn := logVarTxn{newTxn(t, testHead)}
	for text, want := range map[string]string{
		"%ci":                    "<1.0>",
		"%[src]:%cp":             "192.168.1.20:<2.0>",
		"a %{+Q}ci b":            "a <1.1> b",
		"%{+Q}[path]|%{-Q}[src]": "/static/img/logo.PNG|192.168.1.20", // flags change no expression
		"100%% %ci%cp":           "100% <1.0><2.0>",
	} {
		c := Compiler{LogVar: testLogVar}
		f, err := c.CompileFormat(text, PhaseReq)
		if err != nil {
			t.Errorf("%s: %v", text, err)
			continue
		}
		if f.IsStatic {
			t.Errorf("%s: compiled as static text", text)
		}
		var v Value
		if got := string(f.Append(txn, &v, nil)); got != want {
			t.Errorf("%s = %q, want %q", text, got, want)
		}
		// a transaction without log variables (mode tcp) writes nothing for them
		if f.Usable(PhaseConn | PhaseContent) {
			t.Errorf("%s: usable in mode tcp", text)
		}
	}
	for text, msg := range map[string]string{"%zz": "no such variable", "%": "no such variable"} {
		c := Compiler{LogVar: testLogVar}
		if _, err := c.CompileFormat(text, PhaseReq); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: error %v, want %q", text, err, msg)
		}
	}
	var c Compiler // no LogVar: only %[expr]
	if _, err := c.CompileFormat("%ci", PhaseReq); err == nil || !strings.Contains(err.Error(), "'%ci' is not supported here") {
		t.Errorf("without LogVar: %v", err)
	}
}

// Process variables are shared by every transaction of a configuration;
// another configuration (a reload) starts without them.
func TestProcVars(t *testing.T) {
	var c Compiler
	r, err := c.ParseVar("proc.hits")
	if err != nil || r.Scope != ScopeProc || r.Proc == nil {
		t.Fatalf("ParseVar(proc.hits) = %+v, %v", r, err)
	}
	a, b := newTxn(t, testHead), newTxn(t, testHead)
	v := Value{}
	v.SetStr([]byte("one"))
	SetVar(a, r, &v)
	v.Bytes[0] = 'X' // the variable holds a copy
	got, ok := getVar(b, r)
	if !ok || string(got.Bytes) != "one" {
		t.Fatalf("another transaction reads %q, %v", got.Bytes, ok)
	}
	v.SetStr([]byte("two"))
	SetVar(a, r, &v)
	if string(got.Bytes) != "one" {
		t.Errorf("a value read earlier changed to %q when the variable was set again", got.Bytes)
	}
	e, err := c.Compile("var(proc.hits),upper", PhaseReq)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Eval(b, &v) || string(v.Bytes) != "TWO" {
		t.Errorf("var(proc.hits),upper = %q", v.Bytes)
	}
	UnsetVar(b, r)
	if _, ok := getVar(a, r); ok {
		t.Error("unset-var(proc.hits) left the variable")
	}
	var c2 Compiler
	r2, _ := c2.ParseVar("proc.hits")
	SetVar(a, r, &v)
	if _, ok := getVar(a, r2); ok {
		t.Error("a new configuration sees the old one's process variables")
	}
}

// sharedSessTxn is an HTTP/2 stream's transaction: its sess variables are
// its connection's store.
type sharedSessTxn struct {
	*fakeTxn
	sess *SharedVars
}

func (s sharedSessTxn) Vars(sc Scope) *Vars {
	if sc == ScopeSess {
		return nil
	}
	return s.fakeTxn.Vars(sc)
}
func (s sharedSessTxn) SharedSessVars() *SharedVars { return s.sess }

// The streams of one connection read and write the same sess variables,
// concurrently (run with -race), starting from those the connection's
// rules set; another connection's streams do not see them.
func TestSharedSessVars(t *testing.T) {
	var c Compiler
	x, _ := c.ParseVar("sess.x")
	conn, _ := c.ParseVar("sess.conn")
	var started Vars
	v := Value{}
	v.SetStr([]byte("tcp"))
	started.Set(conn.ID, &v)
	store := NewSharedVars(&started)
	other := sharedSessTxn{newTxn(t, testHead), NewSharedVars(nil)}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := sharedSessTxn{newTxn(t, testHead), store}
			for j := range 200 {
				var w Value
				w.SetStr([]byte(fmt.Sprintf("stream%d-%d", i, j)))
				SetVar(st, x, &w)
				got, ok := getVar(st, x)
				if !ok || !strings.HasPrefix(string(got.Bytes), "stream") {
					t.Errorf("read %q, %v", got.Bytes, ok)
					return
				}
				if got, ok := getVar(st, conn); !ok || string(got.Bytes) != "tcp" {
					t.Errorf("sess.conn = %q, %v", got.Bytes, ok)
					return
				}
			}
		}()
	}
	wg.Wait()
	later := sharedSessTxn{newTxn(t, testHead), store}
	if got, ok := getVar(later, x); !ok || !strings.HasSuffix(string(got.Bytes), "-199") {
		t.Errorf("a later stream reads sess.x = %q, %v", got.Bytes, ok)
	}
	UnsetVar(later, x)
	if _, ok := getVar(sharedSessTxn{newTxn(t, testHead), store}, x); ok {
		t.Error("unset-var(sess.x) on one stream left it for the next")
	}
	if _, ok := getVar(other, conn); ok {
		t.Error("another connection sees this one's sess variables")
	}
}

// FuzzFormat: any format text compiles or fails with an error, and a
// compiled one is written without panicking.
// An expression cut by a final backslash is an unclosed '%[' (it once
// read past the text's end).
func TestFormatEndsInEscape(t *testing.T) {
	c := Compiler{LogVar: testLogVar}
	for _, s := range []string{`%["]\`, `%[str(a)\`, `x %[src\`} {
		if _, err := c.CompileFormat(s, PhaseReq); err == nil || !strings.Contains(err.Error(), "missing ']'") {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func FuzzFormat(f *testing.F) {
	for _, s := range []string{"%ci", "%[src]:%cp", "%{+Q}ci %{+Q}[path]", "%{", "%{+Q}", "%[", "%%%", "\\%ci", "%[str(])]", "a%{x}[path]"} {
		f.Add(s)
	}
	txn := logVarTxn{newTxn(f, testHead)}
	f.Fuzz(func(t *testing.T, s string) {
		c := Compiler{LogVar: testLogVar, ReadFile: func(string) ([]byte, error) { return nil, nil }}
		fm, err := c.CompileFormat(s, PhaseReq)
		if err != nil {
			return
		}
		var v Value
		fm.Append(txn, &v, nil)
		txn.scratch = txn.scratch[:0]
	})
}

// CopyFrom gives a copy that later writes on either side leave alone
// (each HTTP/2 stream copies its connection's sess variables).
func TestVarsCopyFrom(t *testing.T) {
	var conn, stream Vars
	a, b := Value{}, Value{}
	a.SetStr([]byte("conn"))
	b.SetInt(7)
	conn.Set(0, &a)
	conn.Set(2, &b)
	stream.Set(1, &b) // left over from the pooled session's last stream
	stream.CopyFrom(&conn)
	if v, ok := stream.Get(0); !ok || string(v.Bytes) != "conn" {
		t.Fatalf("var 0: %+v %v", v, ok)
	}
	if _, ok := stream.Get(1); ok {
		t.Error("a variable the connection does not have survived the copy")
	}
	c := Value{}
	c.SetStr([]byte("XXXX"))
	stream.Set(0, &c)
	if v, _ := conn.Get(0); string(v.Bytes) != "conn" {
		t.Errorf("the stream's write reached the connection's variable: %q", v.Bytes)
	}
	if v, ok := stream.Get(2); !ok || v.Int != 7 {
		t.Errorf("var 2: %+v %v", v, ok)
	}
}
