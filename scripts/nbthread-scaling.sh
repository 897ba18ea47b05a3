#!/bin/bash
# nbthread-scaling.sh BIN [ROUNDS] [SECONDS]: HTTP keep-alive (100 B, wrk
# -t2 -c100) through haproxy and dhproxy at "nbthread 1" and "nbthread 2",
# nothing pinned: the 2 cores are shared by the proxy, nginx (the server,
# 2 workers) and wrk, as on a small real host. Per run: requests/s, the
# proxy's CPU time (utime+stime from /proc) per request and p99; the four
# set-ups alternate each round and the medians are printed at the end
# (README "Performance"). BASE=/path/to/other/dhproxy adds that binary at
# both settings to the same rounds, for an A/B. Loopback only: ports
# PORT_BASE (nginx) and PORT_BASE+4 on (default 18971).
# Needs nginx, wrk, bc.
set -eu
BIN=$(readlink -f "$1"); ROUNDS=${2:-3}; SECS=${3:-5}
PORT_BASE=${PORT_BASE:-18971}
BASE=${BASE:+$(readlink -f "$BASE")}
D=$(mktemp -d /tmp/nbthread-scaling.XXXXXX)
. "$(dirname "$0")/lib-bench.sh"
nginx_conf "$D" $PORT_BASE 2
proxy_cfg() { # nbthread port
	printf 'global\n    nbthread %s\n    maxconn 9000\ndefaults\n    mode http\n    maxconn 9000\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n    option http-keep-alive\n    http-reuse always\nfrontend fe_http\n    bind 127.0.0.1:%s\n    default_backend be_http\nbackend be_http\n    server b1 127.0.0.1:%s\n' "$1" "$2" "$PORT_BASE"
}
nginx -c "$D/nginx.conf" -p "$D" & NGX=$!
PIDS=()
trap 'kill "${PIDS[@]}" $NGX 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT
start() { # name nbthread port -> pid in $P
	proxy_cfg "$2" "$3" >"$D/$1-$2.cfg"
	case $1 in
	haproxy) haproxy -db -f "$D/$1-$2.cfg" >"$D/$1-$2.out" 2>&1 & P=$! ;;
	base) "$BASE" -db -f "$D/$1-$2.cfg" >"$D/$1-$2.out" 2>&1 & P=$! ;;
	*) "$BIN" -db -f "$D/$1-$2.cfg" >"$D/$1-$2.out" 2>&1 & P=$! ;;
	esac
	PIDS+=("$P")
	for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$3/" && return; sleep 0.1; done
	echo "$1 nbthread $2 did not answer on :$3" >&2; exit 1
}
declare -A PID PORT
port=$((PORT_BASE + 4))
who_all=(haproxy dhproxy)
[ -n "$BASE" ] && who_all+=(base)
for who in "${who_all[@]}"; do for n in 1 2; do
	start "$who" "$n" "$port"; PID[$who-$n]=$P; PORT[$who-$n]=$port; port=$((port + 1))
	wrk -t2 -c100 -d1s "http://127.0.0.1:${PORT[$who-$n]}/" >/dev/null
done; done
run() { # key -> "req/s us-per-req p99-ms"
	local t0 t1 out rps p99
	t0=$(ticks "${PID[$1]}")
	out=$(wrk -t2 -c100 -d"${SECS}s" --latency "http://127.0.0.1:${PORT[$1]}/")
	t1=$(ticks "${PID[$1]}")
	rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
	p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us$/, "", v); v/=1000} else if (v ~ /ms$/) sub(/ms$/, "", v); else if (v ~ /s$/) {sub(/s$/, "", v); v*=1000}; print v}' <<<"$out")
	echo "$rps $(echo "($t1-$t0)*$(us_per_tick)/($rps*$SECS)" | bc -l) $p99"
}
keys=()
for who in "${who_all[@]}"; do keys+=("$who-1" "$who-2"); done
nk=${#keys[@]}
for r in $(seq "$ROUNDS"); do
	for i in $(seq 0 $((nk - 1))); do
		k=${keys[$(((i + r) % nk))]}
		read -r rps us p99 < <(run "$k")
		printf '%s\t%s\t%.0f\t%.2f\t%.2f\n' "$r" "$k" "$rps" "$us" "$p99" | tee -a "$D/runs.tsv"
	done
done
echo "medians over $ROUNDS rounds: req/s, proxy CPU us per request, requests per CPU-second, p99 ms"
for k in "${keys[@]}"; do
	awk -F'\t' -v k="$k" '$2 == k {r[++n]=$3; u[n]=$4; p[n]=$5}
		function med(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
		END { mu = med(u, n); printf "%-10s %8.0f req/s %6.2f us %8.0f req/cpu-s %6.2f ms\n", k, med(r, n), mu, 1000000 / mu, med(p, n) }' "$D/runs.tsv"
done
