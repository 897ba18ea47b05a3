package sample

// CompressionTxn is implemented by HTTP transactions whose response may
// be compressed ("compression"): the configuration name of the algorithm
// compressing it, "" when it goes as it is.
type CompressionTxn interface {
	ResponseCompression() string
}

// res.comp and res.comp_algo: whether the response is compressed, and
// with what (haproxy decides it before the http-response rules).
func init() {
	algo := func(t Txn) string {
		if ct, ok := t.(CompressionTxn); ok {
			return ct.ResponseCompression()
		}
		return ""
	}
	RegisterFetch(&FetchDef{Name: "res.comp", Out: TypeBool, Phases: PhaseRes,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			v.SetBool(algo(t) != "")
			return true
		}})
	RegisterFetch(&FetchDef{Name: "res.comp_algo", Out: TypeStr, Phases: PhaseRes,
		Fn: func(t Txn, a *Args, it *Iter, v *Value) bool {
			name := algo(t)
			if name == "" {
				return false
			}
			v.SetStr(compAlgoNames[name])
			return true
		}})
}

// compAlgoNames gives res.comp_algo its value without allocating.
var compAlgoNames = map[string][]byte{
	"identity": []byte("identity"), "gzip": []byte("gzip"), "deflate": []byte("deflate"), "raw-deflate": []byte("raw-deflate"),
}
