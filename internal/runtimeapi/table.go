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

// What haproxy answers to arguments it does not expect, by command.
const (
	showTableUsage  = "Optional argument only supports \"data.<store_data_type>\" <operator> <value> and key <key>\n"
	clearTableUsage = "Required arguments: <table> \"data.<store_data_type>\" <operator> <value> or <table> key <key>\n"
)

// maxTableFilters is haproxy 2.6's STKTABLE_FILTER_LEN: how many
// "data.<type> <op> <value>" conditions one command may AND.
const maxTableFilters = 4

// dataFilter is one "data.<type> <op> <value>" condition.
type dataFilter struct {
	d     stick.DataType
	op    string
	value int64
}

// tableFilter is the optional "key <key>" or up to four data conditions.
type tableFilter struct {
	data   []dataFilter
	key    []byte // in the table's format
	hasKey bool
}

func (f *tableFilter) match(t *stick.Table, e *stick.Entry, now time.Time) bool {
	for _, c := range f.data {
		u, _ := t.Get(e, c.d, now)
		v := int64(u)
		var ok bool
		switch c.op {
		case "eq":
			ok = v == c.value
		case "ne":
			ok = v != c.value
		case "le":
			ok = v <= c.value
		case "ge":
			ok = v >= c.value
		case "lt":
			ok = v < c.value
		default:
			ok = v > c.value
		}
		if !ok {
			return false
		}
	}
	return true
}

// parseTableFilter reads the arguments after the table name; msg is
// HAProxy's answer to bad ones (usage is the command's own).
func parseTableFilter(t *stick.Table, args []string, usage string) (f tableFilter, msg string) {
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
	if !strings.HasPrefix(args[0], "data.") {
		return f, usage
	}
	// Conditions come in threes; what follows them is refused, "key"
	// included, as haproxy's parser does (entry #N names the condition).
	i := 0
	for ; i < maxTableFilters && i*3 < len(args); i++ {
		w := args[i*3:]
		entry := "Filter entry #" + strconv.Itoa(i+1) + ": "
		name, _ := strings.CutPrefix(w[0], "data.")
		d, ok := stick.LookupData(name)
		if !ok || !strings.HasPrefix(w[0], "data.") {
			return f, entry + "Unknown data type\n"
		}
		if !t.Stores(d) {
			return f, entry + "Data type not stored in this table\n"
		}
		if len(w) < 2 || !validOp(w[1]) {
			return f, entry + "Require and operator among \"eq\", \"ne\", \"le\", \"ge\", \"lt\", \"gt\"\n"
		}
		var v int64
		var err error
		if len(w) >= 3 {
			v, err = strconv.ParseInt(w[2], 10, 64)
		}
		if len(w) < 3 || err != nil {
			return f, entry + "Require a valid integer value to compare against\n"
		}
		f.data = append(f.data, dataFilter{d: d, op: w[1], value: v})
	}
	if i*3 < len(args) {
		// haproxy counts the words from the command's first one.
		return tableFilter{}, "Detected extra data in filter, " + strconv.Itoa(i*3+4) + "th word of input, after '" + args[i*3-1] + "'\n"
	}
	return f, ""
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
		// Newest first, as haproxy's list of tables.
		tables := s.srv.src.RT.StickTables()
		for i := len(tables) - 1; i >= 0; i-- {
			tableHead(&b, tables[i])
		}
		return b.String()
	}
	st, ok := findTable(s, args[0])
	if !ok {
		return "No such table\n"
	}
	f, msg := parseTableFilter(st.Table, args[1:], showTableUsage)
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
		return clearTableUsage
	}
	st, ok := findTable(s, args[0])
	if !ok {
		return "No such table\n"
	}
	f, msg := parseTableFilter(st.Table, args[1:], clearTableUsage)
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
