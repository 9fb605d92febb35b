#!/usr/bin/env bash
# Cache-hit throughput of webcache-rocket against the same route without
# the cache (a route that does no work: 1 KiB from a static), and against a
# "floor" handler that answers with a canned hit-shaped response and does
# nothing else, measured in one run, alternating, with wrk. Prints requests/s, p99, the server's CPU
# time per request (from /proc, so that other load on the machine does not
# blur it) and the ratios (target: cached >= 0.9 x plain).
#
#   bash bench/rocket.sh [seconds per run] [connections] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
conns=${2:-32}
rounds=${3:-3}
port=3200

# shellcheck source=need.sh
. bench/need.sh
need wrk curl
cargo build --release -q -p webcache-examples --features rocket --example bench_rocket
PORT=$port target/release/examples/bench_rocket >/dev/null &
server=$!
trap 'kill $server 2>/dev/null' EXIT
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$((port + 1))/object" >/dev/null 2>&1 && break
  sleep 0.1
done

cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
tick_us=$((1000000 / $(getconf CLK_TCK)))

run() { # url -> "rps p99_ms server_cpu_us_per_request"
  local before after out
  out=$(mktemp)
  before=$(cpu_ticks)
  wrk -t1 -c"$conns" -d"${secs}s" --latency "$1" >"$out"
  after=$(cpu_ticks)
  awk -v ticks=$((after - before)) -v tick_us="$tick_us" '
    /requests in/ {n=$1} /Requests\/sec/ {rps=$2} /^ +99%/ {p=$2} END {
      if (p ~ /us$/) { sub(/us/,"",p); p=p/1000 } else if (p ~ /ms$/) { sub(/ms/,"",p) } else if (p ~ /s$/) { sub(/s/,"",p); p=p*1000 }
      printf "%d %.2f %.2f\n", rps, p, ticks * tick_us / n }' "$out"
  rm -f "$out"
}

# Warm both (the first cached request is the miss that fills the cache).
wrk -t1 -c4 -d2s "http://127.0.0.1:$port/object" >/dev/null
wrk -t1 -c4 -d2s "http://127.0.0.1:$((port + 1))/object" >/dev/null
wrk -t1 -c4 -d2s "http://127.0.0.1:$((port + 2))/object" >/dev/null

add() { awk -v a="$1" -v b="$2" 'BEGIN {print a + b}'; }
pt=0; ct=0; ft=0; pc=0; cc=0; fc=0
printf "%-6s %9s %7s %7s %10s %7s %7s %9s %7s %7s\n" round plain_rps p99_ms cpu_us cached_rps p99_ms cpu_us floor_rps p99_ms cpu_us
for round in $(seq "$rounds"); do
  read -r p_rps p_p99 p_cpu < <(run "http://127.0.0.1:$port/object")
  read -r c_rps c_p99 c_cpu < <(run "http://127.0.0.1:$((port + 1))/object")
  read -r f_rps f_p99 f_cpu < <(run "http://127.0.0.1:$((port + 2))/object")
  printf "%-6s %9d %7s %7s %10d %7s %7s %9d %7s %7s\n" "$round" \
    "$p_rps" "$p_p99" "$p_cpu" "$c_rps" "$c_p99" "$c_cpu" "$f_rps" "$f_p99" "$f_cpu"
  pt=$((pt + p_rps)); ct=$((ct + c_rps)); ft=$((ft + f_rps))
  pc=$(add "$pc" "$p_cpu"); cc=$(add "$cc" "$c_cpu"); fc=$(add "$fc" "$f_cpu")
done
awk -v pt="$pt" -v ct="$ct" -v ft="$ft" -v pc="$pc" -v cc="$cc" -v fc="$fc" -v r="$rounds" 'BEGIN {
  printf "cache hit / plain route throughput: %.3f\n", ct / pt
  printf "floor handler / plain route throughput: %.3f (the cheapest a cache in a handler could be)\n", ft / pt
  printf "server CPU per request: plain %.2f us, cached %.2f us, floor %.2f us\n", pc / r, cc / r, fc / r
  printf "  plain / cached: %.3f, plain / floor: %.3f\n", pc / cc, pc / fc }'
curl -si "http://127.0.0.1:$((port + 1))/object" | grep -i -E '^(cache-status|age):'
