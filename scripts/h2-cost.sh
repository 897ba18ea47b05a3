#!/usr/bin/env bash
# h2-cost.sh: proxy CPU per HTTP/2 request, A/B in alternating rounds.
# Usage: scripts/h2-cost.sh ROUNDS REQUESTS BIN [BIN...]
# Each BIN (dhproxy or haproxy) runs `BIN -db -f cfg` with nbthread 1 pinned to CPU 1 in front of
# an nginx on CPU 0 (100-byte answers, keep-alive); h2load (CPU 0) sends REQUESTS over 10 h2c
# connections with 10 streams each (the bench's h2 scenario) after a 50000-request warm-up.
# Prints per round and binary: user and system CPU microseconds per request (from /proc/PID/stat),
# then the median total per binary. PORT_BASE=N (default 27100) uses ports N+1 and N+10.
# PERF=DIR records `perf record -e cpu-clock:u -g` of each binary's last round into DIR.
set -euo pipefail
[ $# -ge 3 ] || { sed -n 2,10p "$0"; exit 2; }
rounds=$1 reqs=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-bench.sh"
base=${PORT_BASE:-27100}
dir=$(mktemp -d)
mkdir -p "$dir"/t{1,2,3,4,5}
nginx_conf "$dir" $((base + 1)) 1
cat >"$dir/p.cfg" <<CFG
global
    nbthread 1
    maxconn 9000
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    http-reuse always
frontend fe
    bind 127.0.0.1:$((base + 10)) proto h2
    default_backend be
backend be
    server b1 127.0.0.1:$((base + 1))
CFG
taskset -c 0 nginx -c "$dir/nginx.conf" -p "$dir" &
ngx=$!
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	kill "$ngx" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
url=http://127.0.0.1:$((base + 10))/
tick=$(us_per_tick)
declare -A totals
for ((r = 1; r <= rounds; r++)); do
	for b in "$@"; do
		GOMAXPROCS=1 taskset -c 1 "$b" -db -f "$dir/p.cfg" >"$dir/out" 2>&1 &
		pid=$!
		for _ in $(seq 50); do curl -s -o /dev/null --http2-prior-knowledge "$url" && break; sleep 0.1; done
		taskset -c 0 h2load -c10 -m10 -n 50000 "$url" >/dev/null
		read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
		if [ -n "${PERF:-}" ] && [ "$r" -eq "$rounds" ]; then
			mkdir -p "$PERF"
			perf record -q -e cpu-clock:u -g -o "$PERF/$(basename "$b").data" -p "$pid" 2>/dev/null &
			rec=$!
			sleep 0.2
		fi
		ok=$(taskset -c 0 h2load -c10 -m10 -n "$reqs" "$url" | awk '/^requests:/ {print $8}')
		read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
		[ -n "${rec:-}" ] && { kill -INT "$rec"; wait "$rec" 2>/dev/null || true; rec=; }
		kill "$pid"
		wait "$pid" 2>/dev/null || true
		pid=
		[ "$ok" = "$reqs" ] || { echo "$b: $ok of $reqs requests succeeded" >&2; exit 1; }
		user=$(echo "($u1-$u0)*$tick/$reqs" | bc -l)
		sys=$(echo "($s1-$s0)*$tick/$reqs" | bc -l)
		printf "round %d %-30s user %6.2f sys %6.2f total %6.2f us/request\n" "$r" "$b" "$user" "$sys" "$(echo "$user+$sys" | bc -l)"
		totals[$b]+="$(echo "$user+$sys" | bc -l) "
	done
done
for b in "$@"; do
	printf "median %-30s %6.2f us/request\n" "$b" "$(echo "${totals[$b]}" | tr ' ' '\n' | grep . | sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}')"
done
