#!/usr/bin/env bash
# Soak: SECONDS (default 600) of mixed load at once against webcache-proxy
# (memory store, in front of the `fault_origin` example) and against an
# axum app behind the cache layer (the `soak_app` example), sampling every
# 10 s the resident memory and open file descriptors of both
# (/proc/<pid>/status, /proc/<pid>/fd) and their tokio tasks alive (the
# proxy's /metrics gauge `webcache_runtime_alive_tasks`, the app's /tasks).
#
#   bash bench/soak.sh [SECONDS]      # from the repository root
#
# The load (the proxy's `load` example, bounded in time, the count bound
# set out of reach): hits, misses,
# revalidations (max-age=1), invalidations by POST (no purge endpoint
# exists yet), 1 MiB bodies (stored), and slow readers, each reading a
# 64 MiB miss (too large to store: streamed) at 4 MiB/s, one after another.
# Printed: each curve's first, last and highest sample (goal: flat), and
# the requests by kind and outcome (goal: no error). A slow reader holds
# its miss for 16 s, so the proxy's memory shows whether it holds the body.
#
# Both memory stores hold CACHE_BYTES (32 MiB): the misses fill them within
# the first minutes, so that the later samples show the full store.
#
# Settings (environment): CONCURRENCY=8 SLOW_READERS=2 SAMPLE_EVERY=10 CACHE_BYTES=33554432
set -euo pipefail

SECONDS_RUN=${1:-600}
CONCURRENCY=${CONCURRENCY:-8}
SLOW_READERS=${SLOW_READERS:-2}
SAMPLE_EVERY=${SAMPLE_EVERY:-10}
CACHE_BYTES=${CACHE_BYTES:-33554432}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/webcache-soak.XXXXXX)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "== $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 100); do
        (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
fds() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

log "building (release): webcache-proxy with fault_origin and load; webcache-examples soak_app"
cargo build --release --manifest-path "$ROOT/Cargo.toml" -p webcache-proxy \
    --bin webcache-proxy --example fault_origin --example load >&2
cargo build --release --manifest-path "$ROOT/Cargo.toml" -p webcache-examples --example soak_app >&2
BIN="$ROOT/target/release"

origin_port=$(free_port)
proxy_port=$(free_port)
admin_port=$(free_port)
app_port=$(free_port)
"$BIN/examples/fault_origin" "127.0.0.1:$origin_port" 2>"$WORK/origin.log" &
PIDS+=($!)
wait_port "$origin_port"
"$BIN/webcache-proxy" --upstream "http://127.0.0.1:$origin_port" --listen "127.0.0.1:$proxy_port" \
    --admin-listen "127.0.0.1:$admin_port" --memory-capacity "$CACHE_BYTES" --log error 2>"$WORK/proxy.log" &
proxy_pid=$!
PIDS+=("$proxy_pid")
PORT=$app_port CACHE_BYTES=$CACHE_BYTES "$BIN/examples/soak_app" 2>"$WORK/app.log" &
app_pid=$!
PIDS+=("$app_pid")
wait_port "$proxy_port"
wait_port "$admin_port"
wait_port "$app_port"

MIX=hot:70,cold:10,unique:5,reval:10,large:3,post:2
for target in proxy app; do
    port=$proxy_port
    [ "$target" = app ] && port=$app_port
    "$BIN/examples/load" --target "http://127.0.0.1:$port" --seconds "$SECONDS_RUN" \
        --concurrency "$CONCURRENCY" --mix "$MIX" --slow-readers "$SLOW_READERS" --max-requests 1000000000 \
        --prefix "soak-$target" >"$WORK/$target.summary" &
    PIDS+=($!)
    eval "load_$target=$!"
done

log "soak: ${SECONDS_RUN}s, sampling every ${SAMPLE_EVERY}s"
echo "t_s,proxy_rss_mib,proxy_fds,proxy_tasks,app_rss_mib,app_fds,app_tasks" >"$WORK/samples.csv"
start=$(date +%s)
while kill -0 "$load_proxy" 2>/dev/null || kill -0 "$load_app" 2>/dev/null; do
    t=$(( $(date +%s) - start ))
    proxy_tasks=$(curl -s "http://127.0.0.1:$admin_port/metrics" |
        awk '/^webcache_runtime_alive_tasks / { print $2 }')
    app_tasks=$(curl -s "http://127.0.0.1:$app_port/tasks")
    line="$t,$(rss_mib "$proxy_pid"),$(fds "$proxy_pid"),${proxy_tasks:-?},$(rss_mib "$app_pid"),$(fds "$app_pid"),${app_tasks:-?}"
    echo "$line" >>"$WORK/samples.csv"
    echo "   $line" >&2
    sleep "$SAMPLE_EVERY"
done
wait "$load_proxy" "$load_app" || true

cat "$WORK/samples.csv"
python3 - "$WORK/samples.csv" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
print(f"\n{'curve':16} {'first':>8} {'last':>8} {'max':>8}   (samples: {len(rows)})")
for col in rows[0].keys():
    if col == "t_s":
        continue
    vals = [float(r[col]) for r in rows if r[col] not in ("", "?")]
    if vals:
        print(f"{col:16} {vals[0]:>8g} {vals[-1]:>8g} {max(vals):>8g}")
EOF
for target in proxy app; do
    echo "$target load: $(cat "$WORK/$target.summary")"
done
errors=$(cat "$WORK/proxy.summary" "$WORK/app.summary" | tr ' ' '\n' | grep -c -E '/(short|corrupt|body-error|status-|transport)' || true)
echo "error classes seen: $errors"
[ "$errors" -eq 0 ]
