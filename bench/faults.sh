#!/usr/bin/env bash
# Faults under load: webcache-proxy in front of the `fault_origin` example,
# loaded by the `load` example (bounded in time and count, loopback only),
# while a fault is injected and then removed:
#
#   redis-kill      the Redis server killed (SIGKILL), restarted empty
#   redis-stop      the Redis server paused (SIGSTOP), then continued
#   sqlite-lock     another connection holds the SQLite write lock
#   sqlite-corrupt  the SQLite file overwritten with random bytes (not undone)
#   origin-slow     the origin waits 2 s before each response head
#   origin-reset    the origin resets every connection
#   origin-truncate the origin dies in the middle of every body
#
#   bash bench/faults.sh [SCENARIO...]     # from the repository root; all by default
#
# For each: the requests sent; those that failed because of the cache (goal
# 0): any failure while the origin is healthy, a failed hit at any time, and
# at any time a 200 whose body is short or wrong (a truncated body stored or
# relayed as complete); the failures the origin caused (misses and
# revalidations that went forward during an origin fault and ended in 502,
# 504 or a body error, as they must); the hits while the fault lasted; and
# the time from the fault's removal (the corruption, for sqlite-corrupt)
# until hits resume (0 when they never stopped).
#
# Settings (environment): SECONDS_RUN=20 FAULT_AT=6 FAULT_FOR=6 CONCURRENCY=16
# Needs redis-server, python3 (free ports, the SQLite lock, the table).
set -euo pipefail

SECONDS_RUN=${SECONDS_RUN:-20}
FAULT_AT=${FAULT_AT:-6}
FAULT_FOR=${FAULT_FOR:-6}
CONCURRENCY=${CONCURRENCY:-16}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/webcache-faults.XXXXXX)
PIDS=()
SCENARIOS=("$@")
if [ ${#SCENARIOS[@]} -eq 0 ]; then
    SCENARIOS=(redis-kill redis-stop sqlite-lock sqlite-corrupt origin-slow origin-reset origin-truncate)
fi

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill -CONT "$pid" 2>/dev/null || true
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

log() { echo "== $*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now_ms() { date +%s%3N; }
wait_port() { # wait until 127.0.0.1:$1 accepts connections
    for _ in $(seq 100); do
        (echo >/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on port $1" >&2
    return 1
}

log "building (release): webcache-proxy, examples fault_origin and load"
cargo build --release --manifest-path "$ROOT/Cargo.toml" -p webcache-proxy \
    --bin webcache-proxy --example fault_origin --example load >&2
BIN="$ROOT/target/release"

start_redis() { # port
    redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$WORK" --logfile "$WORK/redis.log" &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    wait_port "$1"
}

# The lock: a second connection that takes the write lock and holds it.
hold_sqlite_lock() { # file seconds
    python3 - "$1" "$2" <<'EOF'
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
EOF
}

corrupt_sqlite() { # file
    local size
    size=$(stat -c %s "$1")
    # Every page but the first (the header stays, the b-trees go).
    dd if=/dev/urandom of="$1" bs=4096 seek=1 count=$(( (size / 4096) + 1 )) conv=notrunc status=none
    for extra in "$1-wal" "$1-shm"; do
        [ -f "$extra" ] && dd if=/dev/urandom of="$extra" bs=4096 seek=1 count=4 conv=notrunc status=none
    done
    return 0
}

run_scenario() { # name
    local name=$1 origin_port proxy_port store
    origin_port=$(free_port)
    proxy_port=$(free_port)
    "$BIN/examples/fault_origin" "127.0.0.1:$origin_port" 2>"$WORK/origin.log" &
    local origin_pid=$!
    PIDS+=("$origin_pid")
    wait_port "$origin_port"

    case $name in
        redis-*)
            REDIS_PORT=$(free_port)
            start_redis "$REDIS_PORT"
            store="redis://127.0.0.1:$REDIS_PORT/0"
            ;;
        sqlite-*)
            store="sqlite:$WORK/$name.db"
            ;;
        *) store=memory ;;
    esac
    "$BIN/webcache-proxy" --upstream "http://127.0.0.1:$origin_port" \
        --listen "127.0.0.1:$proxy_port" --store "$store" \
        --upstream-timeout 1s --upstream-idle-timeout 1s --log error 2>"$WORK/proxy-$name.log" &
    local proxy_pid=$!
    PIDS+=("$proxy_pid")
    wait_port "$proxy_port"

    "$BIN/examples/load" --target "http://127.0.0.1:$proxy_port" --seconds "$SECONDS_RUN" \
        --concurrency "$CONCURRENCY" --max-requests 20000000 --prefix "$name" --log "$WORK/$name.csv" \
        >"$WORK/$name.summary" &
    local load_pid=$!
    PIDS+=("$load_pid")

    sleep "$FAULT_AT"
    local start end
    start=$(now_ms)
    case $name in
        redis-kill)
            kill -KILL "$REDIS_PID"
            wait "$REDIS_PID" 2>/dev/null || true
            sleep "$FAULT_FOR"
            start_redis "$REDIS_PORT"
            ;;
        redis-stop)
            kill -STOP "$REDIS_PID"
            sleep "$FAULT_FOR"
            kill -CONT "$REDIS_PID"
            ;;
        sqlite-lock) hold_sqlite_lock "$WORK/$name.db" "$FAULT_FOR" ;;
        sqlite-corrupt) corrupt_sqlite "$WORK/$name.db" ;;
        origin-*)
            curl -s "http://127.0.0.1:$origin_port/_mode/${name#origin-}" >/dev/null
            sleep "$FAULT_FOR"
            curl -s "http://127.0.0.1:$origin_port/_mode/normal" >/dev/null
            ;;
    esac
    end=$(now_ms)
    echo "$name $start $end" >>"$WORK/windows"
    wait "$load_pid"
    log "$name: $(cat "$WORK/$name.summary")"
    if [ "$name" = sqlite-corrupt ]; then
        local aside
        aside=$(find "$WORK" -maxdepth 1 -name "$name.db.corrupt-*" ! -name '*-wal' ! -name '*-shm' | wc -l)
        echo "sqlite-corrupt: the store moved the corrupt file aside $aside time(s) and rebuilt it" >>"$WORK/notes"
    fi
    kill "$proxy_pid" "$origin_pid" 2>/dev/null || true
    [ -n "${REDIS_PID:-}" ] && { kill "$REDIS_PID" 2>/dev/null || true; REDIS_PID=; }
    wait "$proxy_pid" "$origin_pid" 2>/dev/null || true
}

for scenario in "${SCENARIOS[@]}"; do
    log "scenario $scenario (${SECONDS_RUN}s of load; fault at ${FAULT_AT}s for ${FAULT_FOR}s)"
    run_scenario "$scenario"
done

set +e
python3 - "$WORK" <<'EOF'
import csv, os, sys
work = sys.argv[1]
print(f"{'fault':16} {'requests':>9} {'failed(cache)':>14} {'failed(origin)':>15} {'hits in fault':>14} {'hits resume':>12}")
bad_total = 0
for line in open(os.path.join(work, "windows")):
    name, start, end = line.split()
    start, end = int(start), int(end)
    rows = list(csv.DictReader(open(os.path.join(work, name + ".csv"))))
    origin_fault = name.startswith("origin-")
    cache_bad = origin_bad = 0
    for r in rows:
        if r["class"] == "ok":
            continue
        s, e = int(r["start_ms"]), int(r["end_ms"])
        # An origin fault excuses a forwarded request that overlapped it.
        excused = (origin_fault and r["kind"] != "hot" and r["class"] not in ("short", "corrupt")
                   and s <= end and e >= start)
        if excused:
            origin_bad += 1
        else:
            cache_bad += 1
    bad_total += cache_bad
    during = [r for r in rows if start <= int(r["end_ms"]) <= end]
    hits_during = sum(r["hit"] == "1" for r in during)
    removed = start if name == "sqlite-corrupt" else end
    after = [int(r["end_ms"]) for r in rows if r["hit"] == "1" and int(r["end_ms"]) >= removed]
    # Hits that never stopped: a hit in every second of the fault.
    seconds = {(int(r["end_ms"]) - start) // 1000 for r in during if r["hit"] == "1"}
    never_stopped = name != "sqlite-corrupt" and len(seconds) >= max(1, (end - start) // 1000)
    if never_stopped:
        resume = "0 (never stopped)"
    elif after:
        resume = f"{after[0] - removed} ms"
    else:
        resume = "never"
    print(f"{name:16} {len(rows):>9} {cache_bad:>14} {origin_bad:>15} {hits_during:>14} {resume:>12}")
sys.exit(1 if bad_total else 0)
EOF
status=$?
[ -f "$WORK/notes" ] && cat "$WORK/notes"
exit $status
