#!/usr/bin/env bash
# Instructions per cache hit through the request handler, counted by
# callgrind: two runs of the hit_instructions example (1 000 and 11 000
# hits), so that start-up cancels out; prints (Ir(11000) - Ir(1000)) / 10000.
#
#   bash bench/hit_instructions.sh
#   HIT_RECORDER=1 bash bench/hit_instructions.sh   # a counting metrics recorder installed
#   HIT_VIA=serve bash bench/hit_instructions.sh    # hits through Cache::serve (request span)
#   HIT_STORE=memory bash bench/hit_instructions.sh # over webcache-memory's MemoryStore (moka)
#   HIT_STORE=memory HIT_VIA=now bash bench/hit_instructions.sh # through Cache::serve_now, as adapters send hits
#   HIT_STORE=memory HIT_VIA=now HIT_VARIANTS=2 bash bench/hit_instructions.sh # the same, taking turns between two variants
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=need.sh
. bench/need.sh
need valgrind
crate=webcache-core example=hit_instructions
if [ "${HIT_STORE:-}" = memory ]; then crate=webcache-memory example=memory_hit_instructions; fi
cargo build --release -q -p "$crate" --example "$example"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
ir() {
  valgrind --tool=callgrind --callgrind-out-file="$out/cg.$1" \
    target/release/examples/$example "$1" 2>&1 |
    awk '/Collected/ {print $NF}'
}
small=$(ir 1000)
large=$(ir 11000)
awk -v a="$small" -v b="$large" 'BEGIN { printf "instructions per hit: %.0f\n", (b - a) / 10000 }'
