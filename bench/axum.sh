#!/usr/bin/env bash
# Cache-hit throughput of the axum layer against the same route without it,
# and against a "floor" layer that answers with a canned hit-shaped response
# and does nothing else, measured in one run, alternating, with wrk. Prints
# requests/s, p99 and the ratios (target: cached >= 0.95 x plain).
#
#   bash bench/axum.sh [seconds per run] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
port=3100

# shellcheck source=need.sh
. bench/need.sh
need wrk curl
cargo build --release -q -p webcache-examples --example bench_axum
PORT=$port ${BENCH_ENV:-} target/release/examples/bench_axum >/dev/null &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$((port + 1))/object" >/dev/null 2>&1 && break
  sleep 0.1
done

run() { # url -> "rps p99_ms"
  wrk -t1 -c"$conns" -d"${secs}s" --latency "$1" |
    awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p=$2} END {
      if (p ~ /us$/) { sub(/us/,"",p); p=p/1000 } else if (p ~ /ms$/) { sub(/ms/,"",p) } else if (p ~ /s$/) { sub(/s/,"",p); p=p*1000 }
      printf "%d %.2f\n", rps, p }'
}

# Warm both (the first cached request is the miss that fills the cache).
wrk -t1 -c4 -d2s "http://127.0.0.1:$port/object" >/dev/null
wrk -t1 -c4 -d2s "http://127.0.0.1:$((port + 1))/object" >/dev/null
wrk -t1 -c4 -d2s "http://127.0.0.1:$((port + 2))/object" >/dev/null

plain_total=0; cached_total=0; floor_total=0
printf "%-8s %12s %8s %12s %8s %12s %8s\n" round plain_rps p99_ms cached_rps p99_ms floor_rps p99_ms
for round in 1 2 3; do
  read -r p_rps p_p99 < <(run "http://127.0.0.1:$port/object")
  read -r c_rps c_p99 < <(run "http://127.0.0.1:$((port + 1))/object")
  read -r f_rps f_p99 < <(run "http://127.0.0.1:$((port + 2))/object")
  printf "%-8s %12d %8s %12d %8s %12d %8s\n" "$round" "$p_rps" "$p_p99" "$c_rps" "$c_p99" "$f_rps" "$f_p99"
  plain_total=$((plain_total + p_rps)); cached_total=$((cached_total + c_rps)); floor_total=$((floor_total + f_rps))
done
awk -v c="$cached_total" -v p="$plain_total" -v f="$floor_total" 'BEGIN {
  printf "cache hit / plain route throughput: %.3f\n", c / p
  printf "floor layer / plain route throughput: %.3f (the cheapest a caching layer could be)\n", f / p }'
curl -si "http://127.0.0.1:$((port + 1))/object" | grep -i -E '^(cache-status|age):'
