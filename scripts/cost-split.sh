#!/usr/bin/env bash
# cost-split.sh SCENARIO ROUNDS SECONDS BIN [BIN...]: where a proxy's CPU goes per request, BIN
# against BIN (dhproxy, haproxy) in alternating rounds, on the bench's scenarios:
#   small 16k close c1000 rules  HTTP/1.1 through wrk (-c50, -c1000 for c1000; close sends
#                                Connection: close; rules goes through the bench's rules frontend)
#   tls tlsclose                 the same as small/close over TLS (self-signed ECDSA P-256 certificate, as the bench)
#   h2                           h2c through h2load -c10 -m10 (the bench's h2 scenario)
# Each BIN runs `BIN -db -f cfg` with nbthread 1 (GOMAXPROCS=1) pinned to CPU 1; nginx (the two
# servers) and the load generator share CPU 0. Per round and binary, over SECONDS of load after a
# one-second warm-up: user and system CPU microseconds per request (/proc/PID/stat), system calls
# and context switches per request (`perf stat`). Then medians per binary, and one
# `perf record -e cpu-clock -g` of each binary split into: kernel, system-call entry (the user side
# of a call: Go's Syscall6, libc's wrappers), Go scheduler and goroutine switches, memory
# allocation and GC, clock readings (vdso), and the proxy's own code (everything else).
# PORT_BASE=N (default 27300) uses ports N+1..N+20. KEEP=DIR keeps the perf data in DIR.
set -euo pipefail
[ $# -ge 4 ] || { sed -n 2,16p "$0"; exit 2; }
scn=$1 rounds=$2 secs=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib-bench.sh"
base=${PORT_BASE:-27300}
b1=$((base + 1)) b2=$((base + 2)) fe=$((base + 10)) fe_rules=$((base + 11)) fe_tls=$((base + 12)) fe_h2=$((base + 13))
dir=$(mktemp -d)
scenario_files "$dir" $b1 $b2
cat >"$dir/p.cfg" <<CFG
global
    nbthread 1
    maxconn 9000
defaults
    mode http
    maxconn 9000
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s
    option http-keep-alive
    http-reuse always
frontend fe_http
    bind 127.0.0.1:$fe
    default_backend be_http
frontend fe_tls
    bind 127.0.0.1:$fe_tls ssl crt $dir/site.pem
    default_backend be_http
frontend fe_h2
    bind 127.0.0.1:$fe_h2 proto h2
    default_backend be_http
$(rules_section $fe_rules "$dir" $b1 $b2)
CFG
load_args=()
case $scn in
small) url=http://127.0.0.1:$fe/small ;;
16k) url=http://127.0.0.1:$fe/16k ;;
close) url=http://127.0.0.1:$fe/small load_args=(-H "Connection: close") ;;
c1000) url=http://127.0.0.1:$fe/small load_args=(-c1000) ;;
rules) url=http://127.0.0.1:$fe_rules/small load_args=(-H "Host: www.example.com") ;;
tls) url=https://127.0.0.1:$fe_tls/small ;;
tlsclose) url=https://127.0.0.1:$fe_tls/small load_args=(-H "Connection: close") ;;
h2) url=http://127.0.0.1:$fe_h2/small ;;
*) echo "unknown scenario $scn" >&2; exit 2 ;;
esac
ulimit -n 20000
taskset -c 0 nginx -c "$dir/nginx.conf" -p "$dir" &
ngx=$!
pid= rec=
cleanup() {
	[ -n "$rec" ] && kill -INT "$rec" 2>/dev/null
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	kill "$ngx" 2>/dev/null
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$dir"
}
trap cleanup EXIT
# load SECONDS: runs the scenario's client on CPU 0, prints the number of requests answered.
load() {
	if [ "$scn" = h2 ]; then
		taskset -c 0 h2load -c10 -m10 -D "$1" "$url" | awk '/^status codes:/ {print $3}'
	else
		local c=-c50
		[ "$scn" = c1000 ] && c=
		taskset -c 0 wrk -t1 $c -d"$1s" "${load_args[@]}" "$url" |
			awk '/requests in/ {n = $1} /Non-2xx/ {bad = 1} END {print bad ? 0 : n}'
	fi
}
start() {
	GOMAXPROCS=1 taskset -c 1 "$1" -db -f "$dir/p.cfg" >"$dir/out" 2>&1 &
	pid=$!
	for _ in $(seq 50); do
		curl -sk -o /dev/null -H "Host: www.example.com" --http1.1 "${url/$fe_h2/$fe}" && return
		sleep 0.1
	done
	echo "$1 did not answer" >&2
	exit 1
}
stop() {
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	pid=
}
tick=$(us_per_tick)
: >"$dir/rounds"
for ((r = 1; r <= rounds; r++)); do
	for b in "$@"; do
		start "$b"
		load 1 >/dev/null
		read -r u0 s0 < <(awk '{print $14, $15}' "/proc/$pid/stat")
		perf stat -x, -e task-clock,context-switches,raw_syscalls:sys_enter -p "$pid" -o "$dir/stat" &
		st=$!
		n=$(load "$secs")
		read -r u1 s1 < <(awk '{print $14, $15}' "/proc/$pid/stat")
		kill -INT "$st"
		wait "$st" 2>/dev/null || true
		stop
		[ "${n:-0}" -gt 0 ] || { echo "$b: no request answered" >&2; exit 1; }
		cs=$(awk -F, '$3 == "context-switches" {print $1}' "$dir/stat")
		sc=$(awk -F, '$3 == "raw_syscalls:sys_enter" {print $1}' "$dir/stat")
		printf '%s %s %s %s %s %s\n' "$b" "$(echo "($u1-$u0)*$tick/$n" | bc -l)" "$(echo "($s1-$s0)*$tick/$n" | bc -l)" \
			"$(echo "$sc/$n" | bc -l)" "$(echo "$cs/$n" | bc -l)" "$n" >>"$dir/rounds"
		awk -v r="$r" 'END {printf "round %d %-24s user %6.2f sys %6.2f total %6.2f us/req  syscalls %5.2f  cs %5.3f /req  (%d req)\n", r, $1, $2, $3, $2 + $3, $4, $5, $6}' "$dir/rounds"
	done
done
echo "== $scn: medians of $rounds rounds (per request)"
for b in "$@"; do
	awk -v b="$b" '$1 == b {u[++n] = $2; s[n] = $3; t[n] = $2 + $3; c[n] = $4; x[n] = $5}
		function med(a, n,   i, j, v) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { v = a[i]; a[i] = a[j]; a[j] = v }
			return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
		END { printf "median %-23s user %6.2f sys %6.2f total %6.2f us  syscalls %5.2f  cs %5.3f  req/cpu-s %7.0f\n", b, med(u, n), med(s, n), med(t, n), med(c, n), med(x, n), 1000000 / med(t, n) }' "$dir/rounds"
done
echo "== $scn: profile split (perf record -e cpu-clock, $secs s of load, % of the proxy's samples)"
for b in "$@"; do
	start "$b"
	load 1 >/dev/null
	perf record -q -e cpu-clock -g -o "$dir/$(basename "$b").data" -p "$pid" 2>/dev/null &
	rec=$!
	sleep 0.2
	load "$secs" >/dev/null
	kill -INT "$rec"
	wait "$rec" 2>/dev/null || true
	rec=
	stop
	perf report -i "$dir/$(basename "$b").data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
		awk -v b="$(basename "$b")" '
		/^ +[0-9.]+%/ {
			p = $1; sub(/%/, "", p); dso = $2; sym = $4
			if (dso ~ /kallsyms/) k = "kernel"
			else if (sym ~ /Syscall6|RawSyscall|^__libc_(recv|send|read|write|close)|^__(send|recv|close)$|accept4|epoll_wait|setsockopt|shutdown|^syscall$/) k = "syscall-entry"
			else if (dso ~ /vdso/ || sym ~ /nanotime|clock_gettime|runtimeNano|time\.now/) k = "clock"
			else if (sym ~ /^runtime\.(mallocgc|gc|scanobject|greyobject|markBits|sweep|mSpan|mcache|mcentral|mheap|heapBits|findObject|wbBuf|bulkBarrier|memclrNoHeap)|^runtime\.\(\*(mspan|mcache|mcentral|mheap|gcWork|sweepLocked)|^(malloc|free|_int_malloc|_int_free|cfree)$|pool_alloc|pool_free/) k = "alloc+gc"
			else if (sym ~ /^runtime\.|^internal\/poll\.runtime_poll|^sync\.|^internal\/sync/) k = "go-runtime (scheduler, channels, poller, locks)"
			else k = "proxy code"
			s[k] += p; t += p
		}
		END { for (k in s) printf "  %5.1f%%  %-10s %s\n", s[k] * 100 / t, b, k }' | sort -rn
done
[ -n "${KEEP:-}" ] && { mkdir -p "$KEEP"; cp "$dir"/*.data "$KEEP"/; }
exit 0
