package stats

import (
	"encoding/json"
)

// The JSON outputs ("show stat json", "show info json", "<uri>;json"):
// the typed fields with their tags spelled out, as haproxy writes them.

var (
	tagOrigin = map[byte]string{'M': "Metric", 'S': "Status", 'K': "Key", 'C': "Config", 'P': "Product"}
	tagNature = map[byte]string{'A': "Age", 'a': "Avg", 'C': "Counter", 'D': "Duration", 'G': "Gauge", 'L': "Limit",
		'M': "Max", 'm': "Min", 'N': "Name", 'O': "Output", 'R': "Rate", 'T': "Time"}
	tagScope = map[byte]string{'C': "Cluster", 'P': "Process", 'S': "Service", 's': "System"}
	objTypes = map[byte]string{Frontend: "Frontend", Backend: "Backend", Server: "Server", Listener: "Listener"}
)

type jsonField struct {
	Pos  int    `json:"pos"`
	Name string `json:"name"`
}

type jsonTags struct {
	Origin string `json:"origin"`
	Nature string `json:"nature"`
	Scope  string `json:"scope"`
}

type jsonValue struct {
	Type  string `json:"type"`
	Value any    `json:"value"`
}

type jsonStat struct {
	ObjType    string    `json:"objType"`
	ProxyID    int       `json:"proxyId"`
	ID         int       `json:"id"`
	Field      jsonField `json:"field"`
	ProcessNum int       `json:"processNum"`
	Tags       jsonTags  `json:"tags"`
	Value      jsonValue `json:"value"`
}

type jsonInfo struct {
	Field      jsonField `json:"field"`
	ProcessNum int       `json:"processNum"`
	Tags       jsonTags  `json:"tags"`
	Value      jsonValue `json:"value"`
}

func tags(t string) jsonTags {
	return jsonTags{tagOrigin[t[0]], tagNature[t[1]], tagScope[t[2]]}
}

func (v Value) any() any {
	if v.Kind == 'n' {
		return v.N
	}
	return v.S
}

// JSON writes the rows selected by f as an array of rows, each an array of
// its non-empty fields.
func (src *Source) JSON(f Filter) string {
	out := [][]jsonStat{}
	for _, r := range src.StatRows() {
		if !f.match(&r) {
			continue
		}
		r.UpCount = f.OnlyUp || f.NoMaint
		row := []jsonStat{}
		for i := range numberedCount() {
			c := numbered(i)
			v := c.Value(&r)
			if v.Empty() {
				continue
			}
			row = append(row, jsonStat{objTypes[r.Kind], r.IID, r.SID, jsonField{i, c.Name}, 1, tags(c.Tags), jsonValue{c.Type, v.any()}})
		}
		out = append(out, row)
	}
	b, _ := json.Marshal(out)
	return string(b) + "\n"
}

// InfoJSON writes "show info json".
func (src *Source) InfoJSON() string {
	out := []jsonInfo{}
	for i, f := range src.Info() {
		out = append(out, jsonInfo{jsonField{i, f.Name}, 1, tags(f.Tags), jsonValue{f.Type, f.Value.any()}})
	}
	b, _ := json.Marshal(out)
	return string(b) + "\n"
}
