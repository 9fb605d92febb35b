#!/usr/bin/env bash
# Cache-hit throughput of webcache-warp against the same warp route without
# the cache, measured in one run, alternating, with wrk: the route on plain
# `warp::serve`, the route behind `webcache_warp::serve`, and the route
# without the cache on webcache-warp's own HTTP/1.1 server (to tell the
# cache's cost from the server's). Prints requests/s, p99 and the ratios
# (target: cached >= 0.9 x plain warp).
#
#   bash bench/warp.sh [seconds per run] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
port=3200

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y wrk >/dev/null
fi
cargo build --release -q -p webcache-examples --features warp --example bench_warp
PORT=$port target/release/examples/bench_warp >/dev/null &
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

# Warm all three (the first cached request is the miss that fills the cache).
for offset in 0 1 2; do
  wrk -t1 -c4 -d2s "http://127.0.0.1:$((port + offset))/object" >/dev/null
done

plain_total=0; cached_total=0; same_total=0
printf "%-8s %12s %8s %12s %8s %12s %8s\n" round warp_rps p99_ms cached_rps p99_ms server_rps p99_ms
for round in 1 2 3; do
  read -r p_rps p_p99 < <(run "http://127.0.0.1:$port/object")
  read -r c_rps c_p99 < <(run "http://127.0.0.1:$((port + 1))/object")
  read -r s_rps s_p99 < <(run "http://127.0.0.1:$((port + 2))/object")
  printf "%-8s %12d %8s %12d %8s %12d %8s\n" "$round" "$p_rps" "$p_p99" "$c_rps" "$c_p99" "$s_rps" "$s_p99"
  plain_total=$((plain_total + p_rps)); cached_total=$((cached_total + c_rps)); same_total=$((same_total + s_rps))
done
awk -v c="$cached_total" -v p="$plain_total" -v s="$same_total" 'BEGIN {
  printf "cache hit / plain warp::serve route throughput: %.3f\n", c / p
  printf "cache hit / same route on webcache-warp server without the cache: %.3f\n", c / s
  printf "webcache-warp server / warp::serve, both without the cache: %.3f\n", s / p }'
curl -si "http://127.0.0.1:$((port + 1))/object" | grep -i -E '^(cache-status|age):'
