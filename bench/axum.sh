#!/usr/bin/env bash
# Cache-hit throughput of the axum layer against the same route without it,
# and against a "floor" layer that answers with a canned hit-shaped response
# and does nothing else, measured in one run, alternating, with wrk. Prints
# requests/s, p99 and the ratios (target: cached >= 0.95 x plain): of the
# totals, and the median of each round's own ratios (the runs of a round
# are seconds apart, so a machine whose speed drifts biases them least).
# Each round starts with the next of the three, so no one always runs first.
#
# By default 15 rounds of 3 s: on a VM whose speed drifts from minute to
# minute, three rounds of 10 s read anywhere from 0.81x to 0.99x for the
# same build, and many short alternating rounds average the drift out.
#
#   bash bench/axum.sh [seconds per run] [connections] [rounds]
#   bash bench/axum.sh 10 32 3     # fewer, longer rounds
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-3}
conns=${2:-32}
rounds=${3:-15}
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
cached_ratios=(); floor_ratios=()
declare -A rps p99
printf "%-8s %12s %8s %12s %8s %12s %8s\n" round plain_rps p99_ms cached_rps p99_ms floor_rps p99_ms
sides=(plain cached floor)
for round in $(seq 1 "$rounds"); do
  for i in 0 1 2; do
    side=${sides[$(((round - 1 + i) % 3))]}
    case $side in plain) at=$port ;; cached) at=$((port + 1)) ;; floor) at=$((port + 2)) ;; esac
    read -r "rps[$side]" "p99[$side]" < <(run "http://127.0.0.1:$at/object")
  done
  printf "%-8s %12d %8s %12d %8s %12d %8s\n" "$round" "${rps[plain]}" "${p99[plain]}" \
    "${rps[cached]}" "${p99[cached]}" "${rps[floor]}" "${p99[floor]}"
  plain_total=$((plain_total + rps[plain])); cached_total=$((cached_total + rps[cached])); floor_total=$((floor_total + rps[floor]))
  cached_ratios+=("$(awk -v c="${rps[cached]}" -v p="${rps[plain]}" 'BEGIN { printf "%.4f", c / p }')")
  floor_ratios+=("$(awk -v f="${rps[floor]}" -v p="${rps[plain]}" 'BEGIN { printf "%.4f", f / p }')")
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
awk -v c="$cached_total" -v p="$plain_total" -v f="$floor_total" \
  -v mc="$(median "${cached_ratios[@]}")" -v mf="$(median "${floor_ratios[@]}")" 'BEGIN {
  printf "cache hit / plain route throughput: %.3f (median of the rounds: %.3f)\n", c / p, mc
  printf "floor layer / plain route throughput: %.3f (median of the rounds: %.3f; the cheapest a caching layer could be)\n", f / p, mf }'
curl -si "http://127.0.0.1:$((port + 1))/object" | grep -i -E '^(cache-status|age):'
