#!/usr/bin/env bash
# compat-scan.sh BIN: which of haproxy 2.6's sample fetches, converters, global and proxy keywords,
# options and http-request/response actions BIN (dhproxy) refuses as unknown or unsupported. The keyword lists come
# from Debian's haproxy documentation (/usr/share/doc/haproxy/configuration.txt.gz); each keyword is
# put in a throwaway configuration and `BIN -c` says whether it knows it. Prints one line per group.
set -euo pipefail
bin=${1:?usage: compat-scan.sh BIN}
doc=/usr/share/doc/haproxy/configuration.txt.gz
[ -r "$doc" ] || { echo "compat-scan: $doc missing (apt-get install haproxy)" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
zcat "$doc" >"$dir/doc"
head='defaults
    mode http
    timeout connect 1s
    timeout client 1s
    timeout server 1s
listen li
    bind 127.0.0.1:1'
section() { awk -v from="$1" -v to="$2" 'index($0, from) == 1 {p = 1; next} index($0, to) == 1 {p = 0} p' "$dir/doc"; }
check() { # name pattern-of-refusal ; config lines on stdin
	{ echo "$head"; sed 's/^/    /'; echo "    server s 127.0.0.1:1"; } >"$dir/$1.cfg"
	"$bin" -c -f "$dir/$1.cfg" 2>&1 | grep -oE "$2" | sed -E "s/$2/\\1/" | sort -u | tr '\n' ' '
}
section "7.3.2. Fetching samples from internal states" "7.4. Pre-defined ACLs" |
	grep -E '^[a-z][a-z0-9_.+]*(\([^ ]*\))? : [a-z]' | grep -oE '^[a-z][a-z0-9_.+]*' | sort -u |
	awk '{print "acl a" NR " " $1 " -m found"}' >"$dir/f.in"
echo "fetches: $(check f "unknown fetch method '([^']*)'" <"$dir/f.in")"
section "7.3.1. Converters" "7.3.2. Fetching samples" |
	grep -E '^[a-z][a-z0-9_]*(\(.*\))?( : [a-z].*)?$' | grep -oE '^[a-z][a-z0-9_]*' | sort -u |
	awk '{print "http-request set-var(txn.c" NR ") str(x)," $1}' >"$dir/c.in"
echo "converters: $(check c "unknown converter '([^']*)'" <"$dir/c.in")"
section "4.1. Proxy keywords matrix" "4.2. Alphabetically sorted" | grep -E '^[a-z][a-z0-9 -]*[a-z0-9] +(\([^)]*\) +)?[X-] ' |
	awk '$1 != "option" {print $1} $1 == "option" {print $1 " " $2}' | sort -u >"$dir/k.in"
echo "keywords: $(check k "unknown keyword '([^']*)' in 'listen'" <"$dir/k.in")"
echo "options: $(check k "unknown option '([^']*)'" <"$dir/k.in")"
echo "options accepted without effect: $(check k "'option ([a-z0-9-]+)' is accepted but" <"$dir/k.in")"
grep -oE '^http-(request|response|after-response) [a-z][a-z0-9-]*' "$dir/doc" |
	grep -vE ' (set-var|set-var-fmt|unset-var)$' | sort -u >"$dir/a.in"
echo "actions: $(check a "'(http-(request|response|after-response) [a-z0-9-]+)' is not supported" <"$dir/a.in")"
# Global keywords: section 3's list ("   - keyword"), each alone on a global line (keywords that need
# arguments then draw an argument error, not "unknown keyword").
section "3. Global parameters" "3.1. Process management" | grep -oE '^   - [a-z0-9][a-z0-9_.-]*' |
	sed 's/^   - //' | sort -u >"$dir/g.in"
{ echo global; sed 's/^/    /' "$dir/g.in"; echo "$head"; echo "    server s 127.0.0.1:1"; } >"$dir/g.cfg"
refused() { "$bin" -c -f "$dir/g.cfg" 2>&1 | grep -oE "$1" | sed -E "s/$1/\\1/" | sort -u | tr '\n' ' '; }
echo "global keywords: $(refused "unknown keyword '([^']*)' in 'global'")"
echo "global keywords of modules dhproxy lacks: $(refused "'([a-z0-9.-]+)' belongs to HAProxy's optional")"
echo "global keywords accepted without effect: $(refused "'([a-z0-9.-]+)' has no effect")"
