# lib-bench.sh: what the measuring scripts share (sourced, not run).

# nginx_conf DIR PORT WORKERS: an nginx in the foreground answering every
# keep-alive request on 127.0.0.1:PORT with 100 bytes; its files in DIR.
nginx_conf() {
	cat >"$1/nginx.conf" <<NGX
worker_processes $3;
daemon off;
pid $1/nginx.pid;
error_log $1/nginx.err error;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $1/t1; proxy_temp_path $1/t2; fastcgi_temp_path $1/t3;
  uwsgi_temp_path $1/t4; scgi_temp_path $1/t5;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$2; location / { return 200 "$(printf '%0100d' 0)"; } }
}
NGX
}

# ticks PID: the process's CPU time so far (utime+stime) in clock ticks.
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }

# us_per_tick: microseconds in one clock tick.
us_per_tick() { echo "1000000/$(getconf CLK_TCK)" | bc -l; }
