#!/usr/bin/env bash
# Cache-hit throughput of webcache-warp against the same warp route without
# the cache, measured in one run, alternating, with wrk: the route on plain
# `warp::serve`, the route behind `webcache_warp::serve`, and the route
# without the cache on webcache-warp's own HTTP/1.1 server (to tell the
# cache's cost from the server's). Prints requests/s, p99 and the ratios
# (target: cached >= 0.9 x plain warp): of the totals and the median of the
# rounds' ratios; and the server's CPU time per request (from /proc, summed
# over the rounds), which other load on a shared machine disturbs far less
# than throughput.
#
#   bash bench/warp.sh [seconds per run] [connections] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
rounds=${3:-5}
port=${PORT:-3260}  # bench/axum.sh uses 3100-3102

# shellcheck source=need.sh
. bench/need.sh
need wrk curl
cargo build --release -q -p webcache-examples --features warp --example bench_warp
PORT=$port target/release/examples/bench_warp >/dev/null &
server=$!
tmp=$(mktemp)
trap 'kill $server 2>/dev/null; rm -f "$tmp"' EXIT
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$((port + 1))/object" >/dev/null 2>&1 && break
  sleep 0.1
done

cpu_ticks() { # the server's user + system time, in clock ticks
  awk '{ print $14 + $15 }' "/proc/$server/stat"
}

declare -A ticks requests
run() { # name url: one wrk run; leaves "rps p99_ms" in $tmp, adds to name's CPU ticks and requests
  local before out
  before=$(cpu_ticks)
  out=$(wrk -t1 -c"$conns" -d"${secs}s" --latency "$2")
  ticks[$1]=$(( ${ticks[$1]:-0} + $(cpu_ticks) - before ))
  requests[$1]=$(( ${requests[$1]:-0} + $(echo "$out" | awk '/requests in/ { print $1 }') ))
  echo "$out" |
    awk '/Requests\/sec/ {rps=$2} /^ +99%/ {p=$2} END {
      if (p ~ /us$/) { sub(/us/,"",p); p=p/1000 } else if (p ~ /ms$/) { sub(/ms/,"",p) } else if (p ~ /s$/) { sub(/s/,"",p); p=p*1000 }
      printf "%d %.2f\n", rps, p }' >"$tmp"
}

# Warm all three (the first cached request is the miss that fills the cache).
for offset in 0 1 2; do
  wrk -t1 -c4 -d2s "http://127.0.0.1:$((port + offset))/object" >/dev/null
done

plain_total=0; cached_total=0; same_total=0; ratios=""
printf "%-6s %10s %8s %11s %8s %11s %8s %7s\n" round warp_rps p99_ms cached_rps p99_ms server_rps p99_ms ratio
for round in $(seq "$rounds"); do
  run plain "http://127.0.0.1:$port/object"; read -r p_rps p_p99 <"$tmp"
  run cached "http://127.0.0.1:$((port + 1))/object"; read -r c_rps c_p99 <"$tmp"
  run server "http://127.0.0.1:$((port + 2))/object"; read -r s_rps s_p99 <"$tmp"
  ratio=$(awk -v c="$c_rps" -v p="$p_rps" 'BEGIN { printf "%.3f", c / p }')
  ratios="$ratios $ratio"
  printf "%-6s %10d %8s %11d %8s %11d %8s %7s\n" "$round" "$p_rps" "$p_p99" "$c_rps" "$c_p99" "$s_rps" "$s_p99" "$ratio"
  plain_total=$((plain_total + p_rps)); cached_total=$((cached_total + c_rps)); same_total=$((same_total + s_rps))
done
awk -v c="$cached_total" -v p="$plain_total" -v s="$same_total" 'BEGIN {
  printf "cache hit / plain warp::serve route throughput: %.3f\n", c / p
  printf "cache hit / same route on webcache-warp server without the cache: %.3f\n", c / s
  printf "webcache-warp server / warp::serve, both without the cache: %.3f\n", s / p }'
echo "$ratios" | tr ' ' '\n' | grep . | sort -n |
  awk '{ r[NR] = $1 } END { printf "median of the rounds, cache hit / plain warp::serve: %.3f\n", (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2 }'
hz=$(getconf CLK_TCK)
for name in plain cached server; do
  awk -v n="$name" -v t="${ticks[$name]}" -v r="${requests[$name]}" -v hz="$hz" \
    'BEGIN { printf "server CPU per request, %-6s: %.2f us\n", n, t / hz * 1e6 / r }'
done
awk -v pt="${ticks[plain]}" -v pr="${requests[plain]}" -v ct="${ticks[cached]}" -v cr="${requests[cached]}" \
  'BEGIN { printf "CPU per request, plain warp::serve / cache hit: %.3f (the throughput ratio when CPU-bound)\n", (pt / pr) / (ct / cr) }'
curl -si "http://127.0.0.1:$((port + 1))/object" | grep -i -E '^(cache-status|age):'
