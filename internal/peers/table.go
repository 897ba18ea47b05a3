package peers

import (
	"time"

	"dhproxy/internal/stick"
)

// Mapping between dhproxy's data types and HAProxy's numbers on the wire
// (stktable_data_types): dhproxy leaves out server_id (kept apart in each
// entry) and server_key, so its numbers are HAProxy's shifted by one, then
// by two after gpc1_rate.
func wireType(d stick.DataType) int {
	if d <= stick.GPC1Rate {
		return int(d) + 1
	}
	return int(d) + 2
}

// localType is the dhproxy data type of wire type t; false for the types
// dhproxy does not store (server_id, server_key).
func localType(t int) (stick.DataType, bool) {
	switch {
	case t >= 1 && t <= int(stick.GPC1Rate)+1:
		return stick.DataType(t - 1), true
	case t >= 20 && t < 20+int(stick.NumData-stick.HTTPFailCnt):
		return stick.DataType(t - 2), true
	}
	return 0, false
}

// defineTable is the definition this process sends for t.
func defineTable(id uint64, name string, t *stick.Table, serverID bool) definition {
	cfg := t.Config()
	d := definition{id: id, name: name, expire: uint64(cfg.Expire.Milliseconds())}
	switch cfg.Type {
	case stick.IP:
		d.keyType, d.keySize = keyIPv4, 4
	case stick.IPv6:
		d.keyType, d.keySize = keyIPv6, 16
	case stick.Integer:
		d.keyType, d.keySize = keySInt, 4
	default:
		// HAProxy counts the string's terminating NUL in the key size.
		d.keyType, d.keySize = keyStr, uint64(cfg.Len)+1
	}
	if serverID {
		d.data |= 1 << wireServerID
	}
	for dt := range stick.NumData {
		if !cfg.Store[dt] {
			continue
		}
		w := wireType(dt)
		d.data |= 1 << w
		if dt.IsRate() {
			d.period[w] = uint64(cfg.Period[dt].Milliseconds())
		}
		if dt.IsArray() {
			d.nelem[w] = uint64(cfg.Elems[dt])
		}
	}
	return d
}

// snapshotUpdate is the update message for snap.
func snapshotUpdate(sh *shared, snap *stick.Snapshot, id uint32) update {
	// An entry that never expires goes untimed: the receiver applies its
	// own table's expiry.
	u := update{id: id, hasID: true, key: snap.Key, serverID: int64(snap.ServerID)}
	if snap.Expire > 0 {
		u.timed, u.expire = true, uint32(min(snap.Expire.Milliseconds(), 1<<31-1))
	}
	for dt := range stick.NumData {
		w := wireType(dt)
		if sh.def.data&(1<<w) == 0 {
			continue
		}
		if dt.IsRate() {
			u.rates[w] = wireRate(snap.Rates[dt])
		} else {
			u.vals[w] = snap.Vals[dt]
		}
	}
	u.gpt, u.gpc = snap.GPT, snap.GPC
	for _, r := range snap.GPCRate {
		u.gpcRate = append(u.gpcRate, wireRate(r))
	}
	return u
}

func wireRate(r stick.Rate) rate {
	return rate{elapsed: uint32(r.Elapsed.Milliseconds()), curr: r.Curr, prev: r.Prev}
}

func localRate(r rate) stick.Rate {
	return stick.Rate{Elapsed: time.Duration(r.elapsed) * time.Millisecond, Curr: r.curr, Prev: r.prev}
}

// learnedFrom fills l with what update u of a table defined as d says.
func learnedFrom(u *update, d *definition, l *stick.Learned) {
	l.Key = u.key
	l.ServerID, l.HasServer = int32(u.serverID), u.hasSrv
	l.Timed = u.timed
	l.Expire = time.Duration(u.expire) * time.Millisecond
	for w := range wireTypes {
		if d.data&(1<<w) == 0 {
			continue
		}
		dt, ok := localType(w)
		if !ok {
			continue
		}
		l.Has[dt] = true
		if dt.IsRate() {
			l.Rates[dt] = localRate(u.rates[w])
		} else {
			l.Vals[dt] = u.vals[w]
		}
	}
	l.GPT, l.GPC, l.GPCRate = u.gpt, u.gpc, l.GPCRate[:0]
	for _, r := range u.gpcRate {
		l.GPCRate = append(l.GPCRate, localRate(r))
	}
}
