#!/usr/bin/env bash
# Two builds of webcache-proxy compared on hit throughput, side by side:
# both run at once in front of the same origin, pinned to the same CPU,
# and wrk (on the other CPU) loads them in turn, in short alternating
# runs, so that a slow moment of the machine falls on both. Prints each
# run, the median of each build and their ratio B/A, and the median of the
# rounds' own ratios.
#
#   bash bench/proxy_ab.sh OLD_BINARY NEW_BINARY [rounds] [seconds] [path]
#   bash bench/proxy_ab.sh /tmp/old/webcache-proxy target/release/webcache-proxy 7 5 /1k
#   bash bench/proxy_ab.sh floor target/release/webcache-proxy   # A: the floor of bench/proxy.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=need.sh
. "$ROOT/bench/need.sh"
A=${1:?the first (baseline) binary}
B=${2:?the second binary}
ROUNDS=${3:-7}
SECONDS_PER_RUN=${4:-5}
OBJECT=${5:-/1k}
PORT=${PORT:-18380}
(cd "$ROOT" && cargo build --release -q -p webcache-proxy --example origin --example floor)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
wait_port() { wait_for "http://127.0.0.1:$1$OBJECT"; }
taskset -c 0 "$ROOT/target/release/examples/origin" "127.0.0.1:$PORT" 2>/dev/null &
PIDS+=($!)
wait_port "$PORT"
for side in A B; do
  bin=$A
  port=$((PORT + 1))
  if [ "$side" = B ]; then bin=$B; port=$((PORT + 2)); fi
  if [ "$bin" = floor ]; then
    taskset -c 1 "$ROOT/target/release/examples/floor" "127.0.0.1:$port" 2>/dev/null &
  else
    taskset -c 1 "$bin" --upstream "http://127.0.0.1:$PORT" --listen "127.0.0.1:$port" \
      --threads 1 --log warn --memory-capacity 64MiB 2>/dev/null &
  fi
  PIDS+=($!)
  wait_port "$port"
  for _ in 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$port$OBJECT"; done
  curl -s -D - -o /dev/null "http://127.0.0.1:$port$OBJECT" | grep -qi '^cache-status: .*hit' ||
    { echo "port $port does not answer $OBJECT from cache" >&2; exit 1; }
done
rps() { # port
  taskset -c 0 wrk -t1 -c64 -d"${SECONDS_PER_RUN}s" "http://127.0.0.1:$1$OBJECT" |
    awk '/^Requests\/sec:/ {printf "%d\n", $2}'
}
# A first warming run of each, not counted.
rps $((PORT + 1)) >/dev/null
rps $((PORT + 2)) >/dev/null
a_runs=()
b_runs=()
ratios=()
for round in $(seq 1 "$ROUNDS"); do
  if [ $((round % 2)) = 1 ]; then
    a=$(rps $((PORT + 1))); b=$(rps $((PORT + 2)))
  else
    b=$(rps $((PORT + 2))); a=$(rps $((PORT + 1)))
  fi
  a_runs+=("$a"); b_runs+=("$b"); ratios+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", b / a }')")
  echo "round $round: A $a req/s, B $b req/s"
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
ma=$(median "${a_runs[@]}")
mb=$(median "${b_runs[@]}")
echo "$OBJECT hits, wrk -t1 -c64 -d${SECONDS_PER_RUN}s x $ROUNDS alternating rounds, both proxies on CPU 1, wrk on CPU 0"
awk -v a="$ma" -v b="$mb" 'BEGIN { printf "median A %d req/s, B %d req/s: B/A = %.3f\n", a, b, b / a }'
# Each round's two runs are a few seconds apart: their ratio is the least
# exposed to the machine's drift.
echo "median of the rounds' B/A: $(printf '%s\n' "${ratios[@]}" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}')"
