#!/usr/bin/env bash
# User-space instructions per 1 KiB cache hit in webcache-proxy, counted by
# callgrind over real HTTP/1.1 on loopback: the proxy runs under callgrind
# in front of the `origin` example, h2load (--h1, keep-alive) sends N hits,
# twice (N and 5N), so that start-up and warming cancel out; prints
# (Ir(5N) - Ir(N)) / 4N. The kernel's share is not counted (it is the same
# for any two builds). Counts barely move with what else the machine is
# doing, where throughput swings: a busy machine lowers them by a few dozen
# a request (more requests wait for each wakeup of the proxy, so each pays
# a smaller share of the polling), so compare builds on a quiet one.
#
#   bash bench/proxy_instructions.sh                       # this checkout's build
#   BIN=/path/to/webcache-proxy bash bench/proxy_instructions.sh   # another build
#   N=5000 PATH_=/64k bash bench/proxy_instructions.sh
#   FLOOR=1 bash bench/proxy_instructions.sh   # the `floor` example instead (no cache)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-5000}
OBJECT=${PATH_:-/1k}
PORT=${PORT:-18190}
# shellcheck source=need.sh
. "$ROOT/bench/need.sh"
need valgrind h2load curl
(cd "$ROOT" && cargo build --release -q -p webcache-proxy --bin webcache-proxy --example origin --example floor)
BIN=${BIN:-"$ROOT/target/release/webcache-proxy"}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

wait_port() { wait_for "http://127.0.0.1:$1$OBJECT"; }

"$ROOT/target/release/examples/origin" "127.0.0.1:$PORT" 2>/dev/null &
PIDS+=($!)
wait_port "$PORT"

count() { # requests -> instructions of the whole proxy run
  local port=$((PORT + 1)) pid
  if [ "${FLOOR:-0}" = 1 ]; then
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$1" \
      "$ROOT/target/release/examples/floor" "127.0.0.1:$port" 2>"$WORK/valgrind.$1" &
  else
    valgrind --tool=callgrind --callgrind-out-file="$WORK/cg.$1" \
      "$BIN" --upstream "http://127.0.0.1:$PORT" --listen "127.0.0.1:$port" \
      --threads 1 --log warn 2>"$WORK/valgrind.$1" &
  fi
  pid=$!
  wait_port "$port"
  curl -s -o /dev/null "http://127.0.0.1:$port$OBJECT"
  h1_load "http://127.0.0.1:$port$OBJECT" "$1" "$WORK/h2load.$1"
  # The proxy stops on SIGINT; the floor has no handler (and a background
  # job ignores SIGINT), so it gets SIGTERM; valgrind writes its counts
  # either way.
  if [ "${FLOOR:-0}" = 1 ]; then kill -TERM "$pid"; else kill -INT "$pid"; fi
  wait "$pid" || true
  awk '/Collected/ {print $NF}' "$WORK/valgrind.$1"
}
small=$(count "$N")
large=$(count $((5 * N)))
awk -v a="$small" -v b="$large" -v n="$N" 'BEGIN { printf "instructions per hit (user space): %.0f\n", (b - a) / (4 * n) }'
