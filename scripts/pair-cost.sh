#!/usr/bin/env bash
# pair-cost.sh SCENARIO ROUNDS SECONDS BIN_A BIN_B: proxy CPU per request of two binaries measured at
# the same time, for differences smaller than what alternated rounds resolve on this machine.
# Both proxies run with nbthread 1 (GOMAXPROCS=1) pinned to the same CPU (1), each loaded by its own
# client on CPU 0 beside nginx (the scenarios of cost-split.sh: small 16k close c1000 rules tls
# tlsclose h2, and unix: small through a server on nginx's UNIX socket): whatever slows the machine
# in a round (other load, frequency, the host) slows both.
# Sharing a CPU inflates both absolute figures (cache and context switches between the two); the
# ratio B/A of CPU per request is the reading. An A/A pair gives 1.00 within about 0.01.
# Prints per round: user, system and total CPU us per request of each, and B/A; then the median.
# PORT_BASE=N (default 27500) uses ports N+1..N+40.
# LAT=1 (wrk scenarios) also prints each round's latency percentiles (wrk's p50 p90 p99 p999, ms)
# and the medians of their B/A ratios: the two proxies' service order compared with the
# machine's noise cancelled (docs/performance.md, session 16).
set -euo pipefail
[ $# -eq 5 ] || { sed -n 2,13p "$0"; exit 2; }
scn=$1 rounds=$2 secs=$3 A=$4 B=$5
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-bench.sh"
base=${PORT_BASE:-27500}
b1=$((base + 1)) b2=$((base + 2))
dir=$(mktemp -d)
scenario_files "$dir" $b1 $b2
# cfg FILE PORT: the proxy's configuration with its frontend on PORT (the bench's frontends).
cfg() {
	cat >"$1" <<CFG
global
    nbthread 1
    maxconn 9000
    tune.ssl.cachesize 0
defaults
    mode http
    maxconn 9000
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    http-reuse always
frontend fe
    bind 127.0.0.1:$2
    default_backend be_http
frontend fe_tls
    bind 127.0.0.1:$(($2 + 1)) ssl crt $dir/site.pem alpn http/1.1 no-tls-tickets
    default_backend be_http
frontend fe_h2
    bind 127.0.0.1:$(($2 + 2)) proto h2
    default_backend be_http
$(rules_section $(($2 + 3)) "$dir" $b1 $b2)
$(unix_section $(($2 + 4)))
CFG
}
# unix_section PORT: the unix scenario's frontend and its UNIX socket server, only for that
# scenario (binaries before session 16 refuse such a server).
unix_section() {
	[ "$scn" = unix ] || return 0
	printf 'frontend fe_unix\n    bind 127.0.0.1:%s\n    default_backend be_unix\nbackend be_unix\n    server s1 %s/nginx.sock\n' "$1" "$dir"
}
feA=$((base + 10)) feB=$((base + 20))
cfg "$dir/a.cfg" $feA
cfg "$dir/b.cfg" $feB
load_args=()
# port offset of the scenario's frontend, path
case $scn in
small) off=0 scheme=http path=/small ;;
16k) off=0 scheme=http path=/16k ;;
close) off=0 scheme=http path=/small load_args=(-H "Connection: close") ;;
c1000) off=0 scheme=http path=/small load_args=(-c1000) ;;
rules) off=3 scheme=http path=/small load_args=(-H "Host: www.example.com") ;;
tls) off=1 scheme=https path=/small ;;
tlsclose) off=1 scheme=https path=/small load_args=(-H "Connection: close") ;;
h2) off=2 scheme=http path=/small ;;
unix) off=4 scheme=http path=/small ;;
*) echo "unknown scenario $scn" >&2; exit 2 ;;
esac
urlA=$scheme://127.0.0.1:$((feA + off))$path urlB=$scheme://127.0.0.1:$((feB + off))$path
ulimit -n 20000
taskset -c 0 nginx -c "$dir/nginx.conf" -p "$dir" &
ngx=$!
pa= pb=
cleanup() {
	[ -n "$pa" ] && kill "$pa" 2>/dev/null
	[ -n "$pb" ] && kill "$pb" 2>/dev/null
	kill "$ngx" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
# load SECONDS URL OUT: the scenario's client on CPU 0; the number of requests answered goes to OUT.
load() {
	if [ "$scn" = h2 ]; then
		taskset -c 0 h2load -c10 -m10 -D "$1" "$2" | awk '/^status codes:/ {print $3}' >"$3"
	else
		local c=-c50
		[ "$scn" = c1000 ] && c=
		local lat=()
		[ "${LAT:-}" = 1 ] && lat=(-s "$dir/lat.lua")
		taskset -c 0 wrk -t1 $c -d"$1s" "${lat[@]}" "${load_args[@]}" "$2" 2>"$3.lat" |
			awk '/requests in/ {n = $1} /Non-2xx/ {bad = 1} END {print bad ? 0 : n}' >"$3"
	fi
}
start() {
	GOMAXPROCS=1 taskset -c 1 "$1" -db -f "$2" >"$dir/out.$3" 2>&1 &
	eval "p$3=$!"
	for _ in $(seq 50); do
		curl -s -o /dev/null "http://127.0.0.1:$4/small" && return
		sleep 0.1
	done
	echo "$1 did not answer" >&2
	exit 1
}
tick=$(us_per_tick)
cat >"$dir/lat.lua" <<'LUA'
done = function(s, l, r)
  io.stderr:write(string.format("%.2f %.2f %.2f %.2f\n", l:percentile(50) / 1000,
    l:percentile(90) / 1000, l:percentile(99) / 1000, l:percentile(99.9) / 1000))
end
LUA
: >"$dir/rounds"
for ((r = 1; r <= rounds; r++)); do
	start "$A" "$dir/a.cfg" a $feA
	start "$B" "$dir/b.cfg" b $feB
	load 1 "$urlA" "$dir/na" & load 1 "$urlB" "$dir/nb"; wait %%
	read -r ua0 sa0 < <(awk '{print $14, $15}' "/proc/$pa/stat")
	read -r ub0 sb0 < <(awk '{print $14, $15}' "/proc/$pb/stat")
	load "$secs" "$urlA" "$dir/na" &
	la=$!
	load "$secs" "$urlB" "$dir/nb"
	wait $la
	read -r ua1 sa1 < <(awk '{print $14, $15}' "/proc/$pa/stat")
	read -r ub1 sb1 < <(awk '{print $14, $15}' "/proc/$pb/stat")
	kill "$pa" "$pb"
	wait "$pa" "$pb" 2>/dev/null || true
	pa= pb=
	na=$(cat "$dir/na") nb=$(cat "$dir/nb")
	[ "${na:-0}" -gt 0 ] && [ "${nb:-0}" -gt 0 ] || { echo "no request answered (A $na, B $nb)" >&2; exit 1; }
	awk -v t="$tick" -v ua=$((ua1 - ua0)) -v sa=$((sa1 - sa0)) -v na="$na" -v ub=$((ub1 - ub0)) -v sb=$((sb1 - sb0)) -v nb="$nb" -v r="$r" 'BEGIN {
		a = (ua + sa) * t / na; b = (ub + sb) * t / nb
		printf "round %d  A user %6.2f sys %6.2f total %6.2f us/req (%d req)  B user %6.2f sys %6.2f total %6.2f us/req (%d req)  B/A %.3f\n", r, ua * t / na, sa * t / na, a, na, ub * t / nb, sb * t / nb, b, nb, b / a
		print b / a >> "'"$dir/rounds"'" }'
	if [ "${LAT:-}" = 1 ] && [ "$scn" != h2 ]; then
		read -r a50 a90 a99 a999 <"$dir/na.lat"
		read -r b50 b90 b99 b999 <"$dir/nb.lat"
		echo "round $r  latency ms p50/p90/p99/p999  A $a50 $a90 $a99 $a999  B $b50 $b90 $b99 $b999" |
			tee -a "$dir/lat" | awk '{printf "%s  B/A %.3f %.3f %.3f %.3f\n", $0, $12 / $7, $13 / $8, $14 / $9, $15 / $10}'
	fi
done
if [ -s "$dir/lat" ]; then
	awk '{for (i = 1; i <= 4; i++) v[i, ++n[i]] = $(11 + i) / $(6 + i)}
	function med(i,  j, k, t, m) {
		m = n[i]
		for (j = 1; j <= m; j++) for (k = j + 1; k <= m; k++) if (v[i, k] < v[i, j]) { t = v[i, j]; v[i, j] = v[i, k]; v[i, k] = t }
		return sprintf("%.3f [%.3f-%.3f]", m % 2 ? v[i, (m + 1) / 2] : (v[i, m / 2] + v[i, m / 2 + 1]) / 2, v[i, 1], v[i, m])
	}
	END {printf "== latency B/A, medians: p50 %s p90 %s p99 %s p999 %s\n", med(1), med(2), med(3), med(4)}' "$dir/lat"
fi
sort -n "$dir/rounds" | awk -v s="$scn" '{v[++n] = $1} END {printf "== %s: B/A CPU per request, median of %d rounds %.3f [%.3f-%.3f]  (A: %s, B: %s)\n", s, n, n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2, v[1], v[n], "'"$A"'", "'"$B"'"}'
