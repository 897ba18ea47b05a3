package config

import "strings"

// ExpandAddrEnv expands environment variables in an address the way
// HAProxy's env_expand() does before str2sa_range() parses any address
// (bind, server, log, stats socket, mailer, dispatch, ...). This is a
// second expansion, separate from the line splitter's: it also applies to
// unquoted and single-quoted words, and it is the only one addresses get.
//
//   - "$NAME" and "${NAME}" are replaced by NAME's value, an unset
//     variable by nothing; NAME is letters, digits and '_' (a leading
//     digit included: "8$0" is "8");
//   - there is no default form: in "${NAME-x}" the name stops at '-', so
//     "-x}" stays as written;
//   - the closing brace is optional ("${NAME" expands too) and is only
//     consumed right after the name;
//   - a '$' not followed by a name vanishes ("8$0" is "80").
//
// Other keywords (paths, numbers, names) get no such expansion in
// HAProxy, so callers use this for addresses only.
func ExpandAddrEnv(s string, env Env) string {
	i := strings.IndexByte(s, '$')
	if i < 0 {
		return s
	}
	env = env.orDefault()
	out := make([]byte, 0, len(s))
	for i >= 0 {
		out = append(out, s[:i]...)
		j := i + 1
		brace := j < len(s) && s[j] == '{'
		if brace {
			j++
		}
		start := j
		for j < len(s) && (isAlnum(s[j]) || s[j] == '_') {
			j++
		}
		if v, ok := env(s[start:j]); ok && start < j {
			out = append(out, v...)
		}
		if brace && j < len(s) && s[j] == '}' {
			j++
		}
		s = s[j:]
		i = strings.IndexByte(s, '$')
	}
	return string(append(out, s...))
}
