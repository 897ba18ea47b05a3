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

# scenario_files DIR B1 B2: what cost-split.sh and pair-cost.sh serve and read, in DIR: the
# 100-byte and 16 KiB files, an nginx answering both on 127.0.0.1:B1 and :B2 and on the UNIX
# socket DIR/nginx.sock (nginx.conf), a
# self-signed ECDSA certificate (site.pem) and the rules frontend's hosts.map.
scenario_files() {
	local dir=$1 b1=$2 b2=$3
	mkdir -p "$dir"/t{1,2,3,4,5} "$dir/www"
	printf '%0100d' 0 >"$dir/www/small"
	head -c 16384 /dev/zero | tr '\0' a >"$dir/www/16k"
	chmod 755 "$dir" "$dir/www" # nginx's worker user reads the files
	cat >"$dir/nginx.conf" <<NGX
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/nginx.err error;
worker_rlimit_nofile 20000;
events { worker_connections 10000; }
http {
  access_log off;
  client_body_temp_path $dir/t1; proxy_temp_path $dir/t2; fastcgi_temp_path $dir/t3;
  uwsgi_temp_path $dir/t4; scgi_temp_path $dir/t5;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$b1; listen 127.0.0.1:$b2; listen unix:$dir/nginx.sock; root $dir/www; }
}
NGX
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$dir/key.pem" \
		-out "$dir/crt.pem" -days 2 -subj /CN=localhost >/dev/null 2>&1
	cat "$dir/crt.pem" "$dir/key.pem" >"$dir/site.pem"
	printf '%s\n' www.example.com example.com static.example.com api.example.com admin.example.com |
		awk '{b = "be_http"} /static/ {b = "be_static"} /api/ {b = "be_api"} /admin/ {b = "be_admin"} {print $1, b}' >"$dir/hosts.map"
}

# rules_section PORT DIR B1 B2: the bench's rules frontend on PORT (its map in DIR) and the
# backends every scenario uses (be_http balancing over B1 and B2).
rules_section() {
	cat <<CFG
frontend fe_rules
    bind 127.0.0.1:$1
    acl p_static  path_beg /static/ /assets/ /images/
    acl p_api     path_beg /api/ /graphql
    acl p_media   path_end -i .jpg .jpeg .png .gif .webp .svg .ico .mp4
    acl h_admin   hdr(host) -i admin.example.com admin.example.org
    acl d_api     hdr_dom(host) -i api.example.net
    acl p_item    path_reg ^/v[0-9]+/items/[0-9]+(/.*)?\$
    acl m_write   method POST PUT PATCH DELETE
    acl c_beta    req.cook(beta) -m found
    acl q_debug   url_param(debug) -m found
    acl s_office  src 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16
    http-request del-header X-Internal
    http-request set-header X-Client %[src]
    http-request deny deny_status 403 if h_admin !s_office
    http-response set-header X-Bench-Rules 1
    use_backend be_static if p_static || p_media
    use_backend be_api    if p_api || p_item || d_api m_write
    use_backend be_admin  if h_admin
    use_backend be_static if q_debug s_office
    use_backend %[req.hdr(host),lower,map($2/hosts.map,be_http)]
    default_backend be_http
backend be_http
    balance roundrobin
    server s1 127.0.0.1:$3
    server s2 127.0.0.1:$4
backend be_static
    server s1 127.0.0.1:$3
backend be_api
    server s1 127.0.0.1:$3
backend be_admin
    server s2 127.0.0.1:$4
CFG
}
