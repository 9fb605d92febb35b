#!/usr/bin/env bash
# Cache-hit throughput over HTTP: webcache-proxy on the SQLite store vs the
# same proxy on the in-memory store, in the same run.
#
#   bash bench/sqlite.sh            # from the repository root
#
# The `origin` example of webcache-proxy (/1k and /64k with
# `Cache-Control: public, max-age=3600`) runs behind two proxies, one with
# `--store memory` and one with `--store sqlite:PATH`; each is warmed,
# checked to answer from its cache, and loaded with wrk, alternating
# memory, sqlite, memory, sqlite so that drift on a shared machine hits
# both. Printed: requests/s and p99 for each, and SQLite / memory.
#
# On Debian it installs wrk and curl with apt-get when missing.
# Settings (environment):
#   DURATION=10s CONNECTIONS=64 THREADS=1   wrk's run length, connections, threads
#   ROUNDS=2                                 memory/sqlite pairs of runs per object
#   SERVER_CPUS=1 CLIENT_CPUS=0             CPUs the proxies and wrk are pinned to
#                                           (taskset lists; empty = no pinning)
#   BASE_PORT=18180                         origin; +1 memory, +2 sqlite
set -euo pipefail

DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-2}
SERVER_CPUS=${SERVER_CPUS-1}
CLIENT_CPUS=${CLIENT_CPUS-0}
BASE_PORT=${BASE_PORT:-18180}
ORIGIN_PORT=$BASE_PORT
MEMORY_PORT=$((BASE_PORT + 1))
SQLITE_PORT=$((BASE_PORT + 2))

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/webcache-bench-sqlite.XXXXXX)
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

pin() { # pin CPUS command... ; `pin ... &` makes $! the command's PID
    local cpus=$1
    shift
    if [ -n "$cpus" ] && command -v taskset >/dev/null; then
        exec taskset -c "$cpus" "$@"
    else
        exec "$@"
    fi
}

log() { echo "== $*" >&2; }

missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

log "building webcache-proxy and the origin (release)"
(cd "$ROOT" && cargo build --release -q -p webcache-proxy --bin webcache-proxy --example origin)
BIN="$ROOT/target/release/webcache-proxy"
ORIGIN="$ROOT/target/release/examples/origin"

wait_port() { # port log
    for _ in $(seq 1 300); do
        if curl -s -o /dev/null "http://127.0.0.1:$1/1k"; then return 0; fi
        sleep 0.1
    done
    echo "nothing answers on port $1" >&2
    if [ -n "${2:-}" ]; then cat "$2" >&2; fi
    return 1
}

pin "$CLIENT_CPUS" "$ORIGIN" "127.0.0.1:$ORIGIN_PORT" 2>"$WORK/origin.log" &
PIDS+=($!)
wait_port "$ORIGIN_PORT"

threads=1
if [ -n "$SERVER_CPUS" ]; then
    threads=$(echo "$SERVER_CPUS" | tr ',' '\n' | wc -l)
fi
common=(--upstream "http://127.0.0.1:$ORIGIN_PORT" --threads "$threads" --log warn)
pin "$SERVER_CPUS" "$BIN" "${common[@]}" --listen "127.0.0.1:$MEMORY_PORT" \
    --store memory --memory-capacity 256MiB 2>"$WORK/memory.log" &
PIDS+=($!)
MEMORY_PID=$!
pin "$SERVER_CPUS" "$BIN" "${common[@]}" --listen "127.0.0.1:$SQLITE_PORT" \
    --store "sqlite:$WORK/cache.db" --sqlite-max-size 256MiB 2>"$WORK/sqlite.log" &
PIDS+=($!)
SQLITE_PID=$!
wait_port "$MEMORY_PORT" "$WORK/memory.log"
wait_port "$SQLITE_PORT" "$WORK/sqlite.log"

check_hit() { # port path
    local headers
    for _ in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$1$2"; done
    headers=$(curl -s -D - -o /dev/null "http://127.0.0.1:$1$2")
    if ! echo "$headers" | grep -qiE '^cache-status: .*hit'; then
        echo "port $1 $2 is not answered from cache:" >&2
        echo "$headers" >&2
        return 1
    fi
}
for port in $MEMORY_PORT $SQLITE_PORT; do
    for path in /1k /64k; do check_hit "$port" "$path"; done
done

cpu_ticks() { # pid -> user+system CPU time of the process, in clock ticks
    awk '{print $14 + $15}' "/proc/$1/stat"
}

run() { # port path pid -> "rps p99_ms cpu_us_per_request"
    local out rps p99 before after
    before=$(cpu_ticks "$3")
    out=$( (pin "$CLIENT_CPUS" wrk -t"$THREADS" -c"$CONNECTIONS" -d"$DURATION" --latency "http://127.0.0.1:$1$2") )
    after=$(cpu_ticks "$3")
    rps=$(echo "$out" | awk '/^Requests\/sec:/{print $2}')
    p99=$(echo "$out" | awk '$1=="99%"{print $2}')
    p99=$(echo "$p99" | awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms$/,"",v)} else if (v ~ /s$/) {sub(/s$/,"",v); v*=1000}; printf "%.2f", v}')
    if echo "$out" | grep -q "Non-2xx"; then
        echo "port $1 $2 answered errors during the run" >&2
        echo "$out" >&2
    fi
    requests=$(echo "$out" | awk '/requests in/{print $1}')
    cpu=$(awk -v t=$((after - before)) -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN{printf "%.1f", t / hz * 1e6 / n}')
    echo "$rps $p99 $cpu"
}

echo
echo "Cache hits; wrk -t$THREADS -c$CONNECTIONS -d$DURATION; proxies on CPU(s) '${SERVER_CPUS:-any}', wrk on '${CLIENT_CPUS:-any}'; $(nproc) CPUs"
echo "(cpu us/req: the proxy process's user+system CPU time per request; memory/sqlite of those"
echo " is the throughput ratio a CPU-bound proxy would reach, whatever else runs on the machine)"
printf "%-6s %-5s | %10s %7s %7s | %10s %7s %7s | %9s %9s\n" object round "memory r/s" "p99 ms" "cpu us" "sqlite r/s" "p99 ms" "cpu us" "r/s ratio" "cpu ratio"
for path in /1k /64k; do
    total_m=0
    total_s=0
    cpu_m=0
    cpu_s=0
    for round in $(seq 1 "$ROUNDS"); do
        log "${path#/} round $round: memory"
        read -r m_rps m_p99 m_cpu < <(run "$MEMORY_PORT" "$path" "$MEMORY_PID")
        log "${path#/} round $round: sqlite"
        read -r s_rps s_p99 s_cpu < <(run "$SQLITE_PORT" "$path" "$SQLITE_PID")
        total_m=$(awk -v a="$total_m" -v b="$m_rps" 'BEGIN{print a+b}')
        total_s=$(awk -v a="$total_s" -v b="$s_rps" 'BEGIN{print a+b}')
        cpu_m=$(awk -v a="$cpu_m" -v b="$m_cpu" 'BEGIN{print a+b}')
        cpu_s=$(awk -v a="$cpu_s" -v b="$s_cpu" 'BEGIN{print a+b}')
        printf "%-6s %-5s | %10.0f %7s %7s | %10.0f %7s %7s | %8.2fx %8.2fx\n" "${path#/}" "$round" \
            "$m_rps" "$m_p99" "$m_cpu" "$s_rps" "$s_p99" "$s_cpu" \
            "$(awk -v a="$s_rps" -v b="$m_rps" 'BEGIN{print a/b}')" "$(awk -v a="$m_cpu" -v b="$s_cpu" 'BEGIN{print a/b}')"
    done
    printf "%-6s %-5s | %10.0f %7s %7.1f | %10.0f %7s %7.1f | %8.2fx %8.2fx\n" "${path#/}" "mean" \
        "$(awk -v a="$total_m" -v n="$ROUNDS" 'BEGIN{print a/n}')" "" "$(awk -v a="$cpu_m" -v n="$ROUNDS" 'BEGIN{print a/n}')" \
        "$(awk -v a="$total_s" -v n="$ROUNDS" 'BEGIN{print a/n}')" "" "$(awk -v a="$cpu_s" -v n="$ROUNDS" 'BEGIN{print a/n}')" \
        "$(awk -v a="$total_s" -v b="$total_m" 'BEGIN{print a/b}')" "$(awk -v a="$cpu_m" -v b="$cpu_s" 'BEGIN{print a/b}')"
done
