#!/usr/bin/env bash
# User-space instructions per request of the `bench_axum` server (the one
# `bench/axum.sh` loads): the bare 1 KiB route, the same route behind the
# cache layer (hits), and behind the do-nothing layer that answers a canned
# hit. Counted by callgrind over real HTTP/1.1 on loopback: the server runs
# under callgrind, h2load (--h1, keep-alive, 4 connections) sends N and 5N
# requests to one of its ports, so that start-up and warming cancel out;
# prints (Ir(5N) - Ir(N)) / 4N for each. The kernel's share is not counted.
# Counts barely move with other load, where throughput swings; a busy machine
# lowers them by a few dozen a request (more requests per wakeup of the
# server), so compare builds on a quiet one.
#
#   bash bench/axum_instructions.sh
#   N=5000 bash bench/axum_instructions.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
N=${N:-2000}
PORT=${PORT:-18290}
# shellcheck source=need.sh
. "$ROOT/bench/need.sh"
need valgrind h2load curl
(cd "$ROOT" && cargo build --release -q -p webcache-examples --example bench_axum)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

count() { # port offset, requests -> instructions of the whole server run
  local url="http://127.0.0.1:$((PORT + $1))/object" pid
  PORT=$PORT valgrind --tool=callgrind --callgrind-out-file="$WORK/cg" \
    "$ROOT/target/release/examples/bench_axum" >/dev/null 2>"$WORK/valgrind" &
  pid=$!
  wait_for "$url"
  curl -sf -o /dev/null "$url"
  h1_load "$url" "$2" "$WORK/h2load"
  kill -TERM "$pid"
  wait "$pid" || true
  awk '/Collected/ {print $NF}' "$WORK/valgrind"
}

for case in "0 bare route" "1 cache hit" "2 do-nothing layer"; do
  read -r offset name <<<"$case"
  small=$(count "$offset" "$N")
  large=$(count "$offset" $((5 * N)))
  awk -v a="$small" -v b="$large" -v n="$N" -v name="$name" \
    'BEGIN { printf "%-20s %6.0f instructions per request (user space)\n", name ":", (b - a) / (4 * n) }'
done
