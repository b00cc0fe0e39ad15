#!/usr/bin/env bash
# tests/nginx.sh — a real nginx on a free loopback port for tests.
#   tests/nginx.sh start ROOT STATEDIR [tls]   serve ROOT; prints the base URL
#   tests/nginx.sh stop STATEDIR               stop it
# STATEDIR holds nginx.conf, the pid, error.log and access.log (one line per
# request: "$request $status $http_range $body_bytes_sent"). With "tls", a
# test CA and server certificate are made in STATEDIR (ca.pem) and the server
# speaks HTTPS (and HTTP/2). A STATEDIR/extra.conf written before start is
# included in the server block (test_site_headers.sh includes a site's
# nginx-patchcast.conf through it).
set -eu
cmd=$1 state=${3:-${2:-}}
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

start() {
    local root=$1 state=$2 tls=${3:-}
    mkdir -p "$state"
    root=$(cd "$root" && pwd)
    state=$(cd "$state" && pwd)
    local listen_extra="" tls_conf="" scheme=http
    if [ "$tls" = tls ]; then
        openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=patchcast test CA" \
            -keyout "$state/ca.key" -out "$state/ca.pem" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=keyCertSign" 2>/dev/null
        openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
            -keyout "$state/server.key" -out "$state/server.csr" 2>/dev/null
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$state/san.ext"
        openssl x509 -req -in "$state/server.csr" -CA "$state/ca.pem" -CAkey "$state/ca.key" \
            -CAcreateserial -days 2 -extfile "$state/san.ext" -out "$state/server.pem" 2>/dev/null
        listen_extra=" ssl http2"
        tls_conf="ssl_certificate $state/server.pem; ssl_certificate_key $state/server.key;"
        scheme=https
    fi
    local user_line=""
    [ "$(id -u)" -eq 0 ] && user_line="user root root;"
    for _ in $(seq 1 30); do
        local port=$((20000 + RANDOM % 40000))
        cat >"$state/nginx.conf" <<CONF
$user_line
worker_processes 1;
pid $state/nginx.pid;
error_log $state/error.log;
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format pc '\$request \$status range=\$http_range sent=\$body_bytes_sent conn=\$connection';
    access_log $state/access.log pc;
    client_body_temp_path $state/tmp-body;
    proxy_temp_path $state/tmp-proxy;
    fastcgi_temp_path $state/tmp-fastcgi;
    uwsgi_temp_path $state/tmp-uwsgi;
    scgi_temp_path $state/tmp-scgi;
    sendfile on;
    server {
        listen 127.0.0.1:$port$listen_extra;
        server_name localhost;
        $tls_conf
        root $root;
        include $state/extra.conf*;
    }
}
CONF
        if "$NGINX" -p "$state" -c "$state/nginx.conf" -e "$state/error.log" 2>"$state/start.err"; then
            echo "$port" >"$state/port"
            echo "$scheme://127.0.0.1:$port"
            return 0
        fi
        grep -q "Address already in use" "$state/start.err" "$state/error.log" 2>/dev/null || {
            cat "$state/start.err" >&2
            return 1
        }
    done
    echo "nginx.sh: no free port found" >&2
    return 1
}

stop() {
    local state=$1
    [ -f "$state/nginx.pid" ] || return 0
    local pid
    pid=$(cat "$state/nginx.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
}

case "$cmd" in
start) start "$2" "$3" "${4:-}" ;;
stop) stop "$2" ;;
*) echo "usage: $0 start ROOT STATEDIR [tls] | stop STATEDIR" >&2; exit 2 ;;
esac
