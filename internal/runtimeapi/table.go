package runtimeapi

import (
	"net/netip"
	"strconv"
	"strings"
	"time"

	"dhproxy/internal/stick"
	"dhproxy/internal/stream"
)

// "show table" and "clear table", in HAProxy 2.6's words: the list of
// tables, or one table's entries, optionally filtered by a data type
// comparison or a key.

const tableUsage = "Optional argument 'key' or 'data.<type> <op> <value>' expected.\n"

// tableFilter is the optional "data.<type> <op> <value>" or "key <key>".
type tableFilter struct {
	data   bool
	d      stick.DataType
	op     string
	value  uint64
	key    []byte // in the table's format
	hasKey bool
}

func (f *tableFilter) match(t *stick.Table, e *stick.Entry, now time.Time) bool {
	if !f.data {
		return true
	}
	v, _ := t.Get(e, f.d, now)
	switch f.op {
	case "eq":
		return v == f.value
	case "ne":
		return v != f.value
	case "le":
		return v <= f.value
	case "ge":
		return v >= f.value
	case "lt":
		return v < f.value
	}
	return v > f.value
}

// parseTableFilter reads the arguments after the table name; msg is
// HAProxy's answer to bad ones.
func parseTableFilter(t *stick.Table, args []string) (f tableFilter, msg string) {
	if len(args) == 0 {
		return f, ""
	}
	if args[0] == "key" {
		if len(args) != 2 {
			return f, "Key value expected\n"
		}
		var k []byte
		var ok bool
		if a, err := netip.ParseAddr(args[1]); err == nil && (t.TypeName() == "ip" || t.TypeName() == "ipv6") {
			k, ok = t.AppendAddr(nil, a)
		} else {
			k, ok = t.AppendString(nil, []byte(args[1]))
		}
		if !ok {
			return f, "Invalid key\n"
		}
		f.key, f.hasKey = k, true
		return f, ""
	}
	name, isData := strings.CutPrefix(args[0], "data.")
	if !isData {
		return f, tableUsage
	}
	d, ok := stick.LookupData(name)
	if !ok {
		return f, "Unknown data type\n"
	}
	if !t.Stores(d) {
		return f, "Data type not stored in this table\n"
	}
	if len(args) < 2 || !validOp(args[1]) {
		return f, "Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n"
	}
	if len(args) < 3 {
		return f, "Require a valid integer value to compare against\n"
	}
	v, err := strconv.ParseUint(args[2], 10, 64)
	if err != nil {
		return f, "Require a valid integer value to compare against\n"
	}
	return tableFilter{data: true, d: d, op: args[1], value: v}, ""
}

func validOp(op string) bool {
	switch op {
	case "eq", "ne", "le", "ge", "lt", "gt":
		return true
	}
	return false
}

func tableHead(b *strings.Builder, st stream.StickTable) {
	b.WriteString("# table: " + st.Name + ", type: " + st.Table.TypeName() + ", size:" +
		strconv.Itoa(st.Table.Config().Size) + ", used:" + strconv.Itoa(st.Table.Len()) + "\n")
}

func findTable(s *session, name string) (stream.StickTable, bool) {
	for _, st := range s.srv.src.RT.StickTables() {
		if st.Name == name {
			return st, true
		}
	}
	return stream.StickTable{}, false
}

func cmdShowTable(s *session, args []string) string {
	var b strings.Builder
	if len(args) == 0 {
		for _, st := range s.srv.src.RT.StickTables() {
			tableHead(&b, st)
		}
		return b.String()
	}
	st, ok := findTable(s, args[0])
	if !ok {
		return "No such table\n"
	}
	f, msg := parseTableFilter(st.Table, args[1:])
	if msg != "" {
		return msg
	}
	now := time.Now()
	t := st.Table
	if f.hasKey {
		tableHead(&b, st)
		if e := t.Find(f.key, now); e != nil {
			b.Write(t.AppendEntry(nil, e, now))
		}
		return b.String()
	}
	var lines []byte
	t.Dump(now, func(e *stick.Entry) {
		if f.match(t, e, now) {
			lines = t.AppendEntry(lines, e, now)
		}
	})
	tableHead(&b, st)
	b.Write(lines)
	return b.String()
}

func cmdClearTable(s *session, args []string) string {
	if len(args) == 0 {
		return "Required table name.\n"
	}
	st, ok := findTable(s, args[0])
	if !ok {
		return "No such table\n"
	}
	f, msg := parseTableFilter(st.Table, args[1:])
	if msg != "" {
		return msg
	}
	now := time.Now()
	t := st.Table
	if f.hasKey {
		target := t.Find(f.key, now)
		t.Clear(func(e *stick.Entry) bool { return e == target })
		return ""
	}
	t.Clear(func(e *stick.Entry) bool { return f.match(t, e, now) })
	return ""
}
