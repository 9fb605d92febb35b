#!/usr/bin/env bash
# Cache-hit load benchmark: webcache-proxy vs Varnish vs nginx proxy_cache,
# and vs the floor: the `floor` example of webcache-proxy, which sends the
# very bytes of a webcache hit (status line, fields, body) with no cache at
# all, on the same hyper server and runtime as the proxy.
#
#   bash bench/proxy.sh            # from the repository root
#
# The same origin (the `origin` example of webcache-proxy: /1k and /64k with
# `Cache-Control: public, max-age=3600`) runs behind each cache; each cache is
# warmed, checked to answer from its cache, and then loaded with wrk. Printed:
# requests/s and p99 latency for 1 KiB and 64 KiB hits, and the ratios of
# webcache to Varnish, to nginx and to the floor.
#
# On Debian it installs what is missing (wrk, varnish, nginx) with apt-get.
# Then the same over HTTP/2 (cleartext, prior knowledge) with h2load, against
# webcache-proxy (which serves HTTP/1.1 and HTTP/2 on its one port) and nginx's
# `listen ... http2` (Varnish has no HTTP/2 without TLS in front of it here).
# Settings (environment):
#   DURATION=10s CONNECTIONS=64 THREADS=1   wrk's run length, connections, threads
#   STREAMS=10                              h2load's concurrent streams per connection
#   H2=1                                    0 skips the HTTP/2 runs
#   BIN=target/release/webcache-proxy       the proxy binary measured
#   SERVER_CPUS=1 CLIENT_CPUS=0             CPUs the caches and wrk are pinned to
#                                           (taskset lists; empty = no pinning)
#   BASE_PORT=18080                         origin; +1 webcache, +2 varnish, +3 nginx,
#                                           +4 nginx HTTP/2, +5 the floor
set -euo pipefail

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
SERVER_CPUS=${SERVER_CPUS-1}
CLIENT_CPUS=${CLIENT_CPUS-0}
BASE_PORT=${BASE_PORT:-18080}
STREAMS=${STREAMS:-10}
H2=${H2:-1}
ORIGIN_PORT=$BASE_PORT
WEBCACHE_PORT=$((BASE_PORT + 1))
VARNISH_PORT=$((BASE_PORT + 2))
NGINX_PORT=$((BASE_PORT + 3))
NGINX_H2_PORT=$((BASE_PORT + 4))
FLOOR_PORT=$((BASE_PORT + 5))

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/webcache-bench.XXXXXX)
# Varnish and nginx drop privileges: let them read their files.
chmod 755 "$WORK"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    # nginx may have removed its pid file since the kill above.
    local nginx
    if nginx=$(cat "$WORK/nginx/nginx.pid" 2>/dev/null); then
        kill "$nginx" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

pin() { # pin CPUS command... ; run in the background as `pin ... &`, it
    # becomes the command itself (exec), so that $! is the command's PID.
    local cpus=$1
    shift
    if [ -n "$cpus" ] && command -v taskset >/dev/null; then
        exec taskset -c "$cpus" "$@"
    else
        exec "$@"
    fi
}

log() { echo "== $*" >&2; }

# ---- tools -----------------------------------------------------------------
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v varnishd >/dev/null || [ -x /usr/sbin/varnishd ] || missing+=(varnish)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v curl >/dev/null || missing+=(curl)
if [ "$H2" = 1 ]; then command -v h2load >/dev/null || missing+=(nghttp2-client); fi
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    # Debian starts the packaged services; the benchmark runs its own.
    systemctl stop varnish nginx 2>/dev/null || service varnish stop 2>/dev/null || true
    service nginx stop 2>/dev/null || true
fi
VARNISHD=$(command -v varnishd || echo /usr/sbin/varnishd)
NGINX=$(command -v nginx || echo /usr/sbin/nginx)

# ---- build -----------------------------------------------------------------
log "building webcache-proxy and the origin (release)"
(cd "$ROOT" && cargo build --release -q -p webcache-proxy --bin webcache-proxy --example origin --example floor)
# BIN=path/to/webcache-proxy measures another build (an older commit's, to
# compare two builds back to back on the same machine).
BIN=${BIN:-"$ROOT/target/release/webcache-proxy"}
ORIGIN="$ROOT/target/release/examples/origin"
FLOOR="$ROOT/target/release/examples/floor"

wait_port() { # port log
    for _ in $(seq 1 300); do
        if curl -s -o /dev/null "http://127.0.0.1:$1/1k"; then return 0; fi
        sleep 0.1
    done
    echo "nothing answers on port $1" >&2
    if [ -n "${2:-}" ]; then cat "$2" >&2; fi
    return 1
}

# ---- origin ----------------------------------------------------------------
pin "$CLIENT_CPUS" "$ORIGIN" "127.0.0.1:$ORIGIN_PORT" 2>"$WORK/origin.log" &
PIDS+=($!)
wait_port "$ORIGIN_PORT"

# ---- webcache-proxy --------------------------------------------------------
threads=1
if [ -n "$SERVER_CPUS" ]; then
    threads=$(echo "$SERVER_CPUS" | tr ',' '\n' | wc -l)
fi
pin "$SERVER_CPUS" "$BIN" --upstream "http://127.0.0.1:$ORIGIN_PORT" \
    --listen "127.0.0.1:$WEBCACHE_PORT" --threads "$threads" --log warn \
    --memory-capacity 256MiB 2>"$WORK/webcache.log" &
PIDS+=($!)

# ---- the floor -------------------------------------------------------------
pin "$SERVER_CPUS" "$FLOOR" "127.0.0.1:$FLOOR_PORT" 2>"$WORK/floor.log" &
PIDS+=($!)

# ---- varnish ---------------------------------------------------------------
cat >"$WORK/default.vcl" <<EOF
vcl 4.1;
backend origin { .host = "127.0.0.1"; .port = "$ORIGIN_PORT"; }
EOF
pin "$SERVER_CPUS" "$VARNISHD" -F -n "$WORK/varnish" -a "127.0.0.1:$VARNISH_PORT" \
    -f "$WORK/default.vcl" -s malloc,256m \
    -p thread_pool_min=50 -p thread_pools=1 >"$WORK/varnish.log" 2>&1 &
PIDS+=($!)

# ---- nginx proxy_cache -----------------------------------------------------
mkdir -p "$WORK/nginx/cache" "$WORK/nginx/tmp"
workers=1
if [ -n "$SERVER_CPUS" ]; then workers=$threads; else workers=auto; fi
cat >"$WORK/nginx/nginx.conf" <<EOF
worker_processes $workers;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log warn;
daemon off;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/tmp;
    proxy_temp_path $WORK/nginx/tmp;
    fastcgi_temp_path $WORK/nginx/tmp;
    uwsgi_temp_path $WORK/nginx/tmp;
    scgi_temp_path $WORK/nginx/tmp;
    proxy_cache_path $WORK/nginx/cache levels=1:2 keys_zone=bench:64m max_size=256m inactive=1h;
    upstream origin { server 127.0.0.1:$ORIGIN_PORT; keepalive 64; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bench;
            proxy_cache_lock on;
            add_header X-Cache-Status \$upstream_cache_status;
        }
    }
    server {
        listen 127.0.0.1:$NGINX_H2_PORT http2;
        # nginx ends an HTTP/2 connection after keepalive_requests (1000)
        # requests and h2load does not reconnect: lift it for this run.
        keepalive_requests 100000000;
        location / {
            proxy_pass http://origin;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache bench;
            proxy_cache_lock on;
            add_header X-Cache-Status \$upstream_cache_status;
        }
    }
}
EOF
pin "$SERVER_CPUS" "$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx.log" 2>&1 &
PIDS+=($!)

wait_port "$WEBCACHE_PORT" "$WORK/webcache.log"
wait_port "$VARNISH_PORT" "$WORK/varnish.log"
wait_port "$NGINX_PORT" "$WORK/nginx.log"
wait_port "$FLOOR_PORT" "$WORK/floor.log"

# ---- warm and check --------------------------------------------------------
check_hit() { # port path
    local headers
    for _ in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$1$2"; done
    headers=$(curl -s -D - -o /dev/null "http://127.0.0.1:$1$2")
    if ! echo "$headers" | grep -qiE '^(cache-status: .*hit|x-cache-status: hit|age: [0-9]+)'; then
        echo "port $1 $2 is not answered from cache:" >&2
        echo "$headers" >&2
        return 1
    fi
}
for port in $WEBCACHE_PORT $VARNISH_PORT $NGINX_PORT $FLOOR_PORT; do
    for path in /1k /64k; do check_hit "$port" "$path"; done
done
before=$(curl -s -D - -o /dev/null "http://127.0.0.1:$ORIGIN_PORT/1k" | tr -d '\r' | awk -F': ' 'tolower($1)=="origin-requests"{print $2}')

# ---- load ------------------------------------------------------------------
run() { # port path -> "rps p99_ms"
    local out rps p99
    out=$( (pin "$CLIENT_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$1$2") )
    rps=$(echo "$out" | awk '/^Requests\/sec:/{print $2}')
    p99=$(echo "$out" | awk '$1=="99%"{print $2}')
    # wrk prints latencies with a unit: us, ms or s.
    p99=$(echo "$p99" | awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f", v}')
    if echo "$out" | grep -q "Non-2xx"; then
        echo "port $1 $2 answered errors during the run" >&2
        echo "$out" >&2
    fi
    echo "$rps $p99"
}

declare -A RPS P99
for name in webcache varnish nginx floor; do
    case $name in
        webcache) port=$WEBCACHE_PORT ;;
        varnish) port=$VARNISH_PORT ;;
        nginx) port=$NGINX_PORT ;;
        floor) port=$FLOOR_PORT ;;
    esac
    for path in /1k /64k; do
        log "$name $path: wrk -t$THREADS -c$CONNECTIONS -d$DURATION"
        read -r rps p99 < <(run "$port" "$path")
        RPS[$name$path]=$rps
        P99[$name$path]=$p99
    done
done
after=$(curl -s -D - -o /dev/null "http://127.0.0.1:$ORIGIN_PORT/1k" | tr -d '\r' | awk -F': ' 'tolower($1)=="origin-requests"{print $2}')

# ---- report ----------------------------------------------------------------
echo
echo "Cache hits; wrk -t$THREADS -c$CONNECTIONS -d$DURATION; caches on CPU(s) '${SERVER_CPUS:-any}', wrk on '${CLIENT_CPUS:-any}'; $(nproc) CPUs"
printf "%-8s | %12s %9s | %12s %9s | %12s %9s | %12s %9s | %9s %9s %9s\n" object "webcache r/s" "p99 ms" "varnish r/s" "p99 ms" "nginx r/s" "p99 ms" "floor r/s" "p99 ms" "vs varnish" "vs nginx" "vs floor"
for path in /1k /64k; do
    w=${RPS[webcache$path]}
    v=${RPS[varnish$path]}
    n=${RPS[nginx$path]}
    f=${RPS[floor$path]}
    printf "%-8s | %12.0f %9s | %12.0f %9s | %12.0f %9s | %12.0f %9s | %8.2fx %8.2fx %8.2fx\n" \
        "${path#/}" "$w" "${P99[webcache$path]}" "$v" "${P99[varnish$path]}" "$n" "${P99[nginx$path]}" "$f" "${P99[floor$path]}" \
        "$(awk -v a="$w" -v b="$v" 'BEGIN{print a/b}')" "$(awk -v a="$w" -v b="$n" 'BEGIN{print a/b}')" "$(awk -v a="$w" -v b="$f" 'BEGIN{print a/b}')"
done
echo "origin requests during the load runs: $((after - before - 1))"

# ---- HTTP/2 ----------------------------------------------------------------
[ "$H2" = 1 ] || exit 0
check_hit_h2() { # port path
    local headers
    for _ in 1 2 3; do curl -s --http2-prior-knowledge -o /dev/null "http://127.0.0.1:$1$2"; done
    headers=$(curl -s --http2-prior-knowledge -D - -o /dev/null "http://127.0.0.1:$1$2")
    if ! echo "$headers" | grep -qiE '^(cache-status: .*hit|x-cache-status: hit)'; then
        echo "port $1 $2 is not answered from cache over HTTP/2:" >&2
        echo "$headers" >&2
        return 1
    fi
}
for port in $WEBCACHE_PORT $NGINX_H2_PORT; do
    for path in /1k /64k; do check_hit_h2 "$port" "$path"; done
done
run_h2() { # port path -> "rps"
    local out rps
    out=$( (pin "$CLIENT_CPUS" h2load -t"$THREADS" -c"$CONNECTIONS" -m"$STREAMS" -D "${DURATION%s}" --warm-up-time 1 "http://127.0.0.1:$1$2") )
    rps=$(echo "$out" | awk '/^finished in/{gsub(",", "", $4); print $4}')
    if ! echo "$out" | grep -qE '^status codes: [0-9]+ 2xx, 0 3xx, 0 4xx, 0 5xx'; then
        echo "port $1 $2 answered errors during the HTTP/2 run" >&2
        echo "$out" >&2
    fi
    echo "$rps"
}
declare -A H2RPS
for name in webcache nginx; do
    case $name in
        webcache) port=$WEBCACHE_PORT ;;
        nginx) port=$NGINX_H2_PORT ;;
    esac
    for path in /1k /64k; do
        log "$name $path over HTTP/2: h2load -t$THREADS -c$CONNECTIONS -m$STREAMS -D ${DURATION%s}"
        H2RPS[$name$path]=$(run_h2 "$port" "$path")
    done
done
echo
echo "Cache hits over HTTP/2 (cleartext, prior knowledge); h2load -t$THREADS -c$CONNECTIONS -m$STREAMS -D ${DURATION%s}"
printf "%-8s | %12s | %12s | %9s\n" object "webcache r/s" "nginx r/s" "vs nginx"
for path in /1k /64k; do
    w=${H2RPS[webcache$path]}
    n=${H2RPS[nginx$path]}
    printf "%-8s | %12.0f | %12.0f | %8.2fx\n" "${path#/}" "${w:-0}" "${n:-0}" "$(awk -v a="${w:-0}" -v b="${n:-0}" 'BEGIN{print (b > 0) ? a/b : 0}')"
done
