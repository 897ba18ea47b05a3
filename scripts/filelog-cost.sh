#!/bin/bash
# filelog-cost.sh BIN [ROUNDS] [N]: the CPU cost of "option httplog" to a
# "log file@" target, per request, against no log (docs/logging.md).
# Two proxies run at once (GOMAXPROCS=1, pinned to CPU 1; nginx and h2load
# on CPU 0); bursts of N keep-alive requests go to one then the other,
# alternately, so that both see the same load of a shared machine. Prints
# per round the proxies' CPU time (utime+stime, /proc) per request in us
# without and with the log and their ratio, then the median ratio.
# Loopback only (127.0.0.1:18981, 18990, 18991). Needs nginx, h2load, bc.
set -eu
BIN=$(readlink -f "$1"); ROUNDS=${2:-10}; N=${3:-20000}
D=$(mktemp -d /tmp/filelog-cost.XXXXXX)
. "$(dirname "$0")/lib-bench.sh"
nginx_conf "$D" 18981 1
proxy_cfg() { # port, extra frontend lines
	printf 'global\n    nbthread 1\ndefaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n    http-reuse always\nfrontend fe_http\n    bind 127.0.0.1:%s\n%s    default_backend be_http\nbackend be_http\n    server b1 127.0.0.1:18981\n' "$1" "$2"
}
proxy_cfg 18990 "" >"$D/off.cfg"
proxy_cfg 18991 "$(printf '    option httplog\n    log file@%s/access.log len 4096 format raw local0 info\n' "$D")
" >"$D/on.cfg"
taskset -c 0 nginx -c "$D/nginx.conf" -p "$D" & NGX=$!
GOMAXPROCS=1 taskset -c 1 "$BIN" -f "$D/off.cfg" >"$D/off.out" 2>&1 & A=$!
GOMAXPROCS=1 taskset -c 1 "$BIN" -f "$D/on.cfg" >"$D/on.out" 2>&1 & B=$!
trap 'kill $A $B $NGX 2>/dev/null; wait 2>/dev/null; rm -rf "$D"' EXIT
sleep 1
for port in 18990 18991; do taskset -c 0 h2load --h1 -n 5000 -c 8 -t 1 "http://127.0.0.1:$port/" >/dev/null; done
burst() { # pid port: CPU us per request
	local t0 t1 out
	t0=$(ticks "$1")
	out=$(taskset -c 0 h2load --h1 -n "$N" -c 8 -t 1 "http://127.0.0.1:$2/")
	t1=$(ticks "$1")
	echo "$out" | grep -q "^requests: $N total, $N started, $N done, $N succeeded" || { echo "failed burst: $out" >&2; exit 1; }
	echo "($t1-$t0)*$(us_per_tick)/$N" | bc -l
}
ratios=()
for r in $(seq "$ROUNDS"); do
	if [ $((r % 2)) = 1 ]; then a=$(burst $A 18990); b=$(burst $B 18991); else b=$(burst $B 18991); a=$(burst $A 18990); fi
	ratio=$(echo "$b/$a" | bc -l)
	ratios+=("$ratio")
	printf 'off %.2f us  on %.2f us  ratio %.3f\n' "$a" "$b" "$ratio"
done
printf '%s\n' "${ratios[@]}" | sort -g | awk '{v[NR]=$1} END {m = NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2; printf "median ratio %.3f over %d rounds\n", m, NR}'
echo "lines written: $(wc -l <"$D/access.log") of $((ROUNDS * N + 5000))"
